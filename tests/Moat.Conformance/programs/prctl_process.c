/* prctl's process options beyond names and capabilities: PR_SET/GET_CHILD_SUBREAPER (an orphaned grandchild
   is given to the subreaper, which waits for it; not inherited), PR_SET/GET_TIMERSLACK (0 restores the
   default, a child's default is its parent's slack), PR_GET_TID_ADDRESS, PR_SET/GET_THP_DISABLE (flags,
   argument errors, fork and execve keep it, /proc/self/status's THP_enabled), PR_MCE_KILL/PR_MCE_KILL_GET,
   PR_TASK_PERF_EVENTS_*, PR_GET_AUXV (size, contents as /proc/self/auxv), PR_SET/GET_IO_FLUSHER as uid 65534,
   and the securebits (locks, KEEP_CAPS through PR_SET_KEEPCAPS, NO_SETUID_FIXUP, NOROOT at execve,
   NO_CAP_AMBIENT_RAISE). Changes happen in children. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PR_GET_AUXV
#define PR_GET_AUXV 0x41555856
#endif

static void show(const char *what, long r) {
    int e = errno;
    printf("%s: %ld %s\n", what, r, r < 0 ? strerrorname_np(e) : "OK");
    errno = 0;
}

static uint64_t cap_effective(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return ~0ull;
    return d[0].effective | (uint64_t)d[1].effective << 32;
}

static int add_inheritable(int cap) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return -1;
    d[cap / 32].inheritable |= 1u << (cap % 32);
    return syscall(SYS_capset, &h, d);
}

static void thp_status(const char *what) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "THP_enabled:", 12) == 0) printf("%s: %s", what, line);
    if (f) fclose(f);
}

static void finish(pid_t pid) {
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) printf("child status %#x\n", st);
}

static void subreaper(void) {
    int v = -1;
    show("get subreaper", prctl(PR_GET_CHILD_SUBREAPER, &v));
    printf("  value %d\n", v);
    show("get subreaper EFAULT", prctl(PR_GET_CHILD_SUBREAPER, (int *)8));
    pid_t me = fork();
    if (me == 0) {
        show("set subreaper 5", prctl(PR_SET_CHILD_SUBREAPER, 5, 0, 0, 0));
        prctl(PR_GET_CHILD_SUBREAPER, &v);
        printf("  value %d\n", v);
        pid_t sub = getpid();
        int pfd[2];
        pipe(pfd);
        pid_t mid = fork();
        if (mid == 0) {
            pid_t g = fork();
            if (g == 0) {
                int inherited = -1;
                prctl(PR_GET_CHILD_SUBREAPER, &inherited);
                char c;
                close(pfd[1]);
                read(pfd[0], &c, 1); /* until the middle process is gone */
                for (int i = 0; i < 5000 && getppid() != sub; i++) usleep(1000);
                printf("grandchild: inherited subreaper %d, parent is the subreaper %s\n", inherited,
                       getppid() == sub ? "yes" : "no");
                fflush(stdout);
                _exit(7);
            }
            _exit(0);
        }
        close(pfd[0]);
        int st;
        waitpid(mid, &st, 0);
        close(pfd[1]);
        pid_t got = wait(&st);
        printf("subreaper reaped the grandchild %s, status %d\n", got > 0 ? "yes" : "no", WEXITSTATUS(st));
        show("set subreaper 0", prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0));
        prctl(PR_GET_CHILD_SUBREAPER, &v);
        printf("  value %d\n", v);
        _exit(0);
    }
    finish(me);
}

static void timerslack(void) {
    long initial = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    pid_t pid = fork();
    if (pid == 0) {
        show("set slack 1000", prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0));
        printf("  slack %ld\n", (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
        pid_t c = fork();
        if (c == 0) {
            printf("  child slack %ld\n", (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
            prctl(PR_SET_TIMERSLACK, 77777, 0, 0, 0);
            prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);
            printf("  child slack after reset %ld (its parent's)\n", (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
            _exit(0);
        }
        finish(c);
        show("set slack 0", prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0));
        printf("  back to the initial slack %s\n", (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == initial ? "yes" : "no");
        _exit(0);
    }
    finish(pid);
}

static void tid_address(void) {
    pid_t pid = fork();
    if (pid == 0) {
        static int word;
        int *got = NULL;
        syscall(SYS_set_tid_address, &word);
        show("get tid address", prctl(PR_GET_TID_ADDRESS, &got, 0, 0, 0));
        printf("  is the set one %s\n", got == &word ? "yes" : "no");
        show("get tid address EFAULT", prctl(PR_GET_TID_ADDRESS, (void *)8, 0, 0, 0));
        _exit(0);
    }
    finish(pid);
}

static void thp(const char *self) {
    pid_t pid = fork();
    if (pid == 0) {
        printf("thp %ld\n", (long)prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
        thp_status("  status");
        show("set thp 0 flag 2", prctl(PR_SET_THP_DISABLE, 0, 2, 0, 0));
        show("set thp 1 flag 4", prctl(PR_SET_THP_DISABLE, 1, 4, 0, 0));
        show("set thp 1 arg4", prctl(PR_SET_THP_DISABLE, 1, 0, 1, 0));
        show("get thp arg2", prctl(PR_GET_THP_DISABLE, 1, 0, 0, 0));
        show("set thp 1 flag 2", prctl(PR_SET_THP_DISABLE, 1, 2, 0, 0));
        printf("  thp %ld\n", (long)prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
        thp_status("  status");
        show("set thp 5", prctl(PR_SET_THP_DISABLE, 5, 0, 0, 0));
        printf("  thp %ld\n", (long)prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
        thp_status("  status");
        pid_t c = fork();
        if (c == 0) {
            printf("  forked child thp %ld\n", (long)prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
            execl(self, self, "thp-after-exec", (char *)NULL);
            _exit(99);
        }
        finish(c);
        _exit(0);
    }
    finish(pid);
}

static void mce(void) {
    pid_t pid = fork();
    if (pid == 0) {
        printf("mce %ld\n", (long)prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
        show("mce get arg2", prctl(PR_MCE_KILL_GET, 1, 0, 0, 0));
        show("mce set early", prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0));
        printf("  mce %ld\n", (long)prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
        pid_t c = fork();
        if (c == 0) {
            printf("  forked child mce %ld\n", (long)prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
            _exit(0);
        }
        finish(c);
        show("mce set late", prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0));
        printf("  mce %ld\n", (long)prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
        show("mce set 3", prctl(PR_MCE_KILL, PR_MCE_KILL_SET, 3, 0, 0));
        show("mce clear 1", prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 1, 0, 0));
        show("mce 2", prctl(PR_MCE_KILL, 2, 0, 0, 0));
        show("mce arg4", prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 1, 0));
        show("mce clear", prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0));
        printf("  mce %ld\n", (long)prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
        _exit(0);
    }
    finish(pid);
}

static void auxv(void) {
    unsigned long buf[80];
    memset(buf, 0xff, sizeof buf);
    show("auxv size only", prctl(PR_GET_AUXV, buf, 0, 0, 0));
    printf("  untouched %s\n", buf[0] == ~0ul ? "yes" : "no");
    long n = prctl(PR_GET_AUXV, buf, sizeof buf, 0, 0);
    show("auxv", n);
    int fd = open("/proc/self/auxv", O_RDONLY);
    unsigned long proc[80];
    long got = read(fd, proc, sizeof proc);
    close(fd);
    printf("  same as /proc/self/auxv %s, AT_PAGESZ %s, zero after AT_NULL %s, beyond untouched %s\n",
           got > 0 && memcmp(buf, proc, got) == 0 ? "yes" : "no",
           getauxval(AT_PAGESZ) == 4096 ? "yes" : "no",
           buf[(got / 8)] == 0 && buf[n / 8 - 1] == 0 ? "yes" : "no", buf[n / 8] == ~0ul ? "yes" : "no");
    show("auxv arg4", prctl(PR_GET_AUXV, buf, sizeof buf, 1, 0));
    show("auxv EFAULT", prctl(PR_GET_AUXV, (void *)8, 16, 0, 0));
    show("auxv 0 bytes to NULL", prctl(PR_GET_AUXV, NULL, 0, 0, 0));
}

static void unprivileged(void) {
    pid_t pid = fork();
    if (pid == 0) {
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(3);
        show("uid 65534: set io flusher", prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0));
        show("uid 65534: get io flusher", prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0));
        show("uid 65534: set securebits", prctl(PR_SET_SECUREBITS, 0x10, 0, 0, 0));
        show("uid 65534: perf disable", prctl(PR_TASK_PERF_EVENTS_DISABLE, 0, 0, 0, 0));
        _exit(0);
    }
    finish(pid);
}

static void securebits(const char *self) {
    printf("securebits %ld\n", (long)prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    pid_t pid = fork();
    if (pid == 0) {
        show("set unknown bit", prctl(PR_SET_SECUREBITS, 0x1000, 0, 0, 0));
        show("set keep caps", prctl(PR_SET_SECUREBITS, 0x10, 0, 0, 0));
        printf("  keepcaps %ld securebits %#lx\n", (long)prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), (long)prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
        show("keepcaps 0", prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
        printf("  securebits %#lx\n", (long)prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
        show("set keep caps, locked", prctl(PR_SET_SECUREBITS, 0x30, 0, 0, 0));
        show("keepcaps 0 while locked", prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
        show("unlock", prctl(PR_SET_SECUREBITS, 0x10, 0, 0, 0));
        show("change the locked bit", prctl(PR_SET_SECUREBITS, 0x20, 0, 0, 0));
        show("add no-ambient-raise", prctl(PR_SET_SECUREBITS, 0x70, 0, 0, 0));
        add_inheritable(CAP_NET_BIND_SERVICE);
        show("ambient raise under no-ambient-raise", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
        _exit(0);
    }
    finish(pid);
    pid = fork();
    if (pid == 0) {
        show("set no setuid fixup", prctl(PR_SET_SECUREBITS, 0x4, 0, 0, 0));
        show("setresuid 1000", setresuid(1000, 1000, 1000));
        printf("  effective caps kept %s\n", (cap_effective() & (1ull << CAP_CHOWN)) ? "yes" : "no");
        _exit(0);
    }
    finish(pid);
    pid = fork();
    if (pid == 0) {
        show("set noroot", prctl(PR_SET_SECUREBITS, 0x1, 0, 0, 0));
        execl(self, self, "caps-after-exec", (char *)NULL);
        _exit(99);
    }
    finish(pid);
    pid = fork();
    if (pid == 0) {
        show("set keep caps", prctl(PR_SET_SECUREBITS, 0x10, 0, 0, 0));
        execl(self, self, "caps-after-exec", (char *)NULL);
        _exit(99);
    }
    finish(pid);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "thp-after-exec") == 0) {
        printf("  after execve thp %ld\n", (long)prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "caps-after-exec") == 0) {
        printf("  after execve: securebits %#lx, effective caps %s\n", (long)prctl(PR_GET_SECUREBITS, 0, 0, 0, 0),
               cap_effective() & (1ull << CAP_CHOWN) ? "chown" : "none");
        return 0;
    }
    subreaper();
    timerslack();
    tid_address();
    thp("/proc/self/exe");
    mce();
    show("perf disable", prctl(PR_TASK_PERF_EVENTS_DISABLE, 0, 0, 0, 0));
    show("perf enable", prctl(PR_TASK_PERF_EVENTS_ENABLE, 1, 2, 3, 4));
    auxv();
    unprivileged();
    securebits("/proc/self/exe");
    return 0;
}
