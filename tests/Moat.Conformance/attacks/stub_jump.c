// Attacks on the platform's stub code from inside the sandbox (SystrapSecurityTests runs it on each
// platform). The stub page sits at a fixed address above the app's address space and is readable: the
// app finds the stub's "syscall; int3" injection site in it and jumps there with registers of its own
// choosing, asking the host to map the Sentry's MemoryFile (fd 3) or the sysmsg file (fd 4) into its
// address space. Each attempt must come back as an ordinary emulated syscall (no host mapping appears),
// and the CPU is the judge: reading the target address must still fault.
//   stub_jump          the jumps above
//   stub_jump scribble a thread overwrites every sysmsg region it can find while the main thread makes
//                      syscalls: the process may die, the Sentry must not.
//   stub_jump mapper   systrap's mapper thread: its request page must not be writable, and a thread
//                      that keeps waking the mapper's futex through the stub (futex is the one call app
//                      threads may make there) must not make it run anything: fresh memory still reads
//                      zero and unmapped memory still faults.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/futex.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define STUB_PAGE 0x7f0000000000UL
#define SYSMSG_BASE 0x7f0100000000UL
#define REGION 0x8000UL
#define TARGET 0x10000000UL
#define MAPPER_REQUESTS (STUB_PAGE + 0x10000UL)

static __thread sigjmp_buf jb;
static __thread volatile long trap_rax;

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
    (void)si;
    trap_rax = ((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RAX];
    siglongjmp(jb, sig);
}

static int readable(uintptr_t p)
{
    if (sigsetjmp(jb, 1) == 0) {
        (void)*(volatile const char *)p;
        return 1;
    }
    return 0;
}

// Calls the stub's code at site with rax = nr and the six argument registers; the site's int3 returns here.
static long jump(uintptr_t site, long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    if (sigsetjmp(jb, 1) == 0) {
        register long rax __asm__("rax") = nr;
        register long rdi __asm__("rdi") = a1;
        register long rsi __asm__("rsi") = a2;
        register long rdx __asm__("rdx") = a3;
        register long r10 __asm__("r10") = a4;
        register long r8 __asm__("r8") = a5;
        register long r9 __asm__("r9") = a6;
        register uintptr_t r12 __asm__("r12") = site;
        __asm__ volatile("call *%%r12" : "+r"(rax) : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8), "r"(r9), "r"(r12) : "memory", "rcx", "r11");
        return rax;
    }
    return trap_rax;
}

static const char *result(long r)
{
    static char buf[32];
    if (r == -EBADF) return "EBADF";
    if (r == -ENODEV) return "ENODEV";
    if (r == -EACCES) return "EACCES";
    if (r == -EINVAL) return "EINVAL";
    if (r < 0 && r > -4096) { snprintf(buf, sizeof buf, "errno %ld", -r); return buf; }
    return r == (long)TARGET ? "mapped by the sandbox" : "other";
}

static volatile int stop;

static int writable(uintptr_t p)
{
    if (sigsetjmp(jb, 1) == 0) {
        volatile char *c = (volatile char *)p;
        *c = *c;
        return 1;
    }
    return 0;
}

static uintptr_t inject_site;

static void *waker(void *arg)
{
    (void)arg;
    while (!stop) {
        jump(inject_site, SYS_futex, (long)MAPPER_REQUESTS, FUTEX_WAKE, INT_MAX, 0, 0, 0);
    }
    return NULL;
}

static int mapper_attack(void)
{
    printf("mapper request page writable: %s\n", writable(MAPPER_REQUESTS) ? "yes" : "no");
    pthread_t th;
    pthread_create(&th, NULL, waker, NULL);
    int dirty = 0, stale = 0;
    for (int i = 0; i < 2000; i++) {
        volatile unsigned char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return 1;
        for (int o = 0; o < 65536; o += 4096) {
            dirty += p[o] != 0;
            p[o] = 0xa5;
        }
        munmap((void *)p, 65536);
        stale += readable((uintptr_t)p);
    }
    stop = 1;
    pthread_join(th, NULL);
    printf("forged wake-ups: fresh pages not zero: %d, unmapped pages readable: %d\n", dirty, stale);
    return 0;
}

static void *scribbler(void *arg)
{
    (void)arg;
    unsigned x = 12345;
    while (!stop) {
        for (uintptr_t slot = 0; slot < 256; slot++) {
            uintptr_t base = SYSMSG_BASE + slot * REGION;
            if (!readable(base)) continue;
            for (int i = 0; i < 64; i++) {
                x = x * 1103515245 + 12345;
                ((volatile uint32_t *)base)[x % 16] = x;
                ((volatile uint64_t *)base)[2 + (x >> 8) % 6] = (uint64_t)x << 20;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);

    if (!readable(STUB_PAGE)) {
        printf("no stub page\n");
        return 0;
    }

    if (argc > 1 && strcmp(argv[1], "mapper") == 0) {
        const unsigned char *pg = (const unsigned char *)STUB_PAGE;
        for (int i = 0x40; i < 4093 && !inject_site; i++) {
            if (pg[i] == 0x0f && pg[i + 1] == 0x05 && pg[i + 2] == 0xcc) inject_site = STUB_PAGE + i;
        }
        return inject_site ? mapper_attack() : 1;
    }

    if (argc > 1 && strcmp(argv[1], "scribble") == 0) {
        pthread_t th;
        pthread_create(&th, NULL, scribbler, NULL);
        long n = 0;
        for (int i = 0; i < 50000; i++) n += syscall(SYS_getppid) >= 0;
        stop = 1;
        pthread_join(th, NULL);
        printf("survived %ld\n", n);
        return 0;
    }

    // The first "syscall; int3" in the page is the injection site.
    const unsigned char *page = (const unsigned char *)STUB_PAGE;
    uintptr_t site = 0;
    for (int i = 0x40; i < 4093 && !site; i++) {
        if (page[i] == 0x0f && page[i + 1] == 0x05 && page[i + 2] == 0xcc) site = STUB_PAGE + i;
    }
    if (!site) {
        printf("no injection site\n");
        return 1;
    }

    for (int fd = 3; fd <= 4; fd++) {
        long r = jump(site, SYS_mmap, TARGET, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
        int host = readable(TARGET);
        printf("mmap of fd %d through the stub: %s; readable: %s\n", fd, result(r), host ? "yes" : "no");
        if (r == (long)TARGET) munmap((void *)TARGET, 4096);
    }
    long r = jump(site, SYS_getpid, 0, 0, 0, 0, 0, 0);
    printf("getpid through the stub: %s\n", r == getpid() ? "the sandbox's pid" : "other");
    return 0;
}
