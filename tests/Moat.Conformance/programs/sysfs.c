// sysfs: what programs read from /sys, compared where the host's and the sandbox's agree: the CPU files'
// format and count (the same as sched_getaffinity), node0, stat of files, directories and links, statfs,
// the loopback interface, transparent huge pages, mountinfo, and a sysfs mounted in a private namespace.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYSFS_MAGIC 0x62656572

static const char *yesno(int b) { return b ? "yes" : "no"; }

// Prints a call's result and errno (taken right after the call, before printf's arguments are evaluated).
#define SHOW(label, call) do { errno = 0; long r_ = (long)(call); int e_ = errno; printf("%s: %ld %s\n", label, r_, r_ < 0 ? strerrorname_np(e_) : "-"); } while (0)

// Reads a whole file; returns its length or -errno.
static int slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buf + used, size - 1 - used);
        if (n < 0) { int e = errno; close(fd); return -e; }
        if (n == 0) break;
        used += n;
    }
    close(fd);
    buf[used] = 0;
    return (int)used;
}

// Counts the CPUs of a list such as "0-3,5\n"; -1 if it is not in Linux's list format.
static int list_count(const char *s) {
    int count = 0;
    const char *p = s;
    if (*p == '\n') return 0;
    for (;;) {
        char *end;
        long a = strtol(p, &end, 10);
        if (end == p) return -1;
        long b = a;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1 || b < a) return -1;
            p = end;
        }
        count += (int)(b - a + 1);
        if (*p == ',') { p++; continue; }
        return (*p == '\n' && p[1] == 0) ? count : -1;
    }
}

static int has_entry(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) != NULL) found |= strcmp(e->d_name, name) == 0;
    closedir(d);
    return found;
}

static void cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    int aff = CPU_COUNT(&set);
    char buf[4096];
    const char *files[] = {"online", "possible", "present"};
    int online = -1;
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/%s", files[i]);
        int n = slurp(path, buf, sizeof buf);
        int c = n > 0 ? list_count(buf) : -1;
        if (i == 0) online = c;
        printf("cpu/%s: list format %s, at least the affinity's count %s\n", files[i], yesno(c > 0), yesno(c >= aff));
    }
    printf("cpu/online count == sched_getaffinity count: %s\n", yesno(online == aff));
    int all = 1;
    for (int i = 0; i < aff; i++) {
        char name[32];
        snprintf(name, sizeof name, "cpu%d", i);
        all &= has_entry("/sys/devices/system/cpu", name);
    }
    printf("cpu0..cpu%d listed: %s, online listed: %s\n", aff - 1, yesno(all), yesno(has_entry("/sys/devices/system/cpu", "online")));
    struct stat st;
    printf("cpu0/topology/core_cpus_list: %s\n", yesno(stat("/sys/devices/system/cpu/cpu0/topology/core_cpus_list", &st) == 0 && S_ISREG(st.st_mode)));
    printf("kernel_max is a number: %s\n", yesno(slurp("/sys/devices/system/cpu/kernel_max", buf, sizeof buf) > 0 && atoi(buf) >= aff - 1));

    char online_text[4096];
    slurp("/sys/devices/system/cpu/online", online_text, sizeof online_text);
    printf("node0/cpulist == cpu/online: %s\n", yesno(slurp("/sys/devices/system/node/node0/cpulist", buf, sizeof buf) > 0 && strcmp(buf, online_text) == 0));
    printf("node/online: %s", slurp("/sys/devices/system/node/online", buf, sizeof buf) > 0 ? buf : "missing\n");
    printf("node0/meminfo starts with MemTotal: %s\n", yesno(slurp("/sys/devices/system/node/node0/meminfo", buf, sizeof buf) > 0 && strncmp(buf, "Node 0 MemTotal:", 16) == 0));
}

static void attributes(void) {
    struct stat st;
    int r = stat("/sys/devices/system/cpu/online", &st);
    printf("stat online: %d regular %s mode %o uid %d size %lld\n", r, yesno(S_ISREG(st.st_mode)), st.st_mode & 07777, (int)st.st_uid, (long long)st.st_size);
    r = stat("/sys", &st);
    printf("stat /sys: %d dir %s mode %o uid %d\n", r, yesno(S_ISDIR(st.st_mode)), st.st_mode & 07777, (int)st.st_uid);
    r = stat("/sys/devices/system/cpu", &st);
    printf("stat cpu dir: %d dir %s mode %o\n", r, yesno(S_ISDIR(st.st_mode)), st.st_mode & 07777);
    r = lstat("/sys/class/net/lo", &st);
    char target[256] = {0};
    ssize_t n = readlink("/sys/class/net/lo", target, sizeof target - 1);
    printf("lstat class/net/lo: %d link %s mode %o size %lld readlink %s\n", r, yesno(S_ISLNK(st.st_mode)), st.st_mode & 07777, (long long)st.st_size, n > 0 ? target : "-");
    r = stat("/sys/class/net/lo", &st);
    printf("stat class/net/lo follows: %s\n", yesno(r == 0 && S_ISDIR(st.st_mode)));
    char *real = realpath("/sys/class/net/lo/mtu", NULL);
    printf("realpath lo/mtu: %s\n", real ? real : strerror(errno));
    free(real);

    struct statfs sf;
    printf("statfs /sys sysfs: %s\n", yesno(statfs("/sys", &sf) == 0 && sf.f_type == SYSFS_MAGIC));
    int fd = open("/sys/devices/system/cpu/online", O_RDONLY);
    printf("fstatfs online sysfs: %s\n", yesno(fstatfs(fd, &sf) == 0 && sf.f_type == SYSFS_MAGIC));
    // Read in two pieces: the second read continues where the first stopped.
    char a[2] = {0}, b[64] = {0}, whole[64] = {0};
    ssize_t n1 = read(fd, a, 1);
    ssize_t n2 = read(fd, b, sizeof b - 1);
    ssize_t n3 = pread(fd, whole, sizeof whole - 1, 0);
    printf("read in pieces: %s\n", yesno(n1 == 1 && n2 >= 1 && n3 == n1 + n2 && whole[0] == a[0] && strcmp(whole + 1, b) == 0));
    close(fd);

    printf("open O_WRONLY of online fails: %s\n", yesno(open("/sys/devices/system/cpu/online", O_WRONLY) < 0 && (errno == EACCES || errno == EROFS)));
    SHOW("open missing", open("/sys/devices/system/cpu/nonexistent", O_RDONLY));
    SHOW("open file O_DIRECTORY", open("/sys/devices/system/cpu/online", O_RDONLY | O_DIRECTORY));
    SHOW("open under a file", open("/sys/devices/system/cpu/online/x", O_RDONLY));
    SHOW("readlink of a file", readlink("/sys/devices/system/cpu/online", target, sizeof target));
}

static void net_and_mm(void) {
    char buf[256];
    printf("class/net lists lo: %s\n", yesno(has_entry("/sys/class/net", "lo")));
    const char *lo[] = {"mtu", "type", "ifindex", "address", "flags", "addr_len"};
    for (int i = 0; i < 6; i++) {
        char path[128];
        snprintf(path, sizeof path, "/sys/class/net/lo/%s", lo[i]);
        printf("lo/%s: %s", lo[i], slurp(path, buf, sizeof buf) > 0 ? buf : "missing\n");
    }

    printf("thp hpage_pmd_size: %s", slurp("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", buf, sizeof buf) > 0 ? buf : "missing\n");
    int n = slurp("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf);
    printf("thp enabled has one choice in brackets: %s\n", yesno(n > 0 && strchr(buf, '[') && strchr(buf, ']') && strstr(buf, "never")));
    printf("fs/cgroup is a directory: %s\n", yesno(opendir("/sys/fs/cgroup") != NULL));
    printf("block, bus, class, devices listed: %s\n", yesno(has_entry("/sys", "block") && has_entry("/sys", "bus") && has_entry("/sys", "class") && has_entry("/sys", "devices")));

    char info[16384];
    slurp("/proc/self/mountinfo", info, sizeof info);
    int found = 0;
    for (char *line = strtok(info, "\n"); line; line = strtok(NULL, "\n")) {
        found |= strstr(line, " /sys ") != NULL && strstr(line, " - sysfs ") != NULL;
    }
    printf("mountinfo has sysfs at /sys: %s\n", yesno(found));
}

// mount -t sysfs in a private mount namespace of a child (natively too).
static void mount_sysfs(void) {
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
            printf("unshare: %s\n", strerrorname_np(errno));
            _exit(1);
        }
        char dir[] = "/tmp/sysfs_mnt_XXXXXX";
        if (!mkdtemp(dir)) _exit(2);
        SHOW("mount sysfs with an unknown option", mount("sysfs", dir, "sysfs", 0, "nosuchoption"));
        char file[64];
        snprintf(file, sizeof file, "%s.file", dir);
        close(open(file, O_CREAT | O_WRONLY, 0644));
        SHOW("mount sysfs on a file", mount("sysfs", file, "sysfs", 0, NULL));
        unlink(file);
        int r = mount("sysfs", dir, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        printf("mount sysfs read-only: %d\n", r);
        char path[256], buf[4096];
        snprintf(path, sizeof path, "%s/devices/system/cpu/online", dir);
        char mine[256];
        slurp("/sys/devices/system/cpu/online", mine, sizeof mine);
        printf("its cpu/online is /sys's: %s\n", yesno(slurp(path, buf, sizeof buf) > 0 && strcmp(buf, mine) == 0));
        SHOW("open O_WRONLY there", open(path, O_WRONLY));
        snprintf(path, sizeof path, "%s/newdir", dir);
        SHOW("mkdir there", mkdir(path, 0755));
        struct statfs sf;
        int sr = statfs(dir, &sf);
        printf("statfs: sysfs %s read-only %s\n", yesno(sr == 0 && sf.f_type == SYSFS_MAGIC), yesno((sf.f_flags & ST_RDONLY) != 0));
        char info[16384];
        slurp("/proc/self/mountinfo", info, sizeof info);
        int found = 0;
        for (char *line = strtok(info, "\n"); line; line = strtok(NULL, "\n")) {
            char *at = strstr(line, dir);
            if (at && at[strlen(dir)] == ' ') {
                found = 1;
                printf("mountinfo: %s\n", strstr(at, " ro,nosuid,nodev,noexec,relatime - sysfs sysfs rw") ? "ro,nosuid,nodev,noexec,relatime - sysfs sysfs rw" : line);
            }
        }
        printf("listed in mountinfo: %s\n", yesno(found));
        printf("umount: %d\n", umount(dir));
        rmdir(dir);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    cpus();
    attributes();
    net_and_mm();
    mount_sysfs();
    return 0;
}
