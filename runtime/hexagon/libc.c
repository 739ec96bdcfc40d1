/*===- libc.c - The C library subset a freestanding artifact needs --------===*
 *
 * Program start, memory functions (LLVM lowers copies and clears to calls of
 * them), and the allocator that the compiled code's malloc/free calls reach:
 * power-of-two size classes carved from anonymous mappings, blocks above
 * 1 MiB mapped and unmapped one by one. The compiled code frees what it
 * allocates in every call, so the free lists keep the footprint at the
 * largest call's.
 *
 *===----------------------------------------------------------------------===*/

#include "sys.h"

int main(int argc, char **argv);

/* The kernel leaves argc at the stack pointer, argv after it. */
__attribute__((used)) static void pmpd_start_c(long *sp) {
  pmpd_exit(main((int)sp[0], (char **)(sp + 1)));
}

__asm__(".text\n"
        ".globl _start\n"
        ".type _start,@function\n"
        "_start:\n"
        "  r0 = r29\n"
        "  r29 = and(r29, #-16)\n"
        "  jump pmpd_start_c\n");

/* Built with -fno-builtin, so these loops are not turned into calls of
 * themselves. */
void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
    for (; n >= 8; n -= 8, d += 8, s += 8)
      *(uint64_t *)d = *(const uint64_t *)s;
  }
  for (; n; --n)
    *d++ = *s++;
  return dst;
}

/* What the Hexagon backend calls for copies it knows are large and
 * 8-byte aligned. */
void *__hexagon_memcpy_likely_aligned_min32bytes_mult8bytes(void *dst,
                                                            const void *src,
                                                            size_t n) {
  return memcpy(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d <= s || d >= s + n)
    return memcpy(dst, src, n);
  while (n--)
    d[n] = s[n];
  return dst;
}

void *memset(void *dst, int value, size_t n) {
  unsigned char *d = dst;
  for (; n; --n)
    *d++ = (unsigned char)value;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (; n; --n, ++x, ++y)
    if (*x != *y)
      return *x - *y;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n])
    ++n;
  return n;
}

int pmpd_read_all(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n) {
    long got = pmpd_read(fd, p, n);
    if (got <= 0)
      return -1;
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

int pmpd_write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    long put = pmpd_write(fd, p, n);
    if (put <= 0)
      return -1;
    p += put;
    n -= (size_t)put;
  }
  return 0;
}

void pmpd_log(const char *message) {
  pmpd_write_all(2, message, strlen(message));
}

/*===----------------------------------------------------------------------===*
 * Allocator
 *===----------------------------------------------------------------------===*/

enum { kMinClass = 5, kMaxClass = 20, kArenaBytes = 1 << 22, kLarge = 0xff };

/* Precedes every block; keeps the payload 16-byte aligned. */
typedef struct Header {
  uint32_t sizeClass;
  uint32_t mappedBytes; /* Large blocks only. */
  struct Header *next;  /* Free blocks only. */
  uint32_t pad;
} Header;

static Header *freeLists[kMaxClass + 1];
static char *arenaNext, *arenaEnd;

static void *allocateClass(unsigned c) {
  Header *h = freeLists[c];
  if (h) {
    freeLists[c] = h->next;
    return h + 1;
  }
  size_t bytes = (size_t)1 << c;
  if ((size_t)(arenaEnd - arenaNext) < bytes) {
    char *arena = pmpd_mmap(kArenaBytes, -1);
    if (pmpd_mmap_failed(arena))
      return 0;
    arenaNext = arena;
    arenaEnd = arena + kArenaBytes;
  }
  h = (Header *)arenaNext;
  arenaNext += bytes;
  h->sizeClass = c;
  return h + 1;
}

/* The compiled code passes the size as a 64-bit integer (MLIR's index);
 * its low word is in r0, where a 32-bit size_t would be. */
void *malloc(size_t n) {
  size_t total = n + sizeof(Header);
  if (total < n)
    return 0;
  unsigned c = kMinClass;
  while (c <= kMaxClass && ((size_t)1 << c) < total)
    ++c;
  if (c <= kMaxClass)
    return allocateClass(c);
  size_t mapped = (total + 4095) & ~(size_t)4095;
  Header *h = pmpd_mmap(mapped, -1);
  if (pmpd_mmap_failed(h))
    return 0;
  h->sizeClass = kLarge;
  h->mappedBytes = mapped;
  return h + 1;
}

void free(void *p) {
  if (!p)
    return;
  Header *h = (Header *)p - 1;
  if (h->sizeClass == kLarge) {
    pmpd_munmap(h, h->mappedBytes);
    return;
  }
  h->next = freeLists[h->sizeClass];
  freeLists[h->sizeClass] = h;
}
