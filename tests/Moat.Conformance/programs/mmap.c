/* mmap.c - anonymous memory mappings: mmap / munmap / mprotect and their
 * error cases. Every line is "name: ok" or "name: <ERRNO>" / a yes-no fact.
 * Exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PAGE 4096UL

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    default: return "E?";
    }
}

/* Raw syscalls so that glibc never second-guesses the arguments. */
static void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}
static long sys_munmap(void *addr, size_t len) { return syscall(SYS_munmap, addr, len); }
static long sys_mprotect(void *addr, size_t len, int prot) { return syscall(SYS_mprotect, addr, len, prot); }

static void report(const char *name, int ok)
{
    if (ok)
        printf("%s: ok\n", name);
    else
        printf("%s: %s\n", name, errname(errno));
}

static void report_err(const char *name, long ret, int want)
{
    (void)want;
    if (ret == -1)
        printf("%s: %s\n", name, errname(errno));
    else
        printf("%s: unexpected success\n", name);
}

/* map len bytes, fill every byte with a pattern, read back, return checksum */
static void rw_test(const char *name, size_t len)
{
    errno = 0;
    unsigned char *p = sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        report(name, 0);
        return;
    }
    int zero = 1;
    for (size_t i = 0; i < len; i++)
        if (p[i] != 0)
            zero = 0;
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 7 + i / PAGE);
    unsigned long sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += p[i];
    int aligned = ((unsigned long)p & (PAGE - 1)) == 0;
    long r = sys_munmap(p, len);
    printf("%s: ok zeroed=%s aligned=%s sum=%lu munmap=%ld\n", name,
           zero ? "yes" : "no", aligned ? "yes" : "no", sum, r);
}

int main(void)
{
    rw_test("mmap 1 page", PAGE);
    rw_test("mmap 16 pages", 16 * PAGE);
    rw_test("mmap 1 MiB", 1024 * 1024);
    rw_test("mmap 5 bytes", 5); /* length is rounded up to a page */

    /* punch a hole in the middle of a 16-page mapping */
    unsigned char *m = sys_mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("mmap 16 pages for hole", m != MAP_FAILED);
    if (m == MAP_FAILED)
        return 0;
    for (int i = 0; i < 16; i++)
        m[i * PAGE] = (unsigned char)(0xA0 + i);
    unsigned char *hole = m + 7 * PAGE;
    report("munmap middle 2 pages", sys_munmap(hole, 2 * PAGE) == 0);

    /* MAP_FIXED_NOREPLACE over a still-mapped page must fail with EEXIST */
    errno = 0;
    void *q = sys_mmap(m + 3 * PAGE, PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (q == MAP_FAILED)
        printf("noreplace over mapped page: %s\n", errname(errno));
    else
        printf("noreplace over mapped page: unexpected success\n");

    /* mprotect on the hole: unmapped range -> ENOMEM */
    errno = 0;
    report_err("mprotect unmapped hole", sys_mprotect(hole, PAGE, PROT_READ), ENOMEM);
    /* mprotect spanning mapped + unmapped pages -> ENOMEM as well (Linux has
     * already changed page 6 by then; this program does not depend on that) */
    errno = 0;
    report_err("mprotect across hole", sys_mprotect(m + 6 * PAGE, 2 * PAGE, PROT_READ), ENOMEM);
    /* munmap of an already unmapped range succeeds */
    report("munmap hole again", sys_munmap(hole, 2 * PAGE) == 0);

    /* the hole can be filled exactly with MAP_FIXED_NOREPLACE */
    errno = 0;
    q = sys_mmap(hole, 2 * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("noreplace fills hole: %s\n",
           q == (void *)hole ? "ok" : (q == MAP_FAILED ? errname(errno) : "wrong address"));
    if (q == (void *)hole)
        printf("refilled hole zeroed: %s\n", (hole[0] == 0 && hole[PAGE] == 0) ? "yes" : "no");

    /* neighbours of the hole are untouched */
    int neigh = m[6 * PAGE] == 0xA6 && m[9 * PAGE] == 0xA9 && m[0] == 0xA0 && m[15 * PAGE] == 0xAF;
    printf("neighbours intact: %s\n", neigh ? "yes" : "no");

    /* mprotect a page read-only; it stays readable */
    report("mprotect PROT_READ", sys_mprotect(m + 2 * PAGE, PAGE, PROT_READ) == 0);
    printf("read-only page readable: %s\n", m[2 * PAGE] == 0xA2 ? "yes" : "no");
    /* the kernel must still be able to read it (write(2) from it) */
    long w = syscall(SYS_write, 1, m + 2 * PAGE, 0);
    printf("write 0 bytes from ro page: %ld\n", w);
    report("mprotect back to RW", sys_mprotect(m + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE) == 0);
    m[2 * PAGE] = 0x55;
    printf("rewritable after mprotect: %s\n", m[2 * PAGE] == 0x55 ? "yes" : "no");

    /* MAP_FIXED over an existing mapping replaces it with zero pages */
    memset(m + 12 * PAGE, 0x77, 2 * PAGE);
    q = sys_mmap(m + 12 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (q == (void *)(m + 12 * PAGE)) {
        int z = 1;
        for (unsigned long i = 0; i < 2 * PAGE; i++)
            if (m[12 * PAGE + i] != 0)
                z = 0;
        printf("MAP_FIXED replace: ok zeroed=%s\n", z ? "yes" : "no");
    } else {
        printf("MAP_FIXED replace: %s\n", q == MAP_FAILED ? errname(errno) : "wrong address");
    }
    printf("page after MAP_FIXED intact: %s\n", m[14 * PAGE] == 0xAE ? "yes" : "no");

    /* error cases */
    errno = 0;
    report_err("mmap len 0", (long)sys_mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    errno = 0;
    report_err("mmap no MAP_PRIVATE/SHARED", (long)sys_mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
    errno = 0;
    report_err("mmap MAP_FIXED unaligned", (long)sys_mmap(m + 1, PAGE, PROT_READ,
                                                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
    errno = 0;
    report_err("mmap huge len", (long)sys_mmap(NULL, (size_t)-PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    errno = 0; /* len 0 is EINVAL, but a len that page-rounds to 0 is ENOMEM */
    report_err("mmap len rounds to 0", (long)sys_mmap(NULL, (size_t)-1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    errno = 0;
    report_err("mmap bad fd", (long)sys_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0), EBADF);
    errno = 0;
    report_err("munmap unaligned", sys_munmap(m + 1, PAGE), EINVAL);
    errno = 0;
    report_err("munmap len 0", sys_munmap(m, 0), EINVAL);
    errno = 0;
    report_err("mprotect unaligned", sys_mprotect(m + 1, PAGE, PROT_READ), EINVAL);
    errno = 0;
    report_err("mprotect bad prot", sys_mprotect(m, PAGE, 0x100), EINVAL);

    report("munmap whole", sys_munmap(m, 16 * PAGE) == 0);
    errno = 0;
    report_err("mprotect after munmap", sys_mprotect(m, PAGE, PROT_READ), ENOMEM);
    return 0;
}
