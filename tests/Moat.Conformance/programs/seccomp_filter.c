/* seccomp: PR_GET_SECCOMP, GET_ACTION_AVAIL, GET_NOTIF_SIZES, the no_new_privs rule (EACCES for uid 1000
   without it), the verifier (EINVAL, EFAULT), every action (ERRNO capped at 4095, TRAP's siginfo and registers,
   KILL_PROCESS and KILL_THREAD statuses, TRACE and USER_NOTIF as ENOSYS without a tracer or listener, LOG),
   argument and architecture tests, a call with no implementation filtered too, stacked filters and their
   precedence, inheritance over fork and execve, strict mode, TSYNC, MAX_INSNS_PER_PATH.
   Each case runs in a forked child: a filter cannot be removed. Run with "exec" it reports what it inherited. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define NR_OFF offsetof(struct seccomp_data, nr)
#define ARCH_OFF offsetof(struct seccomp_data, arch)
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#define NO_SUCH_CALL 1000
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

static const char *name(int e) {
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case ENOMEM: return "ENOMEM";
    case ENOSYS: return "ENOSYS";
    case E2BIG: return "E2BIG";
    case ESRCH: return "ESRCH";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EXDEV: return "EXDEV";
    case 4095: return "4095";
    default: return "OTHER";
    }
}

static long sc_seccomp(unsigned op, unsigned flags, void *args) { return syscall(SYS_seccomp, op, flags, args); }

static int install_flags(struct sock_filter *f, unsigned short n, unsigned flags) {
    struct sock_fprog p = {n, f};
    return (int)sc_seccomp(SECCOMP_SET_MODE_FILTER, flags, &p);
}

static int install(struct sock_filter *f, unsigned short n) { return install_flags(f, n, 0); }

/* A filter answering ret for call nr and allowing everything else. */
static int on_call(int nr, unsigned ret) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, ret),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    return install(f, 4);
}

static void show(const char *what, long r) {
    if (r < 0) printf("%s: -1 %s\n", what, name(errno));
    else printf("%s: %ld\n", what, r);
}

static void getppid_result(const char *what) {
    errno = 0;
    long r = syscall(SYS_getppid);
    if (r < 0) printf("%s: -1 %s\n", what, name(errno));
    else printf("%s: ok\n", what);
}

static void status_lines(const char *what) {
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "Seccomp", 7) == 0) printf("%s: %s", what, line);
    }
    if (f) fclose(f);
}

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exit %d\n", what, WEXITSTATUS(st));
    else printf("%s: signal %d core %d\n", what, WTERMSIG(st), WCOREDUMP(st) ? 1 : 0);
}

/* Runs fn in a forked child and prints how it ended. */
static void child(const char *what, void (*fn)(void)) {
    pid_t p = fork();
    if (p == 0) {
        /* No core files natively either: the status's core flag stays clear. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        fn();
        exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    report(what, st);
}

static void avail(void) {
    unsigned actions[] = {SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
                          SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW,
                          SECCOMP_RET_ERRNO | 1, 0x00010000, 0x7ffe0000};
    for (unsigned i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "action_avail 0x%08x", actions[i]);
        show(what, sc_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &actions[i]));
    }
    show("action_avail flags", sc_seccomp(SECCOMP_GET_ACTION_AVAIL, 1, &actions[0]));
    show("action_avail NULL", sc_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, NULL));
    struct seccomp_notif_sizes sizes;
    memset(&sizes, 0, sizeof sizes);
    long r = sc_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes);
    printf("notif_sizes: %ld %u %u %u\n", r, sizes.seccomp_notif, sizes.seccomp_notif_resp, sizes.seccomp_data);
    show("notif_sizes NULL", sc_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, NULL));
    show("unknown op", sc_seccomp(7, 0, NULL));
    show("strict with flags", sc_seccomp(SECCOMP_SET_MODE_STRICT, 1, NULL));
    show("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    show("PR_SET_SECCOMP mode 3", prctl(PR_SET_SECCOMP, 3, 0, 0, 0));
}

static void invalid(void) {
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog empty = {0, allow};
    show("len 0", sc_seccomp(SECCOMP_SET_MODE_FILTER, 0, &empty));
    struct sock_fprog huge = {4097, allow};
    show("len 4097", sc_seccomp(SECCOMP_SET_MODE_FILTER, 0, &huge));
    show("fprog NULL", sc_seccomp(SECCOMP_SET_MODE_FILTER, 0, NULL));
    struct sock_fprog badptr = {1, (struct sock_filter *)8};
    show("filter pointer bad", sc_seccomp(SECCOMP_SET_MODE_FILTER, 0, &badptr));
    show("unknown flag", install_flags(allow, 1, 1u << 10));

    struct sock_filter byte_load[] = {BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), BPF_STMT(BPF_RET | BPF_A, 0)};
    show("byte load", install(byte_load, 2));
    struct sock_filter past_end[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), BPF_STMT(BPF_RET | BPF_A, 0)};
    show("load at 64", install(past_end, 2));
    struct sock_filter unaligned[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), BPF_STMT(BPF_RET | BPF_A, 0)};
    show("load at 2", install(unaligned, 2));
    struct sock_filter no_ret[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)};
    show("no ret", install(no_ret, 1));
    struct sock_filter jump_out[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    show("jump out", install(jump_out, 2));
    struct sock_filter ja_out[] = {BPF_STMT(BPF_JMP | BPF_JA, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    show("ja out", install(ja_out, 2));
    struct sock_filter div0[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    show("div by 0", install(div0, 2));
    struct sock_filter shift32[] = {BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    show("shift 32", install(shift32, 2));
    struct sock_filter mod[] = {BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    show("mod", install(mod, 2));
    struct sock_filter unstored[] = {BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_RET | BPF_A, 0)};
    show("load unstored cell", install(unstored, 2));
    struct sock_filter one_path[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
        BPF_STMT(BPF_ST, 2),
        BPF_STMT(BPF_LD | BPF_MEM, 2),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    show("cell stored on one path", install(one_path, 5));
    struct sock_filter cell16[] = {BPF_STMT(BPF_ST, 16), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    show("cell 16", install(cell16, 2));
    show("PR_GET_SECCOMP after failures", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));

    /* A valid program using scratch cells, X, arithmetic and LEN: answers ERRNO(E2BIG) for getppid. */
    struct sock_filter busy[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),          /* A = 64 */
        BPF_STMT(BPF_ST, 0),
        BPF_STMT(BPF_LDX | BPF_MEM, 0),                 /* X = 64 */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
        BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),         /* A = nr + 64 */
        BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, 64),
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 4),
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 2),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_MISC | BPF_TXA, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | E2BIG),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    show("busy program", install(busy, sizeof busy / sizeof busy[0]));
    getppid_result("getppid under busy program");
    show("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    show("strict after filter", sc_seccomp(SECCOMP_SET_MODE_STRICT, 0, NULL));
}

static void unprivileged(void) {
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog p = {1, allow};
    if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) {
        printf("cannot drop to uid 1000\n");
        return;
    }
    show("uid 1000 filter without no_new_privs", install(allow, 1));
    show("uid 1000 PR_SET_SECCOMP without no_new_privs", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p, 0, 0));
    struct sock_filter bad[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)};
    show("uid 1000 invalid program without no_new_privs", install(bad, 1));
    show("uid 1000 PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    show("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    show("uid 1000 filter with no_new_privs", install(allow, 1));
    show("uid 1000 PR_SET_SECCOMP with no_new_privs", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p, 0, 0));
    status_lines("uid 1000");
}

static void root_without_nnp(void) {
    show("root filter without no_new_privs", on_call(SYS_getppid, SECCOMP_RET_ERRNO | EPERM));
    getppid_result("getppid");
    printf("getpid works: %d\n", syscall(SYS_getpid) > 0);
}

static void errno_action(void) {
    on_call(SYS_getppid, SECCOMP_RET_ERRNO | EXDEV);
    getppid_result("getppid ERRNO(EXDEV)");
    on_call(SYS_getuid, SECCOMP_RET_ERRNO | 5000);
    errno = 0;
    long r = syscall(SYS_getuid);
    printf("getuid ERRNO(5000): %ld %s\n", r, name(errno));
    on_call(SYS_getgid, SECCOMP_RET_ERRNO | 0);
    r = syscall(SYS_getgid);
    printf("getgid ERRNO(0): %ld\n", r);
    errno = 0;
    r = syscall(NO_SUCH_CALL);
    printf("call %d before its filter: %s\n", NO_SUCH_CALL, name(errno));
    on_call(NO_SUCH_CALL, SECCOMP_RET_ERRNO | E2BIG);
    errno = 0;
    r = syscall(NO_SUCH_CALL);
    printf("call %d under ERRNO(E2BIG): %s\n", NO_SUCH_CALL, name(errno));
    on_call(SYS_getpid, SECCOMP_RET_TRACE);
    errno = 0;
    r = syscall(SYS_getpid);
    printf("getpid TRACE without tracer: %ld %s\n", r, name(errno));
    on_call(SYS_geteuid, SECCOMP_RET_USER_NOTIF);
    errno = 0;
    r = syscall(SYS_geteuid);
    printf("geteuid USER_NOTIF without listener: %ld %s\n", r, name(errno));
    on_call(SYS_getegid, SECCOMP_RET_LOG);
    r = syscall(SYS_getegid);
    printf("getegid LOG: %ld\n", r);
    status_lines("after 7 filters");
}

static void args_and_arch(void) {
    /* getpgid(pid): E2BIG when pid's low word is 0 and its high word is 1; EXDEV when arch is not x86-64. */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARCH_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EXDEV),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgid, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(0)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | E2BIG),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    show("install", install(f, sizeof f / sizeof f[0]));
    errno = 0;
    long r = syscall(SYS_getpgid, 0UL);
    printf("getpgid(0): %s\n", r > 0 ? "ok" : name(errno));
    errno = 0;
    r = syscall(SYS_getpgid, 1UL << 32);
    printf("getpgid(1<<32): %s\n", r > 0 ? "ok" : name(errno));
    errno = 0;
    r = syscall(SYS_getpgid, 2UL << 32);
    printf("getpgid(2<<32): %s\n", r > 0 ? "ok" : name(errno));

    /* Six arguments: E2BIG when arg 5 is 7 and the instruction pointer is not 0. */
    struct sock_filter g[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 6),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(5)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 7, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        BPF_STMT(BPF_LDX | BPF_W | BPF_ABS, 0), /* not valid: replaced below */
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | E2BIG),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    show("ldx abs is refused", install(g, sizeof g / sizeof g[0]));
    g[5] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
    show("install 2", install(g, sizeof g / sizeof g[0]));
    errno = 0;
    r = syscall(SYS_getppid, 0, 0, 0, 0, 0, 7);
    printf("getppid(..., 7): %s\n", r > 0 ? "ok" : name(errno));
    errno = 0;
    r = syscall(SYS_getppid, 0, 0, 0, 0, 0, 8);
    printf("getppid(..., 8): %s\n", r > 0 ? "ok" : name(errno));
}

static volatile int trap_code, trap_syscall, trap_errno, trap_arch_ok, trap_addr_ok, trap_rax, trap_count;

static void on_sigsys(int sig, siginfo_t *si, void *uc) {
    ucontext_t *u = uc;
    (void)sig;
    trap_count++;
    trap_code = si->si_code;
    trap_syscall = si->si_syscall;
    trap_errno = si->si_errno;
    trap_arch_ok = si->si_arch == AUDIT_ARCH_X86_64;
    trap_addr_ok = si->si_call_addr != NULL && (unsigned long)si->si_call_addr == (unsigned long)u->uc_mcontext.gregs[REG_RIP];
    trap_rax = (int)u->uc_mcontext.gregs[REG_RAX];
}

static void trap(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    on_call(SYS_getppid, SECCOMP_RET_TRAP | 42);
    long r = syscall(SYS_getppid);
    printf("getppid TRAP: returned %ld (its number %d), signals %d\n", r, SYS_getppid, trap_count);
    printf("si_code %d (SYS_SECCOMP %d) si_syscall %d si_errno %d arch ok %d call_addr is rip %d rax %d\n",
           trap_code, SYS_SECCOMP, trap_syscall, trap_errno, trap_arch_ok, trap_addr_ok, trap_rax);
}

static void trap_blocked(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    sigprocmask(SIG_BLOCK, &set, NULL);
    on_call(SYS_getppid, SECCOMP_RET_TRAP);
    syscall(SYS_getppid);
    printf("survived a blocked TRAP\n");
}

static void kill_process(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL); /* a handler does not save it */
    on_call(SYS_getppid, SECCOMP_RET_KILL_PROCESS);
    syscall(SYS_getppid);
    printf("survived KILL_PROCESS\n");
}

static void kill_thread_alone(void) {
    on_call(SYS_getppid, SECCOMP_RET_KILL_THREAD);
    syscall(SYS_getppid);
    printf("survived KILL_THREAD\n");
}

static void unknown_action(void) {
    on_call(SYS_getppid, 0x00100000);
    syscall(SYS_getppid);
    printf("survived an unknown action\n");
}

static void *call_getppid(void *arg) {
    (void)arg;
    syscall(SYS_getppid);
    return (void *)1;
}

static void kill_thread_of_two(void) {
    on_call(SYS_getppid, SECCOMP_RET_KILL_THREAD);
    pthread_t th;
    pthread_create(&th, NULL, call_getppid, NULL);
    void *ret = NULL;
    pthread_join(th, &ret);
    printf("main thread goes on, thread returned %d\n", ret != NULL);
}

static void stacked(void) {
    on_call(SYS_getppid, SECCOMP_RET_ERRNO | EPERM);
    on_call(SYS_getppid, SECCOMP_RET_ALLOW);
    getppid_result("ERRNO then ALLOW");
    on_call(SYS_getppid, SECCOMP_RET_ERRNO | EXDEV);
    getppid_result("ERRNO(EPERM), ALLOW, ERRNO(EXDEV): newest of equals");
    on_call(SYS_getppid, SECCOMP_RET_LOG);
    on_call(SYS_getppid, SECCOMP_RET_TRACE);
    getppid_result("ERRNO over TRACE and LOG");
    on_call(SYS_getuid, SECCOMP_RET_LOG);
    on_call(SYS_getuid, SECCOMP_RET_TRACE);
    on_call(SYS_getuid, SECCOMP_RET_USER_NOTIF);
    errno = 0;
    long r = syscall(SYS_getuid);
    printf("USER_NOTIF over TRACE over LOG: %ld %s\n", r, name(errno));
    status_lines("stacked");
    on_call(SYS_getppid, SECCOMP_RET_TRAP);
    on_call(SYS_getppid, SECCOMP_RET_KILL_PROCESS);
    on_call(SYS_getppid, SECCOMP_RET_KILL_THREAD);
    syscall(SYS_getppid);
    printf("survived KILL_PROCESS under KILL_THREAD\n");
}

static void inherit_fork(void) {
    on_call(SYS_getppid, SECCOMP_RET_ERRNO | EXDEV);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        getppid_result("forked child getppid");
        status_lines("forked child");
        printf("forked child PR_GET_SECCOMP %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    report("forked child", st);
}

static void inherit_exec(void) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    on_call(SYS_getppid, SECCOMP_RET_ERRNO | EXDEV);
    on_call(SYS_getuid, SECCOMP_RET_ERRNO | E2BIG);
    char *argv[] = {"seccomp_filter", "exec", NULL};
    execv("/proc/self/exe", argv);
    printf("execv: %s\n", name(errno));
}

static void strict_ok(void) {
    show("PR_SET_SECCOMP strict", prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0));
    write(1, "strict: write allowed\n", 22);
    syscall(SYS_exit, 3);
}

static void strict_kill(void) {
    show("seccomp strict", sc_seccomp(SECCOMP_SET_MODE_STRICT, 0, NULL));
    syscall(SYS_getpid);
    write(1, "strict: survived getpid\n", 24);
    syscall(SYS_exit, 4);
}

static void max_insns(void) {
    static struct sock_filter big[4096];
    big[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    for (int i = 1; i < 4095; i++) big[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, i);
    big[4095] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    int n = 0;
    long r;
    while ((r = install(big, 4096)) == 0 && n < 100) n++;
    printf("4096-instruction filters installed: %d, then %s\n", n, name(errno));
    /* 32768 - 7 * (4096 + 4) = 4068 left: a 4069-instruction filter does not fit, a 4068 one does. */
    show("4069 more", install(big + 4096 - 4069, 4069));
    show("4068 more", install(big + 4096 - 4068, 4068));
    show("1 more", install(big + 4095, 1));
    status_lines("max");
}

/* Linux counts a filter at the length of its translation to eBPF: 3 instructions of prologue, RET K as 2,
   a conditional jump as 1 or 2 (plus 1 for a negative constant), DIV X as 4. With seven 4096-instruction
   filters installed, the largest n for which n copies of one instruction (then two RETs) still fit shows it. */
static int fits(struct sock_filter insn, int n) {
    static struct sock_filter prog[4096];
    /* Allow first: the copies are never run (the child must live to report). */
    prog[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    for (int i = 1; i <= n; i++) prog[i] = insn;
    prog[n + 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog[n + 2] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) _exit(install(prog, n + 3) == 0 ? 0 : errno == ENOMEM ? 1 : 2);
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

static void largest_fit(const char *what, struct sock_filter insn) {
    int lo = 0, hi = 4093;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        int r = fits(insn, mid);
        if (r == 0) lo = mid;
        else if (r == 1) hi = mid - 1;
        else { printf("%s: install failed unlike ENOMEM (%d)\n", what, r); return; }
    }
    printf("%s: %d fit\n", what, lo);
}

static void translated_length(void) {
    static struct sock_filter big[4096];
    big[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    for (int i = 1; i < 4095; i++) big[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, i);
    big[4095] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    for (int i = 0; i < 7; i++) install(big, 4096);
    largest_fit("ld imm", (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 1));
    largest_fit("ld abs", (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0));
    largest_fit("jeq jf 0", (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 0));
    largest_fit("jeq negative k", (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x80000000u, 0, 0));
    largest_fit("jeq jt 0 jf 1", (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 1));
    largest_fit("jset jt 0 jf 1", (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 5, 0, 1));
    largest_fit("jgt x jt 1 jf 1", (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 1, 1));
    largest_fit("div x", (struct sock_filter)BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0));
    largest_fit("ret a", (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0));
    largest_fit("ja 0", (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0));
    largest_fit("div k", (struct sock_filter)BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 3));
    largest_fit("add x", (struct sock_filter)BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0));
    largest_fit("lsh x", (struct sock_filter)BPF_STMT(BPF_ALU | BPF_LSH | BPF_X, 0));
    largest_fit("neg", (struct sock_filter)BPF_STMT(BPF_ALU | BPF_NEG, 0));
    largest_fit("tax", (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0));
    largest_fit("txa", (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TXA, 0));
    largest_fit("ld len", (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0));
    largest_fit("ldx imm", (struct sock_filter)BPF_STMT(BPF_LDX | BPF_IMM, 7));
    largest_fit("st", (struct sock_filter)BPF_STMT(BPF_ST, 3));
    largest_fit("stx", (struct sock_filter)BPF_STMT(BPF_STX, 3));
    largest_fit("jge jt 0 jf 1", (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 5, 0, 1));
    largest_fit("jgt jt 0 jf 1", (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 5, 0, 1));
    largest_fit("jset negative k jf 0", (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0xffffffffu, 0, 0));
    largest_fit("jeq x jt 0 jf 1", (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1));
}

static volatile int tsync_go, tsync_done;
static volatile long tsync_tid;
static volatile long tsync_result;
static volatile int tsync_errno;

static void *tsync_thread(void *arg) {
    int own = arg != NULL;
    tsync_tid = syscall(SYS_gettid);
    if (own) on_call(SYS_getuid, SECCOMP_RET_ERRNO | E2BIG);
    tsync_done = 1;
    while (!tsync_go) usleep(1000);
    errno = 0;
    tsync_result = syscall(SYS_getppid);
    tsync_errno = errno;
    return NULL;
}

static void tsync(void) {
    pthread_t th;
    pthread_create(&th, NULL, tsync_thread, NULL);
    while (!tsync_done) usleep(1000);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EXDEV),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    show("TSYNC", install_flags(f, 4, SECCOMP_FILTER_FLAG_TSYNC));
    tsync_go = 1;
    pthread_join(th, NULL);
    printf("other thread's getppid: %ld %s\n", tsync_result, name(tsync_errno));
    show("LOG|SPEC_ALLOW flags", install_flags(f, 4, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW));
    show("NEW_LISTENER|TSYNC", install_flags(f, 4, SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC));
}

static void tsync_conflict(void) {
    pthread_t th;
    tsync_done = 0;
    tsync_go = 0;
    pthread_create(&th, NULL, tsync_thread, (void *)1);
    while (!tsync_done) usleep(1000);
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    long r = install_flags(allow, 1, SECCOMP_FILTER_FLAG_TSYNC);
    printf("TSYNC with a diverged thread: %s\n", r == tsync_tid ? "its tid" : name(errno));
    show("TSYNC_ESRCH", install_flags(allow, 1, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH));
    status_lines("after failed TSYNC");
    tsync_go = 1;
    pthread_join(th, NULL);
    printf("other thread's getppid: %s\n", tsync_result > 0 ? "ok" : name(tsync_errno));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        getppid_result("after exec getppid");
        errno = 0;
        long r = syscall(SYS_getuid);
        printf("after exec getuid: %ld %s\n", r, name(errno));
        printf("after exec no_new_privs %d PR_GET_SECCOMP %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
        status_lines("after exec");
        return 0;
    }
    status_lines("start");
    child("avail", avail);
    child("invalid", invalid);
    child("unprivileged", unprivileged);
    child("root without no_new_privs", root_without_nnp);
    child("errno", errno_action);
    child("args and arch", args_and_arch);
    child("trap", trap);
    child("trap blocked", trap_blocked);
    child("kill process", kill_process);
    child("kill thread alone", kill_thread_alone);
    child("unknown action", unknown_action);
    child("kill thread of two", kill_thread_of_two);
    child("stacked", stacked);
    child("inherit fork", inherit_fork);
    child("inherit exec", inherit_exec);
    child("strict ok", strict_ok);
    child("strict kill", strict_kill);
    child("max insns", max_insns);
    child("translated length", translated_length);
    child("tsync", tsync);
    child("tsync conflict", tsync_conflict);
    return 0;
}
