/* Pipes, unix sockets and TCP on 127.0.0.1 between two processes: 1-byte ping-pong (ns per round trip)
 * and 64 KiB stream throughput (ns per MiB). usage: ipc pipe|unix|tcp pingpong|stream N (N round trips or MiB) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "bench.h"

static char buf[65536];

/* A TCP connection over loopback: fds[0] is the accepted end (read), fds[1] the client (write). */
static int tcp_channel(int fds[2]) {
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    int one = 1, l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &len)) return -1;
    if (connect(c, (struct sockaddr *)&a, sizeof a)) return -1;
    fds[0] = accept(l, NULL, NULL);
    fds[1] = c;
    close(l);
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fds[0] < 0 ? -1 : 0;
}

static int make_channel(const char *kind, int fds[2]) {
    if (strcmp(kind, "tcp") == 0) return tcp_channel(fds);
    return strcmp(kind, "unix") == 0 ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds);
}

static int full_read(int fd, long bytes) {
    while (bytes > 0) {
        ssize_t r = read(fd, buf, bytes < (long)sizeof buf ? bytes : (long)sizeof buf);
        if (r <= 0) return -1;
        bytes -= r;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int stream = strcmp(argv[2], "stream") == 0;
    long n = atol(argv[3]);
    int there[2], back[2];
    if (make_channel(argv[1], there) || make_channel(argv[1], back)) return bench_fail("channel");
    pid_t pid = fork();
    if (pid < 0) return bench_fail("fork");
    if (pid == 0) {
        if (stream) {
            _exit(full_read(there[0], n << 20) == 0 && write(back[1], "k", 1) == 1 ? 0 : 1);
        }
        char c;
        for (long i = 0; i < n; i++)
            if (read(there[0], &c, 1) != 1 || write(back[1], &c, 1) != 1) _exit(1);
        _exit(0);
    }
    char c = 'p';
    double t0 = bench_now_ns();
    if (stream) {
        for (long left = n << 20; left > 0; left -= sizeof buf)
            if (write(there[1], buf, sizeof buf) != sizeof buf) return bench_fail("write");
        if (read(back[0], &c, 1) != 1) return bench_fail("read");
    } else {
        for (long i = 0; i < n; i++)
            if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1) return bench_fail("pingpong");
    }
    double end = bench_now_ns();
    int status;
    waitpid(pid, &status, 0);
    printf("%.1f\n", (end - t0) / n);
    return status == 0 ? 0 : 1;
}
