/* Every call that reads or changes a file tree, run in a bind mount (a Moat volume): DIR is the mount
 * point. VolumeTests prepares DIR's host directory (f = "data\n", d/inner, empty e, symlink lnk -> f,
 * hostsock: a unix socket's node a host process bound and closed), runs this natively in a real bind
 * mount (read-only or read-write) and under moat do --volume, and compares. Prints errno names, modes,
 * sizes and the final listing; nothing that varies between runs. Unix sockets bound to names on the
 * volume and O_TMPFILE files linked into it are tried as root and again as uid 1000. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: ok\n", what);
}

static void show_open(const char *what, const char *path, int flags)
{
    int fd = open(path, flags, 0640);
    int e = errno;
    if (fd >= 0)
        close(fd);
    errno = e;
    show(what, fd);
}

static void show_stat(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        printf("stat %s: %s\n", path, strerrorname_np(errno));
        return;
    }
    printf("stat %s: mode %o size %lld uid %u gid %u nlink %lu", path, st.st_mode, (long long)st.st_size, st.st_uid, st.st_gid, (unsigned long)st.st_nlink);
    if (st.st_mtime == 1000000)
        printf(" mtime set");
    printf("\n");
}

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void listing(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("list %s: %s\n", dir, strerrorname_np(errno));
        return;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("list %s:", dir);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static int unix_addr(struct sockaddr_un *a, const char *dir, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s%s%s", dir, *dir ? "/" : "", name);
    return sizeof *a;
}

static void show_connect(const char *what, const char *dir, const char *name)
{
    struct sockaddr_un a;
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    show(what, connect(c, (struct sockaddr *)&a, unix_addr(&a, dir, name)));
    close(c);
}

static char *at(const char *dir, const char *name)
{
    static char bufs[4][128];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

/* bind(2) of unix sockets to names in DIR (on the volume), connect by those names, and their nodes. */
static void sockets(const char *dir)
{
    struct sockaddr_un a;
    int s1 = socket(AF_UNIX, SOCK_STREAM, 0);
    show("bind sock", bind(s1, (struct sockaddr *)&a, unix_addr(&a, dir, "sock")));
    show_stat(at(dir, "sock"));
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    show("bind sock again", bind(s2, (struct sockaddr *)&a, unix_addr(&a, dir, "sock")));
    show("bind over a file", bind(s2, (struct sockaddr *)&a, unix_addr(&a, "", "d/inner")));
    show("bind in nodir", bind(s2, (struct sockaddr *)&a, unix_addr(&a, dir, "nodir/sock")));
    show("bind in d", bind(s2, (struct sockaddr *)&a, unix_addr(&a, "d", getuid() ? "usock" : "sock")));
    close(s2);
    show("listen", listen(s1, 4));
    struct sockaddr_un name;
    memset(&name, 0, sizeof name);
    socklen_t len = sizeof name;
    if (getsockname(s1, (struct sockaddr *)&name, &len) == 0)
        printf("getsockname: %u %s\n", len, name.sun_path);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    show("connect sock", connect(c, (struct sockaddr *)&a, unix_addr(&a, dir, "sock")));
    int acc = accept(s1, NULL, NULL);
    show("accept", acc);
    char buf[8] = {0};
    show("send", write(c, "hi", 2));
    show("receive", read(acc, buf, sizeof buf - 1));
    printf("received: %s\n", buf);
    close(c);
    close(acc);
    show("symlink to sock", symlink("sock", at(dir, "socklink")));
    show_connect("connect through a symlink", dir, "socklink");
    show("rename sock", rename(at(dir, "sock"), at(dir, "sock-moved")));
    show_connect("connect renamed", dir, "sock-moved");
    show_connect("connect old name", dir, "sock");
    show_connect("connect a file", "", "d/inner");
    show_connect("connect hostsock", "", "hostsock");
    show_connect("connect missing", dir, "nosock");
    show("mknod sock node", mknod(at(dir, "made"), S_IFSOCK | 0666, 0));
    show_stat(at(dir, "made"));
    show_connect("connect made", dir, "made");
    show("mknod again", mknod(at(dir, "made"), S_IFSOCK | 0666, 0));

    int d1 = socket(AF_UNIX, SOCK_DGRAM, 0);
    show("bind dgram", bind(d1, (struct sockaddr *)&a, unix_addr(&a, dir, "dgram")));
    int d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    show("sendto dgram", sendto(d2, "yo", 2, 0, (struct sockaddr *)&a, unix_addr(&a, dir, "dgram")));
    memset(buf, 0, sizeof buf);
    show("recv dgram", recv(d1, buf, sizeof buf - 1, MSG_DONTWAIT));
    printf("received: %s\n", buf);
    close(d1);
    show("sendto closed dgram", sendto(d2, "yo", 2, 0, (struct sockaddr *)&a, unix_addr(&a, dir, "dgram")));
    close(d2);

    close(s1);
    show_connect("connect after close", dir, "sock-moved");
    show("unlink sock", unlink(at(dir, "sock-moved")));
    show_stat(at(dir, "sock-moved"));
    show("unlink dgram", unlink(at(dir, "dgram")));
}

/* O_TMPFILE in DIR (on the volume) and the ways linkat gives such a file a name. */
static void tmpfiles(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR, 0640);
    show("tmpfile", fd);
    if (fd >= 0) {
        show("write tmpfile", write(fd, "unnamed\n", 8));
        struct stat st;
        if (fstat(fd, &st) == 0)
            printf("fstat tmpfile: mode %o nlink %lu size %lld\n", st.st_mode, (unsigned long)st.st_nlink, (long long)st.st_size);
        show("linkat empty path", linkat(fd, "", AT_FDCWD, at(dir, "named"), AT_EMPTY_PATH));
        show("linkat empty path again", linkat(fd, "", AT_FDCWD, at(dir, "named2"), AT_EMPTY_PATH));
        show("linkat onto a name", linkat(fd, "", AT_FDCWD, at(dir, "named"), AT_EMPTY_PATH));
        show("linkat out of the mount", linkat(fd, "", AT_FDCWD, "../volume-tmp", AT_EMPTY_PATH));
        show("linkat into d", linkat(fd, "", AT_FDCWD, getuid() ? "d/utmp" : "d/tmp", AT_EMPTY_PATH));
        show("rename named out of the mount", rename(at(dir, "named2"), "../volume-tmp"));
        show("link named out of the mount", link(at(dir, "named2"), "../volume-tmp"));
        close(fd);
        show_stat(at(dir, "named"));
        char buf[16] = {0};
        int r = open(at(dir, "named"), O_RDONLY);
        show("read named", read(r, buf, sizeof buf - 1));
        printf("named: %s", buf);
        close(r);
    }

    fd = open(dir, O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    show("tmpfile excl", fd);
    show("linkat excl", linkat(fd, "", AT_FDCWD, at(dir, "excl"), AT_EMPTY_PATH));
    close(fd);

    /* mkstemp's way without privilege: through /proc/self/fd with AT_SYMLINK_FOLLOW. */
    fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
    show("tmpfile for proc", fd);
    show("write", write(fd, "via proc\n", 9));
    show("fchmod", fchmod(fd, 0644));
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    show("linkat proc fd", linkat(AT_FDCWD, proc, AT_FDCWD, at(dir, "viaproc"), AT_SYMLINK_FOLLOW));
    close(fd);
    show_stat(at(dir, "viaproc"));

    fd = open(at(dir, "gone"), O_CREAT | O_RDWR, 0600);
    show("unlink gone", unlink(at(dir, "gone")));
    show("linkat unlinked file", linkat(fd, "", AT_FDCWD, at(dir, "relinked"), AT_EMPTY_PATH));
    close(fd);
    fd = open(dir, O_TMPFILE | O_RDWR, 04755);
    show("tmpfile setuid", fd);
    show("linkat setuid", linkat(fd, "", AT_FDCWD, at(dir, "suid"), AT_EMPTY_PATH));
    close(fd);
    show_stat(at(dir, "suid"));
    show_open("tmpfile rdonly", dir, O_TMPFILE | O_RDONLY);
    show_open("tmpfile creat", dir, O_TMPFILE | O_CREAT | O_RDWR);
    show_open("tmpfile on a file", "d/inner", O_TMPFILE | O_RDWR);
    show_open("tmpfile in nodir", at(dir, "nodir"), O_TMPFILE | O_RDWR);
    show_open("tmpfile in d", "d", O_TMPFILE | O_RDWR);
    show_open("tmpfile through lnk", "lnk", O_TMPFILE | O_RDWR);
}

static void sockets_and_tmpfiles(const char *dir)
{
    printf("-- %s as uid %u\n", dir, getuid());
    sockets(dir);
    tmpfiles(dir);
    listing(dir);
}

/* New nodes in a set-group-id directory of another group take its group (and a non-member's file loses
 * its own set-group-id bit). */
static void in_setgid_dir(const char *dir)
{
    struct sockaddr_un a;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    show("bind in setgid dir", bind(s, (struct sockaddr *)&a, unix_addr(&a, dir, "sock")));
    close(s);
    show_stat(at(dir, "sock"));
    int fd = open(dir, O_TMPFILE | O_RDWR, 02755);
    show("tmpfile in setgid dir", fd);
    show("linkat in setgid dir", linkat(fd, "", AT_FDCWD, at(dir, "t"), AT_EMPTY_PATH));
    close(fd);
    show_stat(at(dir, "t"));
}

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) < 0) {
        printf("usage: volume DIR\n");
        return 2;
    }
    umask(022);

    char buf[64] = {0};
    int fd = open("f", O_RDONLY);
    show("open f rdonly", fd);
    if (fd >= 0) {
        printf("read f: %zd\n", read(fd, buf, sizeof buf - 1));
        close(fd);
    }
    show_open("open f wronly", "f", O_WRONLY);
    show_open("open f rdonly|trunc", "f", O_RDONLY | O_TRUNC);
    show_open("open f creat|excl", "f", O_CREAT | O_EXCL | O_WRONLY);
    show_open("open f creat rdonly", "f", O_CREAT | O_RDONLY);
    show_open("open new creat", "new", O_CREAT | O_WRONLY);
    show_open("open nodir/new creat", "nodir/new", O_CREAT | O_WRONLY);
    show_open("open f/x creat", "f/x", O_CREAT | O_WRONLY);
    show_open("open d wronly", "d", O_WRONLY);
    show_open("open d creat", "d", O_CREAT | O_RDONLY);
    show_open("open lnk nofollow", "lnk", O_RDONLY | O_NOFOLLOW);
    show_open("open missing", "missing", O_RDONLY);
    show("creat d/new2", creat("d/new2", 0600));
    show("mkdir d", mkdir("d", 0755));
    show("mkdir newdir", mkdir("newdir", 0750));
    show("mkdir nodir/x", mkdir("nodir/x", 0755));
    show("unlink missing", unlink("missing"));
    show("unlink d", unlink("d"));
    show("rmdir d", rmdir("d"));
    show("rmdir e", rmdir("e"));
    show("rmdir f", rmdir("f"));
    show("symlink lnk", symlink("f", "lnk"));
    show("symlink lnk2", symlink("f", "lnk2"));
    show("link f hard", link("f", "hard"));
    show("link missing", link("missing", "h2"));
    show("link d", link("d", "h3"));
    show("link f lnk", link("f", "lnk"));
    show("chmod f", chmod("f", 0600));
    show("chmod missing", chmod("missing", 0600));
    show("chown f", chown("f", 1, 2));
    show("lchown lnk", lchown("lnk", 3, 4));
    struct timespec ts[2] = {{1000000, 0}, {1000000, 0}};
    show("utimensat f", utimensat(AT_FDCWD, "f", ts, 0));
    show("utimensat missing", utimensat(AT_FDCWD, "missing", ts, 0));
    show("truncate f", truncate("f", 2));
    show("truncate d", truncate("d", 0));
    show("access f W_OK", access("f", W_OK));
    show("access f R_OK", access("f", R_OK));
    show("access missing W_OK", access("missing", W_OK));
    fd = open("d/inner", O_RDONLY);
    show("open d/inner", fd);
    show("fchmod", fchmod(fd, 0644));
    show("fchown", fchown(fd, 5, 6));
    show("futimens", futimens(fd, ts));
    show("ftruncate rdonly", ftruncate(fd, 0));
    close(fd);
    fd = open("d/inner", O_WRONLY | O_APPEND);
    if (fd >= 0) {
        show("write append", write(fd, "more\n", 5));
        show("ftruncate", ftruncate(fd, 3));
        show("fchmod w", fchmod(fd, 0604));
        close(fd);
    }
    fd = open("written", O_CREAT | O_RDWR | O_TRUNC, 0666);
    if (fd >= 0) {
        show("write", write(fd, "hello volume\n", 13));
        show("pwrite", pwrite(fd, "H", 1, 0));
        memset(buf, 0, sizeof buf);
        show("pread", pread(fd, buf, sizeof buf - 1, 0));
        printf("content: %s", buf);
        close(fd);
    }
    show("rename f g", rename("f", "g"));
    show("rename missing", rename("missing", "x"));
    show("rename newdir d", rename("newdir", "d"));
    show("rename e newdir", rename("e", "newdir"));
    show("rename g out of the mount", rename("g", "../volume-g"));
    /* Across mounts both parents are walked before EXDEV; the names themselves are not looked up. */
    show("rename missing out of the mount", rename("missing", "../volume-g"));
    show("rename from nodir out of the mount", rename("nodir/x", "../volume-g"));
    show("rename below a file out of the mount", rename("g/x", "../volume-g"));
    show("rename g into nodir out of the mount", rename("g", "../volume-nodir/x"));
    show("rename in from outside", rename("../volume-g", "x"));
    show("link g out of the mount", link("g", "../volume-h"));
    show("link missing out of the mount", link("missing", "../volume-h"));
    show("link g into nodir out of the mount", link("g", "../volume-nodir/h"));
    show("link g onto the mount point", link("g", "."));
    show("renameat2 noreplace", renameat2(AT_FDCWD, "hard", AT_FDCWD, "lnk", RENAME_NOREPLACE));
    struct statfs sfs;
    if (statfs(".", &sfs) == 0)
        printf("statfs rdonly: %s\n", (sfs.f_flags & ST_RDONLY) ? "yes" : "no");
    show("unlink lnk2", unlink("lnk2"));
    show("unlink hard", unlink("hard"));
    show("rmdir missingdir", rmdir("missingdir"));

    show("mkdir s", mkdir("s", 0777));
    show("chmod s", chmod("s", 0777));
    show("mkdir s/u", mkdir("s/u", 0777));
    show("chmod s/u", chmod("s/u", 01777));
    show("mkdir s/g", mkdir("s/g", 0777));
    show("chown s/g", chown("s/g", 0, 2));
    show("chmod s/g", chmod("s/g", 02777));
    sockets_and_tmpfiles("s");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        if (setgid(1000) < 0 || setuid(1000) < 0) {
            printf("setuid: %s\n", strerrorname_np(errno));
            _exit(1);
        }
        sockets_and_tmpfiles("s/u");
        in_setgid_dir("s/g");
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("uid 1000 exit: %d\n", WEXITSTATUS(status));

    const char *stats[] = {"f", "g", "lnk", "d", "d/inner", "d/new2", "e", "new", "newdir", "written", "hard"};
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++)
        show_stat(stats[i]);
    listing(".");
    listing("d");
    return 0;
}
