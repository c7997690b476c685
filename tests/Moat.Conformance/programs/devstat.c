/* /dev as containers see it: the memory devices and tty with their types, modes and numbers, /dev/shm,
 * the links into /proc, and what the devices do when read and written. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void dev(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        printf("%s: %s\n", path, strerrorname_np(errno));
        return;
    }
    printf("%s: %s mode %o rdev %u,%u\n", path, S_ISCHR(st.st_mode) ? "chr" : "other", st.st_mode & 07777, major(st.st_rdev), minor(st.st_rdev));
    int fd = open(path, O_RDONLY | O_PATH);
    struct stat fst;
    if (fd >= 0 && fstat(fd, &fst) == 0)
        printf("%s: O_PATH fstat same inode %s, same rdev %s\n", path, fst.st_ino == st.st_ino ? "yes" : "no", fst.st_rdev == st.st_rdev ? "yes" : "no");
    if (fd >= 0)
        close(fd);
}

static void link_(const char *path)
{
    struct stat st;
    char target[256] = {0};
    if (lstat(path, &st) < 0) {
        printf("%s: %s\n", path, strerrorname_np(errno));
        return;
    }
    ssize_t n = readlink(path, target, sizeof target - 1);
    printf("%s: %s -> %s\n", path, S_ISLNK(st.st_mode) ? "link" : "not a link", n > 0 ? target : "?");
}

int main(void)
{
    const char *devs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
        dev(devs[i]);
    const char *links[] = {"/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr"};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        link_(links[i]);

    struct stat st;
    if (stat("/dev/shm", &st) == 0)
        printf("/dev/shm: %s mode %o\n", S_ISDIR(st.st_mode) ? "dir" : "other", st.st_mode & 07777);
    if (stat("/dev", &st) == 0)
        printf("/dev: %s\n", S_ISDIR(st.st_mode) ? "dir" : "other");
    printf("/dev/fd/1 is stdout: %s\n", stat("/dev/fd/1", &st) == 0 ? "yes" : strerrorname_np(errno));

    char buf[16];
    memset(buf, 0x55, sizeof buf);
    int fd = open("/dev/zero", O_RDWR);
    ssize_t n = read(fd, buf, sizeof buf);
    printf("zero: read %zd, zeros %s, write %zd\n", n, buf[0] == 0 && buf[15] == 0 ? "yes" : "no", write(fd, buf, 3));
    struct stat fst;
    fstat(fd, &fst);
    printf("zero: fstat chr %s rdev %u,%u\n", S_ISCHR(fst.st_mode) ? "yes" : "no", major(fst.st_rdev), minor(fst.st_rdev));
    close(fd);
    fd = open("/dev/null", O_RDWR);
    printf("null: read %zd, write %zd\n", read(fd, buf, sizeof buf), write(fd, buf, 7));
    close(fd);
    fd = open("/dev/full", O_WRONLY);
    errno = 0;
    n = write(fd, buf, 4);
    printf("full: write %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    close(fd);
    fd = open("/dev/urandom", O_RDONLY);
    printf("urandom: read %zd\n", read(fd, buf, sizeof buf));
    close(fd);
    fd = open("/dev/null/x", O_RDONLY);
    printf("/dev/null/x: %s\n", fd < 0 ? strerrorname_np(errno) : "opened");
    return 0;
}
