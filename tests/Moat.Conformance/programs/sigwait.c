/* Synchronous signals: sigtimedwait/sigwaitinfo (immediate, timeout, woken by another process, bad
 * arguments), sigpending, and rt_sigqueueinfo/rt_tgsigqueueinfo with their permission and error cases. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err_name(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EFAULT: return "EFAULT";
    default: return "other";
    }
}

static const char *code_name(int c) {
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    default: return "other";
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    siginfo_t si;
    struct timespec zero = { 0, 0 }, short_wait = { 0, 20 * 1000 * 1000 }, bad = { 0, 1000000000 };

    int r = sigtimedwait(&set, &si, &zero);
    int e = errno;
    printf("nothing pending, zero timeout: %d %s\n", r, err_name(e));
    r = sigtimedwait(&set, &si, &short_wait);
    e = errno;
    printf("nothing pending, 20 ms: %d %s\n", r, err_name(e));
    r = sigtimedwait(&set, &si, &bad);
    e = errno;
    printf("bad timeout: %d %s\n", r, err_name(e));
    r = (int)syscall(SYS_rt_sigtimedwait, &set, &si, &zero, 4);
    e = errno;
    printf("sigsetsize 4: %d %s\n", r, err_name(e));
    r = (int)syscall(SYS_rt_sigtimedwait, (void *)8, &si, &zero, 8);
    e = errno;
    printf("bad set pointer: %d %s\n", r, err_name(e));

    raise(SIGUSR1);
    sigpending(&pend);
    printf("pending SIGUSR1 %d\n", sigismember(&pend, SIGUSR1));
    memset(&si, 0, sizeof si);
    r = sigwaitinfo(&set, &si);
    printf("sigwaitinfo: %d code %s pid ok %d\n", r, code_name(si.si_code), si.si_pid == getpid());
    sigpending(&pend);
    printf("pending after: %d\n", sigismember(&pend, SIGUSR1));

    union sigval v = { .sival_int = 1234 };
    sigqueue(getpid(), SIGRTMIN, v);
    raise(SIGUSR1);
    memset(&si, 0, sizeof si);
    r = sigtimedwait(&set, &si, &zero);
    printf("lowest first: %s\n", r == SIGUSR1 ? "SIGUSR1" : "other");
    memset(&si, 0, sizeof si);
    r = sigtimedwait(&set, &si, NULL);
    printf("queued rt: %s code %s value %d\n", r == SIGRTMIN ? "SIGRTMIN" : "other", code_name(si.si_code), si.si_value.sival_int);

    /* rt_tgsigqueueinfo to this thread with SI_QUEUE. */
    memset(&si, 0, sizeof si);
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_value.sival_int = 99;
    r = (int)syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR1, &si);
    printf("tgsigqueueinfo self: %d\n", r);
    memset(&si, 0, sizeof si);
    r = sigwaitinfo(&set, &si);
    printf("got: %s code %s value %d\n", r == SIGUSR1 ? "SIGUSR1" : "other", code_name(si.si_code), si.si_value.sival_int);

    /* Errors and permissions. */
    memset(&si, 0, sizeof si);
    si.si_code = SI_USER;
    r = (int)syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si);
    printf("sigqueueinfo SI_USER to self: %d\n", r);
    sigwaitinfo(&set, &si);
    memset(&si, 0, sizeof si);
    si.si_code = SI_QUEUE;
    errno = 0;
    r = (int)syscall(SYS_rt_sigqueueinfo, 0x3ffffff0, SIGUSR1, &si);
    printf("no such pid: %d %s\n", r, err_name(errno));
    r = (int)syscall(SYS_rt_sigqueueinfo, getpid(), 99, &si);
    printf("bad signal: %d %s\n", r, err_name(errno));
    r = (int)syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, (void *)8);
    printf("bad info pointer: %d %s\n", r, err_name(errno));
    r = (int)syscall(SYS_rt_tgsigqueueinfo, 0, gettid(), SIGUSR1, &si);
    printf("tgid 0: %d %s\n", r, err_name(errno));
    r = (int)syscall(SYS_rt_tgsigqueueinfo, getpid(), 0x3ffffff0, SIGUSR1, &si);
    printf("no such tid: %d %s\n", r, err_name(errno));
    r = (int)syscall(SYS_rt_sigqueueinfo, getpid(), 0, &si);
    printf("signal 0: %d\n", r);

    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        siginfo_t ci;
        memset(&ci, 0, sizeof ci);
        ci.si_code = SI_USER;
        int cr = (int)syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR1, &ci);
        int ce = errno;
        ci.si_code = SI_TKILL;
        int cr2 = (int)syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR1, &ci);
        int ce2 = errno;
        printf("child SI_USER to parent: %d %s, SI_TKILL: %d %s\n", cr, err_name(ce), cr2, err_name(ce2));
        char c;
        read(p[0], &c, 1);
        memset(&ci, 0, sizeof ci);
        ci.si_code = SI_QUEUE;
        ci.si_pid = getpid();
        ci.si_value.sival_int = 5;
        syscall(SYS_rt_sigqueueinfo, getppid(), SIGRTMIN, &ci);
        _exit(0);
    }
    write(p[1], "x", 1);
    memset(&si, 0, sizeof si);
    r = sigwaitinfo(&set, &si);
    printf("from child: %s code %s value %d pid ok %d\n", r == SIGRTMIN ? "SIGRTMIN" : "other", code_name(si.si_code), si.si_value.sival_int, si.si_pid == pid);
    int st;
    waitpid(pid, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    return 0;
}
