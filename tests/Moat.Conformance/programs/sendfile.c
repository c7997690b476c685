/* sendfile, splice, tee and copy_file_range between /tmp files, pipes and a read-only host file:
 * offsets (explicit ones stored back, implicit ones advanced), partial transfers, EOF, non-blocking
 * pipes, and the EINVAL/EBADF/ESPIPE/EISDIR errors in Linux's order. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ESPIPE: return "ESPIPE";
    case EAGAIN: return "EAGAIN";
    case EISDIR: return "EISDIR";
    case EXDEV: return "EXDEV";
    case EPIPE: return "EPIPE";
    case EOVERFLOW: return "EOVERFLOW";
    default: return "other";
    }
}

#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; printf("%s: %ld %s\n", what, _r, _r < 0 ? ename(_e) : "OK"); } while (0)

static void drain(const char *what, int fd) {
    char buf[256] = {0};
    long n = read(fd, buf, sizeof buf - 1);
    printf("%s: %ld [%s]\n", what, n, n > 0 ? buf : "");
}

static int tmpfile_with(const char *data) {
    char path[] = "/tmp/moatsfXXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    if (data) write(fd, data, strlen(data));
    lseek(fd, 0, SEEK_SET);
    return fd;
}

int main(void) {
    int src = tmpfile_with("0123456789abcdefghij");
    int p[2];
    if (pipe(p) != 0) return 1;

    /* sendfile into a pipe, with and without an offset. */
    off_t off = 5;
    SHOW("sendfile file->pipe off 5 len 4", sendfile(p[1], src, &off, 4));
    printf("off now %ld, file offset %ld\n", (long)off, (long)lseek(src, 0, SEEK_CUR));
    drain("pipe", p[0]);
    SHOW("sendfile file->pipe no offset len 3", sendfile(p[1], src, NULL, 3));
    printf("file offset %ld\n", (long)lseek(src, 0, SEEK_CUR));
    drain("pipe", p[0]);
    off = 18;
    SHOW("sendfile near EOF", sendfile(p[1], src, &off, 10));
    printf("off now %ld\n", (long)off);
    drain("pipe", p[0]);
    off = 40;
    SHOW("sendfile past EOF", sendfile(p[1], src, &off, 10));

    /* sendfile file to file. */
    int dst = tmpfile_with(NULL);
    lseek(src, 10, SEEK_SET);
    SHOW("sendfile file->file", sendfile(dst, src, NULL, 100));
    printf("src offset %ld dst offset %ld\n", (long)lseek(src, 0, SEEK_CUR), (long)lseek(dst, 0, SEEK_CUR));
    char buf[64] = {0};
    pread(dst, buf, sizeof buf - 1, 0);
    printf("dst [%s]\n", buf);

    int host = open("/etc/passwd", O_RDONLY);
    char want[16] = {0}, got[16] = {0};
    pread(host, want, 12, 0);
    off = 0;
    SHOW("sendfile host->pipe", sendfile(p[1], host, &off, 12));
    read(p[0], got, 12);
    printf("host bytes match %d\n", memcmp(want, got, 12) == 0);

    /* sendfile errors. */
    off = -1;
    SHOW("sendfile negative offset", sendfile(p[1], src, &off, 1));
    SHOW("sendfile bad in", sendfile(p[1], 99, NULL, 1));
    SHOW("sendfile bad out", sendfile(99, src, NULL, 1));
    SHOW("sendfile in write-only", sendfile(dst, p[1], NULL, 1));
    SHOW("sendfile out read-only", sendfile(host, src, NULL, 1));
    off = 0;
    SHOW("sendfile pipe in with offset", sendfile(dst, p[0], &off, 1));
    write(p[1], "x", 1);
    SHOW("sendfile pipe in", sendfile(dst, p[0], NULL, 1));
    drain("pipe", p[0]);
    int app = tmpfile_with(NULL);
    fcntl(app, F_SETFL, O_APPEND);
    SHOW("sendfile to O_APPEND", sendfile(app, src, NULL, 1));
    SHOW("sendfile bad offset pointer", sendfile(p[1], src, (off_t *)8, 1));
    SHOW("sendfile len 0", sendfile(p[1], src, NULL, 0));

    /* sendfile and splice to a connected unix stream socket. */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
    off = 4;
    SHOW("sendfile file->socket", sendfile(sv[0], src, &off, 6));
    drain("socket", sv[1]);
    write(p[1], "spliced", 7);
    SHOW("splice pipe->socket", splice(p[0], NULL, sv[0], NULL, 100, 0));
    drain("socket", sv[1]);
    write(sv[1], "back", 4);
    SHOW("splice socket->pipe", splice(sv[0], NULL, p[1], NULL, 100, 0));
    drain("pipe", p[0]);
    close(sv[0]);
    close(sv[1]);

    /* The same over a TCP connection on the loopback; a UDP socket takes sendfile too in Linux, not checked here. */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 || getsockname(l, (struct sockaddr *)&a, &alen) != 0) return 1;
    int tc = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(tc, (struct sockaddr *)&a, sizeof a) != 0) return 1;
    int ts = accept(l, NULL, NULL);
    off = 4;
    SHOW("sendfile file->tcp", sendfile(tc, src, &off, 6));
    printf("off now %ld\n", (long)off);
    drain("tcp", ts);
    write(p[1], "spliced", 7);
    SHOW("splice pipe->tcp", splice(p[0], NULL, tc, NULL, 100, 0));
    drain("tcp", ts);
    write(ts, "back", 4);
    SHOW("splice tcp->pipe", splice(tc, NULL, p[1], NULL, 100, 0));
    drain("pipe", p[0]);
    close(tc);
    close(ts);
    close(l);

    /* splice */
    loff_t lo = 2;
    SHOW("splice file->pipe off_in 2", splice(src, &lo, p[1], NULL, 5, 0));
    printf("off_in now %ld\n", (long)lo);
    loff_t lo2 = 1;
    SHOW("splice pipe->file off_out 1", splice(p[0], NULL, dst, &lo2, 100, 0));
    printf("off_out now %ld\n", (long)lo2);
    memset(buf, 0, sizeof buf);
    pread(dst, buf, sizeof buf - 1, 0);
    printf("dst [%s]\n", buf);
    lseek(src, 0, SEEK_SET);
    SHOW("splice file->pipe no offset", splice(src, NULL, p[1], NULL, 3, 0));
    printf("src offset %ld\n", (long)lseek(src, 0, SEEK_CUR));
    int q[2];
    if (pipe(q) != 0) return 1;
    SHOW("splice pipe->pipe", splice(p[0], NULL, q[1], NULL, 2, 0));
    drain("q", q[0]);
    drain("p", p[0]);
    SHOW("splice pipe off_in", splice(p[0], &lo, q[1], NULL, 1, 0));
    SHOW("splice same pipe", splice(p[0], NULL, p[1], NULL, 1, 0));
    SHOW("splice file->file", splice(src, NULL, dst, NULL, 1, 0));
    SHOW("splice bad flags", splice(src, NULL, p[1], NULL, 1, 0x100));
    SHOW("splice len 0", splice(99, NULL, 98, NULL, 0, 0));
    SHOW("splice nonblock empty", splice(p[0], NULL, dst, NULL, 1, SPLICE_F_NONBLOCK));
    SHOW("splice bad fd", splice(99, NULL, p[1], NULL, 1, 0));
    SHOW("splice out read-only", splice(p[0], NULL, host, NULL, 1, 0));
    write(p[1], "y", 1);
    SHOW("splice to O_APPEND", splice(p[0], NULL, app, NULL, 1, 0));
    lo = -3;
    SHOW("splice negative off_in", splice(src, &lo, p[1], NULL, 1, 0));
    drain("p", p[0]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    SHOW("splice O_NONBLOCK empty", splice(p[0], NULL, dst, NULL, 1, 0));

    /* tee */
    write(p[1], "hello", 5);
    SHOW("tee", tee(p[0], q[1], 3, 0));
    drain("q", q[0]);
    drain("p", p[0]);
    SHOW("tee empty nonblock", tee(p[0], q[1], 3, SPLICE_F_NONBLOCK));
    SHOW("tee same pipe", tee(p[0], p[1], 3, 0));
    SHOW("tee file", tee(src, q[1], 3, 0));
    SHOW("tee bad flags", tee(p[0], q[1], 3, 0x100));
    SHOW("tee len 0", tee(p[0], q[1], 0, 0));

    /* copy_file_range */
    int cdst = tmpfile_with("..........");
    loff_t ci = 3, co = 2;
    SHOW("copy_file_range offsets", copy_file_range(src, &ci, cdst, &co, 4, 0));
    printf("ci %ld co %ld\n", (long)ci, (long)co);
    lseek(src, 16, SEEK_SET);
    lseek(cdst, 8, SEEK_SET);
    SHOW("copy_file_range to EOF", copy_file_range(src, NULL, cdst, NULL, 100, 0));
    printf("src offset %ld dst offset %ld\n", (long)lseek(src, 0, SEEK_CUR), (long)lseek(cdst, 0, SEEK_CUR));
    memset(buf, 0, sizeof buf);
    pread(cdst, buf, sizeof buf - 1, 0);
    printf("cdst [%s]\n", buf);
    ci = 100;
    SHOW("copy_file_range past EOF", copy_file_range(src, &ci, cdst, NULL, 5, 0));
    ci = 0; co = 2;
    SHOW("copy_file_range same file overlap", copy_file_range(cdst, &ci, cdst, &co, 4, 0));
    ci = 0; co = 6;
    SHOW("copy_file_range same file apart", copy_file_range(cdst, &ci, cdst, &co, 4, 0));
    memset(buf, 0, sizeof buf);
    pread(cdst, buf, sizeof buf - 1, 0);
    printf("cdst [%s]\n", buf);
    SHOW("copy_file_range flags", copy_file_range(src, NULL, cdst, NULL, 1, 1));
    SHOW("copy_file_range pipe", copy_file_range(p[0], NULL, cdst, NULL, 1, 0));
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    SHOW("copy_file_range dir", copy_file_range(dir, NULL, cdst, NULL, 1, 0));
    SHOW("copy_file_range O_APPEND", copy_file_range(src, NULL, app, NULL, 1, 0));
    SHOW("copy_file_range out read-only", copy_file_range(src, NULL, host, NULL, 1, 0));
    SHOW("copy_file_range bad fd", copy_file_range(99, NULL, cdst, NULL, 1, 0));
    ci = -1;
    SHOW("copy_file_range offset -1", copy_file_range(src, &ci, cdst, NULL, 1, 0));
    ci = -5;
    SHOW("copy_file_range offset -5", copy_file_range(src, &ci, cdst, NULL, 1, 0));
    return 0;
}
