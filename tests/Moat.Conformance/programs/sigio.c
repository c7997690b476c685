/* Signal-driven I/O: F_SETOWN/F_GETOWN (process, negative group, ESRCH, 0 clears), F_SETOWN_EX/F_GETOWN_EX
 * (types, EINVAL), F_SETSIG/F_GETSIG (EINVAL past 64), O_ASYNC by F_SETFL and FIOASYNC (ENOTTY where a
 * file has no fasync), and the signals themselves: plain SIGIO (SI_KERNEL) or the F_SETSIG signal with
 * si_code POLL_IN/POLL_OUT/POLL_HUP, si_band and si_fd, from pipes (write, read, the other end's close) and
 * unix sockets (data, a peer's close, a new connection), queued once per event for a real-time signal, and
 * not sent without an owner or after O_ASYNC is off. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "ok";
    case EINVAL: return "EINVAL";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case ENOTTY: return "ENOTTY";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

static void show(const char *label, long r) {
    if (r < 0)
        printf("%s: %s\n", label, ename(errno));
    else
        printf("%s: %ld\n", label, r);
}

#define MAXREC 32
static volatile int nrec;
static struct {
    int sig, code, fd;
    long band;
} rec[MAXREC];

static void on_sig(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    if (nrec < MAXREC) {
        rec[nrec].sig = sig;
        rec[nrec].code = si->si_code;
        rec[nrec].fd = si->si_fd;
        rec[nrec].band = si->si_band;
        nrec++;
    }
}

static const char *code_name(int c) {
    switch (c) {
    case SI_KERNEL: return "SI_KERNEL";
    case POLL_IN: return "POLL_IN";
    case POLL_OUT: return "POLL_OUT";
    case POLL_HUP: return "POLL_HUP";
    case POLL_ERR: return "POLL_ERR";
    case SI_SIGIO: return "SI_SIGIO";
    default: return "other";
    }
}

/* Prints what arrived since the last call; fds are printed relative to the given base fds. */
static void report(const char *label, int plain) {
    printf("%s: %d signal(s)", label, nrec);
    for (int i = 0; i < nrec; i++) {
        if (plain)
            printf(" [%s %s]", rec[i].sig == SIGIO ? "SIGIO" : "other", code_name(rec[i].code));
        else
            printf(" [sig %d %s band %#lx fd %d]", rec[i].sig, code_name(rec[i].code), rec[i].band, rec[i].fd);
    }
    printf("\n");
    nrec = 0;
}

static void test_fcntl_calls(void) {
    int p[2];
    pipe(p);
    show("F_GETOWN fresh", fcntl(p[0], F_GETOWN));
    struct f_owner_ex fresh = {7, 7};
    show("F_GETOWN_EX fresh", fcntl(p[0], F_GETOWN_EX, &fresh));
    printf("fresh owner type %d pid %d\n", fresh.type, fresh.pid);
    show("F_SETOWN self", fcntl(p[0], F_SETOWN, getpid()));
    printf("F_GETOWN is self: %d\n", fcntl(p[0], F_GETOWN) == getpid());
    show("F_SETOWN absent pid", fcntl(p[0], F_SETOWN, 999999));
    printf("F_GETOWN unchanged: %d\n", fcntl(p[0], F_GETOWN) == getpid());
    show("F_SETOWN -pgrp", fcntl(p[0], F_SETOWN, -getpgrp()));
    printf("F_GETOWN is -pgrp: %d\n", fcntl(p[0], F_GETOWN) == -getpgrp());
    show("F_SETOWN 0", fcntl(p[0], F_SETOWN, 0));
    show("F_GETOWN after 0", fcntl(p[0], F_GETOWN));
    struct f_owner_ex ex = {F_OWNER_TID, gettid()};
    show("F_SETOWN_EX tid", fcntl(p[0], F_SETOWN_EX, &ex));
    struct f_owner_ex got = {0};
    show("F_GETOWN_EX", fcntl(p[0], F_GETOWN_EX, &got));
    printf("F_GETOWN_EX type %d is tid %d\n", got.type, got.pid == gettid());
    ex.type = 3;
    show("F_SETOWN_EX bad type", fcntl(p[0], F_SETOWN_EX, &ex));
    ex.type = F_OWNER_PGRP;
    ex.pid = getpgrp();
    show("F_SETOWN_EX pgrp", fcntl(p[0], F_SETOWN_EX, &ex));
    printf("F_GETOWN after pgrp owner is -pgrp: %d\n", fcntl(p[0], F_GETOWN) == -getpgrp());
    fcntl(p[0], F_GETOWN_EX, &got);
    printf("F_GETOWN_EX type %d is pgrp %d\n", got.type, got.pid == getpgrp());
    ex.type = F_OWNER_PID;
    ex.pid = 999999;
    show("F_SETOWN_EX absent pid", fcntl(p[0], F_SETOWN_EX, &ex));
    show("F_SETOWN_EX bad pointer", fcntl(p[0], F_SETOWN_EX, (void *)8));
    show("F_GETSIG fresh", fcntl(p[0], F_GETSIG));
    show("F_SETSIG SIGUSR1", fcntl(p[0], F_SETSIG, SIGUSR1));
    show("F_GETSIG", fcntl(p[0], F_GETSIG));
    show("F_SETSIG 65", fcntl(p[0], F_SETSIG, 65));
    show("F_SETSIG -1", fcntl(p[0], F_SETSIG, -1));
    show("F_SETSIG 0", fcntl(p[0], F_SETSIG, 0));
    show("F_GETSIG after 0", fcntl(p[0], F_GETSIG));
    show("F_SETOWN bad fd", fcntl(99, F_SETOWN, getpid()));
    show("F_GETSIG bad fd", fcntl(99, F_GETSIG));
    /* The owner is the description's: a dup shares it. */
    fcntl(p[0], F_SETOWN, getpid());
    int d = dup(p[0]);
    printf("dup shares owner: %d\n", fcntl(d, F_GETOWN) == getpid());
    close(d);
    /* O_ASYNC and FIOASYNC. */
    show("F_SETFL O_ASYNC", fcntl(p[0], F_SETFL, O_ASYNC));
    printf("F_GETFL has O_ASYNC: %d\n", !!(fcntl(p[0], F_GETFL) & O_ASYNC));
    int off = 0, on = 1;
    show("FIOASYNC off", ioctl(p[0], FIOASYNC, &off));
    printf("F_GETFL has O_ASYNC: %d\n", !!(fcntl(p[0], F_GETFL) & O_ASYNC));
    show("FIOASYNC on", ioctl(p[0], FIOASYNC, &on));
    printf("F_GETFL has O_ASYNC: %d\n", !!(fcntl(p[0], F_GETFL) & O_ASYNC));
    show("FIOASYNC bad pointer", ioctl(p[0], FIOASYNC, (int *)8));
    int ev = eventfd(0, 0);
    show("FIOASYNC on an eventfd", ioctl(ev, FIOASYNC, &on));
    show("F_SETFL O_ASYNC on an eventfd", fcntl(ev, F_SETFL, O_ASYNC));
    printf("eventfd F_GETFL has O_ASYNC: %d\n", !!(fcntl(ev, F_GETFL) & O_ASYNC));
    close(ev);
    close(p[0]);
    close(p[1]);
}

static void test_pipe(void) {
    int p[2];
    pipe(p);
    /* No owner yet: O_ASYNC alone sends nothing. */
    fcntl(p[0], F_SETFL, O_ASYNC);
    write(p[1], "a", 1);
    report("pipe write, no owner", 1);
    char b[16];
    read(p[0], b, sizeof b);
    fcntl(p[0], F_SETOWN, getpid());
    write(p[1], "a", 1);
    report("pipe write, plain SIGIO", 1);
    read(p[0], b, sizeof b);
    report("pipe read on the read end", 1);
    /* The write end's owner hears of reads. */
    fcntl(p[1], F_SETOWN, getpid());
    fcntl(p[1], F_SETSIG, SIGRTMIN);
    fcntl(p[1], F_SETFL, O_ASYNC | O_NONBLOCK);
    fcntl(p[0], F_SETSIG, SIGRTMIN + 1);
    write(p[1], "bc", 2);
    report("pipe write with F_SETSIG", 0);
    read(p[0], b, 1);
    read(p[0], b, 1);
    report("pipe two reads", 0);
    fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);
    errno = 0;
    read(p[0], b, 1);
    printf("empty read: %s\n", errno == EAGAIN ? "EAGAIN" : "other");
    report("pipe read EAGAIN", 0);
    write(p[1], "", 0);
    report("pipe write of 0 bytes", 0);
    /* The fd in si_fd is the one O_ASYNC was turned on through. */
    int d = dup2(p[0], 40);
    fcntl(d, F_SETFL, O_ASYNC);
    write(p[1], "d", 1);
    report("pipe write after O_ASYNC through fd 40", 0);
    read(p[0], b, 1);
    nrec = 0;
    close(d);
    /* O_ASYNC off: nothing more. */
    fcntl(p[0], F_SETFL, 0);
    write(p[1], "e", 1);
    report("pipe write with O_ASYNC off", 0);
    read(p[0], b, 1);
    nrec = 0;
    fcntl(p[0], F_SETFL, O_ASYNC);
    close(p[1]);
    report("pipe write end closed", 0);
    close(p[0]);
    report("pipe read end closed", 0);

    /* A thread as owner, then the process group. */
    int q[2];
    pipe(q);
    struct f_owner_ex tex = {F_OWNER_TID, gettid()};
    fcntl(q[0], F_SETOWN_EX, &tex);
    fcntl(q[0], F_SETSIG, SIGRTMIN + 1);
    fcntl(q[0], F_SETFL, O_ASYNC);
    write(q[1], "t", 1);
    report("pipe write, thread owner", 0);
    read(q[0], b, 1);
    close(q[0]);
    close(q[1]);

    /* A process group as owner: in a child that leads a group of its own, so nothing outside is signalled. */
    pid_t c = fork();
    if (c == 0) {
        setpgid(0, 0);
        pipe(q);
        fcntl(q[0], F_SETOWN, -getpgrp());
        fcntl(q[0], F_SETSIG, SIGRTMIN + 1);
        fcntl(q[0], F_SETFL, O_ASYNC);
        nrec = 0;
        write(q[1], "g", 1);
        _exit(nrec == 1 && rec[0].code == POLL_IN ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    printf("pipe write, process group owner: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void test_unix(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    fcntl(sv[0], F_SETOWN, getpid());
    fcntl(sv[0], F_SETSIG, SIGRTMIN + 2);
    int on = 1;
    show("socket FIOASYNC", ioctl(sv[0], FIOASYNC, &on));
    write(sv[1], "hi", 2);
    report("stream data", 0);
    write(sv[1], "there", 5);
    report("stream more data", 0);
    char b[16];
    read(sv[0], b, sizeof b);
    report("stream read by the owner", 0);
    close(sv[1]);
    report("stream peer closed", 0);
    close(sv[0]);

    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    fcntl(sv[0], F_SETOWN, getpid());
    fcntl(sv[0], F_SETFL, O_ASYNC);
    send(sv[1], "x", 1, 0);
    report("datagram, plain SIGIO", 1);
    close(sv[0]);
    close(sv[1]);

    /* A listener hears of a connection. */
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {AF_UNIX};
    snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "moat-sigio-%d", getpid());
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1);
    bind(l, (struct sockaddr *)&a, len);
    listen(l, 4);
    fcntl(l, F_SETOWN, getpid());
    fcntl(l, F_SETSIG, SIGRTMIN + 2);
    fcntl(l, F_SETFL, O_ASYNC);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, len);
    report("listener, a connection", 0);
    close(c);
    close(l);
}

static void test_group_and_child(void) {
    int p[2];
    pipe(p);
    /* The owner is another process: the child gets the signal. */
    int r[2];
    pipe(r);
    pid_t c = fork();
    if (c == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        sigprocmask(SIG_BLOCK, &set, NULL);
        write(r[1], "r", 1);
        siginfo_t si;
        struct timespec ts = {5, 0};
        int s = sigtimedwait(&set, &si, &ts);
        _exit(s == SIGUSR2 && si.si_code == POLL_IN ? 0 : 1);
    }
    char x;
    read(r[0], &x, 1);
    fcntl(p[0], F_SETOWN, c);
    fcntl(p[0], F_SETSIG, SIGUSR2);
    fcntl(p[0], F_SETFL, O_ASYNC);
    write(p[1], "g", 1);
    int st;
    waitpid(c, &st, 0);
    printf("owner child got SIGUSR2 POLL_IN: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    report("parent got", 0);
    close(p[0]);
    close(p[1]);
    close(r[0]);
    close(r[1]);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGIO, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGRTMIN, &sa, NULL);
    sigaction(SIGRTMIN + 1, &sa, NULL);
    sigaction(SIGRTMIN + 2, &sa, NULL);
    test_fcntl_calls();
    test_pipe();
    test_unix();
    test_group_and_child();
    return 0;
}
