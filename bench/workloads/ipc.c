/* Pipes and unix sockets between two processes: 1-byte ping-pong (ns per round trip) and 64 KiB
 * stream throughput (ns per MiB). usage: ipc pipe|unix pingpong|stream N (N round trips or MiB) */
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "bench.h"

static char buf[65536];

static int make_channel(int unix_socket, int fds[2]) {
    return unix_socket ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds);
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
    int unix_socket = strcmp(argv[1], "unix") == 0, stream = strcmp(argv[2], "stream") == 0;
    long n = atol(argv[3]);
    int there[2], back[2];
    if (make_channel(unix_socket, there) || make_channel(unix_socket, back)) return bench_fail("channel");
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
