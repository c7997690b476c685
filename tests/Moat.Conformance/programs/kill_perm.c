/* Who may signal whom (Linux's kill_ok_by_cred): the sender's real or effective uid must be the target's real
   or saved uid, or the sender holds CAP_KILL; SIGCONT within a session is always allowed. kill, tgkill,
   rt_sigqueueinfo and process-group kills; prctl(PR_SET_KEEPCAPS) across setresuid and execve; clone and
   arch_prctl with a TLS base beyond the user address space (EPERM). */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EINVAL: return "EINVAL";
    default: return "OTHER";
    }
}

static void show(const char *what, long r) {
    if (r < 0) printf("%s: %s\n", what, name(errno));
    else printf("%s: %ld\n", what, r);
}

static int wait_child(pid_t c) {
    int st;
    if (waitpid(c, &st, 0) != c) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* A child that takes the given ids and waits to be killed; its pid goes back to the caller. */
static pid_t target(uid_t r, uid_t e, uid_t s, pid_t pgid) {
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        if (pgid >= 0) setpgid(0, pgid);
        if (setresuid(r, e, s) != 0) _exit(1);
        write(p[1], "x", 1);
        for (;;) pause();
    }
    char x;
    read(p[0], &x, 1);
    close(p[0]);
    close(p[1]);
    return c;
}

/* Runs fn in a child with the given ids and waits for it. */
static void as(uid_t r, uid_t e, uid_t s, void (*fn)(void *), void *arg) {
    pid_t c = fork();
    if (c == 0) {
        if (setresuid(r, e, s) != 0) _exit(1);
        fn(arg);
        _exit(0);
    }
    wait_child(c);
}

static pid_t victim;

static void probe(void *what) {
    printf("%s: ", (const char *)what);
    show("kill 0", kill(victim, 0));
}

static void signal_root_parent(void *arg) {
    pid_t parent = getppid();
    show("unprivileged: kill root parent 0", kill(parent, 0));
    show("unprivileged: kill root parent SIGKILL", kill(parent, SIGKILL));
    show("unprivileged: tgkill root parent SIGUSR1", syscall(SYS_tgkill, parent, parent, SIGUSR1));
    show("unprivileged: tkill root parent SIGUSR1", syscall(SYS_tkill, parent, SIGUSR1));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    show("unprivileged: rt_sigqueueinfo root parent", syscall(SYS_rt_sigqueueinfo, parent, SIGUSR1, &si));
    show("unprivileged: rt_tgsigqueueinfo root parent", syscall(SYS_rt_tgsigqueueinfo, parent, parent, SIGUSR1, &si));
    show("unprivileged: kill root parent SIGCONT (same session)", kill(parent, SIGCONT));
    show("unprivileged: kill missing pid", kill(999999, 0));
    show("unprivileged: kill own group 0", kill(0, 0));
    setsid();
    show("unprivileged: kill root parent SIGCONT (other session)", kill(parent, SIGCONT));
    show("unprivileged: kill bad signal", kill(parent, 99));
    (void)arg;
}

static void signal_sibling(void *arg) {
    pid_t sib = *(pid_t *)arg;
    show("same uid: kill sibling 0", kill(sib, 0));
    show("same uid: kill(-1, 0) (root processes refuse, the sibling takes it)", kill(-1, 0));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    show("same uid: rt_sigqueueinfo sibling SIGCONT", syscall(SYS_rt_sigqueueinfo, sib, SIGCONT, &si));
    show("same uid: tgkill sibling 0", syscall(SYS_tgkill, sib, sib, 0));
    show("same uid: kill sibling SIGTERM", kill(sib, SIGTERM));
}

static void group_kill(void *arg) {
    pid_t pgid = *(pid_t *)arg;
    show("kill(-pgid, 0)", kill(-pgid, 0));
}

static uint64_t caps(int which) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return 0;
    return which ? (d[0].permitted | (uint64_t)d[1].permitted << 32) : (d[0].effective | (uint64_t)d[1].effective << 32);
}

static void keepcaps(const char *self) {
    pid_t parent = getppid();
    show("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    show("PR_SET_KEEPCAPS 2", prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0));
    show("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    show("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    show("setresuid 65533", setresuid(65533, 65533, 65533));
    printf("kept: CAP_KILL permitted %d, effective empty %d\n", !!(caps(1) & (1ull << CAP_KILL)), caps(0) == 0);
    show("kill root parent without CAP_KILL effective", kill(parent, 0));
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{1u << CAP_KILL, 1u << CAP_KILL, 0}, {0, 0, 0}};
    show("capset CAP_KILL", syscall(SYS_capset, &h, d));
    show("kill root parent with CAP_KILL", kill(parent, 0));
    show("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    fflush(stdout);
    execl(self, "kill_perm", "after-exec", (char *)NULL);
    printf("exec failed\n");
}

static void bad_tls(void) {
    unsigned long fs = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
    show("arch_prctl ARCH_SET_FS 1<<47", syscall(SYS_arch_prctl, ARCH_SET_FS, 1UL << 47));
    show("arch_prctl ARCH_SET_FS 0x7ffffffff000", syscall(SYS_arch_prctl, ARCH_SET_FS, 0x7ffffffff000UL));
    show("arch_prctl ARCH_SET_GS 1<<63", syscall(SYS_arch_prctl, ARCH_SET_GS, 1UL << 63));
    show("arch_prctl ARCH_SET_FS current", syscall(SYS_arch_prctl, ARCH_SET_FS, fs));
    show("clone CLONE_SETTLS 1<<63", syscall(SYS_clone, CLONE_SETTLS | SIGCHLD, 0, 0, 0, 1UL << 63));
    show("clone CLONE_SETTLS 0x7ffffffff000", syscall(SYS_clone, CLONE_SETTLS | SIGCHLD, 0, 0, 0, 0x7ffffffff000UL));
    static char stack[16384];
    show("clone thread CLONE_SETTLS 1<<47", syscall(SYS_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SETTLS,
                                                  stack + sizeof stack, 0, 0, 1UL << 47));
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_SETTLS;
    ca.exit_signal = SIGCHLD;
    ca.tls = 1UL << 62;
    show("clone3 CLONE_SETTLS 1<<62", syscall(SYS_clone3, &ca, sizeof ca));
    long c = syscall(SYS_clone, CLONE_SETTLS | SIGCHLD, 0, 0, 0, fs);
    if (c == 0) syscall(SYS_exit_group, 7);
    printf("clone CLONE_SETTLS current: child status %d\n", wait_child((pid_t)c));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        show("after exec: PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
        printf("after exec: permitted empty %d\n", caps(1) == 0);
        return 0;
    }
    signal(SIGUSR1, SIG_IGN);

    pid_t c = fork();
    if (c == 0) {
        if (setresuid(65534, 65534, 65534) != 0) _exit(1);
        signal_root_parent(NULL);
        _exit(0);
    }
    printf("child: %d\n", wait_child(c));

    /* A sibling of the same uid may be signalled. */
    pid_t sib = target(65534, 65534, 65534, -1);
    as(65534, 65534, 65534, signal_sibling, &sib);
    printf("sibling: %d\n", wait_child(sib));

    /* Which ids count: the target has real and saved 65534. */
    victim = target(65534, 65534, 65534, -1);
    as(65533, 65533, 65533, probe, "sender 65533/65533/65533");
    as(65534, 65533, 65533, probe, "sender real 65534");
    as(65533, 65534, 65533, probe, "sender effective 65534");
    as(65533, 65533, 65534, probe, "sender saved 65534");
    kill(victim, SIGKILL);
    wait_child(victim);
    /* A target whose effective uid alone is 65534. */
    victim = target(65532, 65534, 65531, -1);
    as(65534, 65534, 65534, probe, "target effective 65534, sender 65534");
    as(65531, 65531, 65531, probe, "target saved 65531, sender 65531");
    as(65532, 65532, 65532, probe, "target real 65532, sender 65532");
    kill(victim, SIGKILL);
    wait_child(victim);

    /* A zombie keeps the credentials it exited with. */
    victim = fork();
    if (victim == 0) _exit(0);
    siginfo_t zi;
    waitid(P_PID, victim, &zi, WEXITED | WNOWAIT);
    as(65534, 65534, 65534, probe, "root zombie, sender 65534");
    as(0, 0, 0, probe, "root zombie, sender root");
    wait_child(victim);

    /* Process groups: only members the sender may signal count. */
    pid_t leader = target(0, 0, 0, 0);
    as(65534, 65534, 65534, group_kill, &leader);
    pid_t member = target(65534, 65534, 65534, leader);
    as(65534, 65534, 65534, group_kill, &leader);
    kill(member, SIGKILL);
    kill(leader, SIGKILL);
    wait_child(member);
    wait_child(leader);

    c = fork();
    if (c == 0) {
        keepcaps(argv[0][0] == '/' ? argv[0] : "/proc/self/exe");
        _exit(1);
    }
    printf("keepcaps child: %d\n", wait_child(c));
    bad_tls();
    return 0;
}
