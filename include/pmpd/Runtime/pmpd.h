/*===- pmpd.h - The pmpd runtime's C API ---------------------------*- C -*-===*\
|*                                                                            *|
|* Load a compiled artifact and run it from any language with a C FFI:        *|
|* tokenize, prefill, decode one token at a time (the compiled switch point   *|
|* picks the precision of each step), and read the logits. Errors are         *|
|* reported by return value; pmpd_last_error() says what went wrong.          *|
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
void pmpd_model_close(pmpd_model *model);

int64_t pmpd_model_vocab_size(const pmpd_model *model);
int64_t pmpd_model_max_positions(const pmpd_model *model);
/* The artifact's schedule, e.g. "prefill=4;decode=4@0,3@64,2@128". */
const char *pmpd_model_schedule(const pmpd_model *model);

/* Encodes UTF-8 text with the model's tokenizer (BOS included). Writes at
   most `capacity` ids and returns how many the text has, or -1 on error. */
int64_t pmpd_tokenize(pmpd_model *model, const char *text, int64_t *ids,
                      int64_t capacity);

/* Forgets every cached token. */
void pmpd_reset(pmpd_model *model);

/* Runs `count` tokens as prefill at the next positions and copies the last
   position's logits (vocab_size floats) to `logits` if it is not NULL.
   Returns 0, or -1 on error. */
int pmpd_prefill(pmpd_model *model, const int64_t *ids, int64_t count,
                 float *logits);

/* Runs one decode step for `id`; `step` counts decode steps since prefill.
   Copies the logits to `logits` if not NULL and the precision the compiled
   schedule ran to `bits` if not NULL. Returns 0, or -1 on error. */
int pmpd_decode(pmpd_model *model, int64_t id, int64_t step, float *logits,
                int32_t *bits);

#ifdef __cplusplus
}
#endif

#endif /* PMPD_RUNTIME_PMPD_H */
