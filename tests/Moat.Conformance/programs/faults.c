/* Synchronous signals from the app's own faults, caught with SA_SIGINFO: signal, si_code and si_addr for
 * a divide by zero (SIGFPE), ud2 (SIGILL), int3 (SIGTRAP), a page past the end of a mapped file (SIGBUS),
 * and writes to read-only and unmapped memory (SIGSEGV). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int got_sig, got_code;
static void *volatile got_addr;

static void handler(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    siglongjmp(env, 1);
}

static const char *name(int sig) {
    return sig == SIGFPE ? "SIGFPE" : sig == SIGILL ? "SIGILL" : sig == SIGTRAP ? "SIGTRAP" : sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "other";
}

#define EXPECT(label, action, addr_expected)                                                              \
    do {                                                                                                  \
        got_sig = 0;                                                                                      \
        if (sigsetjmp(env, 1) == 0) { action; }                                                           \
        printf("%s: %s code %d addr %s\n", label, name(got_sig), got_code,                                \
               (addr_expected) == (void *)-1 ? (got_addr ? "set" : "null") : got_addr == (addr_expected) ? "exact" : "wrong"); \
    } while (0)

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    int sigs[] = {SIGFPE, SIGILL, SIGTRAP, SIGBUS, SIGSEGV};
    for (int i = 0; i < 5; i++) sigaction(sigs[i], &sa, NULL);

    volatile int zero = 0, one = 1;
    EXPECT("divide by zero", one = one / zero, (void *)-1);
    EXPECT("ud2", __asm__ volatile("ud2"), (void *)-1);
    EXPECT("int3", __asm__ volatile("int3"), (void *)0);

    long page = sysconf(_SC_PAGESIZE);
    int fd = open("/tmp/moat-faults", O_CREAT | O_RDWR | O_TRUNC, 0600);
    ftruncate(fd, page);
    char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    volatile char *past = m + page + 8;
    EXPECT("past end of file", *past = 1, (void *)past);
    unlink("/tmp/moat-faults");

    char *ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT("write read-only", *(volatile char *)(ro + 16) = 1, (void *)(ro + 16));
    munmap(ro, page);
    EXPECT("read unmapped", (void)*(volatile char *)(ro + 32), (void *)(ro + 32));
    return 0;
}
