/* ITIMER_VIRTUAL and ITIMER_PROF: they fire after CPU time (a busy loop), one-shot timers read back as 0
 * once fired, periodic ones keep firing until disarmed, and bad arguments are EINVAL. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t vt, prof;
static void on_vt(int s) { (void)s; vt++; }
static void on_prof(int s) { (void)s; prof++; }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Spins until *flag reaches n or 10 s of wall time pass. */
static void spin(volatile sig_atomic_t *flag, int n) {
    double end = now() + 10;
    volatile unsigned long x = 0;
    while (*flag < n && now() < end) x++;
}

int main(void) {
    signal(SIGVTALRM, on_vt);
    signal(SIGPROF, on_prof);

    struct itimerval it = {{0, 0}, {0, 50000}}, old;
    printf("setitimer VIRTUAL: %d\n", setitimer(ITIMER_VIRTUAL, &it, NULL));
    getitimer(ITIMER_VIRTUAL, &old);
    printf("armed reads nonzero: %s\n", old.it_value.tv_sec || old.it_value.tv_usec ? "yes" : "no");
    spin(&vt, 1);
    printf("SIGVTALRM after CPU time: %s\n", vt == 1 ? "yes" : "no");
    getitimer(ITIMER_VIRTUAL, &old);
    printf("one-shot reads 0 after firing: %s\n", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0 ? "yes" : "no");

    struct itimerval periodic = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_PROF, &periodic, NULL);
    spin(&prof, 3);
    printf("SIGPROF periodic, 3 times: %s\n", prof >= 3 ? "yes" : "no");
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, &old);
    printf("old value had the interval: %s\n", old.it_interval.tv_usec == 20000 ? "yes" : "no");
    getitimer(ITIMER_PROF, &old);
    printf("disarmed reads 0: %s\n", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0 ? "yes" : "no");

    struct itimerval bad = {{0, 0}, {0, 1000000}};
    int r = setitimer(ITIMER_VIRTUAL, &bad, NULL);
    int e = errno;
    printf("usec 1000000: %d %s\n", r, e == EINVAL ? "EINVAL" : strerror(e));
    r = setitimer(3, &it, NULL);
    e = errno;
    printf("which 3: %d %s\n", r, e == EINVAL ? "EINVAL" : strerror(e));
    r = getitimer(99, &old);
    e = errno;
    printf("getitimer 99: %d %s\n", r, e == EINVAL ? "EINVAL" : strerror(e));
    return 0;
}
