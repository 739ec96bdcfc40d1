/*===- qlinear-check.c - Runs the HVX projection kernel on piped input ----===*
 *
 * The test harness of the kernels (unittests/Target/HexagonKernelsTest.cpp
 * runs it under qemu-hexagon): reads one problem from stdin, little-endian,
 *   int64 tokens, cols, rows, parentBits, bits, hasBias
 *   f32 x[tokens][cols]
 *   bits 2..8: u8 planes[parentBits][rows][ceil(cols/8)], u16 lut[rows][2^bits]
 *   bits 16:   u16 w[rows][cols] (fp16)
 *   f32 bias[rows] if hasBias
 * and writes f32 y[tokens][rows] and the kernels' integer weight range to
 * stdout.
 *
 *===----------------------------------------------------------------------===*/

#include "sys.h"

void *malloc(size_t n);
void pmpd_qlinear_f32(const float *x, int64_t tokens, int64_t cols,
                      const uint8_t *planes, int64_t rows, int32_t parentBits,
                      const uint16_t *lut, int32_t bits, const float *bias,
                      float *y);
void pmpd_linear_f16_f32(const float *x, int64_t tokens, int64_t cols,
                         const uint16_t *w, int64_t rows, const float *bias,
                         float *y);
int32_t pmpd_hvx_weight_range(void);

static void *readArray(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p || pmpd_read_all(0, p, bytes)) {
    pmpd_log("qlinear-check: short input\n");
    pmpd_exit(2);
  }
  return p;
}

int main(int argc, char **argv) {
  int64_t *h = readArray(6 * sizeof(int64_t));
  int64_t tokens = h[0], cols = h[1], rows = h[2], rowBytes = (cols + 7) / 8;
  int32_t parentBits = (int32_t)h[3], bits = (int32_t)h[4];
  float *x = readArray((size_t)(tokens * cols) * 4);
  float *y = malloc((size_t)(tokens * rows) * 4);
  if (bits == 16) {
    uint16_t *w = readArray((size_t)(rows * cols) * 2);
    float *bias = h[5] ? readArray((size_t)rows * 4) : 0;
    pmpd_linear_f16_f32(x, tokens, cols, w, rows, bias, y);
  } else {
    uint8_t *planes = readArray((size_t)(parentBits * rows * rowBytes));
    uint16_t *lut = readArray((size_t)(rows << bits) * 2);
    float *bias = h[5] ? readArray((size_t)rows * 4) : 0;
    pmpd_qlinear_f32(x, tokens, cols, planes, rows, parentBits, lut, bits, bias,
                     y);
  }
  int32_t range = pmpd_hvx_weight_range();
  if (pmpd_write_all(1, y, (size_t)(tokens * rows) * 4) ||
      pmpd_write_all(1, &range, sizeof range))
    return 1;
  return 0;
}
