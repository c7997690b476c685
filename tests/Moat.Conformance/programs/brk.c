/* brk.c - the program break via the raw brk(2) syscall.
 * glibc's malloc also uses brk (printf allocates its stdout buffer with
 * malloc), so all brk manipulation is done first, the break is restored,
 * and only then are the recorded results printed. Exit status 0. */
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

#define PAGE 4096UL
#define MIB (1024UL * 1024UL)

static const char *yesno(int c) { return c ? "yes" : "no"; }

static unsigned long sys_brk(unsigned long addr)
{
    return (unsigned long)syscall(SYS_brk, addr);
}

int main(void)
{
    unsigned long cur = sys_brk(0);
    int cur_nonzero = cur != 0;
    int query_stable = sys_brk(0) == cur;

    /* grow by 1 MiB */
    unsigned long want = cur + MIB;
    unsigned long got = sys_brk(want);
    int grew = got == want;

    /* fresh brk memory must read as zero; then write a pattern per page */
    int zero = 1;
    unsigned long sum_write = 0, sum_read = 0;
    if (grew) {
        /* cur may not be page aligned; only touch whole bytes in [cur, want) */
        volatile unsigned char *p = (volatile unsigned char *)cur;
        for (unsigned long off = 0; off < MIB; off += 64)
            if (p[off] != 0)
                zero = 0;
        for (unsigned long pg = 0; pg < MIB / PAGE; pg++)
            for (unsigned long i = 0; i < PAGE; i += 512) {
                unsigned char v = (unsigned char)(pg * 31 + i / 512 + 7);
                p[pg * PAGE + i] = v;
                sum_write += v;
            }
        for (unsigned long pg = 0; pg < MIB / PAGE; pg++)
            for (unsigned long i = 0; i < PAGE; i += 512)
                sum_read += p[pg * PAGE + i];
    }

    /* shrink by 512 KiB */
    unsigned long half = want - MIB / 2;
    unsigned long shrunk = sys_brk(half);
    int shrank = shrunk == half;
    int query_after_shrink = sys_brk(0) == half;

    /* The first half must keep its contents. */
    int kept = 1;
    if (grew && shrank) {
        volatile unsigned char *p = (volatile unsigned char *)cur;
        for (unsigned long pg = 0; pg < (MIB / 2) / PAGE - 1; pg++)
            if (p[pg * PAGE] != (unsigned char)(pg * 31 + 7))
                kept = 0;
    }

    /* Grow again: the re-added pages must come back zero-filled. The page
     * containing 'half' may keep old bytes past 'half' (Linux only drops
     * whole pages), so check from the next page boundary. */
    unsigned long regrow = sys_brk(want);
    int regrew = regrow == want;
    int rezero = 1;
    if (regrew) {
        unsigned long start = (half + PAGE - 1) & ~(PAGE - 1);
        for (unsigned long a = start; a < want; a += 128)
            if (*(volatile unsigned char *)a != 0)
                rezero = 0;
    }

    /* Absurd growth: far beyond the user address space, so it fails on
     * every kernel regardless of overcommit settings. Linux reports failure
     * by returning the unchanged old break (not -1/ENOMEM). */
    unsigned long before_huge = sys_brk(0);
    unsigned long huge = sys_brk(before_huge + (1UL << 60));
    int huge_failed = huge == before_huge;

    /* restore */
    unsigned long restored = sys_brk(cur);
    int restore_ok = restored == cur;

    printf("initial break nonzero: %s\n", yesno(cur_nonzero));
    printf("brk(0) stable: %s\n", yesno(query_stable));
    printf("brk grew 1MiB: %s\n", yesno(grew));
    printf("new memory zeroed: %s\n", yesno(zero));
    printf("checksum written=%lu read=%lu\n", sum_write, sum_read);
    printf("brk shrank 512KiB: %s\n", yesno(shrank));
    printf("brk(0) after shrink matches: %s\n", yesno(query_after_shrink));
    printf("lower half kept: %s\n", yesno(kept));
    printf("brk regrew: %s\n", yesno(regrew));
    printf("regrown memory zeroed: %s\n", yesno(rezero));
    printf("huge brk returned old break: %s\n", yesno(huge_failed));
    printf("brk restored: %s\n", yesno(restore_ok));
    return 0;
}
