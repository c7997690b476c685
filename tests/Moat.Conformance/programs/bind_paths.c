/* Paths through a bind mount of a directory of the root file system, as Linux resolves them in the mount
 * tree: a relative symlink inside the bind that climbs above the bind's root climbs from where the bind is
 * seen (reads, stat, creation through a dangling link, mkdir under a directory link, openat from a
 * descriptor of the bind), ".." from a working directory at the bind's root leaves the bind; and the names
 * the kernel shows for what was reached through the bind (/proc/self/fd, /proc/self/cwd, /proc/self/maps)
 * are the paths through the bind, not the bound directory's own. Natively it first makes a private mount
 * namespace of its own, then works in ./bind_scratch, and prints paths relative to it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[4096];

static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); printf("%s: %s\n", what, e(_r)); } while (0)

static void put(const char *path, const char *text) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0) perror("write");
        close(fd);
    }
}

static const char *get_at(int dirfd, const char *path) {
    static char buf[64];
    int fd = openat(dirfd, path, O_RDONLY);
    if (fd < 0) {
        snprintf(buf, sizeof buf, "%s\n", strerrorname_np(errno));
        return buf;
    }
    long n = read(fd, buf, sizeof buf - 2);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    if (n <= 0 || buf[n - 1] != '\n') strcat(buf, "\n");
    return buf;
}

static const char *get(const char *path) { return get_at(AT_FDCWD, path); }

/* A name the kernel shows, relative to the scratch directory ("(outside)" when it is not below it). */
static const char *shown(const char *name) {
    size_t n = strlen(scratch);
    if (strncmp(name, scratch, n) == 0 && (name[n] == '/' || name[n] == 0)) return name[n] ? name + n + 1 : ".";
    return "(outside)";
}

static const char *link_of(const char *link) {
    static char buf[4096];
    long n = readlink(link, buf, sizeof buf - 1);
    if (n < 0) return strerrorname_np(errno);
    buf[n] = 0;
    return shown(buf);
}

static void fd_name(const char *what, const char *path, int flags) {
    int fd = open(path, flags);
    if (fd < 0) {
        printf("%s: open %s\n", what, strerrorname_np(errno));
        return;
    }
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    printf("%s: /proc/self/fd names %s\n", what, link_of(link));
    close(fd);
}

/* The name /proc/self/maps gives the mapping that starts at addr. */
static void maps_name(const char *what, void *addr) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4608];
    unsigned long want = (unsigned long)addr;
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo;
        if (sscanf(line, "%lx-", &lo) != 1 || lo != want) continue;
        char *slash = strchr(line, '/');
        if (slash) slash[strcspn(slash, "\n")] = 0;
        printf("%s: maps names %s\n", what, slash ? shown(slash) : "(nothing)");
        found = 1;
    }
    if (!found) printf("%s: no maps line\n", what);
    if (f) fclose(f);
}

static void rmtree(const char *path) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", path);
    if (system(cmd) != 0) printf("cleanup failed\n");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    SHOW("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
    SHOW("make / private", mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
    rmtree("bind_scratch");
    mkdir("bind_scratch", 0755);
    if (chdir("bind_scratch") != 0 || !getcwd(scratch, sizeof scratch)) return 1;

    /* srv is bound at mnt/b; x beside srv and mnt/x beside the bind hold different text. */
    mkdir("srv", 0755);
    mkdir("srv/sub", 0755);
    mkdir("mnt", 0755);
    mkdir("mnt/b", 0755);
    put("x", "beside the bound directory\n");
    put("mnt/x", "beside the bind\n");
    put("srv/f", "inside\n");
    symlink("../x", "srv/l");
    symlink("../../x", "srv/sub/l2");
    symlink("..", "srv/up");
    symlink("sub/../../x", "srv/via_sub");
    symlink("../made", "srv/dangling");
    char abs[4200];
    snprintf(abs, sizeof abs, "%s/mnt/b/f", scratch);
    symlink(abs, "srv/abs");
    SHOW("bind srv on mnt/b", mount("srv", "mnt/b", NULL, MS_BIND, NULL));

    printf("l read through the bind: %s", get("mnt/b/l"));
    printf("l read in srv: %s", get("srv/l"));
    printf("sub/l2 read through the bind: %s", get("mnt/b/sub/l2"));
    printf("up/x read through the bind: %s", get("mnt/b/up/x"));
    printf("up/b/f read through the bind: %s", get("mnt/b/up/b/f"));
    printf("via_sub read through the bind: %s", get("mnt/b/via_sub"));
    printf("abs read through the bind: %s", get("mnt/b/abs"));
    struct stat a, b;
    errno = 0;
    int ra = stat("mnt/b/l", &a), rb = stat("mnt/x", &b);
    printf("stat l through the bind is mnt/x: %d\n", ra == 0 && rb == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    errno = 0;
    ra = stat("mnt/b/up", &a), rb = stat("mnt", &b);
    printf("stat up through the bind is mnt: %d\n", ra == 0 && rb == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    {
        char buf[64] = {0};
        long n = readlink("mnt/b/l", buf, sizeof buf - 1);
        printf("readlink l through the bind: %s\n", n < 0 ? strerrorname_np(errno) : buf);
    }
    put("mnt/b/dangling", "made through a dangling link\n");
    printf("made beside the bind: %s", get("mnt/made"));
    printf("made beside srv: %s", get("made"));
    SHOW("mkdir up/d through the bind", mkdir("mnt/b/up/d", 0755));
    printf("mnt/d is a directory: %d, d is: %d\n", stat("mnt/d", &a) == 0 && S_ISDIR(a.st_mode), stat("d", &b) == 0);
    {
        int dfd = open("mnt/b", O_RDONLY | O_DIRECTORY);
        printf("openat(bind, l): %s", get_at(dfd, "l"));
        printf("openat(bind, ../x): %s", get_at(dfd, "../x"));
        close(dfd);
    }

    /* ".." from a working directory at the bind's root and below it. */
    SHOW("chdir mnt/b", chdir("mnt/b"));
    printf("x from mnt/b: %s", get("x"));
    printf("../x from mnt/b: %s", get("../x"));
    SHOW("chdir ..", chdir(".."));
    printf("cwd after ..: %s\n", link_of("/proc/self/cwd"));
    SHOW("chdir b/sub", chdir("b/sub"));
    printf("cwd in the bind: %s\n", link_of("/proc/self/cwd"));
    {
        char cwd[4096];
        printf("getcwd in the bind: %s\n", getcwd(cwd, sizeof cwd) ? shown(cwd) : strerrorname_np(errno));
    }
    printf("../../x from mnt/b/sub: %s", get("../../x"));
    SHOW("chdir ../..", chdir("../.."));
    printf("cwd after ../..: %s\n", link_of("/proc/self/cwd"));
    if (chdir(scratch) != 0) return 1;

    /* Names of what was opened and mapped through the bind. */
    fd_name("f through the bind", "mnt/b/f", O_RDONLY);
    fd_name("f in srv", "srv/f", O_RDONLY);
    fd_name("sub through the bind", "mnt/b/sub", O_RDONLY | O_DIRECTORY);
    fd_name("O_PATH l through the bind", "mnt/b/l", O_PATH | O_NOFOLLOW);
    fd_name("l followed through the bind", "mnt/b/l", O_RDONLY);
    fd_name("written through the bind", "mnt/b/f", O_RDWR);
    {
        int fd = open("mnt/b/f", O_RDONLY);
        void *p = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) printf("mmap through the bind: %s\n", strerrorname_np(errno));
        else maps_name("mmap through the bind", p);
        if (fd >= 0) close(fd);
        if (p != MAP_FAILED) munmap(p, 4096);
    }

    SHOW("umount mnt/b", umount2("mnt/b", 0));
    if (chdir("..") != 0) return 1;
    rmtree("bind_scratch");
    return 0;
}
