/* Timed waits across a stop and across a handled signal: after SIGSTOP and SIGCONT, ppoll, pselect6, select,
 * poll, nanosleep and clock_nanosleep go on and time out (0), never EINTR; the timeouts of ppoll, pselect6
 * and select are updated to the time left (zero after a timeout, less than asked after an early wake-up); a
 * handled signal makes each of them EINTR (even under SA_RESTART), with nanosleep's rem and ppoll's timeout
 * holding the time left (nonzero); restart_syscall with nothing to restart answers EINTR. Timings never show: only
 * results and whether the time left is zero, less than asked or more than zero. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int data[2];    /* never written: the waits find nothing */
static struct timespec ts;
static struct timeval tv;

static long call(int which, long ms) {
    struct pollfd p = { .fd = data[0], .events = POLLIN };
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(data[0], &rd);
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000L;
    switch (which) {
    case 0: return syscall(SYS_ppoll, &p, 1, &ts, NULL, 8);
    case 1: return syscall(SYS_pselect6, data[0] + 1, &rd, NULL, NULL, &ts, NULL);
    case 2: return syscall(SYS_select, data[0] + 1, &rd, NULL, NULL, &tv);
    case 3: return syscall(SYS_poll, &p, 1, (int)ms);
    case 4: { struct timespec req = ts; return syscall(SYS_nanosleep, &req, &ts); }
    case 5: { struct timespec req = ts; return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, &ts); }
    default: {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        now.tv_sec += ts.tv_sec;
        now.tv_nsec += ts.tv_nsec;
        if (now.tv_nsec >= 1000000000L) { now.tv_sec++; now.tv_nsec -= 1000000000L; }
        return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL);
    }
    }
}

static const char *names[] = { "ppoll", "pselect6", "select", "poll", "nanosleep", "clock_nanosleep", "clock_nanosleep abs" };

static const char *left(int which, long ms) {
    long long ns;
    if (which == 2) ns = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
    else if (which == 0 || which == 1 || which == 4 || which == 5) ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
    else return "-";
    if (ns == 0) return "zero";
    /* A sleep's rem counts from its timer's hard expiry, which has the task's timer slack (50 us) added: it
     * may exceed what was asked when the signal came at once. */
    if (which == 4 || which == 5) return "nonzero";
    return ns < ms * 1000000LL ? "less" : "not less";
}

static void on_usr1(int sig) { (void)sig; }

/* A child runs the call once; the parent stops and continues it, or sends SIGUSR1 until it returns. */
static void run(int which, int stop, long ms) {
    int ready[2], result[2];
    pipe(ready);
    pipe(result);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        write(ready[1], "r", 1);
        long r = call(which, ms);
        int e = errno;
        char line[160];
        int n = snprintf(line, sizeof line, "%s %s: %ld %s, time left %s\n", names[which], stop ? "across a stop" : "with a handled signal",
                         r, r < 0 ? (e == EINTR ? "EINTR" : strerror(e)) : "ok",
                         /* rem is written only if the stop came during the sleep */
                         stop && (which == 4 || which == 5) ? "-" : left(which, ms));
        write(result[1], line, n);
        _exit(0);
    }
    char c, line[160];
    read(ready[0], &c, 1);
    int st;
    if (stop) {
        kill(pid, SIGSTOP);
        waitpid(pid, &st, WUNTRACED);
        kill(pid, SIGCONT);
    } else {
        struct pollfd p = { .fd = result[0], .events = POLLIN };
        do kill(pid, SIGUSR1); while (poll(&p, 1, 20) == 0);
    }
    ssize_t n = read(result[0], line, sizeof line);
    if (n > 0) fwrite(line, 1, n, stdout);
    waitpid(pid, &st, 0);
    close(ready[0]); close(ready[1]); close(result[0]); close(result[1]);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pipe(data);
    for (int w = 0; w <= 6; w++) run(w, 1, 300);
    for (int w = 0; w <= 6; w++) run(w, 0, 20000);

    /* An early wake-up leaves the time left in the timeouts of ppoll, pselect6 and select. */
    write(data[1], "x", 1);
    for (int w = 0; w <= 2; w++) {
        long r = call(w, 20000);
        printf("%s ready at once: %ld, time left %s\n", names[w], r, left(w, 20000));
    }
    /* A zero timeout is left as it is. */
    for (int w = 0; w <= 2; w++) {
        long r = call(w, 0);
        printf("%s zero timeout: %ld, time left %s\n", names[w], r, left(w, 0));
    }

    /* A handler ran in this process (SIGUSR1 to itself): restart_syscall has nothing to continue. */
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    long r = syscall(SYS_restart_syscall);
    printf("restart_syscall: %ld %s\n", r, r < 0 && errno == EINTR ? "EINTR" : "other");
    return 0;
}
