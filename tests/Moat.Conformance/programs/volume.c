/* Every call that reads or changes a file tree, run in a bind mount (a Moat volume): DIR is the mount
 * point. VolumeTests prepares DIR's host directory (f = "data\n", d/inner, empty e, symlink lnk -> f),
 * runs this natively in a real bind mount (read-only or read-write) and under moat do --volume, and
 * compares. Prints errno names, modes, sizes and the final listing; nothing that varies between runs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
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
    show("renameat2 noreplace", renameat2(AT_FDCWD, "hard", AT_FDCWD, "lnk", RENAME_NOREPLACE));
    struct statfs sfs;
    if (statfs(".", &sfs) == 0)
        printf("statfs rdonly: %s\n", (sfs.f_flags & ST_RDONLY) ? "yes" : "no");
    show("unlink lnk2", unlink("lnk2"));
    show("unlink hard", unlink("hard"));
    show("rmdir missingdir", rmdir("missingdir"));

    const char *stats[] = {"f", "g", "lnk", "d", "d/inner", "d/new2", "e", "new", "newdir", "written", "hard"};
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++)
        show_stat(stats[i]);
    listing(".");
    listing("d");
    return 0;
}
