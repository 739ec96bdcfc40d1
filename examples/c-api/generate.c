/* Greedy generation through the C API: the smallest complete client of a
   compiled artifact.  Usage: pmpd-c-api-example ARTIFACT_DIR "prompt" N */
#include "pmpd/Runtime/pmpd.h"

#include <stdio.h>
#include <stdlib.h>

static int64_t argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best])
      best = i;
  return best;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s ARTIFACT_DIR PROMPT TOKENS\n", argv[0]);
    return 2;
  }
  pmpd_model *model = pmpd_model_open(argv[1]);
  if (!model) {
    fprintf(stderr, "error: %s\n", pmpd_last_error());
    return 1;
  }
  int64_t vocab = pmpd_model_vocab_size(model);
  int64_t ids[512];
  int64_t count = pmpd_tokenize(model, argv[2], -1, ids, 512);
  float *logits = malloc(sizeof(float) * vocab);
  if (count < 0 || count > 512 || pmpd_prefill(model, ids, count, logits)) {
    fprintf(stderr, "error: %s\n", pmpd_last_error());
    return 1;
  }
  printf("schedule %s\n", pmpd_model_schedule(model));
  int tokens = atoi(argv[3]);
  for (int step = 0; step < tokens; ++step) {
    int64_t next = argmax(logits, vocab);
    int32_t bits = 0;
    if (pmpd_decode(model, next, step, logits, &bits)) {
      fprintf(stderr, "error: %s\n", pmpd_last_error());
      return 1;
    }
    printf("step %d: token %lld at %d bits\n", step, (long long)next, bits);
  }
  free(logits);
  pmpd_model_close(model);
  return 0;
}
