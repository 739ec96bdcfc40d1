/*===- memref.c - MLIR's strided copy for the Hexagon artifact ------------===*
 *
 * MLIR lowers a memref.copy whose sides are not both contiguous (new keys
 * written into a slice of the KV cache) to a call of memrefCopy; the CPU
 * runtime's kernels library defines it for host artifacts, this is the
 * artifact binary's. Descriptors hold 32-bit pointers and 64-bit indices.
 *
 *===----------------------------------------------------------------------===*/

#include "sys.h"

void *memcpy(void *dst, const void *src, size_t n);

typedef struct {
  int64_t rank;
  void *
      descriptor; /* {allocated, aligned, offset, sizes[rank], strides[rank]} */
} UnrankedMemRef;

typedef struct {
  char *base;
  const int64_t *sizes, *strides;
} View;

static View viewOf(const UnrankedMemRef *m, int64_t elementSize) {
  char **pointers = m->descriptor;
  const int64_t *fields = (const int64_t *)(pointers + 2);
  View v = {pointers[1] + fields[0] * elementSize, fields + 1,
            fields + 1 + m->rank};
  return v;
}

enum { kMaxRank = 8 };

void memrefCopy(int64_t elementSize, UnrankedMemRef *source,
                UnrankedMemRef *destination) {
  int64_t rank = source->rank;
  if (rank > kMaxRank) {
    pmpd_log("pmpd: memrefCopy of a memref of rank above 8\n");
    pmpd_exit(70);
  }
  View src = viewOf(source, elementSize),
       dst = viewOf(destination, elementSize);
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= src.sizes[i];
  if (total == 0)
    return;
  /* The longest innermost run contiguous on both sides, copied at once. */
  int64_t run = 1, inner = rank;
  while (inner > 0 && src.strides[inner - 1] == run &&
         dst.strides[inner - 1] == run) {
    run *= src.sizes[inner - 1];
    --inner;
  }
  int64_t index[kMaxRank] = {0};
  for (int64_t done = 0; done < total; done += run) {
    int64_t srcOffset = 0, dstOffset = 0;
    for (int64_t i = 0; i < inner; ++i) {
      srcOffset += index[i] * src.strides[i];
      dstOffset += index[i] * dst.strides[i];
    }
    memcpy(dst.base + dstOffset * elementSize,
           src.base + srcOffset * elementSize, (size_t)(run * elementSize));
    for (int64_t i = inner - 1; i >= 0; --i) {
      if (++index[i] < src.sizes[i])
        break;
      index[i] = 0;
    }
  }
}
