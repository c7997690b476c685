/* PID namespaces as Linux has them: unshare(CLONE_NEWPID) (the caller stays, its next child is pid 1 of the
 * new namespace, later children 2, 3...), clone(CLONE_NEWPID), getpid/getppid/gettid/getpgid/getsid inside,
 * the init's protection from signals it has no handler for (from inside: all of them; from the parent
 * namespace: all but SIGKILL and SIGSTOP), orphans reparented to the namespace's init, every task killed when
 * init dies (its parent sees it exit only after that) and fork answering ENOMEM after, waitpid and kill naming pids of the caller's namespace, /proc of
 * the parent namespace (NSpid/NStgid) and a /proc mounted inside (its own pids), /proc/PID/ns/pid and
 * pid_for_children, and the EINVAL/EPERM cases. Runs as root; natively it needs CAP_SYS_ADMIN. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
    fflush(stdout);
}

static void nslink(const char *path, char *out, size_t n)
{
    ssize_t len = readlink(path, out, n - 1);
    out[len < 0 ? 0 : len] = 0;
}

/* The value of a "Key:\t..." line of a /proc status file, tabs kept. */
static void status_line(const char *path, const char *key, char *out, size_t n)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            char *v = line + kl + 2;
            v[strcspn(v, "\n")] = 0;
            snprintf(out, n, "%s", v);
        }
    }
    fclose(f);
}

static int count_pids(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
            n++;
    closedir(d);
    return n;
}

static void wait_report(const char *what, pid_t pid)
{
    int st;
    pid_t r = waitpid(pid, &st, 0);
    if (r < 0)
        printf("%s: wait -1 %s\n", what, strerrorname_np(errno));
    else if (WIFEXITED(st))
        printf("%s: exit %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: signal %d\n", what, WTERMSIG(st));
    fflush(stdout);
}

/* pid 1 of a new namespace: what it sees of itself and its children. */
static int init_main(void)
{
    char buf[256];
    printf("init: getpid %d gettid %ld getppid %d\n", getpid(), syscall(SYS_gettid), getppid());
    printf("init: getpgid(0) %d getsid(0) %d\n", getpgid(0), getsid(0));
    show("init: CLONE_PARENT", syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0));
    show("init: CLONE_THREAD|CLONE_NEWPID", syscall(SYS_clone, CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWPID, 0, 0, 0, 0));
    /* Without a handler, signals from inside never reach init; with one they do. */
    show("init: kill(1, SIGTERM)", kill(1, SIGTERM));
    show("init: kill(getpid(), SIGKILL)", kill(getpid(), SIGKILL));
    show("init: tgkill(1, 1, SIGINT)", syscall(SYS_tgkill, 1, 1, SIGINT));
    printf("init: still alive\n");
    fflush(stdout);

    pid_t c = fork();
    if (c == 0) {
        printf("child: getpid %d getppid %d\n", getpid(), getppid());
        show("child: kill(1, SIGKILL)", kill(1, SIGKILL));
        show("child: kill(1, SIGUSR1)", kill(1, SIGUSR1));
        show("child: kill(99, 0)", kill(99, 0));
        /* An orphan: its own child is given to init. */
        pid_t g = fork();
        if (g == 0) {
            for (int i = 0; i < 2000 && getppid() != 1; i++)
                usleep(1000);
            printf("grandchild: getpid %d, reparented to init: %d\n", getpid(), getppid() == 1);
            fflush(stdout);
            _exit(0);
        }
        _exit(3);
    }
    int st;
    pid_t w = waitpid(c, &st, 0);
    /* The orphan is init's to reap now. */
    wait_report("init: orphan", -1);
    printf("init: fork returned %d, waitpid %d, status %d\n", c, w, WEXITSTATUS(st));

    show("init: setsid", setsid());
    printf("init: getpgrp %d getsid(0) %d\n", getpgrp(), getsid(0));

    /* Pids other calls hand out are the namespace's too. */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
        struct ucred uc;
        socklen_t ul = sizeof uc;
        getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul);
        printf("init: SO_PEERCRED pid %d\n", uc.pid);
        show("init: F_SETOWN(getpid())", fcntl(sv[0], F_SETOWN, getpid()));
        show("init: F_GETOWN", fcntl(sv[0], F_GETOWN));
        close(sv[0]);
        close(sv[1]);
    }

    /* A /proc of its own namespace (in a private mount namespace). */
    if (unshare(CLONE_NEWNS) == 0 && mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
        nslink("/proc/self", buf, sizeof buf);
        printf("init: /proc/self -> %s, pids listed %d\n", buf, count_pids("/proc"));
        status_line("/proc/self/status", "NSpid", buf, sizeof buf);
        printf("init: NSpid '%s'\n", buf);
        status_line("/proc/1/status", "PPid", buf, sizeof buf);
        printf("init: /proc/1 PPid %s\n", buf);
        pid_t s = fork();
        if (s == 0) {
            pause();
            _exit(0);
        }
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", s);
        printf("init: /proc/%d exists %d, pids listed %d\n", s, access(path, F_OK) == 0, count_pids("/proc"));
        kill(s, SIGKILL);
        wait_report("init: sleeper", s);
    } else {
        printf("init: mount proc failed: %s\n", strerrorname_np(errno));
    }
    fflush(stdout);
    return 7;
}

int main(void)
{
    char before[128], after[128], children[128], buf[256], path[64], want[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t me = getpid();

    /* clone(CLONE_NEWPID): the child is pid 1 of a namespace of its own. */
    pid_t c = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        printf("clone child: getpid %d getppid %d\n", getpid(), getppid());
        _exit(5);
    }
    wait_report("clone child", c);
    printf("clone: returned a pid of the parent's namespace: %d\n", c > 1);

    /* From the parent's namespace, init ignores what it has no handler for, but SIGKILL. */
    c = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        for (;;)
            pause();
    }
    snprintf(path, sizeof path, "/proc/%d/status", c);
    status_line(path, "NSpid", buf, sizeof buf);
    snprintf(want, sizeof want, "%d\t1", c);
    printf("parent's /proc: NSpid of the child is 'pid\\t1': %d\n", strcmp(buf, want) == 0);
    status_line(path, "NStgid", buf, sizeof buf);
    printf("parent's /proc: NStgid alike: %d\n", strcmp(buf, want) == 0);
    status_line(path, "NSpgid", buf, sizeof buf);
    snprintf(want, sizeof want, "%d\t0", getpgrp());
    printf("parent's /proc: NSpgid is 'pgid\\t0': %d\n", strcmp(buf, want) == 0);
    status_line("/proc/self/status", "NSpid", buf, sizeof buf);
    snprintf(want, sizeof want, "%d", me);
    printf("parent's /proc: own NSpid is one number: %d\n", strcmp(buf, want) == 0);
    snprintf(path, sizeof path, "/proc/%d/ns/pid", c);
    nslink(path, buf, sizeof buf);
    nslink("/proc/self/ns/pid", before, sizeof before);
    printf("child's ns/pid differs from the parent's: %d\n", strcmp(buf, before) != 0 && strncmp(buf, "pid:[", 5) == 0);
    show("kill(child init, SIGTERM)", kill(c, SIGTERM));
    show("kill(child init, SIGKILL)", kill(c, SIGKILL));
    wait_report("child init", c);

    show("clone(CLONE_NEWPID|CLONE_THREAD)", syscall(SYS_clone, CLONE_NEWPID | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | SIGCHLD, 0, 0, 0, 0));

    /* Without CAP_SYS_ADMIN: EPERM. */
    c = fork();
    if (c == 0) {
        if (setresuid(1000, 1000, 1000) != 0)
            _exit(1);
        show("uid 1000: unshare(CLONE_NEWPID)", unshare(CLONE_NEWPID));
        show("uid 1000: clone(CLONE_NEWPID)", syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);

    /* unshare(CLONE_NEWPID): the caller stays; its next child is the new namespace's init. */
    nslink("/proc/self/ns/pid_for_children", children, sizeof children);
    printf("pid and pid_for_children alike at first: %d\n", strcmp(before, children) == 0);
    show("unshare(CLONE_NEWPID)", unshare(CLONE_NEWPID));
    printf("getpid unchanged: %d\n", getpid() == me);
    nslink("/proc/self/ns/pid", after, sizeof after);
    nslink("/proc/self/ns/pid_for_children", children, sizeof children);
    /* pid_for_children cannot be read until the namespace has its init. */
    errno = 0;
    printf("ns/pid unchanged: %d, pid_for_children before its init: '%s' %s\n", strcmp(before, after) == 0, children,
           readlink("/proc/self/ns/pid_for_children", buf, sizeof buf) < 0 ? strerrorname_np(errno) : "readable");
    show("unshare(CLONE_NEWPID) again", unshare(CLONE_NEWPID));
    show("a thread now", syscall(SYS_clone, CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0, 0, 0, 0));

    int pfd[2];
    if (pipe(pfd) != 0)
        return 1;
    pid_t init = fork();
    if (init == 0) {
        close(pfd[0]);
        nslink("/proc/self", buf, sizeof buf);
        printf("init: the parent's /proc/self is not 1: %d\n", strcmp(buf, "1") != 0);
        /* A process that outlives init holds the pipe: it is killed with the namespace. */
        pid_t lingerer = fork();
        if (lingerer == 0) {
            for (;;)
                pause();
        }
        close(pfd[1]);
        exit(init_main());
    }
    close(pfd[1]);
    wait_report("parent: init", init);
    printf("parent: fork returned a pid of its namespace: %d\n", init > 1);
    /* Init's exit is seen only once every process of its namespace is gone: no wait for EOF here. */
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    ssize_t n = read(pfd[0], buf, 1);
    printf("parent: the namespace's last process was gone when init's exit was seen: %d\n", n == 0);

    /* The namespace died with its init: nothing more can be made in it. */
    pid_t late = fork();
    if (late == 0)
        _exit(0);
    printf("parent: fork after init died: %s\n", late < 0 ? strerrorname_np(errno) : "succeeded");
    if (late > 0)
        waitpid(late, NULL, 0);
    return 0;
}
