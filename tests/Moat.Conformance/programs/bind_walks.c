/* Walks that meet a bind mount only after a symlink, and renames seen through a directory bound at two places,
 * as Linux's walk and dentries have them. A link met later in the walk (not the path as written: a relative and
 * an absolute link of the root file system, one in a subdirectory, one on /tmp) whose target leads into a bind
 * crosses into it, so the bind's own relative links climb from where the bind is seen (reads, stat, readlink,
 * mkdir and execve through them, the name an open file gets); a link into a tmpfs mounted here. A directory bound at two
 * places: a rename through one is seen through the other, and the names held through the other (an open
 * file, an open directory and openat from it, a working directory and getcwd) follow it; rename and link
 * between the two mounts, or a mount and the directory itself, are EXDEV, even for a missing old name (rename
 * looks up only the parents first). Natively it first makes a private mount namespace of its own, then works
 * in ./bw_scratch and /tmp, and prints paths relative to the scratch directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char scratch[4096];
static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); printf("%s: %s\n", what, e(_r)); } while (0)

static void put(const char *path, const char *text) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd >= 0) { if (write(fd, text, strlen(text)) < 0) perror("write"); close(fd); }
}
static const char *get_at(int dirfd, const char *path) {
    static char buf[64];
    int fd = openat(dirfd, path, O_RDONLY);
    if (fd < 0) { snprintf(buf, sizeof buf, "%s\n", strerrorname_np(errno)); return buf; }
    long n = read(fd, buf, sizeof buf - 2);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    if (n <= 0 || buf[n - 1] != '\n') strcat(buf, "\n");
    return buf;
}
static const char *get(const char *path) { return get_at(AT_FDCWD, path); }
static const char *shown(const char *name) {
    size_t n = strlen(scratch);
    if (strncmp(name, scratch, n) == 0 && (name[n] == '/' || name[n] == 0)) return name[n] ? name + n + 1 : ".";
    return name;
}
static const char *fd_name(int fd) {
    static char buf[4096];
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    long n = readlink(link, buf, sizeof buf - 1);
    if (n < 0) return strerrorname_np(errno);
    buf[n] = 0;
    return shown(buf);
}
static void rmtree(const char *path) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/mnt/b", path);
    umount2(cmd, MNT_DETACH);
    snprintf(cmd, sizeof cmd, "%s/mnt/c", path);
    umount2(cmd, MNT_DETACH);
    snprintf(cmd, sizeof cmd, "%s/mnt/t", path);
    umount2(cmd, MNT_DETACH);
    umount2("/tmp/bw_t", MNT_DETACH);
    snprintf(cmd, sizeof cmd, "rm -rf %s /tmp/bw_lk /tmp/bw_t", path);
    if (system(cmd) != 0) printf("cleanup failed\n");
}

/* Copies the running program to path. */
static void copy_self(const char *path) {
    int in = open("/proc/self/exe", O_RDONLY), out = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    long n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, n) != n) break;
    }
    close(in);
    close(out);
}

/* Runs path (a copy of this program) and shows how it went. */
static void run(const char *path) {
    pid_t pid = fork();
    if (pid == 0) {
        execl(path, "bind_walks", "child", (char *)NULL);
        printf("execve %s: %s\n", path, strerrorname_np(errno));
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("%s exited %d\n", path, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && strcmp(argv[1], "child") == 0) {
        printf("the copy ran\n");
        return 0;
    }
    SHOW("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
    SHOW("make / private", mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
    rmtree("bw_scratch");
    mkdir("bw_scratch", 0755);
    if (chdir("bw_scratch") != 0 || !getcwd(scratch, sizeof scratch)) return 1;
    mkdir("srv", 0755); mkdir("srv/sub", 0755); mkdir("mnt", 0755); mkdir("mnt/b", 0755); mkdir("mnt/c", 0755);
    put("x", "beside the bound directory\n");
    put("mnt/x", "beside the bind\n");
    put("srv/f", "inside\n");
    symlink("../x", "srv/l");
    symlink("..", "srv/up");
    SHOW("bind srv on mnt/b", mount("srv", "mnt/b", NULL, MS_BIND, NULL));

    /* A link met later in the walk whose target leads into the bind. */
    symlink("mnt/b", "lk");
    char abs[4200];
    snprintf(abs, sizeof abs, "%s/mnt/b", scratch);
    symlink(abs, "alk");
    mkdir("d", 0755);
    symlink("../mnt/b", "d/lk");
    symlink(abs, "/tmp/bw_lk");
    printf("lk/f: %s", get("lk/f"));
    printf("lk/l: %s", get("lk/l"));
    printf("alk/l: %s", get("alk/l"));
    printf("d/lk/l: %s", get("d/lk/l"));
    printf("d/lk/up/x: %s", get("d/lk/up/x"));
    printf("/tmp/bw_lk/l: %s", get("/tmp/bw_lk/l"));
    printf("/tmp/bw_lk/up/x: %s", get("/tmp/bw_lk/up/x"));
    {
        struct stat a, b;
        int ra = stat("lk/l", &a), rb = stat("mnt/x", &b);
        printf("stat lk/l is mnt/x: %d\n", ra == 0 && rb == 0 && a.st_ino == b.st_ino);
        ra = stat("/tmp/bw_lk/up", &a), rb = stat("mnt", &b);
        printf("stat /tmp/bw_lk/up is mnt: %d\n", ra == 0 && rb == 0 && a.st_ino == b.st_ino);
        char buf[64] = {0};
        long n = readlink("alk/l", buf, sizeof buf - 1);
        printf("readlink alk/l: %s\n", n < 0 ? strerrorname_np(errno) : buf);
    }
    SHOW("mkdir lk/up/made", mkdir("lk/up/made", 0755));
    copy_self("srv/prog");
    run("lk/up/b/prog");
    run("/tmp/bw_lk/up/b/prog");
    { struct stat a; printf("mnt/made: %d made: %d\n", stat("mnt/made", &a) == 0, stat("made", &a) == 0); }
    { int fd = open("lk/sub", O_RDONLY | O_DIRECTORY); printf("lk/sub names %s\n", fd_name(fd)); close(fd); }
    /* A link into a tmpfs mounted here. */
    mkdir("/tmp/bw_t", 0755);
    SHOW("mount tmpfs", mount("tmpfs", "/tmp/bw_t", "tmpfs", 0, NULL));
    mkdir("/tmp/bw_t/in", 0755);
    put("/tmp/bw_t/in/g", "in the tmpfs\n");
    symlink("/tmp/bw_t/in", "tl");
    printf("tl/g: %s", get("tl/g"));

    /* A directory bound at two places: renames through one are seen through the other. */
    SHOW("bind srv on mnt/c", mount("srv", "mnt/c", NULL, MS_BIND, NULL));
    put("srv/r1", "renamed file\n");
    int held = open("mnt/c/r1", O_RDONLY);
    mkdir("srv/dd", 0755);
    int dheld = open("mnt/c/dd", O_RDONLY | O_DIRECTORY);
    int bheld = open("mnt/b/dd", O_RDONLY | O_DIRECTORY);
    printf("held before: %s\n", fd_name(held));
    SHOW("rename mnt/b/r1 mnt/b/r2", rename("mnt/b/r1", "mnt/b/r2"));
    printf("mnt/c/r2: %s", get("mnt/c/r2"));
    printf("mnt/c/r1: %s", get("mnt/c/r1"));
    printf("srv/r2: %s", get("srv/r2"));
    printf("held after: %s\n", fd_name(held));
    SHOW("rename mnt/b/dd mnt/b/sub/dd2", rename("mnt/b/dd", "mnt/b/sub/dd2"));
    printf("dheld after: %s\n", fd_name(dheld));
    printf("bheld after: %s\n", fd_name(bheld));
    put("mnt/b/sub/dd2/n", "new\n");
    printf("openat(dheld, n): %s", get_at(dheld, "n"));
    SHOW("chdir mnt/c/sub/dd2", chdir("mnt/c/sub/dd2"));
    SHOW("rename ../../sub from the working directory", rename("../../sub", "../../sub3"));
    { char c[4096]; printf("getcwd: %s\n", getcwd(c, sizeof c) ? shown(c) : strerrorname_np(errno)); }
    printf("n from cwd: %s", get("n"));
    if (chdir(scratch) != 0) return 1;
    printf("dheld after 2: %s\n", fd_name(dheld));
    /* Across two mounts of the same file system. */
    SHOW("rename mnt/b/r2 mnt/c/r3", rename("mnt/b/r2", "mnt/c/r3"));
    SHOW("rename mnt/b/r2 srv/r3", rename("mnt/b/r2", "srv/r3"));
    SHOW("rename srv/r2 mnt/b/r3", rename("srv/r2", "mnt/b/r3"));
    SHOW("link mnt/b/r2 mnt/c/r4", link("mnt/b/r2", "mnt/c/r4"));
    SHOW("rename mnt/b/nonexist mnt/c/r3", rename("mnt/b/nonexist", "mnt/c/r3"));
    SHOW("rename mnt/b/r2 /tmp/bw_t/r2", rename("mnt/b/r2", "/tmp/bw_t/r2"));
    SHOW("link mnt/b/nonexist mnt/c/r4", link("mnt/b/nonexist", "mnt/c/r4"));

    /* The same for a tmpfs directory bound here. */
    mkdir("mnt/t", 0755);
    SHOW("bind /tmp/bw_t/in on mnt/t", mount("/tmp/bw_t/in", "mnt/t", NULL, MS_BIND, NULL));
    int theld = open("/tmp/bw_t/in/g", O_RDONLY);
    SHOW("rename mnt/t/g mnt/t/g2", rename("mnt/t/g", "mnt/t/g2"));
    printf("/tmp/bw_t/in/g2: %s", get("/tmp/bw_t/in/g2"));
    printf("tmpfs file held after: %s\n", fd_name(theld));
    SHOW("rename mnt/t/g2 /tmp/bw_t/in/g3", rename("mnt/t/g2", "/tmp/bw_t/in/g3"));
    SHOW("link mnt/t/g2 /tmp/bw_t/g4", link("mnt/t/g2", "/tmp/bw_t/g4"));
    close(theld);
    SHOW("rename mnt/b/r2 mnt/b/sub3/r2", rename("mnt/b/r2", "mnt/b/sub3/r2"));
    printf("held after a move to a subdirectory: %s\n", fd_name(held));
    SHOW("unlink mnt/b/sub3/r2", unlink("mnt/b/sub3/r2"));
    printf("held after unlink through the other bind: %s\n", fd_name(held));
    close(held); close(dheld); close(bheld);
    if (chdir("..") != 0) return 1;
    rmtree("bw_scratch");
    return 0;
}
