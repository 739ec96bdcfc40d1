/*===- sys.h - Linux system calls of a freestanding Hexagon program -------===*
 *
 * The artifact binary has no C library: it reaches the kernel (qemu-hexagon's
 * Linux user mode, or the DSP's runtime on a phone) through `trap0(#1)` with
 * the call number in r6 and the arguments in r0..r5, the asm-generic numbers
 * of a 32-bit Linux.
 *
 *===----------------------------------------------------------------------===*/

#ifndef PMPD_HEXAGON_SYS_H
#define PMPD_HEXAGON_SYS_H

#include <stddef.h>
#include <stdint.h>

enum {
  PMPD_SYS_OPENAT = 56,
  PMPD_SYS_CLOSE = 57,
  PMPD_SYS_READ = 63,
  PMPD_SYS_WRITE = 64,
  PMPD_SYS_EXIT_GROUP = 94,
  PMPD_SYS_MUNMAP = 215,
  PMPD_SYS_MMAP2 = 222,
};

static inline long pmpd_syscall6(long n, long a, long b, long c, long d, long e,
                                 long f) {
  register long r0 __asm__("r0") = a;
  register long r1 __asm__("r1") = b;
  register long r2 __asm__("r2") = c;
  register long r3 __asm__("r3") = d;
  register long r4 __asm__("r4") = e;
  register long r5 __asm__("r5") = f;
  register long r6 __asm__("r6") = n;
  __asm__ volatile("trap0(#1)"
                   : "+r"(r0)
                   : "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6)
                   : "memory");
  return r0;
}

static inline long pmpd_read(int fd, void *buf, size_t n) {
  return pmpd_syscall6(PMPD_SYS_READ, fd, (long)buf, (long)n, 0, 0, 0);
}
static inline long pmpd_write(int fd, const void *buf, size_t n) {
  return pmpd_syscall6(PMPD_SYS_WRITE, fd, (long)buf, (long)n, 0, 0, 0);
}
static inline int pmpd_open(const char *path) {
  const long atCwd = -100, readOnly = 0;
  return (int)pmpd_syscall6(PMPD_SYS_OPENAT, atCwd, (long)path, readOnly, 0, 0,
                            0);
}
static inline void pmpd_close(int fd) {
  pmpd_syscall6(PMPD_SYS_CLOSE, fd, 0, 0, 0, 0, 0);
}
/* Returns the mapping or an address in the last page (-errno). */
static inline void *pmpd_mmap(size_t bytes, int fd) {
  const long protRead = 1, protWrite = 2, mapPrivate = 2, mapAnonymous = 0x20;
  long prot = fd < 0 ? protRead | protWrite : protRead;
  long flags = fd < 0 ? mapPrivate | mapAnonymous : mapPrivate;
  return (void *)pmpd_syscall6(PMPD_SYS_MMAP2, 0, (long)bytes, prot, flags, fd,
                               0);
}
static inline int pmpd_mmap_failed(void *p) {
  return (unsigned long)p > (unsigned long)-4096;
}
static inline void pmpd_munmap(void *p, size_t bytes) {
  pmpd_syscall6(PMPD_SYS_MUNMAP, (long)p, (long)bytes, 0, 0, 0, 0);
}
__attribute__((noreturn)) static inline void pmpd_exit(int status) {
  for (;;)
    pmpd_syscall6(PMPD_SYS_EXIT_GROUP, status, 0, 0, 0, 0, 0);
}

/* Reads or writes exactly n bytes; 0 on success, -1 on error or end of file. */
int pmpd_read_all(int fd, void *buf, size_t n);
int pmpd_write_all(int fd, const void *buf, size_t n);
/* Writes a message to stderr. */
void pmpd_log(const char *message);

#endif /* PMPD_HEXAGON_SYS_H */
