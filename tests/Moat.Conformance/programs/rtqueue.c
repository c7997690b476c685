/* Real-time signals queue, standard ones do not: three sigqueue()s of a blocked SIGRTMIN+1 are delivered
 * three times, in order, with their values; two SIGUSR1s are delivered once. Lower real-time numbers come
 * first. sigtimedwait takes the queued instances one by one. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int order[16], values[16], n;

static void handler(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    if (n < 16) { order[n] = sig; values[n] = si->si_value.sival_int; n++; }
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    int rt1 = SIGRTMIN + 1, rt3 = SIGRTMIN + 3;
    sigaction(rt1, &sa, NULL);
    sigaction(rt3, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, rt1);
    sigaddset(&set, rt3);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    for (int i = 1; i <= 3; i++) sigqueue(getpid(), rt3, (union sigval){.sival_int = 30 + i});
    for (int i = 1; i <= 3; i++) sigqueue(getpid(), rt1, (union sigval){.sival_int = 10 + i});
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    sigprocmask(SIG_SETMASK, &old, NULL);

    printf("deliveries: %d\n", n);
    for (int i = 0; i < n; i++)
        printf("  %s value %d\n", order[i] == SIGUSR1 ? "SIGUSR1" : order[i] == rt1 ? "SIGRTMIN+1" : "SIGRTMIN+3", order[i] == SIGUSR1 ? 0 : values[i]);

    /* sigtimedwait takes queued instances one at a time. */
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (int i = 1; i <= 2; i++) sigqueue(getpid(), rt1, (union sigval){.sival_int = 100 + i});
    struct timespec zero = {0, 0};
    siginfo_t si;
    for (int i = 0; i < 3; i++) {
        int r = sigtimedwait(&set, &si, &zero);
        if (r < 0) printf("sigtimedwait: none left\n");
        else printf("sigtimedwait: %s value %d\n", r == rt1 ? "SIGRTMIN+1" : "other", si.si_value.sival_int);
    }
    return 0;
}
