/* How a session lets go of its controlling terminal: TIOCNOTTY by the session leader (SIGHUP and SIGCONT
 * to the foreground group, the terminal freed, TIOCSCTTY takes it again), TIOCSCTTY refused to a process
 * that leads no session or whose terminal another session holds (and allowed to root with arg 1), setsid
 * dropping the terminal, a background read by an orphaned process group (EIO), and the session leader's
 * exit (SIGHUP to the foreground group, which loses the terminal). Ordered by pipes and wait. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
static volatile sig_atomic_t hups, conts;
static void on_hup(int sig) { (void)sig; hups++; }
static void on_cont(int sig) { (void)sig; conts++; }

static int m;
static char path[64];

static void wait_byte(int fd) { char c; read(fd, &c, 1); }
static void put_byte(int fd) { write(fd, "x", 1); }

/* Leader 1: TIOCNOTTY hangs up the foreground group and frees the terminal. */
static void notty_leader(void) {
    close(m);
    setsid();
    int s = open(path, O_RDWR);
    int ready[2], go[2];
    pipe(ready);
    pipe(go);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        signal(SIGHUP, on_hup);
        signal(SIGCONT, on_cont);
        setpgid(0, 0);
        put_byte(ready[1]);
        sigset_t none;
        sigemptyset(&none);
        while (!hups || !conts) sigsuspend(&none);
        wait_byte(go[0]); /* the leader has printed */
        printf("notty: foreground child got SIGHUP %d SIGCONT %d\n", hups, conts);
        printf("notty: child's /dev/tty: %s\n", en(open("/dev/tty", O_RDWR)));
        fflush(stdout);
        _exit(0);
    }
    setpgid(c, c);
    wait_byte(ready[0]);
    tcsetpgrp(s, c);
    printf("notty: TIOCNOTTY: %s\n", en(ioctl(s, TIOCNOTTY)));
    fflush(stdout);
    put_byte(go[1]);
    int st;
    waitpid(c, &st, 0);
    pid_t pg;
    printf("notty: leader's /dev/tty: %s\n", en(open("/dev/tty", O_RDWR)));
    printf("notty: TIOCGPGRP: %s\n", en(ioctl(s, TIOCGPGRP, &pg)));
    printf("notty: TIOCNOTTY again: %s\n", en(ioctl(s, TIOCNOTTY)));
    printf("notty: TIOCSCTTY takes it back: %s\n", en(ioctl(s, TIOCSCTTY, 0)));
    printf("notty: /dev/tty: %s\n", en(open("/dev/tty", O_RDWR)));

    /* Another session cannot take it, except by force as root; a non-leader cannot take any. */
    fflush(stdout);
    pid_t o = fork();
    if (o == 0) {
        printf("notty: non-leader TIOCSCTTY: %s\n", en(ioctl(s, TIOCSCTTY, 0)));
        setsid();
        printf("notty: after setsid, /dev/tty: %s\n", en(open("/dev/tty", O_RDWR)));
        printf("notty: other session TIOCSCTTY: %s\n", en(ioctl(s, TIOCSCTTY, 0)));
        printf("notty: other session TIOCSCTTY, force: %s\n", en(ioctl(s, TIOCSCTTY, 1)));
        pid_t sid = 0;
        ioctl(s, TIOCGSID, &sid);
        printf("notty: now its session: %s\n", sid == getpid() ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    waitpid(o, &st, 0);
    printf("notty: leader lost it: TIOCGSID %s\n", en(ioctl(s, TIOCGSID, &pg)));
    fflush(stdout);
    _exit(0);
}

/* Leader 2: an orphaned background group reads (EIO), then the leader exits (SIGHUP to the foreground). */
static void exiting_leader(int up) {
    close(m);
    setsid();
    int s = open(path, O_RDWR);
    int ready[2], go[2], done[2];
    pipe(ready);
    pipe(go);
    pipe(done);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            setpgid(0, 0);
            put_byte(ready[1]);
            wait_byte(go[0]); /* its parent is reaped: the group is orphaned */
            char b;
            printf("exit: orphaned background read: %s\n", en(read(s, &b, 1)));
            fflush(stdout);
            put_byte(done[1]);
            _exit(0);
        }
        wait_byte(ready[0]);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    put_byte(go[1]);
    wait_byte(done[0]);

    fflush(stdout);
    pid_t f = fork();
    if (f == 0) {
        signal(SIGHUP, on_hup);
        setpgid(0, 0);
        put_byte(ready[1]);
        sigset_t none;
        sigemptyset(&none);
        while (!hups) sigsuspend(&none);
        /* Whether the terminal is still its own here races with the leader's exit, natively too (the
         * SIGHUP comes before the session loses its terminal): not printed. */
        printf("exit: foreground child got SIGHUP %d\n", hups);
        fflush(stdout);
        put_byte(up);
        _exit(0);
    }
    setpgid(f, f);
    wait_byte(ready[0]);
    tcsetpgrp(s, f);
    _exit(0);
}

int main(void) {
    m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    snprintf(path, sizeof path, "%s", ptsname(m));
    fflush(stdout);
    pid_t l = fork();
    if (l == 0) notty_leader();
    int st;
    waitpid(l, &st, 0);

    int up[2];
    pipe(up);
    fflush(stdout);
    l = fork();
    if (l == 0) exiting_leader(up[1]);
    close(up[1]);
    waitpid(l, &st, 0);
    char c;
    printf("main: the foreground child reported: %s\n", read(up[0], &c, 1) == 1 ? "yes" : "no");
    return 0;
}
