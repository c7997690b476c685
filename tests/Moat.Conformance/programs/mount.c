/* mount(2), umount2(2) and unshare(CLONE_NEWNS) as Linux answers them: tmpfs with size= and mode=, bind
 * mounts (recursive or not, of directories and of files), read-only remounts of a bind and of a tmpfs,
 * MS_MOVE, noexec and nodev, propagation changes, EBUSY/EINVAL/ENOENT/ENODEV/ENOTDIR cases, mountinfo,
 * a child's private namespace, and EPERM for a non-root user. Natively it first makes a private mount
 * namespace of its own (so the host's mounts are untouched), then works in ./mnt_scratch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); printf("%s: %s\n", what, e(_r)); } while (0)
/* Opens and closes at once: an open file would keep its mount busy (EBUSY for umount and remount,ro). */
#define OPEN(what, ...) do { errno = 0; int _fd = open(__VA_ARGS__); printf("%s: %s\n", what, e(_fd)); if (_fd >= 0) close(_fd); } while (0)

static void put(const char *path, const char *text) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
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

/* The mount options and fields of the mountinfo line whose mount point ends in /name. */
static void mountinfo(const char *name, int tmpfs) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024], want[256];
    snprintf(want, sizeof want, "/mnt_scratch/%s ", name);
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, want);
        if (!p) continue;
        found++;
        char root[256], mp[256], opts[256], type[64], source[256], super[256];
        int id, parent;
        unsigned ma, mi;
        char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%d %d %u:%u %255s %255s %255s", &id, &parent, &ma, &mi, root, mp, opts) != 7 ||
            sscanf(dash, " - %63s %255s %255s", type, source, super) != 3) continue;
        if (!tmpfs) strcpy(root, "(host)"), strcpy(type, "(host)");
        printf("mountinfo %s: root %s opts %s type %s ro %d size64k %d mode700 %d parent-is-other %d\n", name, root, opts, type,
               strncmp(super, "ro", 2) == 0, strstr(super, "size=64k") != NULL, strstr(super, "mode=700") != NULL, parent != id);
    }
    printf("mountinfo %s lines: %d\n", name, found);
    if (f) fclose(f);
}

/* How many mountinfo lines have a mount point ending in the given text (" /c " etc.). */
static int mountinfo_count(const char *tail) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024], want[64];
    int n = 0;
    snprintf(want, sizeof want, "/mnt_scratch%s", tail);
    while (f && fgets(line, sizeof line, f)) n += strstr(line, want) != NULL;
    if (f) fclose(f);
    return n;
}

static void rmtree(const char *path) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", path);
    if (system(cmd) != 0) printf("cleanup failed\n");
}

static int exec_status(const char *path) {
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)path, NULL};
        execv(path, argv);
        _exit(errno == EACCES ? 13 : 99);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The mount namespace's link: "mnt:[N]", N its inode as stat through the link shows it. */
static unsigned long ns_inode(const char *link) {
    char buf[64] = {0};
    struct stat st;
    if (readlink(link, buf, sizeof buf - 1) < 0 || strncmp(buf, "mnt:[", 5) != 0 || stat(link, &st) != 0) return 0;
    unsigned long n = strtoul(buf + 5, NULL, 10);
    return n == (unsigned long)st.st_ino ? n : 1;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    unsigned long before = ns_inode("/proc/self/ns/mnt");
    SHOW("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
    unsigned long after = ns_inode("/proc/self/ns/mnt");
    printf("ns/mnt readable and stat-able: %d, changed by unshare: %d\n", before > 1 && after > 1, before != after);
    SHOW("make / private", mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
    rmtree("mnt_scratch");
    mkdir("mnt_scratch", 0755);
    if (chdir("mnt_scratch") != 0) return 1;

    /* tmpfs with options. */
    mkdir("t", 0755);
    SHOW("mount tmpfs size=64k,mode=700", mount("tmpfs", "t", "tmpfs", 0, "size=64k,mode=700"));
    struct stat st;
    stat("t", &st);
    printf("tmpfs root mode %o uid %d\n", st.st_mode & 07777, st.st_uid);
    struct statfs sf;
    statfs("t", &sf);
    printf("statfs tmpfs magic %d bytes %ld\n", sf.f_type == 0x01021994, (long)(sf.f_blocks * sf.f_bsize));
    {
        int fd = open("t/big", O_CREAT | O_WRONLY, 0644);
        static char chunk[8192];
        long total = 0, r;
        while ((r = write(fd, chunk, sizeof chunk)) > 0) total += r;
        printf("filled: %ld bytes, then %s\n", total, strerrorname_np(errno));
        close(fd);
        SHOW("unlink big", unlink("t/big"));
        fd = open("t/again", O_CREAT | O_WRONLY, 0644);
        printf("write after freeing: %ld\n", (long)write(fd, chunk, sizeof chunk));
        close(fd);
    }
    mountinfo("t", 1);
    {
        /* A relative link inside a bind that climbs above the bind's root climbs from where it is seen. */
        mkdir("t/a", 0755);
        mkdir("t/a/sub", 0755);
        mkdir("t/m", 0755);
        mkdir("t/m/b", 0755);
        put("t/top", "the file system's top\n");
        put("t/m/top", "beside the bind\n");
        symlink("../top", "t/a/l");
        symlink("../../top", "t/a/sub/l2");
        SHOW("bind t/a on t/m/b", mount("t/a", "t/m/b", NULL, MS_BIND, NULL));
        printf("link climbing out of the bind reads: %s", get("t/m/b/l"));
        printf("two levels down reads: %s", get("t/m/b/sub/l2"));
        printf("the same link outside the bind reads: %s", get("t/a/l"));
        SHOW("umount t/m/b", umount("t/m/b"));
    }
    mkdir("t2", 0755);
    SHOW("mount tmpfs bad option", mount("tmpfs", "t2", "tmpfs", 0, "bogus=1"));
    SHOW("mount tmpfs bad mode", mount("tmpfs", "t2", "tmpfs", 0, "mode=9"));
    SHOW("mount unknown type", mount("x", "t2", "nosuchfs", 0, NULL));
    {
        /* devpts, with the options container runtimes give it. */
        mkdir("pts", 0755);
        SHOW("mount devpts bad option", mount("devpts", "pts", "devpts", 0, "bogus"));
        SHOW("mount devpts bad mode", mount("devpts", "pts", "devpts", 0, "mode=9"));
        SHOW("mount devpts", mount("devpts", "pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"));
        struct stat ps;
        errno = 0;
        stat("pts/ptmx", &ps);
        printf("pts/ptmx: chr %d %u:%u\n", S_ISCHR(ps.st_mode), major(ps.st_rdev), minor(ps.st_rdev));
        struct statfs pf;
        statfs("pts", &pf);
        printf("statfs devpts magic %d\n", pf.f_type == 0x1cd1);
        SHOW("umount devpts", umount2("pts", 0));
    }
    SHOW("mount null type", mount("x", "t2", NULL, 0, NULL));
    SHOW("mount on missing dir", mount("tmpfs", "missing", "tmpfs", 0, NULL));
    put("file", "F");
    SHOW("mount tmpfs on a file", mount("tmpfs", "file", "tmpfs", 0, NULL));

    /* Binds. */
    mkdir("src", 0755);
    put("src/f", "data");
    mkdir("b", 0755);
    SHOW("bind dir", mount("src", "b", NULL, MS_BIND, NULL));
    printf("read through bind: %s\n", get("b/f"));
    put("b/g", "new");
    printf("written through bind, seen in source: %s\n", get("src/g"));
    mountinfo("b", 0);
    SHOW("remount bind ro", mount(NULL, "b", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
    OPEN("open for write on ro bind", "b/f", O_WRONLY);
    OPEN("creat on ro bind", "b/new", O_CREAT | O_WRONLY, 0644);
    SHOW("mkdir on ro bind", mkdir("b/x", 0755));
    SHOW("mkdir existing on ro bind", mkdir("b/f", 0755));
    SHOW("unlink missing on ro bind", unlink("b/nothing"));
    SHOW("unlink on ro bind", unlink("b/f"));
    SHOW("rename on ro bind", rename("b/f", "b/f2"));
    SHOW("chmod on ro bind", chmod("b/f", 0600));
    SHOW("chmod missing on ro bind", chmod("b/nothing", 0600));
    SHOW("symlink on ro bind", symlink("f", "b/l"));
    OPEN("source still writable", "src/f", O_WRONLY);
    struct statvfs sv;
    statvfs("b", &sv);
    printf("statvfs ro flag: %d\n", (int)((sv.f_flag & ST_RDONLY) != 0));
    mountinfo("b", 0);
    SHOW("remount bind rw", mount(NULL, "b", NULL, MS_REMOUNT | MS_BIND, NULL));
    OPEN("open for write again", "b/f", O_WRONLY);
    SHOW("rmdir a mount point", rmdir("b"));
    SHOW("rename a mount point", rename("b", "b2"));
    SHOW("chdir into bind", chdir("b"));
    SHOW("umount busy (cwd inside)", umount2("../b", 0));
    SHOW("chdir back", chdir(".."));
    {
        /* Open files keep a mount busy; one open for writing also refuses a read-only remount. */
        int rfd = open("b/f", O_RDONLY);
        SHOW("umount busy (file open)", umount2("b", 0));
        SHOW("remount ro with a reader", mount(NULL, "b", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
        SHOW("remount rw again", mount(NULL, "b", NULL, MS_REMOUNT | MS_BIND, NULL));
        int wfd = open("b/f", O_WRONLY);
        SHOW("remount ro with a writer", mount(NULL, "b", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
        close(wfd);
        close(rfd);
        wfd = open("t/again", O_WRONLY);
        SHOW("tmpfs remount ro with a writer", mount(NULL, "t", NULL, MS_REMOUNT | MS_RDONLY, "size=64k,mode=700"));
        close(wfd);
    }
    SHOW("umount bind", umount2("b", 0));
    printf("after umount: %s\n", get("b/f"));
    SHOW("umount non-mount", umount2("src", 0));
    SHOW("umount missing", umount2("missing", 0));
    SHOW("umount bad flags", umount2("t", 0x100));
    SHOW("umount expire+detach", umount2("t", MNT_EXPIRE | MNT_DETACH));
    SHOW("umount expire (first)", umount2("t", MNT_EXPIRE));
    SHOW("bind missing source", mount("nothing", "b", NULL, MS_BIND, NULL));
    SHOW("bind file on dir", mount("file", "b", NULL, MS_BIND, NULL));
    SHOW("bind dir on file", mount("src", "file", NULL, MS_BIND, NULL));

    /* Single files. */
    put("fa", "A");
    put("fb", "B");
    SHOW("bind file", mount("fa", "fb", NULL, MS_BIND, NULL));
    printf("read bound file: %s\n", get("fb"));
    SHOW("unlink bound file", unlink("fb"));
    SHOW("umount bound file", umount2("fb", 0));
    printf("after: %s\n", get("fb"));

    /* Nested mounts, detach, recursive binds. */
    mkdir("n", 0755);
    SHOW("mount n", mount("tmpfs", "n", "tmpfs", 0, NULL));
    mkdir("n/sub", 0755);
    SHOW("mount n/sub", mount("tmpfs", "n/sub", "tmpfs", 0, NULL));
    put("n/sub/z", "Z");
    mkdir("r", 0755);
    mkdir("nr", 0755);
    SHOW("rbind", mount("n", "r", NULL, MS_BIND | MS_REC, NULL));
    SHOW("bind (not recursive)", mount("n", "nr", NULL, MS_BIND, NULL));
    printf("rbind sees submount: %s\n", get("r/sub/z"));
    printf("bind does not: %s\n", get("nr/sub/z"));
    SHOW("umount with a mount on it", umount2("n", 0));
    SHOW("umount detach", umount2("n", MNT_DETACH));
    printf("after detach: %s\n", get("n/sub/z"));
    SHOW("umount rbind detach", umount2("r", MNT_DETACH));
    SHOW("umount nr", umount2("nr", 0));

    /* Stacking: a second tmpfs on the same point hides the first until unmounted. */
    mkdir("s", 0755);
    mount("tmpfs", "s", "tmpfs", 0, NULL);
    put("s/one", "1");
    SHOW("stack a second tmpfs", mount("tmpfs", "s", "tmpfs", 0, NULL));
    printf("first hidden: %s\n", get("s/one"));
    SHOW("umount top", umount2("s", 0));
    printf("first again: %s\n", get("s/one"));
    umount2("s", 0);

    /* MS_MOVE. */
    mkdir("m1", 0755);
    mkdir("m2", 0755);
    mount("tmpfs", "m1", "tmpfs", 0, NULL);
    put("m1/q", "Q");
    SHOW("move", mount("m1", "m2", NULL, MS_MOVE, NULL));
    printf("moved: %s, old place: %s\n", get("m2/q"), (get("m1/q"), errno == ENOENT ? "ENOENT" : "there"));
    SHOW("move a non-mount", mount("src", "m1", NULL, MS_MOVE, NULL));
    umount2("m2", 0);

    /* noexec, nodev, ro tmpfs. */
    mkdir("nx", 0755);
    SHOW("mount noexec", mount("tmpfs", "nx", "tmpfs", MS_NOEXEC, NULL));
    put("nx/s", "#!/bin/true\n");
    chmod("nx/s", 0755);
    printf("exec on noexec: %s\n", exec_status("nx/s") == 13 ? "EACCES" : "ran");
    {
        /* mmap of a noexec file: PROT_EXEC is EPERM (after the open mode's EACCES), and never added later. */
        int fd = open("nx/s", O_RDONLY), wfd = open("nx/s", O_WRONLY);
        SHOW("mmap exec on noexec", mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0);
        SHOW("mmap exec of write-only fd on noexec", mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, wfd, 0) == MAP_FAILED ? -1 : 0);
        void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        printf("mmap read on noexec: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "ok");
        if (p != MAP_FAILED) {
            SHOW("mprotect exec on noexec", mprotect(p, 4096, PROT_READ | PROT_EXEC));
            SHOW("mprotect write on noexec", mprotect(p, 4096, PROT_READ | PROT_WRITE));
            munmap(p, 4096);
        }
        close(fd);
        close(wfd);
    }
    SHOW("remount exec", mount(NULL, "nx", NULL, MS_REMOUNT | MS_BIND, NULL));
    printf("exec after remount: %s\n", exec_status("nx/s") == 0 ? "ran" : "refused");
    mkdir("nd", 0755);
    SHOW("mount nodev", mount("tmpfs", "nd", "tmpfs", MS_NODEV, NULL));
    SHOW("mknod null", mknod("nd/null", S_IFCHR | 0666, makedev(1, 3)));
    OPEN("open device on nodev", "nd/null", O_WRONLY);
    mkdir("ro", 0755);
    SHOW("mount tmpfs ro", mount("tmpfs", "ro", "tmpfs", MS_RDONLY, NULL));
    OPEN("creat on ro tmpfs", "ro/x", O_CREAT | O_WRONLY, 0644);
    SHOW("remount tmpfs rw", mount(NULL, "ro", NULL, MS_REMOUNT, NULL));
    OPEN("creat after remount", "ro/x", O_CREAT | O_WRONLY, 0644);
    SHOW("remount tmpfs ro", mount(NULL, "ro", NULL, MS_REMOUNT | MS_RDONLY, NULL));
    SHOW("unlink on ro tmpfs", unlink("ro/x"));
    SHOW("remount non-mount", mount(NULL, "src", NULL, MS_REMOUNT, NULL));

    /* Propagation. */
    SHOW("make shared", mount(NULL, "ro", NULL, MS_SHARED, NULL));
    SHOW("make private", mount(NULL, "ro", NULL, MS_PRIVATE, NULL));
    SHOW("two propagation types", mount(NULL, "ro", NULL, MS_PRIVATE | MS_SHARED, NULL));
    SHOW("propagation of a non-mount", mount(NULL, "src", NULL, MS_PRIVATE, NULL));

    /* A child's own namespace; a child without one shares its parent's. */
    mkdir("c", 0755);
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount("tmpfs", "c", "tmpfs", 0, NULL) != 0) _exit(1);
        put("c/child", "C");
        _exit(get("c/child")[0] == 'C' ? 0 : 2);
    }
    int ws;
    waitpid(pid, &ws, 0);
    printf("child in own namespace: status %d, parent sees: %s\n", WEXITSTATUS(ws), get("c/child"));
    /* clone(CLONE_NEWNS) gives the child a copy too (fork-like: no new stack). */
    pid = (pid_t)syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(mount("tmpfs", "c", "tmpfs", 0, NULL) == 0 ? 0 : 1);
    waitpid(pid, &ws, 0);
    printf("clone(CLONE_NEWNS) child: status %d, parent sees its mount: %d\n", WEXITSTATUS(ws), get("c/child")[0] != 'E' || mountinfo_count("/c ") > 0);
    pid = fork();
    if (pid == 0) _exit(mount("tmpfs", "c", "tmpfs", 0, NULL) == 0 ? 0 : 1);
    waitpid(pid, &ws, 0);
    put("c/shared", "S");
    printf("child in shared namespace: status %d, parent's file on its tmpfs: %s\n", WEXITSTATUS(ws), get("c/shared"));
    umount2("c", 0);
    printf("under it: %s\n", get("c/shared"));

    /* A non-root user may not. */
    pid = fork();
    if (pid == 0) {
        if (setresuid(1000, 1000, 1000) != 0) _exit(9);
        SHOW("user: mount", mount("tmpfs", "t2", "tmpfs", 0, NULL));
        SHOW("user: umount", umount2("ro", 0));
        SHOW("user: umount missing", umount2("missing", 0));
        SHOW("user: unshare", unshare(CLONE_NEWNS));
        _exit(0);
    }
    waitpid(pid, &ws, 0);

    SHOW("unshare bad flag", unshare(0x1));
    umount2("t", MNT_DETACH);
    umount2("nx", MNT_DETACH);
    umount2("nd", MNT_DETACH);
    umount2("ro", MNT_DETACH);
    if (chdir("..") != 0) return 1;
    rmtree("mnt_scratch");
    return 0;
}
