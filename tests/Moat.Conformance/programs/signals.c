/* Signal delivery: handlers with SA_SIGINFO, masks, pending signals, sigsuspend, SA_RESTART vs EINTR,
 * SA_RESETHAND, SA_NODEFER, sigaltstack, a handled SIGSEGV, and SIGCHLD from a child. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t count, depth, maxdepth, on_alt, last_code, last_pid_ok;
static sigjmp_buf jb;
static char altstack[65536];

static void counter(int sig) { (void)sig; count++; }
static void info_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_code = si->si_code;
    last_pid_ok = si->si_pid == getpid() && si->si_signo == sig;
}
static void nested(int sig) {
    depth++;
    if (depth > maxdepth) maxdepth = depth;
    if (depth < 3) raise(sig);
    depth--;
}
static void alt_handler(int sig) {
    (void)sig;
    char here;
    on_alt = &here >= altstack && &here < altstack + sizeof altstack;
}
static void segv_handler(int sig) { (void)sig; siglongjmp(jb, 1); }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    kill(getpid(), SIGUSR1);
    printf("siginfo: code SI_USER %d, pid ok %d\n", last_code == SI_USER, last_pid_ok);
    raise(SIGUSR1);
    printf("raise: code SI_TKILL %d\n", last_code == SI_TKILL);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = counter;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t block, old, pend;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR2);
    sigpending(&pend);
    printf("blocked: count %d pending %d\n", count, sigismember(&pend, SIGUSR2));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: count %d\n", count);

    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) { usleep(20000); kill(parent, SIGUSR2); _exit(0); }
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGUSR2);
    int r = sigsuspend(&wait_mask);
    printf("sigsuspend: %d EINTR %d count %d\n", r, errno == EINTR, count);
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    printf("mask restored: %d\n", sigismember(&now, SIGUSR2));
    sigprocmask(SIG_SETMASK, &old, NULL);
    waitpid(c, NULL, 0);

    /* A blocking read interrupted: EINTR without SA_RESTART. */
    int p[2];
    pipe(p);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = counter;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    char b;
    ssize_t n = read(p[0], &b, 1);
    printf("read interrupted: %zd EINTR %d\n", n, errno == EINTR);
    /* With SA_RESTART the read goes on and gets the data written later. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    c = fork();
    if (c == 0) { usleep(1500000); write(p[1], "x", 1); _exit(0); }
    alarm(1);
    n = read(p[0], &b, 1);
    printf("read restarted: %zd %c\n", n, b);
    waitpid(c, NULL, 0);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = counter;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    sigaction(SIGUSR2, NULL, &sa);
    printf("resethand: back to default %d\n", sa.sa_handler == SIG_DFL);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = nested;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("nodefer nesting depth: %d\n", maxdepth);

    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    printf("sigaltstack: %d\n", sigaltstack(&ss, NULL));
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = alt_handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("handler ran on the alternate stack: %d\n", on_alt);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = segv_handler;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(jb, 1) == 0) {
        *(volatile int *)16 = 1;
        printf("not reached\n");
    } else {
        printf("recovered from SIGSEGV\n");
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGCHLD, &sa, NULL);
    last_code = 0;
    c = fork();
    if (c == 0) _exit(5);
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
    printf("SIGCHLD code CLD_EXITED %d, status %d\n", last_code == CLD_EXITED, WEXITSTATUS(st));
    printf("bad signal: %d\n", kill(getpid(), 65) == -1 && errno == EINVAL);
    printf("sigaction SIGKILL: %d\n", sigaction(SIGKILL, &sa, NULL) == -1 && errno == EINVAL);
    return 0;
}
