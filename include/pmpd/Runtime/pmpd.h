/*===- pmpd.h - The pmpd runtime's C API ---------------------------*- C -*-===*\
|*                                                                            *|
|* Load a compiled artifact and run it from any language with a C FFI:        *|
|* tokenize and detokenize, prefill, decode one token at a time (the compiled *|
|* switch point picks the precision of each step) and read the logits, or     *|
|* generate with statistics and measure schedule-aware perplexity in one      *|
|* call. Errors are reported by return value; pmpd_last_error() says what     *|
|* went wrong. The Python package (python/pmpd) is a client of this API.      *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef PMPD_RUNTIME_PMPD_H
#define PMPD_RUNTIME_PMPD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pmpd_model pmpd_model;

/* The message of the last failed call on this thread ("" if none). */
const char *pmpd_last_error(void);

/* Loads the artifact directory made by pmpd-compile; NULL on error. */
pmpd_model *pmpd_model_open(const char *artifact_dir);
/* The same with `threads` CPU threads for the compiled code's kernels
   (0: one per core); NULL on error, a negative count included. */
pmpd_model *pmpd_model_open_threads(const char *artifact_dir, int32_t threads);
void pmpd_model_close(pmpd_model *model);

int64_t pmpd_model_vocab_size(const pmpd_model *model);
int64_t pmpd_model_max_positions(const pmpd_model *model);
/* The artifact's schedule, e.g. "prefill=4;decode=4@0,3@64,2@128". */
const char *pmpd_model_schedule(const pmpd_model *model);
/* The artifact's target ("cpu", "gpu") and the device it runs on, in words. */
const char *pmpd_model_target(const pmpd_model *model);
const char *pmpd_model_device(const pmpd_model *model);
/* The tokenizer's BOS and EOS ids; -1 if it has none. */
int64_t pmpd_model_bos_id(const pmpd_model *model);
int64_t pmpd_model_eos_id(const pmpd_model *model);

/* Encodes `text_size` bytes of UTF-8 text (-1: up to the terminating NUL)
   with the model's tokenizer, BOS included. Writes at most `capacity` ids
   and returns how many the text has, or -1 on error (ill-formed UTF-8). */
int64_t pmpd_tokenize(pmpd_model *model, const char *text, int64_t text_size,
                      int64_t *ids, int64_t capacity);

/* Decodes `count` ids to UTF-8 text, special tokens left out if
   `skip_special`. Writes at most `capacity` bytes and a terminating NUL
   when it fits, and returns the text's length in bytes (without the NUL),
   or -1 on error (an id outside the vocabulary). */
int64_t pmpd_detokenize(pmpd_model *model, const int64_t *ids, int64_t count,
                        int skip_special, char *text, int64_t capacity);

/* Forgets every cached token. */
void pmpd_reset(pmpd_model *model);
/* Forgets the tokens cached at `position` and later: the next decode step
   runs at `position`, on the cache rows before it (a learned schedule's
   state is kept). Returns how many tokens stay cached. */
int64_t pmpd_rewind(pmpd_model *model, int64_t position);

/* Runs `count` tokens as prefill at the next positions and copies the last
   position's logits (vocab_size floats) to `logits` if it is not NULL.
   Returns 0, or -1 on error. */
int pmpd_prefill(pmpd_model *model, const int64_t *ids, int64_t count,
                 float *logits);

/* Like pmpd_prefill, but copies every position's logits, [count][vocab_size]
   floats, to `logits` (which must not be NULL). */
int pmpd_prefill_all(pmpd_model *model, const int64_t *ids, int64_t count,
                     float *logits);

/* Runs one decode step for `id`; `step` counts decode steps since prefill.
   Copies the logits to `logits` if not NULL and the precision the compiled
   schedule ran to `bits` if not NULL. Returns 0, or -1 on error. */
int pmpd_decode(pmpd_model *model, int64_t id, int64_t step, float *logits,
                int32_t *bits);

/* The KV cache's shape: layers, KV heads and the size of each head. */
void pmpd_model_kv_shape(const pmpd_model *model, int64_t *layers,
                         int64_t *kv_heads, int64_t *head_dim);

/* Copies the cached keys and values of `layer` at positions [0, count),
   each [count][kv_heads][head_dim] floats, to `keys` and `values` (the
   features of a prompt-adaptive scheduler). `count` may not exceed the
   tokens cached. Returns 0, or -1 on error (a target that cannot read its
   cache back included). */
int pmpd_read_kv_cache(pmpd_model *model, int64_t layer, int64_t count,
                       float *keys, float *values);

/* Generation: the prompt as prefill on a fresh cache, then up to
   `max_new_tokens` tokens, greedy when `temperature` is 0, else sampled at
   that temperature from the top-p nucleus with `seed`; it stops early at
   `eos_id` (< 0: never) or when the KV cache is full. NULL on error. */
typedef struct pmpd_generation pmpd_generation;
pmpd_generation *pmpd_generate(pmpd_model *model, const int64_t *prompt,
                               int64_t count, int64_t max_new_tokens,
                               float temperature, float top_p, uint64_t seed,
                               int64_t eos_id);
/* The generated ids (the EOS that stopped it included) and how many. */
int64_t pmpd_generation_size(const pmpd_generation *generation);
const int64_t *pmpd_generation_ids(const pmpd_generation *generation);
/* The statistics as a JSON object, the "stats" of `pmpd-run --json`:
   finish_reason, prompt and decode tokens, seconds and tokens per second,
   average_decode_bits, switch_steps and the per-precision decode_segments. */
const char *pmpd_generation_stats_json(const pmpd_generation *generation);
void pmpd_generation_free(pmpd_generation *generation);

/* Schedule-aware perplexity, as `pmpd-run --ppl` measures it (Evaluation.h):
   the first `prefill_positions` positions of each document as prefill, every
   later one as a decode step at the precision the schedule gives it. */
typedef struct pmpd_perplexity_result {
  double total_nll;    /* Next-token negative log-likelihood, summed. */
  int64_t tokens;      /* Predicted tokens. */
  int64_t documents;
  int64_t decode_steps;    /* Positions scored as decode steps, */
  int64_t decode_bits_sum; /* and the sum of the bits they ran at. */
  /* With a reference artifact only (else 0): */
  double total_kl;     /* KL(reference || this), summed over positions. */
  int64_t agreements;  /* Positions whose argmax matches the reference's, */
  int64_t compared;    /* of this many. */
  double max_relative_logit_error;
} pmpd_perplexity_result;

/* Scores `num_docs` documents of token ids as given, document i being
   `lengths[i]` ids (at least 2) of `ids`, one after another. `reference`,
   if not NULL, is an artifact of the same model (fp16, or another target)
   to compare against. Returns 0, or -1 on error. */
int pmpd_perplexity(pmpd_model *model, const int64_t *ids,
                    const int64_t *lengths, int64_t num_docs,
                    int64_t prefill_positions, pmpd_model *reference,
                    pmpd_perplexity_result *result);

#ifdef __cplusplus
}
#endif

#endif /* PMPD_RUNTIME_PMPD_H */
