/* signalfd: reading pending signals as struct signalfd_siginfo, SFD_NONBLOCK/SFD_CLOEXEC, poll and epoll
 * readiness, changing the mask of an existing signalfd, several signals in one read, a blocking read woken
 * by another process, SIGCHLD fields, and the EINVAL/EBADF/EFAULT cases. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static const char *err_name(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    default: return "other";
    }
}

static const char *code_name(int c) {
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case CLD_EXITED: return "CLD_EXITED";
    default: return "other";
    }
}

static void show(const char *what, ssize_t n, const struct signalfd_siginfo *si) {
    int e = errno;
    if (n < 0) {
        printf("%s: -1 %s\n", what, err_name(e));
        return;
    }
    printf("%s: %d signo %d code %s pid ok %d uid %u\n", what, (int)n, (int)si->ssi_signo, code_name(si->ssi_code),
           si->ssi_pid == (unsigned)getpid(), si->ssi_uid);
}

static int poll_in(int fd) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, 0);
    return r == 1 ? p.revents : r;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);

    sigset_t block, m;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, NULL);

    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    int sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %d cloexec %d nonblock %d\n", sfd >= 0, fcntl(sfd, F_GETFD) == FD_CLOEXEC, (fcntl(sfd, F_GETFL) & O_NONBLOCK) != 0);

    struct signalfd_siginfo si[3];
    memset(si, 0, sizeof si);
    ssize_t n = read(sfd, si, sizeof si[0]);
    show("empty read", n, si);
    printf("poll empty: %d\n", poll_in(sfd));

    raise(SIGUSR1);
    printf("poll after raise: %d\n", poll_in(sfd) == POLLIN);
    n = read(sfd, si, 100);
    show("short read", n, si);
    n = read(sfd, si, sizeof si[0]);
    show("read raise", n, si);
    sigset_t pend;
    sigpending(&pend);
    printf("still pending %d, handler ran %d\n", sigismember(&pend, SIGUSR1), (int)handled);

    kill(getpid(), SIGUSR1);
    n = read(sfd, si, sizeof si);
    show("read kill", n, si);

    union sigval v = { .sival_int = 42 };
    sigqueue(getpid(), SIGUSR1, v);
    n = read(sfd, si, sizeof si);
    show("read sigqueue", n, si);
    printf("sigqueue value: int %d ptr %llu\n", si[0].ssi_int, (unsigned long long)si[0].ssi_ptr);

    /* A new mask for the same fd. */
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    int r = signalfd(sfd, &m, 0);
    printf("remask returns the fd: %d\n", r == sfd);
    raise(SIGUSR1);
    raise(SIGUSR2);
    n = read(sfd, si, sizeof si);
    show("read after remask", n, si);
    sigpending(&pend);
    printf("SIGUSR1 left pending %d\n", sigismember(&pend, SIGUSR1));
    raise(SIGUSR2);
    sigaddset(&m, SIGUSR1);
    signalfd(sfd, &m, 0);
    memset(si, 0, sizeof si);
    n = read(sfd, si, sizeof si);
    printf("two at once: %d first %d second %d\n", (int)n, (int)si[0].ssi_signo, (int)si[1].ssi_signo);

    /* epoll readiness. */
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 }, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    printf("epoll empty: %d\n", epoll_wait(ep, &out, 1, 0));
    raise(SIGUSR2);
    r = epoll_wait(ep, &out, 1, 0);
    printf("epoll after raise: %d data %u in %d\n", r, out.data.u32, (out.events & EPOLLIN) != 0);
    read(sfd, si, sizeof si);
    printf("epoll after read: %d\n", epoll_wait(ep, &out, 1, 0));
    close(ep);

    /* Errors. */
    errno = 0;
    r = (int)syscall(SYS_signalfd4, -1, &m, 4, 0);
    printf("sizemask 4: %d %s\n", r, err_name(errno));
    r = (int)syscall(SYS_signalfd4, -1, &m, 8, 0x4000);
    printf("bad flags: %d %s\n", r, err_name(errno));
    r = (int)syscall(SYS_signalfd4, -1, (void *)8, 8, 0);
    printf("bad mask pointer: %d %s\n", r, err_name(errno));
    r = signalfd(77, &m, 0);
    printf("closed fd: %d %s\n", r, err_name(errno));
    int pfd[2];
    pipe(pfd);
    r = signalfd(pfd[0], &m, 0);
    printf("pipe fd: %d %s\n", r, err_name(errno));

    /* A blocking read woken by a signal from another process. */
    int bfd = signalfd(-1, &m, 0);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(pfd[0], &c, 1);
        kill(getppid(), SIGUSR2);
        _exit(5);
    }
    write(pfd[1], "g", 1);
    memset(si, 0, sizeof si);
    n = read(bfd, si, sizeof si);
    printf("blocking read: %d signo %d code %s from child %d\n", (int)n, (int)si[0].ssi_signo, code_name(si[0].ssi_code), si[0].ssi_pid == (unsigned)pid);

    /* SIGCHLD through a signalfd. */
    sigemptyset(&m);
    sigaddset(&m, SIGCHLD);
    int cfd = signalfd(-1, &m, 0);
    memset(si, 0, sizeof si);
    n = read(cfd, si, sizeof si[0]);
    printf("SIGCHLD: %d code %s status %d from child %d\n", (int)n, code_name(si[0].ssi_code), si[0].ssi_status, si[0].ssi_pid == (unsigned)pid);
    int st;
    waitpid(pid, &st, 0);
    printf("child exit %d, handler ran %d\n", WEXITSTATUS(st), (int)handled);
    return 0;
}
