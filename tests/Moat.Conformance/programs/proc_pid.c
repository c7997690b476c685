/* /proc/PID entries beyond the basic ones: each entry's type, mode and owner (the process's euid while it is
   dumpable), a thread's directory without a task entry, writes to comm (15 bytes, the newline kept, EINVAL for
   another process), oom_score_adj and oom_adj as uid 65534 (range, legacy scale, the floor, fork inherits),
   oom_score, timerslack_ns, coredump_filter, io counters (rchar/wchar/syscr/syscw deltas), uid_map, gid_map,
   setgroups, loginuid, sessionid, personality, cpuset and wchan contents, and what uid 65534 may open of a root
   process (environ, maps, fd: EACCES; status: yes). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *entries[] = {"task", "fd", "fdinfo", "ns", "environ", "auxv", "status", "personality", "limits",
    "comm", "cmdline", "stat", "statm", "maps", "cwd", "root", "exe", "mounts", "mountinfo", "wchan", "schedstat",
    "cpuset", "cgroup", "oom_score", "oom_adj", "oom_score_adj", "loginuid", "sessionid", "coredump_filter", "io",
    "uid_map", "gid_map", "setgroups", "timerslack_ns"};

static void show(const char *what, long r) {
    int e = errno;
    printf("%s: %ld %s\n", what, r, r < 0 ? strerrorname_np(e) : "OK");
    errno = 0;
}

static int slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    int n = read(fd, buf, size - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    return n;
}

static long put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    long r = write(fd, s, strlen(s));
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static void content(const char *name) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/%s", name);
    int n = slurp(path, buf, sizeof buf);
    printf("%s: [%s] %d\n", name, n < 0 ? strerrorname_np(-n) : buf, n < 0 ? n : 0);
}

static void modes(void) {
    for (size_t i = 0; i < sizeof entries / sizeof *entries; i++) {
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/proc/self/%s", entries[i]);
        if (lstat(path, &st) != 0) {
            printf("%s: %s\n", entries[i], strerrorname_np(errno));
            continue;
        }
        printf("%s: %s %o owner %s\n", entries[i], S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "file",
               st.st_mode & 07777, st.st_uid == geteuid() && st.st_gid == getegid() ? "self" : "other");
    }
    DIR *d = opendir("/proc/self");
    int seen = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        for (size_t i = 0; i < sizeof entries / sizeof *entries; i++)
            if (strcmp(e->d_name, entries[i]) == 0) seen++;
    if (d) closedir(d);
    printf("listed %d of %zu\n", seen, sizeof entries / sizeof *entries);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/task", (int)syscall(SYS_gettid));
    struct stat st;
    printf("a thread's directory has a task entry: %s\n", stat(path, &st) == 0 ? "yes" : strerrorname_np(errno));
}

static void comm(void) {
    char buf[64];
    show("write comm", put("/proc/self/comm", "foo\n"));
    slurp("/proc/self/comm", buf, sizeof buf);
    printf("  comm [%s] prctl name ", buf);
    prctl(PR_GET_NAME, buf);
    printf("[%s]\n", buf);
    show("write long comm", put("/proc/self/comm", "abcdefghijklmnopqrstuvwxyz"));
    slurp("/proc/self/comm", buf, sizeof buf);
    printf("  comm [%s]\n", buf);
    int fd = open("/proc/self/comm", O_RDWR);
    show("pwrite comm", pwrite(fd, "xy", 2, 0));
    show("write comm, then read the same fd from 0", write(fd, "again", 5));
    lseek(fd, 0, SEEK_SET);
    int n = read(fd, buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    printf("  comm [%s]\n", buf);
    close(fd);
    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)c);
    show("write another process's comm", put(path, "other"));
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
}

static void oom(void) {
    char buf[64];
    slurp("/proc/self/oom_score_adj", buf, sizeof buf);
    printf("oom_score_adj starts at 0: %s\n", strcmp(buf, "0\n") == 0 ? "yes" : "no");
    show("write 300", put("/proc/self/oom_score_adj", "300\n"));
    show("write 100 (lower, above the floor)", put("/proc/self/oom_score_adj", "  100\n"));
    show("write -1 (below the floor)", put("/proc/self/oom_score_adj", "-1"));
    show("write 1001", put("/proc/self/oom_score_adj", "1001"));
    show("write abc", put("/proc/self/oom_score_adj", "abc"));
    show("write 12x", put("/proc/self/oom_score_adj", "12x"));
    show("write +13", put("/proc/self/oom_score_adj", "+13"));
    int fd = open("/proc/self/oom_score_adj", O_WRONLY);
    show("write nothing", write(fd, "", 0));
    close(fd);
    content("oom_score_adj");
    content("oom_adj");
    show("write oom_adj 15", put("/proc/self/oom_adj", "15"));
    content("oom_score_adj");
    content("oom_adj");
    show("write oom_adj 3 (lower than now)", put("/proc/self/oom_adj", "3"));
    show("write oom_adj -18", put("/proc/self/oom_adj", "-18"));
    show("write oom_adj 16", put("/proc/self/oom_adj", "16"));
    slurp("/proc/self/oom_score", buf, sizeof buf);
    long score = atol(buf);
    printf("oom_score at 1000 is between 1300 and 2000: %s\n", score >= 1300 && score <= 2000 ? "yes" : "no");
    pid_t c = fork();
    if (c == 0) {
        content("oom_score_adj");
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void misc(void) {
    char buf[64];
    content("timerslack_ns");
    show("write timerslack 0x10", put("/proc/self/timerslack_ns", "0x10"));
    show("write timerslack 1234", put("/proc/self/timerslack_ns", "1234\n"));
    printf("  prctl says %d\n", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
    show("write timerslack 0", put("/proc/self/timerslack_ns", "0"));
    content("timerslack_ns");
    content("coredump_filter");
    show("write coredump_filter 0x1ff3", put("/proc/self/coredump_filter", "0x1ff3"));
    content("coredump_filter");
    show("write coredump_filter 017", put("/proc/self/coredump_filter", "017"));
    content("coredump_filter");
    show("write coredump_filter zz", put("/proc/self/coredump_filter", "zz"));
    pid_t c = fork();
    if (c == 0) {
        content("coredump_filter");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    content("uid_map");
    content("gid_map");
    content("setgroups");
    show("write uid_map", put("/proc/self/uid_map", "0 0 1\n"));
    show("write setgroups", put("/proc/self/setgroups", "deny"));
    content("loginuid");
    content("sessionid");
    content("personality");
    content("cpuset");
    content("wchan");
    slurp("/proc/self/schedstat", buf, sizeof buf);
    unsigned long long a, b, d;
    printf("schedstat has three numbers: %s\n", sscanf(buf, "%llu %llu %llu", &a, &b, &d) == 3 ? "yes" : "no");
}

static void io_field(const char *buf, const char *key, long *v) {
    const char *p = strstr(buf, key);
    *v = p ? atol(p + strlen(key)) : -1;
}

static void io(void) {
    char first[512], second[512];
    int p[2];
    pipe(p);
    int fd = open("/proc/self/io", O_RDONLY);
    int n1 = read(fd, first, sizeof first - 1);
    close(fd);
    first[n1 < 0 ? 0 : n1] = 0;
    char data[1000];
    memset(data, 'x', sizeof data);
    write(p[1], data, sizeof data);
    write(p[1], data, sizeof data);
    char back[2000];
    int got = read(p[0], back, sizeof back);
    fd = open("/proc/self/io", O_RDONLY);
    int n2 = read(fd, second, sizeof second - 1);
    close(fd);
    second[n2 < 0 ? 0 : n2] = 0;
    long r1, r2, w1, w2, sr1, sr2, sw1, sw2;
    io_field(first, "rchar: ", &r1);
    io_field(second, "rchar: ", &r2);
    io_field(first, "wchar: ", &w1);
    io_field(second, "wchar: ", &w2);
    io_field(first, "syscr: ", &sr1);
    io_field(second, "syscr: ", &sr2);
    io_field(first, "syscw: ", &sw1);
    io_field(second, "syscw: ", &sw2);
    printf("io: read %d, rchar delta less the first read %ld, wchar delta %ld, syscr delta %ld, syscw delta %ld\n", got,
           r2 - r1 - n1, w2 - w1, sr2 - sr1, sw2 - sw1);
    printf("io: fields %s\n", strstr(first, "read_bytes: ") && strstr(first, "cancelled_write_bytes: ") ? "yes" : "no");
    close(p[0]);
    close(p[1]);
}

static void unprivileged(void) {
    pid_t root = fork();
    if (root == 0) {
        pause();
        _exit(0);
    }
    pid_t c = fork();
    if (c == 0) {
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(3);
        char path[64], buf[4096];
        const char *names[] = {"environ", "maps", "auxv", "io", "status", "cmdline", "oom_score_adj", "personality"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            snprintf(path, sizeof path, "/proc/%d/%s", (int)root, names[i]);
            int n = slurp(path, buf, sizeof buf);
            printf("uid 65534 reads root's %s: %s\n", names[i], n < 0 ? strerrorname_np(-n) : "yes");
        }
        snprintf(path, sizeof path, "/proc/%d/fd", (int)root);
        DIR *d = opendir(path);
        printf("uid 65534 lists root's fd: %s\n", d ? "yes" : strerrorname_np(errno));
        if (d) closedir(d);
        snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)root);
        show("uid 65534 writes root's oom_score_adj", put(path, "10"));
        struct stat st;
        snprintf(path, sizeof path, "/proc/%d/environ", (int)root);
        stat(path, &st);
        printf("root's environ owned by uid %d mode %o\n", (int)st.st_uid, st.st_mode & 0777);
        stat("/proc/self/status", &st);
        printf("after the uid change (not dumpable): status owned by uid %d\n", (int)st.st_uid);
        prctl(PR_SET_DUMPABLE, 1);
        stat("/proc/self/status", &st);
        printf("dumpable again: status owned by uid %d\n", (int)st.st_uid);
        oom();
        prctl(PR_SET_DUMPABLE, 0);
        stat("/proc/self/status", &st);
        printf("not dumpable: status owned by uid %d\n", (int)st.st_uid);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    kill(root, SIGKILL);
    waitpid(root, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    modes();
    comm();
    misc();
    io();
    unprivileged();
    return 0;
}
