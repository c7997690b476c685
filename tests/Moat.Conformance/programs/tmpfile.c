/* open(O_TMPFILE) and linkat of a descriptor, in a tmpfs (/dev/shm) and in the current directory (the
 * overlay in the sandbox): an unnamed file (nlink 0, the directory's group rules, the umask), given a name
 * by linkat(AT_EMPTY_PATH) as root or through /proc/self/fd with AT_SYMLINK_FOLLOW; O_EXCL makes it
 * unlinkable; EINVAL/ENOTDIR/ENOENT/EISDIR cases; an unlinked ordinary file cannot be linked back; a directory
 * descriptor is EPERM; a symlinked directory on the way to the new name is followed; uid 1000 gets ENOENT for AT_EMPTY_PATH and EACCES in a directory it cannot write. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); printf("  %s: %s\n", what, e(_r)); } while (0)

static void section(const char *dir) {
    char path[256], name[300];
    struct stat st;
    umask(022);
    int fd = open(dir, O_TMPFILE | O_RDWR, 0666);
    printf("  open O_TMPFILE: %s\n", e(fd));
    if (fd < 0) return;
    fstat(fd, &st);
    printf("  unnamed: nlink %lu mode %o regular %d\n", (unsigned long)st.st_nlink, st.st_mode & 07777, S_ISREG(st.st_mode));
    SHOW("write", write(fd, "hello", 5));
    snprintf(name, sizeof name, "%s/named", dir);
    SHOW("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
    fstat(fd, &st);
    printf("  named: nlink %lu\n", (unsigned long)st.st_nlink);
    char buf[16] = {0};
    int r = open(name, O_RDONLY);
    printf("  read by name: %s %s\n", e(read(r, buf, sizeof buf - 1)), buf);
    close(r);
    SHOW("linkat again, name exists", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
    snprintf(name, sizeof name, "%s/named2", dir);
    SHOW("linkat a second name", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
    /* A symlinked directory on the way to the new name is followed. */
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0755);
    snprintf(name, sizeof name, "%s/sublink", dir);
    symlink("sub", name);
    snprintf(name, sizeof name, "%s/sublink/third", dir);
    SHOW("linkat through a symlinked directory", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
    snprintf(name, sizeof name, "%s/sub/third", dir);
    SHOW("stat it by the real path", stat(name, &st));
    unlink(name);
    snprintf(name, sizeof name, "%s/sublink", dir);
    unlink(name);
    rmdir(path);
    close(fd);

    fd = open(dir, O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    snprintf(name, sizeof name, "%s/never", dir);
    SHOW("linkat of O_TMPFILE|O_EXCL", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
    close(fd);

    fd = open(dir, O_TMPFILE | O_RDWR, 0600);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    snprintf(name, sizeof name, "%s/viaproc", dir);
    SHOW("linkat through /proc/self/fd", linkat(AT_FDCWD, path, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
    SHOW("stat it", stat(name, &st));
    close(fd);

    SHOW("O_TMPFILE read-only", open(dir, O_TMPFILE | O_RDONLY, 0600));
    SHOW("O_TMPFILE with O_CREAT", open(dir, O_TMPFILE | O_CREAT | O_RDWR, 0600));
    snprintf(name, sizeof name, "%s/named", dir);
    SHOW("O_TMPFILE on a file", open(name, O_TMPFILE | O_RDWR, 0600));
    snprintf(name, sizeof name, "%s/missing", dir);
    SHOW("O_TMPFILE on a missing dir", open(name, O_TMPFILE | O_RDWR, 0600));

    /* An ordinary file whose last name went cannot come back. */
    snprintf(name, sizeof name, "%s/gone", dir);
    fd = open(name, O_CREAT | O_RDWR, 0600);
    unlink(name);
    SHOW("linkat of an unlinked file", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
    close(fd);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    snprintf(name, sizeof name, "%s/dirlink", dir);
    SHOW("linkat of a directory", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
    close(fd);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) _exit(9);
        printf(" as uid 1000:\n");
        SHOW("O_TMPFILE in a root 0755 dir", open(dir, O_TMPFILE | O_RDWR, 0600));
        char own[300];
        snprintf(own, sizeof own, "%s/mine", dir);
        int t = open(own, O_TMPFILE | O_RDWR, 0600);
        printf("  O_TMPFILE in own dir: %s\n", e(t));
        snprintf(name, sizeof name, "%s/mine/x", dir);
        SHOW("linkat AT_EMPTY_PATH unprivileged", linkat(t, "", AT_FDCWD, name, AT_EMPTY_PATH));
        snprintf(path, sizeof path, "/proc/self/fd/%d", t);
        SHOW("linkat through /proc unprivileged", linkat(AT_FDCWD, path, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
        struct stat s2;
        stat(name, &s2);
        printf("  owner %d mode %o\n", (int)s2.st_uid, s2.st_mode & 07777);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
}

static void cleanup(const char *base) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0) printf("cleanup failed\n");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *bases[] = {"/dev/shm/tmpfile_test", "tmpfile_test"};
    const char *names[] = {"tmpfs", "here"};
    for (int i = 0; i < 2; i++) {
        cleanup(bases[i]);
        mkdir(bases[i], 0755);
        char mine[300];
        snprintf(mine, sizeof mine, "%s/mine", bases[i]);
        mkdir(mine, 0755);
        if (chown(mine, 1000, 1000) != 0) printf("chown failed\n");
        printf("== %s\n", names[i]);
        section(bases[i]);
        cleanup(bases[i]);
    }
    return 0;
}
