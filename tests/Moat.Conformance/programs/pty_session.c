/* A pty as the controlling terminal of a session: a session leader opening the replica without O_NOCTTY
 * acquires it, /dev/tty opens it (ENXIO without one), TIOCGSID/TIOCGPGRP/tcsetpgrp; ^C on the master sends
 * SIGINT to the foreground group and TIOCSWINSZ sends it SIGWINCH; a background group gets SIGTTIN for a
 * read, SIGTTOU for a write under TOSTOP (EIO when it ignores SIGTTIN); closing the master hangs the
 * terminal up: SIGHUP to the session leader, EOF on read and EIO on write. Ordered by pipes and wait. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char *en(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
static volatile sig_atomic_t winch, hup, cont;
static void on_winch(int sig) { (void)sig; winch = 1; }
static void on_hup(int sig) { (void)sig; hup = 1; }
static void on_cont(int sig) { (void)sig; cont = 1; }

static int up[2]; /* children -> main */
static int m;

static void tell(char c) { write(up[1], &c, 1); }
static char hear(void) { char c = 0; read(up[0], &c, 1); return c; }

static const char *how(int st) {
    static char b[64];
    if (WIFEXITED(st)) snprintf(b, sizeof b, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) snprintf(b, sizeof b, "killed by %s", sigabbrev_np(WTERMSIG(st)));
    else if (WIFSTOPPED(st)) snprintf(b, sizeof b, "stopped by %s", sigabbrev_np(WSTOPSIG(st)));
    else snprintf(b, sizeof b, "?");
    return b;
}

/* A background child of the leader doing one thing to the terminal; returns what wait saw. */
static const char *background(int s, int what) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        setpgid(0, 0);
        char b[8];
        if (what == 0) read(s, b, 1);
        else if (what == 1) write(s, "w", 1);
        else if (what == 2) { signal(SIGTTIN, SIG_IGN); _exit(read(s, b, 1) < 0 && errno == EIO ? 5 : 6); }
        else if (what == 3) { signal(SIGTTOU, SIG_IGN); _exit(write(s, "v", 1) == 1 ? 7 : 8); }
        _exit(0);
    }
    setpgid(c, c);
    int st;
    waitpid(c, &st, WUNTRACED);
    const char *r = how(st);
    if (WIFSTOPPED(st)) { kill(c, SIGKILL); int st2; waitpid(c, &st2, 0); }
    return r;
}

static void leader(const char *path) {
    close(m); /* only main holds the master: its close hangs the terminal up */
    setsid();
    int s = open(path, O_RDWR);
    printf("leader: open replica: %s\n", en(s));
    pid_t sid = -1, pg = -1;
    const char *e = en(ioctl(s, TIOCGSID, &sid));
    printf("leader: TIOCGSID: %s is self %s\n", e, sid == getpid() ? "yes" : "no");
    e = en(ioctl(s, TIOCGPGRP, &pg));
    printf("leader: TIOCGPGRP: %s is self %s\n", e, pg == getpid() ? "yes" : "no");
    printf("leader: TIOCSCTTY again: %s\n", en(ioctl(s, TIOCSCTTY, 0)));
    int t = open("/dev/tty", O_RDWR);
    struct stat a, b;
    fstat(s, &a);
    fstat(t, &b);
    printf("leader: /dev/tty: %s same device %s\n", en(t), t >= 0 && a.st_rdev == b.st_rdev ? "yes" : "no");
    close(t);

    int go[2];
    pipe(go);
    fflush(stdout);
    pid_t g = fork();
    if (g == 0) {
        signal(SIGWINCH, on_winch);
        setpgid(0, 0);
        char c;
        read(go[0], &c, 1); /* the leader made this group the foreground */
        sigset_t none;
        sigemptyset(&none);
        tell('R');
        while (!winch) sigsuspend(&none);
        tell('W');
        char buf[8];
        read(s, buf, sizeof buf); /* ^C ends it */
        _exit(9);
    }
    setpgid(g, g);
    printf("leader: tcsetpgrp to child: %s\n", en(tcsetpgrp(s, g)));
    printf("leader: tcgetpgrp is child: %s\n", tcgetpgrp(s) == g ? "yes" : "no");
    fflush(stdout);
    write(go[1], "g", 1);
    int st;
    waitpid(g, &st, 0);
    printf("leader: foreground child %s\n", how(st));

    /* The leader is in the background now: taking the terminal back needs SIGTTOU ignored. */
    pid_t before = tcgetpgrp(s);
    printf("leader: foreground still the dead group: %s\n", before == g ? "yes" : "no");
    signal(SIGTTOU, SIG_IGN);
    printf("leader: tcsetpgrp back: %s\n", en(tcsetpgrp(s, getpgrp())));
    signal(SIGTTOU, SIG_DFL);
    printf("leader: tcsetpgrp to no group: %s\n", en(tcsetpgrp(s, 99999)));

    printf("leader: background read: %s\n", background(s, 0));
    printf("leader: background write: %s\n", background(s, 1));
    printf("leader: background read, SIGTTIN ignored: %s\n", background(s, 2));
    struct termios tio;
    tcgetattr(s, &tio);
    tio.c_lflag |= TOSTOP;
    tcsetattr(s, TCSANOW, &tio);
    printf("leader: background write, TOSTOP: %s\n", background(s, 1));
    printf("leader: background write, TOSTOP, SIGTTOU ignored: %s\n", background(s, 3));
    tio.c_lflag &= ~TOSTOP;
    tcsetattr(s, TCSANOW, &tio);

    signal(SIGHUP, on_hup);
    signal(SIGCONT, on_cont);
    sigset_t none;
    sigemptyset(&none);
    fflush(stdout);
    tell('H');
    while (!hup) sigsuspend(&none);
    printf("leader: SIGHUP %d\n", hup);
    char c;
    printf("leader: read after hangup: %ld\n", (long)read(s, &c, 1));
    printf("leader: write after hangup: %s\n", en(write(s, "x", 1)));
    printf("leader: tcgetattr after hangup: %s\n", en(tcgetattr(s, &tio)));
    printf("leader: /dev/tty after hangup: %s\n", en(open("/dev/tty", O_RDWR)));
    fflush(stdout);
    _exit(0);
}

int main(void) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        setsid();
        printf("new session: /dev/tty: %s\n", en(open("/dev/tty", O_RDWR)));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);

    m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    char path[64];
    snprintf(path, sizeof path, "%s", ptsname(m));
    pipe(up);
    fflush(stdout);
    pid_t l = fork();
    if (l == 0) leader(path);

    printf("main: child ready: %c\n", hear());
    struct winsize w = {.ws_row = 30, .ws_col = 100};
    ioctl(m, TIOCSWINSZ, &w);
    printf("main: child saw SIGWINCH: %c\n", hear());
    write(m, "\003", 1);
    printf("main: leader ready for hangup: %c\n", hear());
    fflush(stdout);
    close(m);
    waitpid(l, &st, 0);
    printf("main: leader %s\n", how(st));
    return 0;
}
