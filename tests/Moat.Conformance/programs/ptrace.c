/* ptrace(2) inside the sandbox: a PTRACE_TRACEME child stopped by its own SIGSTOP, then traced with
   PTRACE_SYSCALL (syscall numbers and return values at entry and exit, a changed return value, a skipped call,
   PTRACE_GET_SYSCALL_INFO), PEEK/POKE of data and of read-only text (copy-on-write: the tracer's own copy is
   untouched), GETREGS/SETREGS/POKEUSER, an int3 seen with the right rip and a PTRACE_SINGLESTEP after it, a
   signal suppressed and one replaced;
   TRACEFORK and TRACEEXEC on a child that forks and execs; ATTACH and SEIZE/INTERRUPT/KILL of a sibling from
   another process, TracerPid and "t (tracing stop)" in /proc; EPERM/ESRCH/EIO cases, uid 1000 against root. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

struct syscall_info {
    uint8_t op;
    uint8_t pad[3];
    uint32_t arch;
    uint64_t ip, sp;
    union {
        struct { uint64_t nr, args[6]; } entry;
        struct { int64_t rval; uint8_t is_error; } exit;
    };
};

static volatile long word = 0x1111;
static volatile int usr1_ran, usr2_ran;

static void on_usr1(int s) { (void)s; usr1_ran = 1; }
static void on_usr2(int s) { (void)s; usr2_ran = 1; }

__attribute__((noinline)) static int marker(void) { __asm__ volatile(""); return 1; }

extern char after_int3[];

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EIO: return "EIO";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    default: return "other";
    }
}

static void traced_child(void) {
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(100);
    long again = ptrace(PTRACE_TRACEME, 0, 0, 0);
    int again_eperm = again == -1 && errno == EPERM;
    raise(SIGSTOP);
    int mask = 0;
    syscall(SYS_getppid);
    if (syscall(SYS_getpid) == 4242) mask |= 1;
    if (syscall(SYS_getuid) == 77) mask |= 2;
    if (word == 0x2222) mask |= 4;
    if (marker() == 2) mask |= 8;
    raise(SIGUSR1); /* suppressed */
    if (!usr1_ran) mask |= 16;
    raise(SIGUSR1); /* replaced by SIGUSR2 */
    if (usr2_ran && !usr1_ran) mask |= 32;
    __asm__ volatile("int3\n.globl after_int3\nafter_int3:\n");
    if (again_eperm) mask |= 64;
    _exit(mask);
}

static void trace_syscalls(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) traced_child();
    int st;
    waitpid(pid, &st, 0);
    printf("first stop: stopped %d sig %s\n", WIFSTOPPED(st), WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "other");
    siginfo_t si;
    const char *e = err(ptrace(PTRACE_GETSIGINFO, pid, 0, &si));
    printf("GETSIGINFO: %s signo %d\n", e, si.si_signo);
    printf("SETOPTIONS bad: %s\n", err(ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)0x80000000UL)));
    printf("SETOPTIONS: %s\n", err(ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD)));
    printf("PEEKUSER unaligned: %s\n", err(ptrace(PTRACE_PEEKUSER, pid, 3, 0)));
    printf("PEEKUSER past the kernel's struct user: %s\n", err(ptrace(PTRACE_PEEKUSER, pid, 928, 0)));
    printf("POKEUSER u_tsize: %s\n", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_tsize), 5)));
    errno = 0;
    long dr7 = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user, u_debugreg[7]), 0);
    printf("PEEKUSER dr7: %ld %s\n", dr7, errno ? "error" : "ok");
    printf("PEEKDATA bad address: %s\n", err(ptrace(PTRACE_PEEKDATA, pid, 8, 0)));
    printf("CONT bad signal: %s\n", err(ptrace(PTRACE_CONT, pid, 0, 100)));
    printf("INTERRUPT of a TRACEME tracee: %s\n", err(ptrace(PTRACE_INTERRUPT, pid, 0, 0)));
    struct user_fpregs_struct fp;
    e = err(ptrace(PTRACE_GETFPREGS, pid, 0, &fp));
    printf("GETFPREGS: %s mxcsr %#x\n", e, fp.mxcsr & 0xffbf);
    printf("SETFPREGS: %s\n", err(ptrace(PTRACE_SETFPREGS, pid, 0, &fp)));
    struct user_regs_struct rs;
    struct iovec iov = { &rs, sizeof rs };
    e = err(ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov));
    printf("GETREGSET NT_PRSTATUS: %s len %zu\n", e, iov.iov_len);
    iov.iov_len = sizeof fp;
    iov.iov_base = &fp;
    e = err(ptrace(PTRACE_GETREGSET, pid, NT_PRFPREG, &iov));
    printf("GETREGSET NT_PRFPREG: %s len %zu\n", e, iov.iov_len);
    static char xsave[4096];
    iov.iov_base = xsave;
    iov.iov_len = sizeof xsave;
    long xr = ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, &iov);
    printf("GETREGSET NT_X86_XSTATE: %s x87+sse in xcr0 %d\n", err(xr), (int)(*(uint64_t *)(xsave + 464) & 3));
    printf("GETREGSET bad type: %s\n", err(ptrace(PTRACE_GETREGSET, pid, 0x999, &iov)));

    int in_getppid = 0, in_getpid = 0, in_getuid = 0, seen_usr1 = 0, getpids = 0, stepped = 0;
    for (;;) {
        long r = ptrace(PTRACE_SYSCALL, pid, 0, 0);
        (void)r;
        int inject = 0;
    again:
        waitpid(pid, &st, 0);
        if (!WIFSTOPPED(st)) break;
        int sig = WSTOPSIG(st);
        if (sig == (SIGTRAP | 0x80)) {
            struct syscall_info info;
            long n = ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
            struct user_regs_struct regs;
            ptrace(PTRACE_GETREGS, pid, 0, &regs);
            unsigned long msg = 0;
            ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
            if (info.op == 1) {
                if (info.entry.nr == SYS_getppid) {
                    in_getppid = 1;
                    printf("enter getppid: info size %ld arch ok %d rax -ENOSYS %d orig_rax %llu msg %lu\n", n,
                           info.arch == 0xC000003E, (long)regs.rax == -ENOSYS, regs.orig_rax, msg);
                } else if (info.entry.nr == SYS_getpid && getpids++ == 0) {
                    in_getpid = 1; /* the child's own; raise() calls getpid too */
                } else if (info.entry.nr == SYS_getuid) {
                    in_getuid = 1;
                    printf("POKEUSER orig_rax -1: %s\n", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, orig_rax), -1L)));
                } else if (info.entry.nr == SYS_exit_group) {
                    printf("enter exit_group: status arg %llu\n", regs.rdi);
                }
            } else if (info.op == 2) {
                if (in_getppid) {
                    in_getppid = 0;
                    printf("exit getppid: info size %ld returns the tracer %d error %d msg %lu\n", n, info.exit.rval == getpid(), info.exit.is_error, msg);
                } else if (in_getpid) {
                    in_getpid = 0;
                    printf("exit getpid: returns the child %d\n", regs.rax == (unsigned long long)pid);
                    regs.rax = 4242;
                    printf("SETREGS: %s\n", err(ptrace(PTRACE_SETREGS, pid, 0, &regs)));
                    struct user_regs_struct bad = regs;
                    bad.fs_base = 0xffff800000000000ULL;
                    printf("SETREGS bad fs_base: %s\n", err(ptrace(PTRACE_SETREGS, pid, 0, &bad)));
                    /* Data and read-only text, both through the tracee's own pages. */
                    errno = 0;
                    long w = ptrace(PTRACE_PEEKDATA, pid, &word, 0);
                    printf("PEEKDATA word: %#lx\n", w);
                    printf("POKEDATA: %s\n", err(ptrace(PTRACE_POKEDATA, pid, &word, 0x2222)));
                    unsigned char code[8] = { 0xb8, 2, 0, 0, 0, 0xc3, 0x90, 0x90 }; /* mov $2,%eax; ret */
                    long cw;
                    memcpy(&cw, code, 8);
                    printf("POKETEXT marker: %s\n", err(ptrace(PTRACE_POKETEXT, pid, (void *)marker, (void *)cw)));
                    printf("PEEKTEXT marker: %s\n", ptrace(PTRACE_PEEKTEXT, pid, (void *)marker, 0) == cw ? "changed" : "unchanged");
                    printf("tracer's own marker: %d\n", marker());
                } else if (in_getuid) {
                    in_getuid = 0;
                    printf("exit skipped getuid: rax -ENOSYS %d\n", (long)regs.rax == -ENOSYS);
                    printf("POKEUSER rax: %s\n", err(ptrace(PTRACE_POKEUSER, pid, offsetof(struct user_regs_struct, rax), 77)));
                }
            }
        } else if (sig == SIGUSR1) {
            siginfo_t ssi;
            ptrace(PTRACE_GETSIGINFO, pid, 0, &ssi);
            printf("signal-delivery-stop SIGUSR1 code SI_TKILL %d, %s\n", ssi.si_code == SI_TKILL, seen_usr1 ? "replaced by SIGUSR2" : "suppressed");
            inject = seen_usr1 ? SIGUSR2 : 0;
            seen_usr1 = 1;
        } else if (sig == SIGTRAP) {
            struct user_regs_struct regs;
            siginfo_t ssi;
            ptrace(PTRACE_GETREGS, pid, 0, &regs);
            ptrace(PTRACE_GETSIGINFO, pid, 0, &ssi);
            if (!stepped) {
                printf("int3: SIGTRAP code SI_KERNEL %d rip after the int3 %d\n", ssi.si_code == SI_KERNEL, regs.rip == (unsigned long)after_int3);
                /* One instruction, then a SIGTRAP stop again (the trap flag is the tracer's, not shown). */
                stepped = 1;
                ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
                goto again;
            }
            printf("single step: SIGTRAP code TRAP_TRACE %d rip moved one instruction %d TF shown %d\n", ssi.si_code == 2,
                   regs.rip > (unsigned long)after_int3 && regs.rip < (unsigned long)after_int3 + 16, (int)((regs.eflags >> 8) & 1));
        } else {
            printf("unexpected stop %d\n", sig);
        }
        if (inject) {
            ptrace(PTRACE_SYSCALL, pid, 0, inject);
            inject = 0;
            goto again;
        }
    }
    printf("traced child: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    printf("CONT after exit: %s\n", err(ptrace(PTRACE_CONT, pid, 0, 0)));
}

static void fork_and_exec(char *self) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        pid_t g = fork();
        if (g == 0) {
            execl("/proc/self/exe", self, "exec-child", (char *)0);
            _exit(99);
        }
        int gst;
        waitpid(g, &gst, 0);
        _exit(WIFEXITED(gst) ? WEXITSTATUS(gst) + 10 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("fork/exec: first stop SIGSTOP %d\n", WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXEC);
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
    pid_t g = (pid_t)msg;
    printf("fork event: %d (status >> 8 = SIGTRAP | PTRACE_EVENT_FORK << 8: %d)\n", st >> 16 == PTRACE_EVENT_FORK,
           (st >> 8) == (SIGTRAP | (PTRACE_EVENT_FORK << 8)));
    int gst;
    printf("waitpid grandchild (not a child of the tracer): %d\n", waitpid(g, &gst, 0) == g);
    printf("grandchild auto-attached, stopped by SIGSTOP %d\n", WIFSTOPPED(gst) && WSTOPSIG(gst) == SIGSTOP);
    ptrace(PTRACE_CONT, pid, 0, 0);
    ptrace(PTRACE_CONT, g, 0, 0);
    waitpid(g, &gst, __WALL);
    msg = 0;
    ptrace(PTRACE_GETEVENTMSG, g, 0, &msg);
    printf("exec event: %d former tid is its pid %d\n", gst >> 16 == PTRACE_EVENT_EXEC, msg == (unsigned long)g);
    ptrace(PTRACE_CONT, g, 0, 0);
    waitpid(g, &gst, __WALL);
    printf("grandchild exit seen by its tracer: exited %d status %d\n", WIFEXITED(gst), WEXITSTATUS(gst));
    int chld = 0;
    while (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st)) {
        /* The grandchild's SIGCHLD: a signal-delivery stop of the traced child, passed on. */
        chld += WSTOPSIG(st) == SIGCHLD;
        ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(st));
    }
    printf("fork/exec child: SIGCHLD stops %d exited %d status %d\n", chld, WIFEXITED(st), WEXITSTATUS(st));
}

static int proc_status(pid_t pid, const char *key, char *out, size_t n) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) == 0) {
            snprintf(out, n, "%s", line + strlen(key));
            out[strcspn(out, "\n")] = 0;
            found = 0;
        }
    }
    fclose(f);
    return found;
}

static void attach_sibling(void) {
    fflush(stdout);
    pid_t target = fork();
    if (target == 0) {
        for (;;) pause();
    }
    pid_t tracer = fork();
    if (tracer == 0) {
        int st;
        printf("ATTACH self: %s\n", err(ptrace(PTRACE_ATTACH, getpid(), 0, 0)));
        printf("ATTACH no such pid: %s\n", err(ptrace(PTRACE_ATTACH, 999999, 0, 0)));
        printf("CONT untraced: %s\n", err(ptrace(PTRACE_CONT, target, 0, 0)));
        printf("ATTACH sibling: %s\n", err(ptrace(PTRACE_ATTACH, target, 0, 0)));
        printf("ATTACH twice: %s\n", err(ptrace(PTRACE_ATTACH, target, 0, 0)));
        int w = waitpid(target, &st, 0) == target;
        printf("waitpid: %d stopped by SIGSTOP %d\n", w, WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
        char v[64] = "";
        proc_status(target, "TracerPid:\t", v, sizeof v);
        printf("TracerPid is the tracer %d\n", atoi(v) == getpid());
        proc_status(target, "State:\t", v, sizeof v);
        printf("State: %s\n", v);
        printf("LISTEN of an attached tracee: %s\n", err(ptrace(PTRACE_LISTEN, target, 0, 0)));
        printf("DETACH: %s\n", err(ptrace(PTRACE_DETACH, target, 0, 0)));
        printf("PEEKDATA after detach: %s\n", err(ptrace(PTRACE_PEEKDATA, target, &word, 0)));
        proc_status(target, "TracerPid:\t", v, sizeof v);
        printf("TracerPid after detach: %s\n", v);
        printf("SEIZE with addr: %s\n", err(ptrace(PTRACE_SEIZE, target, 1, 0)));
        printf("SEIZE: %s\n", err(ptrace(PTRACE_SEIZE, target, 0, PTRACE_O_TRACESYSGOOD)));
        printf("waitpid WNOHANG after seize: %d\n", waitpid(target, &st, WNOHANG));
        printf("PEEKDATA running: %s\n", err(ptrace(PTRACE_PEEKDATA, target, &word, 0)));
        printf("INTERRUPT: %s\n", err(ptrace(PTRACE_INTERRUPT, target, 0, 0)));
        waitpid(target, &st, 0);
        printf("interrupt stop: SIGTRAP %d event stop %d\n", WSTOPSIG(st) == SIGTRAP, st >> 16 == PTRACE_EVENT_STOP);
        errno = 0;
        long pw = ptrace(PTRACE_PEEKDATA, target, &word, 0);
        printf("PEEKDATA stopped: %#lx %s\n", pw, errno ? "error" : "ok");
        printf("KILL: %s\n", err(ptrace(PTRACE_KILL, target, 0, 0)));
        waitpid(target, &st, 0);
        printf("killed: %d by SIGKILL %d\n", WIFSIGNALED(st), WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(tracer, &st, 0);
    waitpid(target, &st, 0);
    printf("target reaped by its parent: killed by SIGKILL %d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void eperm_as_user(void) {
    fflush(stdout);
    pid_t target = fork();
    if (target == 0) {
        for (;;) pause();
    }
    pid_t user = fork();
    if (user == 0) {
        if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) _exit(1);
        printf("uid 1000 ATTACH root: %s\n", err(ptrace(PTRACE_ATTACH, target, 0, 0)));
        printf("uid 1000 SEIZE root: %s\n", err(ptrace(PTRACE_SEIZE, target, 0, 0)));
        printf("uid 1000 PEEKDATA root: %s\n", err(ptrace(PTRACE_PEEKDATA, target, &word, 0)));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(user, &st, 0);
    kill(target, SIGKILL);
    waitpid(target, &st, 0);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) return 7;
    trace_syscalls();
    fork_and_exec(argv[0]);
    attach_sibling();
    eperm_as_user();
    printf("PTRACE_TRACEME's tracer is gone: done\n");
    return 0;
}
