/* Syscall sites under a signal storm: a tight loop of `mov $nr,%eax; syscall` sites (the 7 bytes the systrap
 * platform may rewrite, docs/systrap-platform.md "Syscall-site patching") while another process sends signals
 * as fast as it can. Checks what a syscall leaves: rax the result, rcx the address after it, r11 the flags, every
 * other register, the flags and xmm0 unchanged; a blocking read at such a site restarted under SA_RESTART; the
 * same loop in a second thread and in a forked child. Prints only yes/no facts and counts of failures. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t signals;

static void on_usr1(int sig)
{
    (void)sig;
    signals++;
    /* Clobber what a handler may: the interrupted code must get its own values back. */
    __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\tstc\n\tstd\n\tcld" ::: "xmm0", "xmm1", "cc");
}

/* getpid through a 7-byte site; returns the number of things that differ from what a syscall leaves. */
static int checked_getpid(long pid)
{
    long ret, rcx, r11, flags, after, diff;
    unsigned long xmm, pattern = 0x0123456789abcdefUL;
    unsigned char cf;
    __asm__ volatile(
        "movq %[pat], %%xmm0\n\t"
        "stc\n\t"
        "pushfq\n\t"
        "popq %%r11\n\t"
        "movq %%r11, %[fl]\n\t"
        "movabsq $0x1111111111111111, %%rbx\n\t"
        "movabsq $0x2222222222222222, %%rdx\n\t"
        "movabsq $0x3333333333333333, %%rsi\n\t"
        "movabsq $0x4444444444444444, %%rdi\n\t"
        "movabsq $0x5555555555555555, %%r8\n\t"
        "movabsq $0x6666666666666666, %%r9\n\t"
        "movabsq $0x7777777777777777, %%r10\n\t"
        "movabsq $0x8888888888888888, %%r12\n\t"
        "movabsq $0x9999999999999999, %%r13\n\t"
        "movabsq $0xaaaaaaaaaaaaaaaa, %%r14\n\t"
        "movabsq $0xbbbbbbbbbbbbbbbb, %%r15\n\t"
        "movl $39, %%eax\n\t"
        "syscall\n"
        "1:\n\t"
        "setc %[cf]\n\t"
        "movq %%rcx, %[rcx]\n\t"
        "movq %%r11, %[r11]\n\t"
        "movq %%xmm0, %[xmm]\n\t"
        "leaq 1b(%%rip), %%rcx\n\t"
        "movq %%rcx, %[after]\n\t"
        "movabsq $0x1111111111111111, %%rcx\n\txorq %%rcx, %%rbx\n\t"
        "movabsq $0x2222222222222222, %%rcx\n\txorq %%rcx, %%rdx\n\torq %%rdx, %%rbx\n\t"
        "movabsq $0x3333333333333333, %%rcx\n\txorq %%rcx, %%rsi\n\torq %%rsi, %%rbx\n\t"
        "movabsq $0x4444444444444444, %%rcx\n\txorq %%rcx, %%rdi\n\torq %%rdi, %%rbx\n\t"
        "movabsq $0x5555555555555555, %%rcx\n\txorq %%rcx, %%r8\n\torq %%r8, %%rbx\n\t"
        "movabsq $0x6666666666666666, %%rcx\n\txorq %%rcx, %%r9\n\torq %%r9, %%rbx\n\t"
        "movabsq $0x7777777777777777, %%rcx\n\txorq %%rcx, %%r10\n\torq %%r10, %%rbx\n\t"
        "movabsq $0x8888888888888888, %%rcx\n\txorq %%rcx, %%r12\n\torq %%r12, %%rbx\n\t"
        "movabsq $0x9999999999999999, %%rcx\n\txorq %%rcx, %%r13\n\torq %%r13, %%rbx\n\t"
        "movabsq $0xaaaaaaaaaaaaaaaa, %%rcx\n\txorq %%rcx, %%r14\n\torq %%r14, %%rbx\n\t"
        "movabsq $0xbbbbbbbbbbbbbbbb, %%rcx\n\txorq %%rcx, %%r15\n\torq %%r15, %%rbx\n\t"
        "movq %%rbx, %[diff]\n\t"
        : "=a"(ret), [rcx] "=m"(rcx), [r11] "=m"(r11), [fl] "=m"(flags), [after] "=m"(after), [diff] "=m"(diff),
          [xmm] "=m"(xmm), [cf] "=m"(cf)
        : [pat] "m"(pattern)
        : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "xmm0", "cc", "memory");
    return (ret != pid) + (rcx != after) + (r11 != flags) + (diff != 0) + (xmm != pattern) + (cf != 1);
}

/* read(fd, buf, 1) through a 7-byte site: it blocks, and signals with SA_RESTART interrupt and restart it. */
static long site_read(int fd, char *buf)
{
    long ret;
    register long rdi __asm__("rdi") = fd;
    register long rsi __asm__("rsi") = (long)buf;
    register long rdx __asm__("rdx") = 1;
    __asm__ volatile("movl $0, %%eax\n\tsyscall" : "=a"(ret) : "r"(rdi), "r"(rsi), "r"(rdx) : "rcx", "r11", "memory");
    return ret;
}

static long loop(int n)
{
    long pid = getpid();
    long bad = 0;
    for (int i = 0; i < n; i++) {
        bad += checked_getpid(pid);
        bad += getpid() != pid;
    }
    return bad;
}

static void *thread_main(void *arg)
{
    (void)arg;
    return (void *)loop(10000);
}

/* `patch_storm table`: whether a trap table ("[moat-syscalls]") is in /proc/self/maps after some syscalls (never
 * natively; under Moat only while syscall-site patching is on). */
static int show_table(void)
{
    for (int i = 0; i < 10; i++) {
        getpid();
    }
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        found |= strstr(line, "[moat-syscalls]") != NULL;
    }
    printf("syscall table: %s\n", found ? "yes" : "no");
    return 0;
}

int main(int argc, char **argv)
{
    enum { Rounds = 200, Kicks = 20 };
    if (argc > 1 && strcmp(argv[1], "table") == 0) {
        return show_table();
    }

    int p[2];
    if (pipe(p) != 0) {
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);

    pid_t parent = getpid();
    pid_t killer = fork();
    if (killer == 0) {
        /* Rounds of signals, each followed by one byte for the blocked reader; then signals until killed. */
        close(p[0]);
        for (int r = 0; r < Rounds; r++) {
            for (int k = 0; k < Kicks; k++) {
                kill(parent, SIGUSR1);
            }
            if (write(p[1], "x", 1) != 1) {
                _exit(1);
            }
        }
        for (;;) {
            kill(parent, SIGUSR1);
        }
    }

    close(p[1]);
    long short_reads = 0;
    char c;
    for (int r = 0; r < Rounds; r++) {
        short_reads += site_read(p[0], &c) != 1 || c != 'x';
    }
    printf("restarted reads: %s\n", short_reads == 0 ? "ok" : "FAILED");

    pthread_t th;
    pthread_create(&th, NULL, thread_main, NULL);
    long bad = loop(30000);
    void *thread_bad;
    pthread_join(th, &thread_bad);
    printf("main loop: %ld bad\n", bad);
    printf("thread loop: %ld bad\n", (long)thread_bad);

    pid_t child = fork();
    if (child == 0) {
        _exit(loop(10000) == 0 ? 0 : 1);
    }
    int st;
    while (waitpid(child, &st, 0) < 0) {
    }
    printf("forked loop: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "FAILED");

    kill(killer, SIGKILL);
    while (waitpid(killer, &st, 0) < 0) {
    }
    printf("signals arrived: %s\n", signals > 0 ? "yes" : "no");
    return 0;
}
