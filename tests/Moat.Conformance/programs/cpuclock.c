/* CPU-time clocks: the process and thread clocks advance with the CPU the program uses, per thread and
 * per process; getrusage and times agree and never go back; children's time is counted at wait; clock
 * ids of other threads and processes follow Linux's rules; clock_getres and clock_nanosleep on them. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROCESS_CLOCK(pid) ((clockid_t)((~(unsigned)(pid) << 3) | 2))
#define THREAD_CLOCK(tid) ((clockid_t)((~(unsigned)(tid) << 3) | 6))

static long long ns(clockid_t c) {
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0) return -errno;
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long wall(void) { return ns(CLOCK_MONOTONIC); }

static const char *en(int e) {
    switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case ESRCH: return "ESRCH";
    case EPERM: return "EPERM";
    case ENOTSUP: return "ENOTSUP";
    default: return strerror(e);
    }
}

static long long tv(struct timeval t) { return t.tv_sec * 1000000LL + t.tv_usec; }

/* Spins until clock c has advanced by d ns; gives up after 20 s of wall time. */
static int spin(clockid_t c, long long d) {
    long long start = ns(c), w = wall();
    volatile unsigned long x = 0;
    while (ns(c) - start < d) {
        for (int i = 0; i < 10000; i++) x += i;
        if (wall() - w > 20000000000LL) return 0;
    }
    return 1;
}

static volatile sig_atomic_t usr1;
static void on_usr1(int s) { (void)s; usr1 = 1; }

static volatile int busy_go = 1;
static volatile pid_t busy_tid;
static volatile int busy_own_tid_ok;
static int idle_pipe[2];

static void *busy(void *arg) {
    (void)arg;
    busy_tid = gettid();
    busy_own_tid_ok = ns(PROCESS_CLOCK(gettid())) >= 0;
    spin(CLOCK_THREAD_CPUTIME_ID, 60000000LL);
    /* Keep using CPU until told to stop, so that the process clock keeps moving. */
    volatile unsigned long x = 0;
    long long w = wall();
    while (busy_go && wall() - w < 20000000000LL) x++;
    return NULL;
}

static void *idle(void *arg) {
    (void)arg;
    char c;
    read(idle_pipe[0], &c, 1);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);

    /* The process and thread clocks advance while the program computes. */
    long long p0 = ns(CLOCK_PROCESS_CPUTIME_ID), t0 = ns(CLOCK_THREAD_CPUTIME_ID);
    printf("process clock advanced 50ms: %s\n", spin(CLOCK_PROCESS_CPUTIME_ID, 50000000LL) ? "yes" : "timeout");
    long long t1 = ns(CLOCK_THREAD_CPUTIME_ID), p1 = ns(CLOCK_PROCESS_CPUTIME_ID);
    printf("thread clock advanced 30ms: %s\n", t1 - t0 >= 30000000LL ? "yes" : "no");
    printf("process clock >= thread clock: %s\n", p1 >= t1 ? "yes" : "no");
    printf("own pid as a process clock: %s\n", ns(PROCESS_CLOCK(getpid())) >= p1 ? "yes" : "no");
    printf("own tid as a thread clock: %s\n", ns(THREAD_CLOCK(gettid())) >= t1 ? "yes" : "no");
    (void)p0;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rusage self >= 30ms: %s\n", tv(ru.ru_utime) + tv(ru.ru_stime) >= 30000 ? "yes" : "no");
    getrusage(RUSAGE_THREAD, &ru);
    printf("rusage thread >= 30ms: %s\n", tv(ru.ru_utime) + tv(ru.ru_stime) >= 30000 ? "yes" : "no");
    printf("rusage bad who: %s\n", getrusage(7, &ru) == 0 ? "0" : en(errno));
    struct tms tm;
    times(&tm);
    printf("times >= 3 ticks: %s\n", tm.tms_utime + tm.tms_stime >= 3 ? "yes" : "no");
    printf("times children before any: %s\n", tm.tms_cutime + tm.tms_cstime == 0 ? "zero" : "nonzero");

    /* Nothing goes back. */
    int mono = 1;
    long long lp = 0, lt = 0, lr = 0, lx = 0;
    for (int i = 0; i < 300; i++) {
        long long p = ns(CLOCK_PROCESS_CPUTIME_ID), t = ns(CLOCK_THREAD_CPUTIME_ID);
        getrusage(RUSAGE_SELF, &ru);
        long long r = tv(ru.ru_utime) + tv(ru.ru_stime);
        long long uu = tv(ru.ru_utime);
        times(&tm);
        long long x = tm.tms_utime + tm.tms_stime;
        if (p < lp || t < lt || r < lr || x < lx) mono = 0;
        (void)uu;
        lp = p; lt = t; lr = r; lx = x;
    }
    printf("monotonic: %s\n", mono ? "yes" : "no");

    /* Resolutions. */
    struct timespec res;
    clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res);
    printf("getres process: %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
    clock_getres(CLOCK_THREAD_CPUTIME_ID, &res);
    printf("getres thread: %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
    printf("getres which=3: %s\n", clock_getres((clockid_t)((~0u << 3) | 3), &res) == 0 ? "0" : en(errno));
    printf("gettime which=3: %s\n", clock_gettime((clockid_t)((~0u << 3) | 3), &res) == 0 ? "0" : en(errno));
    printf("nanosleep thread clock: %s\n", en(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &(struct timespec){0, 1000}, NULL)));

    /* A busy thread and an idle one. */
    pipe(idle_pipe);
    pthread_t b, i;
    pthread_create(&i, NULL, idle, NULL);
    pthread_create(&b, NULL, busy, NULL);
    clockid_t bc, ic, self;
    pthread_getcpuclockid(b, &bc);
    pthread_getcpuclockid(i, &ic);
    pthread_getcpuclockid(pthread_self(), &self);
    printf("self clock id is own thread clock: %s\n", ns(self) >= t1 ? "yes" : "no");
    printf("nanosleep own thread clock id: %s\n", en(clock_nanosleep(self, 0, &(struct timespec){0, 1000}, NULL)));
    long long w = wall();
    while (ns(bc) < 60000000LL && wall() - w < 20000000000LL) usleep(2000);
    printf("busy thread clock >= 60ms: %s\n", ns(bc) >= 60000000LL ? "yes" : "no");
    printf("idle thread clock < 10ms: %s\n", ns(ic) < 10000000LL ? "yes" : "no");
    clock_getres(bc, &res);
    printf("getres busy thread: %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
    /* The busy thread still spins: the process clock moves while this thread sleeps on it. */
    long long before = ns(CLOCK_PROCESS_CPUTIME_ID);
    int r = clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &(struct timespec){0, 20000000}, NULL);
    printf("nanosleep process clock 20ms: %s, advanced: %s\n", en(r), ns(CLOCK_PROCESS_CPUTIME_ID) - before >= 20000000LL ? "yes" : "no");
    before = ns(bc);
    struct timespec until = {0, 0};
    long long target = before + 10000000LL;
    until.tv_sec = target / 1000000000LL;
    until.tv_nsec = target % 1000000000LL;
    r = clock_nanosleep(bc, TIMER_ABSTIME, &until, NULL);
    printf("nanosleep busy thread clock absolute: %s, reached: %s\n", en(r), ns(bc) >= target ? "yes" : "no");
    busy_go = 0;
    pthread_join(b, NULL);
    printf("busy thread's own tid as a process clock: %s\n", busy_own_tid_ok ? "ok" : "error");
    write(idle_pipe[1], "x", 1);
    pthread_join(i, NULL);

    /* Children: their time counts once waited for. */
    int go[2], back[2];
    pipe(go);
    pipe(back);
    pid_t c = fork();
    if (c == 0) {
        spin(CLOCK_PROCESS_CPUTIME_ID, 60000000LL);
        char x;
        write(back[1], "x", 1);
        read(go[0], &x, 1);
        _exit(0);
    }
    char x;
    read(back[0], &x, 1);
    clockid_t cc;
    printf("getcpuclockid child: %s\n", en(clock_getcpuclockid(c, &cc)));
    printf("child clock >= 50ms: %s\n", ns(cc) >= 50000000LL ? "yes" : "no");
    printf("child clock is PROCESS_CLOCK(pid): %s\n", cc == PROCESS_CLOCK(c) ? "yes" : "no");
    printf("child thread clock: %s\n", ns(THREAD_CLOCK(c)) >= 0 ? "0" : en((int)-ns(THREAD_CLOCK(c))));
    printf("getres child thread clock: %s\n", clock_getres(THREAD_CLOCK(c), &res) == 0 ? "0" : en(errno));
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("rusage children before wait: %s\n", tv(ru.ru_utime) + tv(ru.ru_stime) == 0 ? "zero" : "nonzero");
    write(go[1], "x", 1);
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    printf("zombie clock >= 50ms: %s\n", ns(cc) >= 50000000LL ? "yes" : "no");
    waitpid(c, NULL, 0);
    printf("reaped clock: %s\n", ns(cc) >= 0 ? "0" : en((int)-ns(cc)));
    printf("getcpuclockid reaped: %s\n", en(clock_getcpuclockid(c, &cc)));
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("rusage children after wait >= 50ms: %s\n", tv(ru.ru_utime) + tv(ru.ru_stime) >= 50000 ? "yes" : "no");
    times(&tm);
    printf("times children >= 4 ticks: %s\n", tm.tms_cutime + tm.tms_cstime >= 4 ? "yes" : "no");

    c = fork();
    if (c == 0) {
        spin(CLOCK_PROCESS_CPUTIME_ID, 30000000LL);
        _exit(0);
    }
    int st;
    struct rusage cru;
    wait4(c, &st, 0, &cru);
    printf("wait4 rusage >= 20ms: %s\n", tv(cru.ru_utime) + tv(cru.ru_stime) >= 20000 ? "yes" : "no");
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("rusage children grew: %s\n", tv(ru.ru_utime) + tv(ru.ru_stime) >= 70000 ? "yes" : "no");
    printf("getcpuclockid self: %s\n", en(clock_getcpuclockid(0, &cc)));

    /* POSIX timers on CPU clocks. */
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent sev = {0};
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    timer_t tid;
    printf("timer_create process clock: %s\n", timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &tid) == 0 ? "0" : en(errno));
    struct itimerspec its = {{0, 0}, {0, 30000000}};
    long long start = ns(CLOCK_PROCESS_CPUTIME_ID);
    timer_settime(tid, 0, &its, NULL);
    long long w2 = wall();
    volatile unsigned long spinx = 0;
    while (!usr1 && wall() - w2 < 20000000000LL) spinx++;
    printf("process clock timer fired: %s, after 30ms of CPU: %s\n", usr1 ? "yes" : "no", ns(CLOCK_PROCESS_CPUTIME_ID) - start >= 30000000LL ? "yes" : "no");
    timer_delete(tid);

    sev.sigev_notify = SIGEV_NONE;
    printf("timer_create thread clock: %s\n", timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &tid) == 0 ? "0" : en(errno));
    start = ns(CLOCK_THREAD_CPUTIME_ID);
    its.it_value.tv_nsec = 20000000;
    timer_settime(tid, 0, &its, NULL);
    struct itimerspec cur;
    timer_gettime(tid, &cur);
    printf("thread clock timer armed: %s\n", cur.it_value.tv_sec || cur.it_value.tv_nsec ? "yes" : "no");
    w2 = wall();
    do {
        spinx++;
        timer_gettime(tid, &cur);
    } while ((cur.it_value.tv_sec || cur.it_value.tv_nsec) && wall() - w2 < 20000000000LL);
    printf("thread clock timer expired after 20ms of CPU: %s\n", ns(CLOCK_THREAD_CPUTIME_ID) - start >= 20000000LL ? "yes" : "no");
    timer_delete(tid);
    printf("timer_create bad cpu clock: %s\n", timer_create((clockid_t)((~0u << 3) | 3), &sev, &tid) == 0 ? "0" : en(errno));
    printf("timer_create reaped child clock: %s\n", timer_create(PROCESS_CLOCK(c), &sev, &tid) == 0 ? "0" : en(errno));
    return 0;
}
