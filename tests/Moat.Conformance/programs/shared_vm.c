/* Processes that share their parent's memory (clone(CLONE_VM) without CLONE_THREAD, vfork, posix_spawn):
 * a vfork child's stores to a global and to the heap seen by the parent; posix_spawn of a missing program
 * failing with ENOENT (the child reports the errno through the shared memory) and of a real one succeeding;
 * a clone(CLONE_VM|SIGCHLD) child on its own stack with its own pid, writing shared memory, mapping a page the
 * parent reads and unmapping one the parent had (ENOMEM from msync after), the same /proc/PID/maps for both,
 * process_vm_readv of one by the other; a vfork child that execs (the parent keeps its memory) and one whose
 * exec fails; a fork from a CLONE_VM child and from its parent while it runs (the grandchild's stores stay its
 * own); /proc/CHILD/maps read by the parent; SIGKILL and a SIGSEGV of a
 * running CLONE_VM child leaving the parent alive; a parent that exits while its CLONE_VM child keeps running
 * and writing to a pipe; clone(CLONE_VM|CLONE_SIGHAND) sharing the signal actions (a handler the child sets is the
 * parent's, unshare(CLONE_SIGHAND) is EINVAL while they are shared, a zombie included, and an exec leaves the
 * parent's handlers alone), without CLONE_SIGHAND a copy. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_SIZE (256 * 1024)

extern char **environ;

static volatile int g_value;
static volatile int g_counter;
static volatile char *g_page;
static volatile int g_grandchild_seen;
static char g_maps_child[65536];
static char g_maps_parent[65536];
static volatile long g_maps_child_len;
static volatile int g_child_pid_seen;

static const char *ename(int e) { return e == 0 ? "ok" : strerrorname_np(e); }

static char *new_stack(void) {
    char *s = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (s == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return s + STACK_SIZE;
}

static long read_all(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long total = 0;
    for (;;) {
        long n = read(fd, buf + total, size - 1 - total);
        if (n <= 0)
            break;
        total += n;
    }
    close(fd);
    buf[total] = 0;
    return total;
}

static void report_status(const char *what, int status) {
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(status)));
    else
        printf("%s: status %#x\n", what, status);
}

static void test_vfork(void) {
    volatile int *heap = malloc(sizeof(int));
    *heap = 1;
    g_value = 0;
    volatile int local = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        g_value = 42;
        *heap = 43;
        local = 44;
        _exit(3);
    }
    int status;
    waitpid(pid, &status, 0);
    report_status("vfork child", status);
    printf("vfork: global %d heap %d stack %d\n", g_value, *heap, local);
    free((void *)heap);
}

static void test_posix_spawn(void) {
    pid_t pid;
    char *argv[] = {"nothing", NULL};
    int r = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, argv, environ);
    printf("posix_spawn missing: %s\n", ename(r));
    r = posix_spawnp(&pid, "no-such-program-anywhere", NULL, NULL, argv, environ);
    printf("posix_spawnp missing: %s\n", ename(r));

    char *argv2[] = {"shared_vm", "exit", "9", NULL};
    r = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv2, environ);
    printf("posix_spawn self: %s\n", ename(r));
    if (r == 0) {
        int status;
        waitpid(pid, &status, 0);
        report_status("posix_spawn child", status);
    }
}

static int clone_child(void *arg) {
    (void)arg;
    g_child_pid_seen = getpid() != getppid() && getpid() != (pid_t)(long)arg;
    g_value = 1234;
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(p, "written by the child");
    g_page = p;
    g_maps_child_len = read_all("/proc/self/maps", g_maps_child, sizeof g_maps_child);
    return 7;
}

static int unmap_child(void *arg) {
    munmap(arg, 4096);
    return 0;
}

static void test_clone_vm(void) {
    g_value = 0;
    g_page = NULL;
    pid_t self = getpid();
    pid_t pid = clone(clone_child, new_stack(), CLONE_VM | SIGCHLD, (void *)(long)self);
    if (pid < 0) {
        printf("clone: %s\n", ename(errno));
        return;
    }
    int status;
    waitpid(pid, &status, 0);
    report_status("clone child", status);
    printf("clone: own pid %s, global %d, page \"%s\"\n", g_child_pid_seen ? "yes" : "no", g_value,
           g_page ? (const char *)g_page : "(none)");
    long n = read_all("/proc/self/maps", g_maps_parent, sizeof g_maps_parent);
    printf("clone: same maps %s\n", n > 0 && n == g_maps_child_len && memcmp(g_maps_child, g_maps_parent, n) == 0 ? "yes" : "no");
    munmap((void *)g_page, 4096);

    char *mine = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mine[0] = 1;
    pid = clone(unmap_child, new_stack(), CLONE_VM | SIGCHLD, mine);
    waitpid(pid, &status, 0);
    int r = msync(mine, 4096, MS_ASYNC);
    printf("clone: page unmapped by the child: msync %s\n", ename(r < 0 ? errno : 0));
}

static volatile int g_spin_stop;

static int spinning_child(void *arg) {
    (void)arg;
    while (!g_spin_stop)
        g_counter++;
    return 0;
}

static int segv_child(void *arg) {
    (void)arg;
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none); /* no core dump, whatever the host's core_pattern */
    *(volatile int *)16 = 1;
    return 0;
}

static void test_process_vm_and_kill(void) {
    g_counter = 0;
    g_spin_stop = 0;
    pid_t pid = clone(spinning_child, new_stack(), CLONE_VM | SIGCHLD, NULL);
    while (g_counter < 1000)
        sched_yield();
    int seen = 0;
    g_value = 5678;
    struct iovec local = {&seen, sizeof seen}, remote = {(void *)&g_value, sizeof g_value};
    long r = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    printf("process_vm_readv of the child: %ld, value %d\n", r, seen);
    int other = 0;
    remote.iov_base = &other;
    seen = 91;
    r = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    printf("process_vm_writev into the child: %ld, seen by the parent %d\n", r, other);

    /* A fork while the CLONE_VM child runs copies the shared memory: the grandchild's store stays its own. */
    pid_t f = fork();
    if (f == 0) {
        g_value = 777;
        _exit(g_counter > 0 ? 0 : 1);
    }
    int status;
    waitpid(f, &status, 0);
    report_status("forked while sharing", status);
    printf("fork while sharing: global %d\n", g_value);

    /* Both processes show the same mappings. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    long nc = read_all(path, g_maps_child, sizeof g_maps_child);
    long np = read_all("/proc/self/maps", g_maps_parent, sizeof g_maps_parent);
    printf("/proc/CHILD/maps is the parent's: %s\n", nc > 0 && nc == np && memcmp(g_maps_child, g_maps_parent, nc) == 0 ? "yes" : "no");

    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    report_status("spinning child", status);
    int before = g_counter;
    usleep(20000);
    printf("counter still after kill: %s\n", g_counter == before ? "yes" : "no");

    pid = clone(segv_child, new_stack(), CLONE_VM | SIGCHLD, NULL);
    waitpid(pid, &status, 0);
    report_status("segv child", status);

    /* The parent goes on using (and growing) the memory. */
    char *big = malloc(8 << 20);
    memset(big, 7, 8 << 20);
    long sum = 0;
    for (long i = 0; i < (8 << 20); i += 4096)
        sum += big[i];
    printf("parent alive after the children died: %ld\n", sum);
    free(big);
}

static void test_exec(void) {
    g_value = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        g_value = 11;
        char *argv[] = {"shared_vm", "exit", "13", NULL};
        execve("/proc/self/exe", argv, environ);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    report_status("vfork+exec child", status);
    printf("vfork+exec: global %d\n", g_value);

    volatile int exec_errno = 0;
    pid = vfork();
    if (pid == 0) {
        char *argv[] = {"missing", NULL};
        execve("/nonexistent/program", argv, environ);
        exec_errno = errno;
        _exit(127);
    }
    waitpid(pid, &status, 0);
    report_status("vfork+failed exec child", status);
    printf("vfork+failed exec: errno %s\n", ename(exec_errno));
}

static int forking_child(void *arg) {
    (void)arg;
    g_value = 21;
    pid_t gc = fork();
    if (gc == 0) {
        g_value = 99;
        g_grandchild_seen = 1;
        _exit(g_value == 99 ? 4 : 5);
    }
    int status;
    waitpid(gc, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) + 10 : 1;
}

static void test_fork_from_child(void) {
    g_value = 0;
    g_grandchild_seen = 0;
    pid_t pid = clone(forking_child, new_stack(), CLONE_VM | SIGCHLD, NULL);
    int status;
    waitpid(pid, &status, 0);
    report_status("forking clone child", status);
    printf("fork from a CLONE_VM child: global %d, grandchild's store seen %s\n", g_value, g_grandchild_seen ? "yes" : "no");
}

static int g_go[2], g_data[2];

static int orphan_child(void *arg) {
    (void)arg;
    char c;
    /* Wait until the parent has exited and been reaped. */
    if (read(g_go[0], &c, 1) != 1)
        return 1;
    char *buf = malloc(64);
    for (int i = 0; i < 3; i++) {
        int n = snprintf(buf, 64, "line %d from the orphan\n", i);
        write(g_data[1], buf, n);
    }
    return 0;
}

static void test_parent_exits_first(void) {
    fflush(stdout);
    if (pipe(g_go) < 0 || pipe(g_data) < 0)
        return;
    pid_t mid = fork();
    if (mid == 0) {
        pid_t c = clone(orphan_child, new_stack(), CLONE_VM | SIGCHLD, NULL);
        _exit(c > 0 ? 5 : 6); /* exit_group while the child runs */
    }
    close(g_go[0]);
    close(g_data[1]);
    int status;
    waitpid(mid, &status, 0);
    report_status("parent of the orphan", status);
    fflush(stdout);
    write(g_go[1], "g", 1);
    close(g_go[1]);
    char buf[256];
    long total = 0, n;
    while ((n = read(g_data[0], buf + total, sizeof buf - 1 - total)) > 0)
        total += n;
    buf[total] = 0;
    close(g_data[0]);
    printf("from the orphan after its parent exited:\n%s", buf);
}

static volatile int g_unshare_errno;

static void on_usr1(int sig) { (void)sig; }

static int sighand_child(void *arg) {
    (void)arg;
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    g_unshare_errno = syscall(SYS_unshare, CLONE_SIGHAND) == 0 ? 0 : errno;
    return 0;
}

static int sighand_exec_child(void *arg) {
    (void)arg;
    char *argv[] = {"shared_vm", "exit", "0", NULL};
    execve("/proc/self/exe", argv, environ);
    _exit(127);
}

static const char *usr1_handler(void) {
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    return sa.sa_handler == on_usr1 ? "the handler" : sa.sa_handler == SIG_DFL ? "default" : "other";
}

static void test_clone_sighand(void) {
    signal(SIGUSR1, SIG_DFL);
    pid_t pid = clone(sighand_child, new_stack(), CLONE_VM | CLONE_SIGHAND | SIGCHLD, NULL);
    siginfo_t info;
    waitid(P_PID, pid, &info, WEXITED | WNOWAIT);
    printf("clone sighand: parent's SIGUSR1 after the child set it: %s\n", usr1_handler());
    printf("clone sighand: unshare(CLONE_SIGHAND) in the child: %s\n", ename(g_unshare_errno));
    printf("clone sighand: unshare in the parent, child a zombie: %s\n", syscall(SYS_unshare, CLONE_SIGHAND) == 0 ? "ok" : ename(errno));
    int status;
    waitpid(pid, &status, 0);
    printf("clone sighand: unshare once it is reaped: %s\n", syscall(SYS_unshare, CLONE_SIGHAND) == 0 ? "ok" : ename(errno));

    pid = clone(sighand_exec_child, new_stack(), CLONE_VM | CLONE_SIGHAND | CLONE_VFORK | SIGCHLD, NULL);
    waitpid(pid, &status, 0);
    report_status("clone sighand+exec child", status);
    printf("clone sighand: parent's SIGUSR1 after the child's exec: %s\n", usr1_handler());

    signal(SIGUSR1, SIG_DFL);
    pid = clone(sighand_child, new_stack(), CLONE_VM | SIGCHLD, NULL);
    waitpid(pid, &status, 0);
    printf("clone without sighand: parent's SIGUSR1 after the child set it: %s\n", usr1_handler());
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "exit") == 0)
        return atoi(argv[2]);
    setvbuf(stdout, NULL, _IOFBF, 0);
    test_vfork();
    test_posix_spawn();
    test_clone_vm();
    test_process_vm_and_kill();
    test_exec();
    test_fork_from_child();
    test_parent_exits_first();
    test_clone_sighand();
    return 0;
}
