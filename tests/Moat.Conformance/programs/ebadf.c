/* ebadf.c - operations on file descriptors that are not open give EBADF.
 * The sandbox only has fds 0-2; natively a launcher could leak extra fds,
 * so the fds used here are closed (result ignored) before testing.
 * Exit status 0. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    default: return "E?";
    }
}

static void show(const char *name, long r, int e)
{
    if (r < 0)
        printf("%s: %ld %s\n", name, r, errname(e));
    else
        printf("%s: %ld\n", name, r);
}

int main(void)
{
    static const int fds[] = { 99, 1000, 77, 55, 3, 1023 };
    for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
        syscall(SYS_close, fds[i]);

    long r;
    int e;
    struct stat st;
    char c;

    errno = 0; r = syscall(SYS_write, 99, "x", 1); e = errno;
    show("write(99)", r, e);
    errno = 0; r = syscall(SYS_write, -1, "x", 1); e = errno;
    show("write(-1)", r, e);
    errno = 0; r = syscall(SYS_write, 0x7fffffff, "x", 1); e = errno;
    show("write(0x7fffffff)", r, e);
    errno = 0; r = syscall(SYS_write, 3, "x", 1); e = errno;
    show("write(3)", r, e);
    errno = 0; r = syscall(SYS_read, 1000, &c, 1); e = errno;
    show("read(1000)", r, e);
    errno = 0; r = syscall(SYS_close, 77); e = errno;
    show("close(77)", r, e);
    errno = 0; r = syscall(SYS_close, -1); e = errno;
    show("close(-1)", r, e);
    errno = 0; r = syscall(SYS_fstat, 55, &st); e = errno;
    show("fstat(55)", r, e);
    errno = 0; r = syscall(SYS_fstat, 1023, &st); e = errno;
    show("fstat(1023)", r, e);
    /* EBADF is checked before the buffer: bad fd + NULL buffer is EBADF */
    errno = 0; r = syscall(SYS_write, 99, NULL, 10); e = errno;
    show("write(99, NULL)", r, e);
    /* the glibc wrappers agree */
    errno = 0; r = write(99, "x", 1); e = errno;
    show("glibc write(99)", r, e);
    errno = 0; r = close(77); e = errno;
    show("glibc close(77)", r, e);
    errno = 0; r = fstat(55, &st); e = errno;
    show("glibc fstat(55)", r, e);
    return 0;
}
