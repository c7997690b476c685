/* ioctl(FIONREAD): bytes left before the end of a regular file (tmpfs and host), bytes queued in a pipe,
 * ENOTTY for a directory and /dev/null. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>
static void show(const char *what, int fd) {
    int n = -1;
    int r = ioctl(fd, FIONREAD, &n);
    int e = errno;
    if (r < 0) printf("%s: %s\n", what, e == ENOTTY ? "ENOTTY" : e == EINVAL ? "EINVAL" : strerror(e));
    else printf("%s: %d\n", what, n);
}
int main(void) {
    int f = open("/tmp/moat-fionread", O_CREAT | O_RDWR | O_TRUNC, 0600);
    write(f, "hello world", 11);
    lseek(f, 3, SEEK_SET);
    show("tmpfs file at 3", f);
    int h = open("/etc/passwd", O_RDONLY);
    char b[5];
    read(h, b, 5);
    off_t size = lseek(h, 0, SEEK_END);
    lseek(h, 5, SEEK_SET);
    int n = -1;
    ioctl(h, FIONREAD, &n);
    printf("host file: %s\n", n == size - 5 ? "size - offset" : "wrong");
    int p[2];
    pipe(p);
    write(p[1], "abc", 3);
    show("pipe", p[0]);
    int d = open("/tmp", O_RDONLY);
    show("directory", d);
    show("/dev/null", open("/dev/null", O_RDONLY));
    unlink("/tmp/moat-fionread");
    return 0;
}
