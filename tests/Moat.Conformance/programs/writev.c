/* writev.c - writev(2) on stdout: gathering, return value, EINVAL limits
 * and EFAULT. Assumes stdout is a pipe, regular file or tty (not /dev/null).
 * Exit status 0. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/uio.h>

static const char *errname(int e)
{
    switch (e) {
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
    fflush(stdout); /* keep stdio output ordered with the raw writev output */
}

static struct iovec many[1025];

int main(void)
{
    long r;
    int e;

    fflush(stdout);
    struct iovec v[3] = {
        { .iov_base = "a", .iov_len = 1 },
        { .iov_base = "bc", .iov_len = 2 },
        { .iov_base = "def\n", .iov_len = 4 },
    };
    errno = 0; r = syscall(SYS_writev, 1, v, 3); e = errno;
    show("writev 3 iovecs", r, e);

    /* zero-length entries (even with NULL bases) are skipped */
    struct iovec z[4] = {
        { .iov_base = NULL, .iov_len = 0 },
        { .iov_base = "gh", .iov_len = 2 },
        { .iov_base = NULL, .iov_len = 0 },
        { .iov_base = "i\n", .iov_len = 2 },
    };
    errno = 0; r = syscall(SYS_writev, 1, z, 4); e = errno;
    show("writev with empty iovecs", r, e);

    errno = 0; r = syscall(SYS_writev, 1, v, 0); e = errno;
    show("writev iovcnt 0", r, e);

    /* 1024 (UIO_MAXIOV) entries is the maximum; all empty -> 0 */
    for (int i = 0; i < 1025; i++) {
        many[i].iov_base = NULL;
        many[i].iov_len = 0;
    }
    many[1023].iov_base = "j\n";
    many[1023].iov_len = 2;
    errno = 0; r = syscall(SYS_writev, 1, many, 1024); e = errno;
    show("writev iovcnt 1024", r, e);

    errno = 0; r = syscall(SYS_writev, 1, v, -1); e = errno;
    show("writev iovcnt -1", r, e);
    errno = 0; r = syscall(SYS_writev, 1, many, 1025); e = errno;
    show("writev iovcnt 1025", r, e);

    /* an iov_len that is negative as ssize_t -> EINVAL before anything is
     * written. (Lengths that merely sum past MAX_RW_COUNT are NOT an error
     * on Linux: the total is silently truncated, so don't test that.) */
    struct iovec neg[2] = {
        { .iov_base = "x", .iov_len = 1 },
        { .iov_base = "y", .iov_len = (size_t)SSIZE_MAX + 1 },
    };
    errno = 0; r = syscall(SYS_writev, 1, neg, 2); e = errno;
    show("writev negative iov_len", r, e);

    struct iovec bad[1] = { { .iov_base = NULL, .iov_len = 5 } };
    errno = 0; r = syscall(SYS_writev, 1, bad, 1); e = errno;
    show("writev NULL base len 5", r, e);

    /* first iovec bad: nothing is written, EFAULT */
    struct iovec bad2[2] = {
        { .iov_base = (void *)8, .iov_len = 3 },
        { .iov_base = "k\n", .iov_len = 2 },
    };
    errno = 0; r = syscall(SYS_writev, 1, bad2, 2); e = errno;
    show("writev first iovec bad", r, e);

    errno = 0; r = syscall(SYS_writev, 1, NULL, 1); e = errno;
    show("writev NULL iov array", r, e);

    errno = 0; r = syscall(SYS_writev, 99, v, 3); e = errno;
    show("writev bad fd", r, e);

    /* glibc wrapper */
    struct iovec g[2] = { { .iov_base = "glibc ", .iov_len = 6 }, { .iov_base = "writev\n", .iov_len = 7 } };
    errno = 0; r = writev(1, g, 2); e = errno;
    show("glibc writev", r, e);
    return 0;
}
