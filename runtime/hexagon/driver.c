/*===- driver.c - The Hexagon artifact as an offload process --------------===*
 *
 * The artifact binary's main: maps the weights file, allocates the KV cache
 * (and a learned schedule's state), says hello with the geometry the code
 * was compiled for, then serves prefill and decode requests from stdin until
 * QUIT or end of input (include/pmpd/Runtime/NPUProtocol.h). The requests
 * are checked before the compiled code sees them: the host's checks are not
 * this process's memory safety.
 *
 *===----------------------------------------------------------------------===*/

#include "sys.h"

#include "pmpd/Runtime/NPUProtocol.h"

void *malloc(size_t n);
void free(void *p);
void *memcpy(void *dst, const void *src, size_t n);

typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} MemRef1;
typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} MemRef2;
typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[4], strides[4];
} MemRef4;
typedef struct {
  MemRef2 logits;
  int32_t bits;
} DecodeResult;

/* What pmpd-compile links in: the geometry and the entry points. */
extern const int64_t pmpd_artifact_geometry[PMPD_NPU_GEOMETRY_FIELDS];
void _mlir_ciface_prefill(MemRef2 *, MemRef1 *, int64_t, MemRef4 *, MemRef4 *,
                          MemRef1 *);
/* Its arguments depend on the schedule (a learned one threads its state). */
void _mlir_ciface_decode();
typedef void (*StaticDecode)(DecodeResult *, int64_t, MemRef1 *, int64_t,
                             MemRef4 *, MemRef4 *, MemRef1 *);
typedef void (*LearnedDecode)(DecodeResult *, int64_t, MemRef1 *, int64_t,
                              MemRef4 *, MemRef4 *, MemRef1 *, MemRef1 *);

enum { kLayers, kPositions, kKVHeads, kHeadDim, kVocab, kHidden, kState };

static MemRef1 bytesOf(void *data, int64_t count) {
  MemRef1 m = {data, data, 0, {count}, {1}};
  return m;
}

static MemRef4 cacheOf(float *data) {
  const int64_t *g = pmpd_artifact_geometry;
  MemRef4 m = {data,
               data,
               0,
               {g[kLayers], g[kPositions], g[kKVHeads], g[kHeadDim]},
               {g[kPositions] * g[kKVHeads] * g[kHeadDim],
                g[kKVHeads] * g[kHeadDim], g[kHeadDim], 1}};
  return m;
}

static int64_t parseInt(const char *s) {
  int64_t v = 0;
  if (!*s)
    return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
      return -1;
    v = 10 * v + (*s - '0');
  }
  return v;
}

static int replyStatus(int32_t status) {
  PMPDNPUReply reply = {status, 0, 0, 0};
  return pmpd_write_all(1, &reply, sizeof reply);
}

/* Sends the logits (any strides) and frees them. */
static int replyLogits(MemRef2 *logits, int32_t bits) {
  int64_t rows = logits->sizes[0], cols = logits->sizes[1];
  PMPDNPUReply reply = {PMPD_NPU_OK, bits, rows, cols};
  int failed = pmpd_write_all(1, &reply, sizeof reply);
  const float *base = logits->aligned + logits->offset;
  if (logits->strides[1] == 1 && logits->strides[0] == cols) {
    failed |= pmpd_write_all(1, base, (size_t)(rows * cols) * sizeof(float));
  } else {
    for (int64_t t = 0; t < rows && !failed; ++t)
      for (int64_t j = 0; j < cols && !failed; ++j) {
        float v = base[t * logits->strides[0] + j * logits->strides[1]];
        failed |= pmpd_write_all(1, &v, sizeof v);
      }
  }
  free(logits->allocated);
  return failed;
}

int main(int argc, char **argv) {
  const int64_t *g = pmpd_artifact_geometry;
  PMPDNPUHello hello = {{0}, PMPD_NPU_OK, 0, {0}};
  memcpy(hello.magic, PMPD_NPU_MAGIC, sizeof hello.magic);
  for (int i = 0; i < PMPD_NPU_GEOMETRY_FIELDS; ++i)
    hello.geometry[i] = g[i];

  int64_t weightsBytes = argc == 3 ? parseInt(argv[2]) : -1;
  int fd = argc == 3 ? pmpd_open(argv[1]) : -1;
  void *weights = 0;
  if (fd >= 0 && weightsBytes > 0) {
    weights = pmpd_mmap((size_t)weightsBytes, fd);
    if (pmpd_mmap_failed(weights))
      weights = 0;
  }
  if (fd >= 0)
    pmpd_close(fd);
  if (!weights) {
    hello.status = PMPD_NPU_NO_WEIGHTS;
    pmpd_write_all(1, &hello, sizeof hello);
    return 1;
  }
  size_t cacheBytes =
      (size_t)(g[kLayers] * g[kPositions] * g[kKVHeads] * g[kHeadDim]) *
      sizeof(float);
  float *kCache = pmpd_mmap(cacheBytes, -1),
        *vCache = pmpd_mmap(cacheBytes, -1);
  float *state = pmpd_mmap((size_t)(g[kState] + 1) * sizeof(float), -1);
  if (pmpd_mmap_failed(kCache) || pmpd_mmap_failed(vCache) ||
      pmpd_mmap_failed(state)) {
    hello.status = PMPD_NPU_OUT_OF_MEMORY;
    pmpd_write_all(1, &hello, sizeof hello);
    return 1;
  }
  if (pmpd_write_all(1, &hello, sizeof hello))
    return 1;

  MemRef1 weightsRef = bytesOf(weights, weightsBytes);
  MemRef1 stateRef = bytesOf(state, g[kState]);
  for (;;) {
    PMPDNPURequest request;
    if (pmpd_read_all(0, &request, sizeof request))
      return 0; /* The host went away. */
    MemRef4 k = cacheOf(kCache), v = cacheOf(vCache);
    switch (request.op) {
    case PMPD_NPU_QUIT:
      return 0;
    case PMPD_NPU_RESET:
      for (int64_t i = 0; i < g[kState]; ++i)
        state[i] = 0;
      if (replyStatus(PMPD_NPU_OK))
        return 1;
      break;
    case PMPD_NPU_PREFILL: {
      int64_t position = request.a, count = request.b;
      /* A count the cache cannot hold leaves the ids unread: the stream is
       * lost, so the process ends after saying so. */
      if (count < 1 || count > g[kPositions]) {
        replyStatus(PMPD_NPU_BAD_REQUEST);
        return 2;
      }
      int64_t *ids = malloc((size_t)count * sizeof(int64_t));
      if (!ids) {
        replyStatus(PMPD_NPU_OUT_OF_MEMORY);
        return 1;
      }
      if (pmpd_read_all(0, ids, (size_t)count * sizeof(int64_t)))
        return 1;
      int valid = position >= 0 && position <= g[kPositions] - count;
      for (int64_t i = 0; i < count; ++i)
        valid &= ids[i] >= 0 && ids[i] < g[kVocab];
      if (!valid) {
        free(ids);
        if (replyStatus(PMPD_NPU_BAD_REQUEST))
          return 1;
        break;
      }
      MemRef1 tokens = bytesOf(ids, count);
      MemRef2 logits;
      _mlir_ciface_prefill(&logits, &tokens, position, &k, &v, &weightsRef);
      free(ids);
      if (replyLogits(&logits, 0))
        return 1;
      break;
    }
    case PMPD_NPU_DECODE: {
      int64_t step = request.a, position = request.b, id = request.c;
      if (step < 0 || position < 0 || position >= g[kPositions] || id < 0 ||
          id >= g[kVocab]) {
        if (replyStatus(PMPD_NPU_BAD_REQUEST))
          return 1;
        break;
      }
      MemRef1 token = bytesOf(&id, 1);
      DecodeResult out;
      if (g[kState] == 0)
        ((StaticDecode)_mlir_ciface_decode)(&out, step, &token, position, &k,
                                            &v, &weightsRef);
      else
        ((LearnedDecode)_mlir_ciface_decode)(&out, step, &token, position, &k,
                                             &v, &stateRef, &weightsRef);
      if (replyLogits(&out.logits, out.bits))
        return 1;
      break;
    }
    default:
      if (replyStatus(PMPD_NPU_BAD_REQUEST))
        return 1;
    }
  }
}
