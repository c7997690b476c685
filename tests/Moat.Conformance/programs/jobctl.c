/* Job control: a child stopped by SIGSTOP (raised, or sent while it blocks in read), wait4 WUNTRACED and
 * WCONTINUED, waitid WSTOPPED/WCONTINUED/WNOWAIT/WNOHANG, SIGCHLD with CLD_STOPPED/CLD_CONTINUED, SA_NOCLDSTOP,
 * a SIGCONT handler in the child, SIGKILL of a stopped child, SIGCONT/stop signals discarding each other,
 * SIGTSTP/SIGTTIN/SIGTTOU discarded in an orphaned process group, and /proc's state of a stopped child.
 * Every step is ordered by pipes or wait, never by time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t nchld, codes[8], statuses[8];
static volatile sig_atomic_t child_conts;

static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    if (nchld < 8) {
        codes[nchld] = si->si_code;
        statuses[nchld] = si->si_status;
    }
    nchld++;
}

static void on_cont(int sig) { (void)sig; child_conts++; }

static const char *code_name(int c) {
    switch (c) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    default: return "other";
    }
}

static void print_chld(const char *what) {
    int n = nchld;
    printf("%s: SIGCHLD count %d", what, n);
    for (int i = 0; i < n && i < 8; i++) {
        int c = codes[i], s = statuses[i];
        /* Linux itself sometimes reports si_status 0 for a stop when the machine is loaded (the group
         * stop's exit code read after it was consumed): both count as the stop signal here. */
        if (c == CLD_STOPPED && s == 0) s = SIGSTOP;
        printf(" [%s %d]", code_name(c), s);
    }
    printf("\n");
    nchld = 0;
}

static void chld_handler(int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | flags;
    sigaction(SIGCHLD, &sa, NULL);
}

/* A child that stops itself, reports after it resumes (with how many SIGCONT handlers ran), then waits
 * for a byte before exiting with 7. */
static pid_t self_stopping_child(int up[2], int down[2], int cont_handler) {
    pipe(up);
    pipe(down);
    pid_t pid = fork();
    if (pid == 0) {
        if (cont_handler) signal(SIGCONT, on_cont);
        raise(SIGSTOP);
        char c = (char)('0' + child_conts);
        write(up[1], &c, 1);
        read(down[0], &c, 1);
        _exit(7);
    }
    return pid;
}

static void wait4_stop_continue(void) {
    int up[2], down[2], st = 0;
    chld_handler(0);
    pid_t pid = self_stopping_child(up, down, 1);
    pid_t r = waitpid(pid, &st, WUNTRACED);
    printf("wait4 WUNTRACED: pid ok %d stopped %d sig %s raw 0x%x\n", r == pid, WIFSTOPPED(st), WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "other", st);
    print_chld("after stop");
    r = waitpid(pid, &st, WUNTRACED | WNOHANG);
    printf("wait4 again WNOHANG: %d\n", (int)r);
    r = waitpid(pid, &st, WCONTINUED | WNOHANG);
    printf("wait4 WCONTINUED before SIGCONT: %d\n", (int)r);
    kill(pid, SIGCONT);
    r = waitpid(pid, &st, WCONTINUED);
    printf("wait4 WCONTINUED: pid ok %d continued %d raw 0x%x\n", r == pid, WIFCONTINUED(st), st);
    char c = 0;
    read(up[0], &c, 1);
    printf("child resumed, SIGCONT handler ran %c time(s)\n", c);
    print_chld("after continue");
    write(down[1], "x", 1);
    r = waitpid(pid, &st, WUNTRACED | WCONTINUED);
    printf("wait4 exit: pid ok %d exited %d code %d\n", r == pid, WIFEXITED(st), WEXITSTATUS(st));
    print_chld("after exit");
    close(up[0]); close(up[1]); close(down[0]); close(down[1]);
}

static void waitid_variants(void) {
    int up[2], down[2];
    siginfo_t si;
    chld_handler(SA_NOCLDSTOP);
    pid_t pid = self_stopping_child(up, down, 0);
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT);
    printf("waitid WSTOPPED|WNOWAIT: %d pid ok %d signo %d code %s status %d\n", r, si.si_pid == pid, si.si_signo, code_name(si.si_code), si.si_status);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WSTOPPED);
    printf("waitid WSTOPPED: %d pid ok %d code %s status %d\n", r, si.si_pid == pid, code_name(si.si_code), si.si_status);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WSTOPPED | WNOHANG);
    printf("waitid WSTOPPED|WNOHANG after consume: %d si_pid %d\n", r, si.si_pid);
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
    printf("waitid WEXITED|WNOHANG on a stopped child: %d si_pid %d\n", r, si.si_pid);
    print_chld("SA_NOCLDSTOP after stop");
    kill(pid, SIGCONT);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WCONTINUED | WNOWAIT);
    printf("waitid WCONTINUED|WNOWAIT: %d pid ok %d code %s status %d\n", r, si.si_pid == pid, code_name(si.si_code), si.si_status);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WCONTINUED);
    printf("waitid WCONTINUED: %d pid ok %d code %s status %d\n", r, si.si_pid == pid, code_name(si.si_code), si.si_status);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WCONTINUED | WNOHANG);
    printf("waitid WCONTINUED|WNOHANG after consume: %d si_pid %d\n", r, si.si_pid);
    char c = 0;
    read(up[0], &c, 1);
    print_chld("SA_NOCLDSTOP after continue");
    write(down[1], "x", 1);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WEXITED | WSTOPPED | WCONTINUED);
    printf("waitid exit: %d code %s status %d\n", r, code_name(si.si_code), si.si_status);
    print_chld("SA_NOCLDSTOP after exit");
    r = waitid(P_PID, pid, &si, WEXITED);
    int e = errno;
    printf("waitid after reap: %d %s\n", r, e == ECHILD ? "ECHILD" : "other");
    r = waitid(P_ALL, 0, &si, 0);
    e = errno;
    printf("waitid no event kinds: %d %s\n", r, e == EINVAL ? "EINVAL" : "other");
    close(up[0]); close(up[1]); close(down[0]); close(down[1]);
}

/* The parent stops a child blocked in read(2), then kills it while stopped. */
static void stop_blocked_then_kill(void) {
    int down[2], st = 0;
    chld_handler(0);
    pipe(down);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(down[0], &c, 1);
        _exit(3);
    }
    kill(pid, SIGSTOP);
    pid_t r = waitpid(pid, &st, WUNTRACED);
    printf("stop of a blocked child: pid ok %d stopped %d sig %d\n", r == pid, WIFSTOPPED(st), WSTOPSIG(st));
    print_chld("after kill(SIGSTOP)");
    kill(pid, SIGKILL);
    r = waitpid(pid, &st, 0);
    printf("SIGKILL of a stopped child: pid ok %d signaled %d sig %d\n", r == pid, WIFSIGNALED(st), WTERMSIG(st));
    print_chld("after SIGKILL");
    close(down[0]); close(down[1]);
}

/* A stopped child that is continued goes back to its read (or ppoll without a timeout) and finishes it. */
static void stop_blocked_then_continue(int use_ppoll) {
    int down[2], up[2], st = 0;
    chld_handler(SA_NOCLDSTOP);
    pipe(down);
    pipe(up);
    pid_t pid = fork();
    if (pid == 0) {
        char c = 0;
        ssize_t n;
        if (use_ppoll) {
            struct pollfd p = { .fd = down[0], .events = POLLIN };
            n = ppoll(&p, 1, NULL, NULL);
            c = n < 0 && errno == EINTR ? 'I' : (char)('0' + p.revents);
        } else {
            n = read(down[0], &c, 1);
        }
        char reply[2] = { (char)('0' + n), c };
        write(up[1], reply, 2);
        _exit(0);
    }
    kill(pid, SIGSTOP);
    waitpid(pid, &st, WUNTRACED);
    printf("stopped %d\n", WIFSTOPPED(st));
    kill(pid, SIGCONT);
    write(down[1], "k", 1);
    char reply[2] = { 0, 0 };
    read(up[0], reply, 2);
    printf("%s after continue: n %c byte %c\n", use_ppoll ? "ppoll" : "read", reply[0], reply[1]);
    waitpid(pid, &st, 0);
    printf("exited %d code %d\n", WIFEXITED(st), WEXITSTATUS(st));
    print_chld("continued reader");
    close(down[0]); close(down[1]); close(up[0]); close(up[1]);
}

static volatile sig_atomic_t usr1s;
static void on_usr1(int sig) { (void)sig; usr1s++; }

/* A child stopped and continued inside sigsuspend keeps waiting; only the handled signal ends the call. */
static void stop_in_sigsuspend(void) {
    int up[2], st = 0;
    chld_handler(SA_NOCLDSTOP);
    pipe(up);
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t b, empty;
        sigemptyset(&b);
        sigaddset(&b, SIGUSR1);
        sigprocmask(SIG_BLOCK, &b, NULL);
        signal(SIGUSR1, on_usr1);
        write(up[1], "r", 1);
        sigemptyset(&empty);
        int r = sigsuspend(&empty);
        int e = errno;
        char reply[3] = { (char)('0' - r), e == EINTR ? 'I' : 'x', (char)('0' + usr1s) };
        write(up[1], reply, 3);
        _exit(0);
    }
    char c;
    read(up[0], &c, 1);
    kill(pid, SIGSTOP);
    waitpid(pid, &st, WUNTRACED);
    kill(pid, SIGCONT);
    waitpid(pid, &st, WCONTINUED);
    kill(pid, SIGUSR1);
    char reply[3] = { 0, 0, 0 };
    read(up[0], reply, 3);
    printf("sigsuspend across a stop: -%c %s handler %c\n", reply[0], reply[1] == 'I' ? "EINTR" : "other", reply[2]);
    waitpid(pid, &st, 0);
    print_chld("sigsuspend child exit");
    close(up[0]); close(up[1]);
}

static volatile unsigned long *spins;
static int block_pipe[2];

static void *spinner(void *arg) {
    (void)arg;
    for (;;) (*spins)++;
    return NULL;
}

static void *reader(void *arg) {
    (void)arg;
    char c;
    read(block_pipe[0], &c, 1);
    return NULL;
}

static void pause_ms(long ms) {
    struct timespec ts = { 0, ms * 1000 * 1000 };
    while (nanosleep(&ts, &ts) != 0) {}
}

/* A stop reported to the parent means every thread has stopped: a spinning one no longer counts. */
static void stop_threads(void) {
    int st = 0;
    chld_handler(0);
    spins = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *spins = 0; /* touched before fork: Moat shares only shared-anonymous pages that exist at fork */
    pipe(block_pipe);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t a, b;
        pthread_create(&b, NULL, reader, NULL);
        pthread_create(&a, NULL, spinner, NULL);
        while (*spins == 0) {}
        raise(SIGSTOP);
        for (;;) pause();
    }
    waitpid(pid, &st, WUNTRACED);
    printf("threads stopped: %d\n", WIFSTOPPED(st));
    print_chld("threads after stop");
    unsigned long c1 = *spins;
    pause_ms(50);
    unsigned long c2 = *spins;
    printf("spinner frozen: %d\n", c1 == c2);
    kill(pid, SIGCONT);
    waitpid(pid, &st, WCONTINUED);
    while (*spins == c2) pause_ms(1);
    printf("spinner runs again\n");
    print_chld("threads after continue");
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    printf("killed %d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    print_chld("threads after kill");
    munmap((void *)spins, 4096);
    close(block_pipe[0]); close(block_pipe[1]);
}

/* The state letter of /proc/PID/stat and the State: line of /proc/PID/status. */
static void print_proc_state(const char *what, pid_t pid) {
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    char state = '?';
    if (n > 0) {
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        if (p && p[1] == ' ') state = p[2];
    }
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    fd = open(path, O_RDONLY);
    n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    char line[64] = "?";
    if (n > 0) {
        buf[n] = 0;
        char *p = strstr(buf, "\nState:\t");
        if (p) {
            p += 8;
            size_t len = strcspn(p, "\n");
            if (len >= sizeof line) len = sizeof line - 1;
            memcpy(line, p, len);
            line[len] = 0;
        }
    }
    printf("%s: stat state %c, status State: %s\n", what, state, line);
}

/* SIGTSTP, SIGTTIN and SIGTTOU are discarded in an orphaned process group (a child in a session of its
 * own), SIGSTOP is not; in a group whose parent is in another group of the same session SIGTSTP stops. */
static void orphaned_groups(void) {
    int up[2], st = 0;
    pipe(up);
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        raise(SIGTSTP);
        raise(SIGTTIN);
        raise(SIGTTOU);
        write(up[1], "s", 1);
        raise(SIGSTOP);
        _exit(3);
    }
    char c = 0;
    read(up[0], &c, 1);
    printf("orphaned group: SIGTSTP/SIGTTIN/SIGTTOU discarded %d\n", c == 's');
    pid_t r = waitpid(pid, &st, WUNTRACED);
    printf("orphaned group: SIGSTOP stops: pid ok %d stopped %d sig %d\n", r == pid, WIFSTOPPED(st), WSTOPSIG(st));
    print_proc_state("stopped child", pid);
    kill(pid, SIGCONT);
    r = waitpid(pid, &st, 0);
    printf("orphaned group: exited %d code %d\n", WIFEXITED(st), WEXITSTATUS(st));

    pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        raise(SIGTSTP);
        _exit(4);
    }
    r = waitpid(pid, &st, WUNTRACED);
    printf("own group, parent in the session: SIGTSTP stops: pid ok %d stopped %d sig %s\n", r == pid, WIFSTOPPED(st), WSTOPSIG(st) == SIGTSTP ? "SIGTSTP" : "other");
    print_proc_state("SIGTSTP-stopped child", pid);
    kill(pid, SIGCONT);
    r = waitpid(pid, &st, 0);
    printf("own group: exited %d code %d\n", WIFEXITED(st), WEXITSTATUS(st));
    close(up[0]); close(up[1]);
}

static void discarding(void) {
    sigset_t block, pend;
    sigemptyset(&block);
    sigaddset(&block, SIGCONT);
    sigaddset(&block, SIGTSTP);
    sigaddset(&block, SIGTTIN);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGCONT);
    sigpending(&pend);
    printf("pending SIGCONT %d\n", sigismember(&pend, SIGCONT));
    raise(SIGTSTP);
    raise(SIGTTIN);
    sigpending(&pend);
    printf("after SIGTSTP: pending SIGCONT %d SIGTSTP %d SIGTTIN %d\n", sigismember(&pend, SIGCONT), sigismember(&pend, SIGTSTP), sigismember(&pend, SIGTTIN));
    raise(SIGCONT);
    sigpending(&pend);
    printf("after SIGCONT: pending SIGCONT %d SIGTSTP %d SIGTTIN %d\n", sigismember(&pend, SIGCONT), sigismember(&pend, SIGTSTP), sigismember(&pend, SIGTTIN));
    signal(SIGCONT, SIG_IGN);
    sigpending(&pend);
    printf("after SIG_IGN: pending SIGCONT %d\n", sigismember(&pend, SIGCONT));
    signal(SIGCONT, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    wait4_stop_continue();
    waitid_variants();
    stop_blocked_then_kill();
    stop_blocked_then_continue(0);
    stop_blocked_then_continue(1);
    stop_in_sigsuspend();
    stop_threads();
    orphaned_groups();
    discarding();
    int st;
    pid_t r = waitpid(-1, &st, WUNTRACED | WCONTINUED | WNOHANG);
    int e = errno;
    printf("no children left: %d %s\n", (int)r, e == ECHILD ? "ECHILD" : "other");
    return 0;
}
