/*===- helpers.c - The compiler's run-time helpers for Hexagon ------------===*
 *
 * Hexagon has no integer divide instruction and v67 no square root: LLVM
 * calls these helpers (compiler-rt's names, standard calling convention),
 * which a program without compiler-rt must define. Written without `/` and
 * `%` on their own types, which would call themselves.
 *
 *===----------------------------------------------------------------------===*/

#include <stdint.h>

/* Restoring division, one quotient bit per step. */
static uint64_t udivmod64(uint64_t n, uint64_t d, uint64_t *remainder) {
  uint64_t q = 0, r = 0;
  if (d == 0) {
    *remainder = n;
    return ~(uint64_t)0;
  }
  for (int i = 63; i >= 0; --i) {
    r = (r << 1) | ((n >> i) & 1);
    if (r >= d) {
      r -= d;
      q |= (uint64_t)1 << i;
    }
  }
  *remainder = r;
  return q;
}

static uint32_t udivmod32(uint32_t n, uint32_t d, uint32_t *remainder) {
  uint32_t q = 0, r = 0;
  if (d == 0) {
    *remainder = n;
    return ~(uint32_t)0;
  }
  for (int i = 31; i >= 0; --i) {
    r = (r << 1) | ((n >> i) & 1);
    if (r >= d) {
      r -= d;
      q |= (uint32_t)1 << i;
    }
  }
  *remainder = r;
  return q;
}

uint64_t __hexagon_udivdi3(uint64_t n, uint64_t d) {
  uint64_t r;
  return udivmod64(n, d, &r);
}
uint64_t __hexagon_umoddi3(uint64_t n, uint64_t d) {
  uint64_t r;
  udivmod64(n, d, &r);
  return r;
}
int64_t __hexagon_divdi3(int64_t n, int64_t d) {
  uint64_t r, un = n < 0 ? -(uint64_t)n : (uint64_t)n,
              ud = d < 0 ? -(uint64_t)d : (uint64_t)d;
  uint64_t q = udivmod64(un, ud, &r);
  return (int64_t)(((n < 0) != (d < 0)) ? -q : q);
}
int64_t __hexagon_moddi3(int64_t n, int64_t d) {
  uint64_t r, un = n < 0 ? -(uint64_t)n : (uint64_t)n,
              ud = d < 0 ? -(uint64_t)d : (uint64_t)d;
  udivmod64(un, ud, &r);
  return (int64_t)(n < 0 ? -r : r);
}
uint32_t __hexagon_udivsi3(uint32_t n, uint32_t d) {
  uint32_t r;
  return udivmod32(n, d, &r);
}
uint32_t __hexagon_umodsi3(uint32_t n, uint32_t d) {
  uint32_t r;
  udivmod32(n, d, &r);
  return r;
}
int32_t __hexagon_divsi3(int32_t n, int32_t d) {
  uint32_t r, un = n < 0 ? -(uint32_t)n : (uint32_t)n,
              ud = d < 0 ? -(uint32_t)d : (uint32_t)d;
  uint32_t q = udivmod32(un, ud, &r);
  return (int32_t)(((n < 0) != (d < 0)) ? -q : q);
}
int32_t __hexagon_modsi3(int32_t n, int32_t d) {
  uint32_t r, un = n < 0 ? -(uint32_t)n : (uint32_t)n,
              ud = d < 0 ? -(uint32_t)d : (uint32_t)d;
  udivmod32(un, ud, &r);
  return (int32_t)(n < 0 ? -r : r);
}
