/* pidfds: pidfd_open (flags, ESRCH, ENOENT for a thread), poll readiness (nothing while running, POLLIN once
   exited, POLLIN|POLLHUP once reaped), waitid(P_PIDFD) (blocking, WNOHANG, EAGAIN on a PIDFD_NONBLOCK pidfd,
   ECHILD, EBADF), pidfd_send_signal (default and caller-built siginfo, flags, EPERM across users, ESRCH after
   reaping), pidfd_getfd (a duplicate that works, EPERM, EBADF), fdinfo's Pid, clone3 and clone with CLONE_PIDFD. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static const char *name(int e) {
    switch (e) {
    case EINVAL: return "EINVAL";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case EPERM: return "EPERM";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case EFAULT: return "EFAULT";
    case ENOENT: return "ENOENT";
    default: return "OTHER";
    }
}

static void show(const char *what, long r) {
    if (r < 0) printf("%s: %s\n", what, name(errno));
    else printf("%s: %s\n", what, r >= 3 ? "fd" : r == 0 ? "0" : "?");
}

static int pidfd_open(pid_t pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static int send_sig(int fd, int sig, siginfo_t *info, unsigned flags) { return (int)syscall(SYS_pidfd_send_signal, fd, sig, info, flags); }

static void poll_state(const char *what, int fd, int timeout) {
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, timeout);
    printf("%s: poll %d, POLLIN %d, POLLHUP %d\n", what, n, !!(p.revents & POLLIN), !!(p.revents & POLLHUP));
}

/* The Pid line of the pidfd's fdinfo (what glibc's pidfd_getpid reads). */
static long fdinfo_pid(int fd) {
    char path[64], line[256];
    long pid = -2;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "Pid:", 4) == 0) pid = strtol(line + 4, NULL, 10);
    }
    if (f) fclose(f);
    return pid;
}

static void wait_info(const char *what, int fd, int options) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long r = waitid(P_PIDFD, fd, &si, options);
    if (r < 0) printf("%s: %s\n", what, name(errno));
    else printf("%s: 0, si_pid set %d, code %d, status %d\n", what, si.si_pid != 0, si.si_code, si.si_status);
}

/* A child blocked reading a pipe: it exits with status 3 once the pipe has a byte. */
static pid_t waiting_child(int *go) {
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        char x;
        close(p[1]);
        read(p[0], &x, 1);
        _exit(3);
    }
    close(p[0]);
    *go = p[1];
    return c;
}

static volatile pid_t thread_tid;
static int thread_go[2];
static void *thread_main(void *arg) {
    char x;
    thread_tid = (pid_t)syscall(SYS_gettid);
    read(thread_go[0], &x, 1);
    return arg;
}

static void sigusr1_child(int report) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    siginfo_t si;
    write(report, "r", 1);
    /* The exit status tells the parent what arrived (printing here would race with the parent's output). */
    if (sigwaitinfo(&set, &si) == SIGUSR1 && si.si_code == SI_QUEUE && si.si_pid == getppid()) {
        _exit(si.si_value.sival_int);
    }
    _exit(1);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGUSR2, SIG_IGN);

    int self = pidfd_open(getpid(), 0);
    show("pidfd_open self", self);
    printf("close-on-exec: %d\n", (fcntl(self, F_GETFD) & FD_CLOEXEC) != 0);
    show("pidfd_open pid 0", pidfd_open(0, 0));
    show("pidfd_open pid -1", pidfd_open(-1, 0));
    show("pidfd_open missing pid", pidfd_open(999999, 0));
    show("pidfd_open flag 1", pidfd_open(getpid(), 1));
    int nb = pidfd_open(getpid(), PIDFD_NONBLOCK);
    show("pidfd_open PIDFD_NONBLOCK", nb);
    printf("O_NONBLOCK: %d\n", (fcntl(nb, F_GETFL) & O_NONBLOCK) != 0);
    close(nb);
    pthread_t th;
    pipe(thread_go);
    pthread_create(&th, NULL, thread_main, NULL);
    while (thread_tid == 0) sched_yield();
    /* A thread that leads no process (PIDFD_THREAD not asked for). */
    show("pidfd_open a thread", pidfd_open(thread_tid, 0));
    write(thread_go[1], "x", 1);
    pthread_join(th, NULL);
    char b[8];
    show("read a pidfd", read(self, b, sizeof b));
    poll_state("self", self, 0);
    wait_info("waitid P_PIDFD self (not a child)", self, WEXITED);
    wait_info("waitid P_PIDFD fd 1", 1, WEXITED);
    wait_info("waitid P_PIDFD fd -1", -1, WEXITED);
    show("pidfd_send_signal self 0", send_sig(self, 0, NULL, 0));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR2;
    si.si_code = SI_USER;
    show("pidfd_send_signal self SIGUSR2 with SI_USER info", send_sig(self, SIGUSR2, &si, 0));
    show("pidfd_send_signal bad flags", send_sig(self, 0, NULL, 8));
    show("pidfd_send_signal two flags", send_sig(self, 0, NULL, 3));
    show("pidfd_send_signal not a pidfd", send_sig(1, 0, NULL, 0));
    show("pidfd_send_signal bad fd", send_sig(999, 0, NULL, 0));
    show("pidfd_send_signal bad signal", send_sig(self, 99, NULL, 0));
    show("pidfd_send_signal signo mismatch", send_sig(self, SIGUSR1, &si, 0));
    show("pidfd_send_signal bad info", send_sig(self, SIGUSR2, (siginfo_t *)16, 0));
    show("pidfd_send_signal PIDFD_SIGNAL_THREAD self 0", send_sig(self, 0, NULL, 1));
    show("pidfd_send_signal PIDFD_SIGNAL_THREAD_GROUP self 0", send_sig(self, 0, NULL, 2));

    /* Readiness and waitid through a pidfd. */
    int go;
    pid_t c = waiting_child(&go);
    int fd = pidfd_open(c, 0);
    int fdnb = pidfd_open(c, PIDFD_NONBLOCK);
    poll_state("running child", fd, 0);
    printf("fdinfo Pid is the child: %d\n", fdinfo_pid(fd) == c);
    wait_info("waitid WNOHANG running", fd, WEXITED | WNOHANG);
    wait_info("waitid PIDFD_NONBLOCK running", fdnb, WEXITED);
    write(go, "x", 1);
    poll_state("exited child (waiting)", fd, -1);
    poll_state("exited child", fd, 0);
    show("pidfd_send_signal zombie", send_sig(fd, SIGTERM, NULL, 0));
    show("pidfd_getfd zombie", syscall(SYS_pidfd_getfd, fd, 0, 0));
    wait_info("waitid WNOWAIT", fd, WEXITED | WNOWAIT);
    wait_info("waitid", fd, WEXITED);
    poll_state("reaped child", fd, 0);
    printf("fdinfo Pid once reaped: %ld\n", fdinfo_pid(fd));
    wait_info("waitid again", fd, WEXITED);
    show("pidfd_send_signal reaped", send_sig(fd, SIGTERM, NULL, 0));
    show("pidfd_getfd reaped", syscall(SYS_pidfd_getfd, fd, 0, 0));
    close(fd);
    close(fdnb);
    close(go);

    /* Signals through a pidfd. */
    c = waiting_child(&go);
    fd = pidfd_open(c, 0);
    show("pidfd_send_signal SIGTERM", send_sig(fd, SIGTERM, NULL, 0));
    wait_info("waitid killed", fd, WEXITED);
    close(fd);
    close(go);

    /* pidfd_send_signal also takes an open /proc/PID directory (not a thread's, not another file); the other
       pidfd calls do not. */
    char procdir[64];
    c = waiting_child(&go);
    snprintf(procdir, sizeof procdir, "/proc/%d", c);
    int pdir = open(procdir, O_RDONLY | O_DIRECTORY);
    snprintf(procdir, sizeof procdir, "/proc/%d/task/%d", c, c);
    int tdir = open(procdir, O_RDONLY | O_DIRECTORY);
    snprintf(procdir, sizeof procdir, "/proc/%d/status", c);
    int pfile = open(procdir, O_RDONLY);
    show("pidfd_send_signal /proc/PID/task/TID dir", send_sig(tdir, 0, NULL, 0));
    show("pidfd_send_signal /proc/PID/status", send_sig(pfile, 0, NULL, 0));
    show("pidfd_getfd /proc/PID dir", syscall(SYS_pidfd_getfd, pdir, 0, 0));
    show("pidfd_send_signal /proc/PID dir 0", send_sig(pdir, 0, NULL, 0));
    show("pidfd_send_signal /proc/PID dir SIGTERM", send_sig(pdir, SIGTERM, NULL, 0));
    int st = 0;
    printf("waitpid after /proc/PID dir SIGTERM: %d, signal %d\n", waitpid(c, &st, 0) == c, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    show("pidfd_send_signal /proc/PID dir reaped", send_sig(pdir, SIGTERM, NULL, 0));
    close(pdir);
    close(tdir);
    close(pfile);
    close(go);

    int rep[2];
    pipe(rep);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    c = fork();
    if (c == 0) sigusr1_child(rep[1]);
    read(rep[0], b, 1);
    fd = pidfd_open(c, 0);
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_USER;
    show("pidfd_send_signal another process with SI_USER info", send_sig(fd, SIGUSR1, &si, 0));
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 42;
    show("pidfd_send_signal SI_QUEUE info", send_sig(fd, SIGUSR1, &si, 0));
    wait_info("waitid (status: the value the child got)", fd, WEXITED);
    close(fd);

    /* pidfd_getfd and permissions. */
    int p[2];
    pipe(p);
    c = fork();
    if (c == 0) {
        int parent = pidfd_open(getppid(), 0);
        int dup = (int)syscall(SYS_pidfd_getfd, parent, p[1], 0);
        show("pidfd_getfd parent's pipe", dup);
        printf("duplicate close-on-exec: %d\n", (fcntl(dup, F_GETFD) & FD_CLOEXEC) != 0);
        write(dup, "hi", 2);
        show("pidfd_getfd flags 1", syscall(SYS_pidfd_getfd, parent, p[1], 1));
        show("pidfd_getfd missing fd", syscall(SYS_pidfd_getfd, parent, 999, 0));
        show("pidfd_getfd not a pidfd", syscall(SYS_pidfd_getfd, 1, 0, 0));
        setresuid(65534, 65534, 65534);
        show("unprivileged: pidfd_getfd root parent", syscall(SYS_pidfd_getfd, parent, p[1], 0));
        show("unprivileged: pidfd_send_signal root parent 0", send_sig(parent, 0, NULL, 0));
        show("unprivileged: pidfd_send_signal root parent SIGCONT", send_sig(parent, SIGCONT, NULL, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    char got[3] = {0};
    read(p[0], got, 2);
    printf("read through the duplicate: %s\n", got);

    /* CLONE_PIDFD. */
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    int cfd = -5;
    ca.flags = CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&cfd;
    ca.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &ca, sizeof ca);
    if (r == 0) syscall(SYS_exit_group, 5);
    printf("clone3 CLONE_PIDFD: %s, fd %s\n", r > 0 ? "pid" : name(errno), cfd >= 3 ? "set" : "unset");
    printf("close-on-exec: %d\n", (fcntl(cfd, F_GETFD) & FD_CLOEXEC) != 0);
    poll_state("clone3 child", cfd, -1);
    wait_info("waitid", cfd, WEXITED);
    close(cfd);
    ca.pidfd = 16;
    show("clone3 CLONE_PIDFD bad pointer", syscall(SYS_clone3, &ca, sizeof ca));
    show("clone CLONE_PIDFD|CLONE_PARENT_SETTID", syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0));
    cfd = -5;
    r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
    if (r == 0) syscall(SYS_exit_group, 6);
    printf("clone CLONE_PIDFD: %s, fd %s\n", r > 0 ? "pid" : name(errno), cfd >= 3 ? "set" : "unset");
    wait_info("waitid", cfd, WEXITED);
    return 0;
}
