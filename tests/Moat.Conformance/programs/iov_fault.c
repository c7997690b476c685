/* readv/writev/read/write whose buffers fault part-way, on a /tmp file, a pipe and a unix stream socket: the
 * count of bytes moved before the fault (or EFAULT when none), and which bytes arrived. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, errno == EFAULT ? "EFAULT" : "other");
    else
        printf("%s: %ld\n", what, r);
}

/* Reads back what a file or stream holds now, as text with '.' for NUL. */
static void drain(const char *what, int fd, int stream) {
    char buf[128];
    long n = stream ? read(fd, buf, sizeof buf) : pread(fd, buf, sizeof buf, 0);
    if (n < 0) n = 0;
    for (long i = 0; i < n; i++) if (!buf[i]) buf[i] = '.';
    printf("%s holds %ld [%.*s]\n", what, n, (int)n, buf);
}

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    /* Two pages, the second unmapped: edge is the first byte that faults. */
    char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) { perror("mmap"); return 1; }
    munmap(map + page, page);
    char *edge = map + page;
    memcpy(edge - 10, "0123456789", 10);

    char head[] = "HEAD_", tail[] = "_TAIL";
    struct iovec straddle[3] = { { head, 5 }, { edge - 10, 20 }, { tail, 5 } };
    struct iovec badbase[3] = { { head, 5 }, { NULL, 7 }, { tail, 5 } };
    struct iovec badfirst[2] = { { edge, 4 }, { tail, 5 } };

    char path[] = "/tmp/moativfXXXXXX";
    int f = mkstemp(path);
    if (f < 0) { perror("mkstemp"); return 1; }
    unlink(path);

    show("file writev straddling", writev(f, straddle, 3));
    drain("file", f, 0);
    show("file writev bad base", writev(f, badbase, 3));
    show("file writev first faults", writev(f, badfirst, 2));
    show("file write straddling", write(f, edge - 10, 20));
    show("offset", lseek(f, 0, SEEK_CUR));
    drain("file", f, 0);

    /* Reads into buffers that fault part-way. */
    char a[8] = {0}, b[8] = {0};
    struct iovec rstraddle[3] = { { a, 5 }, { edge - 6, 12 }, { b, 5 } };
    struct iovec rbadfirst[2] = { { edge, 4 }, { b, 5 } };
    lseek(f, 0, SEEK_SET);
    show("file readv straddling", readv(f, rstraddle, 3));
    printf("a=[%.5s] edge=[%.6s]\n", a, edge - 6);
    show("offset", lseek(f, 0, SEEK_CUR));
    show("file readv first faults", readv(f, rbadfirst, 2));
    show("file read straddling", read(f, edge - 3, 10));
    show("offset", lseek(f, 0, SEEK_CUR));
    close(f);

    int p[2];
    if (pipe(p) < 0) { perror("pipe"); return 1; }
    show("pipe writev straddling", writev(p[1], straddle, 3));
    show("pipe writev bad base", writev(p[1], badbase, 3));
    show("pipe writev first faults", writev(p[1], badfirst, 2));
    write(p[1], "abcdefghijklmnop", 16);
    show("pipe readv first faults", readv(p[0], rbadfirst, 2));
    memset(a, 0, sizeof a);
    show("pipe readv straddling", readv(p[0], rstraddle, 3));
    printf("a=[%.5s] edge=[%.6s]\n", a, edge - 6);
    close(p[1]);
    drain("pipe", p[0], 1);
    close(p[0]);

    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0) { perror("socketpair"); return 1; }
    show("socket writev bad base", writev(s[0], badbase, 3));
    show("socket writev first faults", writev(s[0], badfirst, 2));
    shutdown(s[0], SHUT_WR);
    drain("socket", s[1], 1);
    close(s[0]);
    close(s[1]);
    return 0;
}
