/* /proc/self as Linux lists it: the names of /proc/self and /proc/self/task/TID (less the entries the Sentry leaves
   out, docs/sentry-notes.md), each entry's type, mode and owner as root and as uid 1000, which of root's entries
   uid 1000 may open and read; inode times (a process's entries near its start, /proc's files at boot, stable between
   two stats, /proc/PID/stat's starttime agreeing); /proc/net a link to self/net; the fd links' modes; attr/ without
   an LSM (EINVAL, EACCES for another process); syscall (the reader's own read, a child blocked in read, a child
   running); timers (POSIX timers in show_timer's format); timens_offsets, projid_map, ksm_merging_pages, mountstats. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Entries Linux has and the Sentry leaves out on purpose (see sentry-notes: /proc). */
static const char *left_out[] = {"arch_status", "autogroup", "children", "clear_refs", "ksm_stat", "map_files", "numa_maps",
    "pagemap", "sched", "stack", "make-it-fail", "patch_state", "seccomp_cache", "latency", "fail-nth", "oom_adj_score", NULL};

static int is_left_out(const char *name) {
    for (int i = 0; left_out[i]; i++)
        if (strcmp(left_out[i], name) == 0) return 1;
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char type_char(mode_t m) { return S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISREG(m) ? '-' : '?'; }

/* Each entry of dir, sorted: its type, permission bits, and whether it belongs to the process's euid. */
static void list(const char *label, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        printf("%s: opendir %s\n", label, strerrorname_np(errno));
        return;
    }
    char *names[128];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 128)
        if (e->d_name[0] != '.' && !is_left_out(e->d_name)) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", label);
    for (int i = 0; i < n; i++) {
        char path[256];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (lstat(path, &st) != 0) {
            printf(" %s=%s", names[i], strerrorname_np(errno));
        } else {
            printf(" %s=%c%03o%s", names[i], type_char(st.st_mode), st.st_mode & 07777,
                st.st_uid == geteuid() && st.st_gid == getegid() ? "" : st.st_uid == 0 ? ":root" : ":other");
        }
        free(names[i]);
    }
    printf("\n");
}

static int slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    int n = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    return n < 0 ? -e : n;
}

static void times(void) {
    struct stat a, b, st;
    time_t now = time(NULL);
    stat("/proc/self", &a);
    printf("/proc/self mtime: %s, atime==mtime==ctime: %s\n", a.st_mtime != 0 && now - a.st_mtime <= 5 && a.st_mtime <= now ? "now" : "other",
        a.st_atime == a.st_mtime && a.st_ctime == a.st_mtime ? "yes" : "no");
    stat("/proc/self/status", &st);
    printf("/proc/self/status mtime near its directory's: %s\n", st.st_mtime - a.st_mtime <= 5 && st.st_mtime >= a.st_mtime - 5 ? "yes" : "no");
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    stat("/proc/self", &b);
    printf("/proc/self times stable: %s\n", a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec ? "yes" : "no");

    char buf[8192];
    long btime = 0;
    if (slurp("/proc/stat", buf, sizeof buf) > 0) {
        char *p = strstr(buf, "\nbtime ");
        if (p) btime = atol(p + 7);
    }
    /* The system's files were made before now (Linux: at their first look; the Sentry: at its boot), never at 0. */
    const char *sys[] = {"/proc/stat", "/proc/uptime", "/proc/meminfo", "/proc/self/..", NULL};
    for (int i = 0; sys[i]; i++) {
        if (stat(sys[i], &st) != 0) {
            printf("%s: %s\n", sys[i], strerrorname_np(errno));
            continue;
        }
        printf("%s mtime set and past: %s\n", sys[i], st.st_mtime > 0 && st.st_mtime <= now + 1 ? "yes" : "no");
    }

    /* starttime (field 22) in clock ticks after boot: btime plus it is when the process started. */
    if (slurp("/proc/self/stat", buf, sizeof buf) > 0) {
        char *p = strrchr(buf, ')');
        long long start = -1;
        for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
        if (p) start = atoll(p + 1);
        long hz = sysconf(_SC_CLK_TCK);
        long started = btime + start / hz;
        printf("stat starttime agrees with btime and now: %s\n", start >= 0 && started <= now + 1 && now - started <= 6 ? "yes" : "no");
    }

    /* uptime's seconds since boot agree with btime. */
    if (slurp("/proc/uptime", buf, sizeof buf) > 0) {
        long up = atol(buf);
        long diff = now - up - btime;
        printf("uptime agrees with btime: %s\n", diff >= -2 && diff <= 2 ? "yes" : "no");
    }
}

static void net(void) {
    struct stat st;
    char target[64];
    ssize_t n = readlink("/proc/net", target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    printf("/proc/net: %s -> %s\n", lstat("/proc/net", &st) == 0 ? (S_ISLNK(st.st_mode) ? "link" : "not a link") : strerrorname_np(errno), target);
    printf("/proc/net followed: %s\n", stat("/proc/net", &st) == 0 && S_ISDIR(st.st_mode) ? "directory" : "other");
    printf("/proc/self/net: %s %03o\n", lstat("/proc/self/net", &st) == 0 && S_ISDIR(st.st_mode) ? "directory" : "other", st.st_mode & 07777);
    const char *files[] = {"dev", "route", "tcp", "tcp6", "udp", "udp6", "unix", "snmp", "if_inet6", NULL};
    for (int i = 0; files[i]; i++) {
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/self/net/%s", files[i]);
        int r = slurp(path, buf, sizeof buf);
        char *nl = strchr(buf, '\n');
        if (nl) *nl = 0;
        buf[24] = 0;
        struct stat fst;
        lstat(path, &fst);
        printf("%s: %s %c%03o [%s]\n", path, r < 0 ? strerrorname_np(-r) : "read", type_char(fst.st_mode), fst.st_mode & 07777,
            strcmp(files[i], "if_inet6") == 0 ? "" : buf);
    }
    char a[512], b[512];
    slurp("/proc/net/dev", a, sizeof a);
    slurp("/proc/self/net/dev", b, sizeof b);
    printf("/proc/net/dev is /proc/self/net/dev: %s\n", strcmp(a, b) == 0 ? "yes" : "no");
    snprintf(a, sizeof a, "/proc/self/task/%d/net/dev", (int)gettid());
    printf("a thread's net/dev: %s\n", stat(a, &st) == 0 ? "yes" : strerrorname_np(errno));
}

static void fd_links(void) {
    int fds[4];
    fds[0] = open("/proc/self/status", O_RDONLY);
    fds[1] = open("/dev/null", O_WRONLY);
    fds[2] = open("/dev/null", O_RDWR);
    fds[3] = open("/dev/null", O_PATH);
    const char *how[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_PATH"};
    for (int i = 0; i < 4; i++) {
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
        lstat(path, &st);
        printf("fd link of %s: %c%03o size %lld\n", how[i], type_char(st.st_mode), st.st_mode & 07777, (long long)st.st_size);
    }
    for (int i = 0; i < 4; i++) close(fds[i]);
    struct stat st;
    lstat("/proc/self/exe", &st);
    printf("exe link: %c%03o size %lld\n", type_char(st.st_mode), st.st_mode & 07777, (long long)st.st_size);
    lstat("/proc/self", &st);
    printf("self link: %c%03o size %lld\n", type_char(st.st_mode), st.st_mode & 07777, (long long)st.st_size);
    lstat("/proc/net", &st);
    printf("net link size %lld\n", (long long)st.st_size);
    stat("/proc/self/task", &st);
    printf("task nlink: %lu\n", (unsigned long)st.st_nlink);
}

static long put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -errno;
    long r = write(fd, s, strlen(s));
    int e = errno;
    close(fd);
    return r < 0 ? -e : r;
}

static const char *res(long r) { return r < 0 ? strerrorname_np(-r) : "ok"; }

static void attr(void) {
    char buf[64];
    const char *names[] = {"current", "prev", "exec", "fscreate", "keycreate", "sockcreate", NULL};
    for (int i = 0; names[i]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/attr/%s", names[i]);
        printf("attr/%s: read %s, write %s\n", names[i], res(slurp(path, buf, sizeof buf)), res(put(path, "unconfined")));
    }
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/attr/current", (int)parent);
        printf("attr/current of another process: write %s\n", res(put(path, "unconfined")));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

/* The number and first argument of a syscall line, or the line when it is not one; with want_running, the line
   once the task runs (up to 5 s), else once it is blocked. */
static void syscall_line(const char *label, const char *path, int want_running, int wait) {
    char buf[256];
    int r = slurp(path, buf, sizeof buf);
    for (int i = 0; wait && i < 500 && r > 0 && (strcmp(buf, "running\n") == 0) != want_running; i++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        r = slurp(path, buf, sizeof buf);
    }
    if (r < 0) {
        printf("%s: %s\n", label, strerrorname_np(-r));
        return;
    }
    long nr;
    unsigned long arg;
    int fields = 0;
    for (char *p = buf; *p; p++) fields += *p == ' ';
    if (sscanf(buf, "%ld 0x%lx", &nr, &arg) == 2)
        printf("%s: nr %ld arg0 %lu, %d fields\n", label, nr, arg, fields + 1);
    else
        printf("%s: %s", label, buf);
}

static void syscalls(void) {
    syscall_line("own syscall", "/proc/self/syscall", 0, 0);
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        char x;
        close(p[1]);
        read(p[0], &x, 1);
        _exit(0);
    }
    close(p[0]);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)c);
    char label[64];
    snprintf(label, sizeof label, "blocked child's syscall (fd %d)", p[0]);
    syscall_line(label, path, 0, 1);
    close(p[1]);
    waitpid(c, NULL, 0);

    pipe(p);
    c = fork();
    if (c == 0) {
        close(p[0]);
        write(p[1], "x", 1);
        for (volatile unsigned long i = 0;; i++) {}
    }
    close(p[1]);
    char x;
    read(p[0], &x, 1);
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)c);
    syscall_line("spinning child's syscall", path, 1, 1);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    close(p[0]);
}

static void timers(void) {
    timer_t a, b, c;
    struct sigevent none = {.sigev_notify = SIGEV_NONE, .sigev_signo = SIGUSR1, .sigev_value.sival_ptr = (void *)0x1234};
    struct sigevent tid = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR2, ._sigev_un._tid = gettid()};
    timer_create(CLOCK_REALTIME, NULL, &a);
    timer_create(CLOCK_MONOTONIC, &none, &b);
    timer_create(CLOCK_BOOTTIME, &tid, &c);
    char buf[1024];
    slurp("/proc/self/timers", buf, sizeof buf);
    /* The pid and tid are the caller's: shown as such. */
    char self[32];
    snprintf(self, sizeof self, ".%d\n", (int)getpid());
    printf("timers:\n");
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        size_t n = strlen(line), k = strlen(self) - 1;
        if (n > k && strncmp(line + n - k, self, k) == 0) line[n - k] = 0, printf("%s.self\n", line);
        else printf("%s\n", line);
    }
    timer_delete(b);
    slurp("/proc/self/timers", buf, sizeof buf);
    int ids = 0;
    for (char *p = buf; (p = strstr(p, "ClockID: ")); p++) ids++;
    printf("timers after a delete: %d\n", ids);
    timer_delete(a);
    timer_delete(c);
}

static void misc(void) {
    char buf[512];
    printf("timens_offsets:\n");
    slurp("/proc/self/timens_offsets", buf, sizeof buf);
    printf("%s", buf);
    printf("timens_offsets write: %s, bad clock %s, bad nsec %s\n", res(put("/proc/self/timens_offsets", "monotonic 1 0\n")),
        res(put("/proc/self/timens_offsets", "realtime 1 0\n")), res(put("/proc/self/timens_offsets", "boottime 1 1000000000\n")));
    slurp("/proc/self/projid_map", buf, sizeof buf);
    printf("projid_map: [%s] write %s\n", buf, res(put("/proc/self/projid_map", "0 0 1\n")));
    slurp("/proc/self/ksm_merging_pages", buf, sizeof buf);
    printf("ksm_merging_pages: [%s]\n", buf);
    slurp("/proc/self/mountstats", buf, sizeof buf);
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    printf("mountstats: device %s, mounted on %s, with fstype %s\n", strncmp(buf, "device ", 7) == 0 ? "yes" : "no",
        strstr(buf, " mounted on /") ? "yes" : "no", strstr(buf, " with fstype ") ? "yes" : "no");
}

/* What uid 1000 sees of its own entries, and may open and read of root's. */
static void non_root(void) {
    pid_t root = getpid();
    pid_t c = fork();
    if (c == 0) {
        if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) _exit(3);
        char dir[64];
        list("uid 1000's /proc/self", "/proc/self");
        snprintf(dir, sizeof dir, "/proc/%d", (int)root);
        list("uid 1000 looks at root's", dir);
        const char *names[] = {"environ", "auxv", "status", "personality", "limits", "cmdline", "stat", "maps", "mem",
            "mounts", "mountinfo", "mountstats", "smaps", "syscall", "timers", "io", "ksm_merging_pages", "timens_offsets",
            "projid_map", "attr/current", "net/dev", "fd", "ns", "task", "net", NULL};
        for (int i = 0; names[i]; i++) {
            char path[96], buf[64];
            snprintf(path, sizeof path, "/proc/%d/%s", (int)root, names[i]);
            int fd = open(path, O_RDONLY);
            if (fd < 0) {
                printf("uid 1000 opens root's %s: %s\n", names[i], strerrorname_np(errno));
                continue;
            }
            struct stat st;
            fstat(fd, &st);
            long n = S_ISDIR(st.st_mode) ? 0 : read(fd, buf, sizeof buf);
            printf("uid 1000 opens root's %s: yes, reads %s\n", names[i], n < 0 ? strerrorname_np(errno) : "ok");
            close(fd);
        }
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(c, &status, 0);
    printf("non-root child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void) {
    char dir[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    list("/proc/self", "/proc/self");
    snprintf(dir, sizeof dir, "/proc/self/task/%d", (int)gettid());
    list("/proc/self/task/TID", dir);
    list("/proc/self/attr", "/proc/self/attr");
    times();
    net();
    fd_links();
    attr();
    syscalls();
    timers();
    misc();
    non_root();
    return 0;
}
