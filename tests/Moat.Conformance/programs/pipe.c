#define _GNU_SOURCE
/* pipe(2)/pipe2(2): data through a pipe between processes, EOF, EPIPE with SIGPIPE ignored,
 * O_NONBLOCK giving EAGAIN, FIONREAD, F_GETPIPE_SZ, and a large transfer across fork. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EBADF: return "EBADF";
    default: return "other";
    }
}

int main(void) {
    int p[2];
    if (pipe(p) != 0) { perror("pipe"); return 1; }
    printf("write: %zd\n", write(p[1], "hello", 5));
    int avail = -1;
    ioctl(p[0], FIONREAD, &avail);
    printf("fionread: %d\n", avail);
    char buf[16] = {0};
    printf("read: %zd %s\n", read(p[0], buf, sizeof buf), buf);
    printf("pipe size: %d\n", fcntl(p[0], F_GETPIPE_SZ));
    ssize_t rc = write(p[0], "x", 1);
    printf("write to read end: %zd %s\n", rc, ename(errno));
    close(p[1]);
    printf("eof read: %zd\n", read(p[0], buf, sizeof buf));
    close(p[0]);

    int q[2];
    pipe2(q, O_NONBLOCK | O_CLOEXEC);
    rc = read(q[0], buf, 1);
    printf("nonblocking empty read: %zd %s\n", rc, ename(errno));
    printf("cloexec: %d\n", fcntl(q[0], F_GETFD) & FD_CLOEXEC);
    int bad[2];
    int ri = pipe2(bad, 0x1);
    printf("pipe2 bad flags: %d %s\n", ri, ename(errno));
    signal(SIGPIPE, SIG_IGN);
    close(q[0]);
    rc = write(q[1], "x", 1);
    printf("write without reader: %zd %s\n", rc, ename(errno));
    close(q[1]);

    /* 1 MiB through a pipe from a child, checksummed. */
    int r[2];
    pipe(r);
    pid_t c = fork();
    if (c == 0) {
        close(r[0]);
        static char chunk[8192];
        for (int i = 0; i < (int)sizeof chunk; i++) chunk[i] = (char)(i * 7);
        for (int k = 0; k < 128; k++) {
            ssize_t off = 0;
            while (off < (ssize_t)sizeof chunk) {
                ssize_t n = write(r[1], chunk + off, sizeof chunk - off);
                if (n <= 0) _exit(2);
                off += n;
            }
        }
        _exit(0);
    }
    close(r[1]);
    unsigned long sum = 0, total = 0;
    char big[4096];
    ssize_t n;
    while ((n = read(r[0], big, sizeof big)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum += (unsigned char)big[i];
        total += n;
    }
    int st;
    waitpid(c, &st, 0);
    printf("transfer: %lu bytes, sum %lu, child %d\n", total, sum, WEXITSTATUS(st));
    return 0;
}
