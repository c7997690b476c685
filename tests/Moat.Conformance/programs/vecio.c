/* preadv, pwritev, preadv2 and pwritev2 on a /tmp file, a pipe and a read-only host file: offsets,
 * the file offset left alone or advanced, RWF_* flags, and the errors in Linux's order. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ESPIPE: return "ESPIPE";
    case EAGAIN: return "EAGAIN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "other";
    }
}

#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; printf("%s: %ld %s\n", what, _r, _r < 0 ? ename(_e) : "OK"); } while (0)

static long preadv2_(int fd, struct iovec *v, int n, long off, int flags) { return syscall(SYS_preadv2, fd, v, n, off, 0, flags); }
static long pwritev2_(int fd, struct iovec *v, int n, long off, int flags) { return syscall(SYS_pwritev2, fd, v, n, off, 0, flags); }

int main(void) {
    char path[] = "/tmp/moatvecXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { perror("mkstemp"); return 1; }
    unlink(path);

    struct iovec w[2] = { { "hello", 5 }, { " world", 6 } };
    SHOW("pwritev at 3", pwritev(fd, w, 2, 3));
    SHOW("offset after pwritev", lseek(fd, 0, SEEK_CUR));
    char a[4] = {0}, b[16] = {0};
    struct iovec r[2] = { { a, 3 }, { b, sizeof b - 1 } };
    SHOW("preadv at 2", preadv(fd, r, 2, 2));
    printf("a=[%s] b=[%s] zero-byte %d\n", a + 1, b, a[0] == 0);
    SHOW("offset after preadv", lseek(fd, 0, SEEK_CUR));

    lseek(fd, 4, SEEK_SET);
    memset(a, 0, sizeof a); memset(b, 0, sizeof b);
    struct iovec r2[2] = { { a, 2 }, { b, 3 } };
    SHOW("preadv2 -1", preadv2_(fd, r2, 2, -1, 0));
    printf("a=[%.2s] b=[%s]\n", a, b);
    SHOW("offset after preadv2 -1", lseek(fd, 0, SEEK_CUR));
    struct iovec w2[1] = { { "XY", 2 } };
    SHOW("pwritev2 -1", pwritev2_(fd, w2, 1, -1, 0));
    SHOW("offset after pwritev2 -1", lseek(fd, 0, SEEK_CUR));
    SHOW("pwritev2 at 0 RWF_DSYNC", pwritev2_(fd, w2, 1, 0, RWF_DSYNC));
    SHOW("pwritev2 at 0 RWF_SYNC", pwritev2_(fd, w2, 1, 0, RWF_SYNC));
    SHOW("preadv2 at 0 RWF_HIPRI", preadv2_(fd, r2, 2, 0, RWF_HIPRI));
    SHOW("pwritev2 RWF_APPEND", pwritev2_(fd, w2, 1, 0, RWF_APPEND));
    SHOW("size", lseek(fd, 0, SEEK_END));
    char all[32] = {0};
    SHOW("pread all", pread(fd, all, sizeof all - 1, 0));
    for (int i = 0; i < 16; i++) if (!all[i]) all[i] = '_';
    printf("content=[%s]\n", all);

    char apath[] = "/tmp/moatvecappXXXXXX";
    int app = mkstemp(apath);
    unlink(apath);
    write(app, "abcdef", 6);
    fcntl(app, F_SETFL, O_APPEND);
    SHOW("pwritev O_APPEND at 0 (appends)", pwritev(app, w2, 1, 0));
    SHOW("pwritev2 O_APPEND RWF_NOAPPEND at 1", pwritev2_(app, w2, 1, 1, RWF_NOAPPEND));
    memset(all, 0, sizeof all);
    pread(app, all, sizeof all - 1, 0);
    printf("append content=[%s]\n", all);
    close(app);

    SHOW("preadv offset -1", preadv(fd, r2, 2, -1));
    SHOW("preadv2 offset -2", preadv2_(fd, r2, 2, -2, 0));
    SHOW("preadv2 unknown flag", preadv2_(fd, r2, 2, 0, 0x40000000));
    SHOW("preadv2 unknown flag, empty", preadv2_(fd, r2, 0, 0, 0x40000000));
    SHOW("pwritev2 APPEND|NOAPPEND", pwritev2_(fd, w2, 1, 0, RWF_APPEND | RWF_NOAPPEND));
    SHOW("preadv bad fd", preadv(99, r2, 2, 0));
    SHOW("preadv iovcnt 1025", syscall(SYS_preadv, fd, r2, 1025, 0, 0));
    SHOW("preadv bad iov", syscall(SYS_preadv, fd, (struct iovec *)8, 1, 0, 0));
    SHOW("preadv iovcnt 0", preadv(fd, r2, 0, 0));

    int ro = open("/etc/passwd", O_RDONLY);
    char p1[8] = {0}, p2[8] = {0}, want[8] = {0};
    struct iovec pr[2] = { { p1, 4 }, { p2, 4 } };
    SHOW("preadv /etc/passwd", preadv(ro, pr, 2, 0));
    pread(ro, want, 8, 0);
    printf("host bytes match: %d\n", memcmp(p1, want, 4) == 0 && memcmp(p2, want + 4, 4) == 0);
    SHOW("pwritev read-only fd", pwritev(ro, w, 2, 0));
    close(ro);

    int p[2];
    if (pipe(p) != 0) return 1;
    SHOW("preadv pipe", preadv(p[0], r2, 2, 0));
    SHOW("pwritev pipe write end", pwritev(p[1], w, 2, 0));
    SHOW("preadv pipe write end", preadv(p[1], r2, 2, 0));
    SHOW("preadv2 NOWAIT empty pipe", preadv2_(p[0], r2, 2, -1, RWF_NOWAIT));
    SHOW("pwritev2 -1 pipe", pwritev2_(p[1], w, 2, -1, 0));
    memset(a, 0, sizeof a); memset(b, 0, sizeof b);
    SHOW("preadv2 -1 pipe", preadv2_(p[0], r2, 2, -1, 0));
    printf("a=[%.2s] b=[%s]\n", a, b);
    SHOW("preadv2 -1 pipe NOWAIT", preadv2_(p[0], r2, 2, -1, RWF_NOWAIT));
    close(p[0]); close(p[1]);
    close(fd);
    return 0;
}
