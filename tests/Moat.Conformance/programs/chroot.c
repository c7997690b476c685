/* chroot(2) and pivot_root(2) as Linux answers them. chroot: absolute paths, absolute symlinks and ".." stop
 * at the new root; a working directory left outside it is "(unreachable)" and lets ".." climb out (Linux's
 * classic rule); creating through a dangling absolute link, mkdir, bind of a unix socket, exec of a program and
 * of a #! script inside; /proc mounted inside shows only the mounts below the root, and its links are relative to
 * it; a nested chroot; ENOENT/ENOTDIR/EACCES/EPERM in Linux's order for a non-root user. pivot_root (each in a
 * child with a private mount namespace): to a tmpfs with put_old below it, the working directory that moved,
 * the old root detached, descriptors opened before it naming their directories' new places; the
 * pivot_root(".", ".") idiom; EBUSY, EINVAL, ENOENT, ENOTDIR and EPERM cases. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); printf("%s: %s\n", what, e(_r)); } while (0)

static int pivot_root(const char *new_root, const char *put_old) { return (int)syscall(SYS_pivot_root, new_root, put_old); }

static void put(const char *path, const char *text, int mode) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0) perror("write");
        close(fd);
    }
}

static const char *get(const char *path) {
    static char buf[64];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return strerrorname_np(errno);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

static const char *link_of(const char *path) {
    static char buf[256];
    long n = readlink(path, buf, sizeof buf - 1);
    if (n < 0) return strerrorname_np(errno);
    buf[n] = 0;
    return buf;
}

static void copy_self(const char *to) {
    int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    long n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) break;
    if (in >= 0) close(in);
    if (out >= 0) close(out);
}

static int wait_child(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void run_prog(const char *path, const char *mode) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)path, (char *)mode, NULL};
        execv(path, argv);
        printf("exec %s: %s\n", path, strerrorname_np(errno));
        _exit(99);
    }
    printf("exec %s: status %d\n", path, wait_child(pid));
}

static void cwd_line(const char *what) {
    char buf[512];
    if (!getcwd(buf, sizeof buf)) { printf("%s getcwd: %s\n", what, strerrorname_np(errno)); return; }
    if (strncmp(buf, "(unreachable)", 13) == 0) printf("%s getcwd: (unreachable)...\n", what);
    else if (strncmp(buf, "/old/", 5) == 0) printf("%s getcwd: /old/...\n", what);
    else printf("%s getcwd: %s\n", what, buf);
}

static void in_chroot(void) {
    SHOW("chroot r", chroot("r"));
    cwd_line("before chdir");
    SHOW("chdir /", chdir("/"));
    cwd_line("after chdir");
    printf("/etc/f: %s\n", get("/etc/f"));
    printf("readlink /abs: %s\n", link_of("/abs"));
    printf("/abs: %s\n", get("/abs"));
    printf("/dir/up/etc/f: %s\n", get("/dir/up/etc/f"));
    printf("/../../../etc/f: %s\n", get("/../../../etc/f"));
    printf("etc/../../etc/f: %s\n", get("etc/../../etc/f"));
    struct stat st;
    SHOW("stat /loop", stat("/loop", &st));
    SHOW("lstat /loop", lstat("/loop", &st));
    SHOW("stat /abs/", stat("/abs/", &st));
    SHOW("stat /dirlink/", stat("/dirlink/", &st));
    printf("/dirlink/g: %s\n", get("/dirlink/g"));
    SHOW("mkdir /newdir", mkdir("/newdir", 0755));
    SHOW("symlink /dangle", symlink("/created", "/dangle"));
    int fd = open("/dangle", O_CREAT | O_WRONLY, 0644);
    printf("create through /dangle: %s\n", fd < 0 ? strerrorname_np(errno) : "ok");
    if (fd >= 0) close(fd);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, "/sock");
    SHOW("bind /sock", bind(s, (struct sockaddr *)&a, sizeof a));
    SHOW("listen", listen(s, 1));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    strcpy(a.sun_path, "/socklink");
    SHOW("connect via /socklink", connect(c, (struct sockaddr *)&a, sizeof a));
    close(c);
    close(s);
    run_prog("/bin/prog", "inside");
    run_prog("/bin/script", "x");
    run_prog("/abs", "x");

    /* /proc inside the new root. */
    SHOW("mount proc", mount("proc", "/proc", "proc", 0, NULL));
    printf("readlink /proc/self/root: %s\n", link_of("/proc/self/root"));
    printf("readlink /proc/self/cwd: %s\n", link_of("/proc/self/cwd"));
    fd = open("/etc/f", O_RDONLY);
    char fdlink[64];
    snprintf(fdlink, sizeof fdlink, "/proc/self/fd/%d", fd);
    printf("readlink fd of /etc/f: %s\n", link_of(fdlink));
    close(fd);
    FILE *m = fopen("/proc/self/mounts", "r");
    char line[512];
    int lines = 0, procs = 0;
    while (m && fgets(line, sizeof line, m)) { lines++; procs += strstr(line, " /proc proc ") != NULL; }
    if (m) fclose(m);
    printf("mounts seen: %d, /proc among them: %d\n", lines, procs);
    SHOW("umount /proc", umount("/proc"));

    /* Nested: the working directory (the old root) stays outside the new root, and ".." climbs from it. */
    SHOW("chroot dir", chroot("dir"));
    cwd_line("nested");
    printf("/g: %s\n", get("/g"));
    printf("/../g: %s\n", get("/../g"));
    printf("cwd-relative etc/f: %s\n", get("etc/f"));
    SHOW("chdir ..", chdir(".."));
    printf("climbed: r/etc/f: %s\n", get("r/etc/f"));
}

static void non_root(void) {
    if (setresuid(1000, 1000, 1000) != 0) _exit(9);
    SHOW("user: chroot missing", chroot("missing"));
    SHOW("user: chroot file", chroot("r/etc/f"));
    SHOW("user: chroot 0700 dir", chroot("closed"));
    SHOW("user: chroot r", chroot("r"));
    SHOW("user: pivot_root", pivot_root("r", "r/old"));
}

static int private_ns(void) {
    if (unshare(CLONE_NEWNS) != 0) { printf("unshare: %s\n", strerrorname_np(errno)); return -1; }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) { printf("private: %s\n", strerrorname_np(errno)); return -1; }
    return 0;
}

static void pivot(void) {
    if (private_ns() != 0) return;
    mkdir("p", 0755);
    SHOW("pivot: mount tmpfs p", mount("tmpfs", "p", "tmpfs", 0, "mode=755"));
    mkdir("p/old", 0755);
    mkdir("p/etc", 0755);
    mkdir("p/sub", 0755);
    put("p/etc/f", "pivoted", 0644);
    SHOW("pivot: symlink p/abs", symlink("/etc/f", "p/abs"));
    mkdir("plain", 0755);
    mkdir("plain/old", 0755);
    SHOW("pivot_root / /", pivot_root("/", "/"));
    SHOW("pivot_root plain dir", pivot_root("plain", "plain/old"));
    SHOW("pivot_root put_old outside", pivot_root("p", "plain"));
    SHOW("pivot_root not a mount point", pivot_root("p/sub", "p/sub"));
    SHOW("pivot_root missing", pivot_root("missing", "missing"));
    SHOW("pivot_root file", pivot_root("r/etc/f", "r/etc/f"));
    int held_etc = open("p/etc", O_RDONLY | O_DIRECTORY), held_cwd = open(".", O_RDONLY | O_DIRECTORY);
    SHOW("pivot_root p p/old", pivot_root("p", "p/old"));
    cwd_line("pivot");
    printf("pivot: /etc/f: %s\n", get("/etc/f"));
    printf("pivot: /abs: %s\n", get("/abs"));
    /* Descriptors opened before the pivot name their directories' places after it. */
    char link[64], name[512];
    snprintf(link, sizeof link, "/old/proc/self/fd/%d", held_etc);
    ssize_t n = readlink(link, name, sizeof name - 1);
    printf("pivot: fd of p/etc: %s\n", n < 0 ? strerrorname_np(errno) : (name[n] = 0, name));
    snprintf(link, sizeof link, "/old/proc/self/fd/%d", held_cwd);
    n = readlink(link, name, sizeof name - 1);
    printf("pivot: fd of the old cwd: %s\n", n < 0 ? strerrorname_np(errno) : (name[n] = 0, strncmp(name, "/old/", 5) == 0 ? "/old/..." : name));
    int f = openat(held_etc, "f", O_RDONLY);
    printf("pivot: openat(fd of p/etc, f): %s\n", f < 0 ? strerrorname_np(errno) : "ok");
    if (f >= 0) close(f);
    close(held_etc);
    close(held_cwd);
    struct stat st;
    SHOW("pivot: stat /old/etc", stat("/old/etc", &st));
    SHOW("pivot: umount /old (detach)", umount2("/old", MNT_DETACH));
    SHOW("pivot: stat /old/etc after", stat("/old/etc", &st));
    cwd_line("pivot after umount");
}

static void pivot_dot(void) {
    if (private_ns() != 0) return;
    mkdir("q", 0755);
    SHOW("dot: mount tmpfs q", mount("tmpfs", "q", "tmpfs", 0, "mode=755"));
    put("q/here", "dot", 0644);
    SHOW("dot: chdir q", chdir("q"));
    SHOW("dot: pivot_root . .", pivot_root(".", "."));
    cwd_line("dot");
    SHOW("dot: umount2 . detach", umount2(".", MNT_DETACH));
    printf("dot: /here: %s\n", get("/here"));
    struct stat st;
    SHOW("dot: stat /bin", stat("/bin", &st));
    SHOW("dot: chdir /", chdir("/"));
    cwd_line("dot after");
}

static void child(void (*fn)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int status = wait_child(pid);
    if (status != 0) printf("child status %d\n", status);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "inside") == 0) {
        cwd_line("inside");
        printf("inside: /etc/f: %s\n", get("/etc/f"));
        printf("inside: readlink /proc/self/exe: %s\n", link_of("/proc/self/exe"));
        return 7;
    }
    if (argc > 2 && strcmp(argv[1], "script") == 0) {
        printf("script: argv[2] %s\n", argv[2]);
        return 8;
    }
    if (system("rm -rf chroot_scratch") != 0) printf("cleanup failed\n");
    mkdir("chroot_scratch", 0755);
    if (chdir("chroot_scratch") != 0) return 1;
    mkdir("r", 0755);
    mkdir("r/etc", 0755);
    mkdir("r/bin", 0755);
    mkdir("r/proc", 0755);
    mkdir("r/old", 0755);
    mkdir("r/dir", 0755);
    mkdir("r/dir/sub", 0755);
    put("r/etc/f", "inside", 0644);
    put("r/dir/g", "nested", 0644);
    symlink("/etc/f", "r/abs");
    symlink("../../..", "r/dir/sub/up");
    symlink("../..", "r/dir/up");
    symlink("loop", "r/loop");
    symlink("/dir", "r/dirlink");
    symlink("/sock", "r/socklink");
    copy_self("r/bin/prog");
    put("r/bin/script", "#!/bin/prog script\n", 0755);
    mkdir("closed", 0700);

    child(in_chroot);
    struct stat st;
    printf("outside: r/newdir %s, r/created %s, r/sock %s\n", stat("r/newdir", &st) == 0 ? "exists" : "missing",
           stat("r/created", &st) == 0 ? "exists" : "missing", stat("r/sock", &st) == 0 ? "exists" : "missing");
    child(non_root);
    child(pivot);
    child(pivot_dot);
    printf("parent still sees r/etc/f: %s\n", get("r/etc/f"));
    if (chdir("..") != 0) return 1;
    if (system("rm -rf chroot_scratch") != 0) printf("cleanup failed\n");
    return 0;
}
