/* mremap (shrink, grow in place, move, MREMAP_FIXED, MREMAP_DONTUNMAP), msync and mincore: contents
 * survive moves, and the errors come in Linux's order. Addresses are only compared, never printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ENOMEM: return "ENOMEM";
    case EAGAIN: return "EAGAIN";
    default: return "other";
    }
}

#define P 4096UL
#define SHOWR(what, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; printf("%s: %s\n", what, _r == -1 ? ename(_e) : "OK"); } while (0)

static long remap(void *old, unsigned long oldlen, unsigned long newlen, int flags, void *new_addr) {
    return syscall(SYS_mremap, old, oldlen, newlen, flags, new_addr);
}

static int pattern_ok(unsigned char *p, unsigned long pages) {
    for (unsigned long i = 0; i < pages; i++)
        if (p[i * P] != (unsigned char)(i + 1) || p[i * P + P - 1] != (unsigned char)(i + 7)) return 0;
    return 1;
}

static void fill(unsigned char *p, unsigned long pages) {
    for (unsigned long i = 0; i < pages; i++) { p[i * P] = i + 1; p[i * P + P - 1] = i + 7; }
}

int main(void) {
    /* A reserved window, so that "the space after it is free" holds natively and in Moat alike. */
    unsigned char *win = mmap(NULL, 64 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(win, 64 * P);
    unsigned char *a = mmap(win, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("placed: %d\n", a == win);
    fill(a, 4);

    long r = remap(a, 4 * P, 2 * P, 0, NULL);
    printf("shrink in place: %d\n", r == (long)a);
    errno = 0;
    printf("tail unmapped: %s\n", msync(a + 2 * P, P, MS_SYNC) == -1 ? ename(errno) : "OK");
    r = remap(a, 2 * P, 6 * P, 0, NULL);
    printf("grow in place: %d pattern %d\n", r == (long)a, pattern_ok(a, 2));
    a[5 * P] = 9;
    printf("grown part writable and zero before: %d\n", a[4 * P] == 0);

    /* Something right after blocks growth in place. */
    unsigned char *blocker = mmap(a + 6 * P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("blocker placed: %d\n", blocker == a + 6 * P);
    SHOWR("grow blocked, no MAYMOVE", remap(a, 6 * P, 8 * P, 0, NULL));
    fill(a, 6);
    r = remap(a, 6 * P, 8 * P, MREMAP_MAYMOVE, NULL);
    unsigned char *b = (unsigned char *)r;
    printf("moved: %d pattern %d new tail zero %d\n", r != -1 && b != a, r != -1 && pattern_ok(b, 6), r != -1 && b[7 * P] == 0);
    errno = 0;
    printf("old range gone: %s\n", msync(a, P, MS_SYNC) == -1 ? ename(errno) : "OK");

    /* MREMAP_FIXED onto the window, replacing what was there. */
    unsigned char *dst = win + 20 * P;
    unsigned char *junk = mmap(dst, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    junk[0] = 0x55;
    r = remap(b, 8 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    printf("fixed: %d pattern %d\n", r == (long)dst, r == (long)dst && pattern_ok(dst, 3));
    errno = 0;
    printf("fixed source gone: %s\n", msync(b, P, MS_SYNC) == -1 ? ename(errno) : "OK");

    /* MREMAP_DONTUNMAP: the pages move, the old range stays mapped and reads zeros. */
    r = remap(dst, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    unsigned char *c = (unsigned char *)r;
    printf("dontunmap: %s", r == -1 ? ename(errno) : "moved");
    if (r != -1) printf(" pattern %d old zero %d", pattern_ok(c, 3), dst[0] == 0 && dst[P - 1] == 0);
    printf("\n");

    /* Errors. */
    SHOWR("flags 8", remap(dst, P, P, 8, NULL));
    SHOWR("FIXED without MAYMOVE", remap(dst, P, P, MREMAP_FIXED, win));
    SHOWR("DONTUNMAP with resize", remap(dst, P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL));
    SHOWR("DONTUNMAP without MAYMOVE", remap(dst, P, P, MREMAP_DONTUNMAP, NULL));
    SHOWR("unaligned old", remap(dst + 1, P, P, 0, NULL));
    SHOWR("new length 0", remap(dst, P, 0, 0, NULL));
    SHOWR("unmapped old", remap(win + 40 * P, P, 2 * P, MREMAP_MAYMOVE, NULL));
    SHOWR("old length past the VMA", remap(dst, 10 * P, 12 * P, MREMAP_MAYMOVE, NULL));
    SHOWR("old length 0 private", remap(dst, 0, P, MREMAP_MAYMOVE, NULL));
    SHOWR("FIXED unaligned new", remap(dst, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, win + 1));
    SHOWR("FIXED overlapping", remap(dst, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst + P));

    /* msync */
    SHOWR("msync", msync(dst, 3 * P, MS_SYNC));
    SHOWR("msync ASYNC|INVALIDATE", msync(dst, P, MS_ASYNC | MS_INVALIDATE));
    SHOWR("msync ASYNC|SYNC", msync(dst, P, MS_ASYNC | MS_SYNC));
    SHOWR("msync flags 8", msync(dst, P, 8));
    SHOWR("msync unaligned", msync(dst + 1, P, MS_SYNC));
    SHOWR("msync length 0 unmapped", msync(win + 40 * P, 0, MS_SYNC));
    SHOWR("msync unmapped", msync(win + 40 * P, P, MS_SYNC));
    SHOWR("msync over a hole", msync(dst, 30 * P, MS_SYNC));

    /* mincore */
    unsigned char vec[8];
    memset(vec, 7, sizeof vec);
    unsigned char *m = mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SHOWR("mincore untouched", syscall(SYS_mincore, m, 4 * P, vec));
    printf("untouched: %d %d %d %d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
    m[0] = 1;
    SHOWR("mincore touched", syscall(SYS_mincore, m, 1, vec));
    printf("touched first page: %d, vec[1] untouched by the call: %d\n", vec[0] & 1, vec[1] & 1);
    SHOWR("mincore unaligned", syscall(SYS_mincore, m + 1, P, vec));
    SHOWR("mincore unmapped", syscall(SYS_mincore, win + 40 * P, P, vec));
    SHOWR("mincore bad vec", syscall(SYS_mincore, m, P, (void *)8));
    SHOWR("mincore length 0", syscall(SYS_mincore, win + 40 * P, 0, vec));
    SHOWR("mincore beyond the address space", syscall(SYS_mincore, m, 1UL << 62, vec));
    return 0;
}
