/* alarm(2), setitimer(2), POSIX timers, timerfd, and nanosleep interrupted by a signal (EINTR). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms, timers;
static volatile int last_code;

static void on_alarm(int sig) { (void)sig; alarms++; }
static void on_timer(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; timers++; last_code = si->si_code; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    printf("alarm first: %u\n", alarm(5));
    printf("alarm replace: %u\n", alarm(0));
    struct itimerval it = {{0, 0}, {0, 30000}};
    printf("setitimer: %d\n", setitimer(ITIMER_REAL, &it, NULL));
    struct timespec ts = {2, 0}, rem = {0, 0};
    int r = nanosleep(&ts, &rem);
    printf("nanosleep interrupted: %d %s, remaining under 2s: %d\n", r, errno == EINTR ? "EINTR" : "other", rem.tv_sec < 2);
    printf("alarms: %d\n", alarms);
    struct itimerval cur;
    getitimer(ITIMER_REAL, &cur);
    /* Linux reports 1 us left while the expiry callback still runs on another CPU: give it a moment. */
    for (int i = 0; i < 100 && (cur.it_value.tv_sec != 0 || cur.it_value.tv_usec != 0); i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        getitimer(ITIMER_REAL, &cur);
    }
    printf("disarmed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
    printf("setitimer bad which: %d\n", setitimer(99, &it, NULL) == -1 && errno == EINVAL);

    sa.sa_handler = NULL;
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    timer_t tid;
    printf("timer_create: %d\n", timer_create(CLOCK_MONOTONIC, &sev, &tid));
    struct itimerspec its = {{0, 10000000}, {0, 10000000}};
    printf("timer_settime: %d\n", timer_settime(tid, 0, &its, NULL));
    while (timers < 3) pause();
    printf("timer fired 3 times, si_code SI_TIMER: %d\n", last_code == SI_TIMER);
    struct itimerspec got;
    timer_gettime(tid, &got);
    printf("interval kept: %d\n", got.it_interval.tv_nsec == 10000000);
    printf("timer_delete: %d\n", timer_delete(tid));
    int again = timer_delete(tid);
    printf("timer_delete again: %d %s\n", again, errno == EINVAL ? "EINVAL" : "other");

    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec tfs = {{0, 0}, {0, 20000000}};
    printf("timerfd_settime: %d\n", timerfd_settime(fd, 0, &tfs, NULL));
    uint64_t n = 0;
    ssize_t rd = read(fd, &n, sizeof n);
    printf("timerfd read: %zd expirations %llu\n", rd, (unsigned long long)n);
    int nfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    rd = read(nfd, &n, sizeof n);
    printf("timerfd unarmed nonblocking: %zd %s\n", rd, errno == EAGAIN ? "EAGAIN" : "other");
    printf("timerfd bad clock: %d\n", timerfd_create(12345, 0) == -1 && errno == EINVAL);
    return 0;
}
