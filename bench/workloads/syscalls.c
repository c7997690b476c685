/* Syscall classes: served inside the sandbox kernel, needing a host syscall, reading the clock.
 * usage: syscalls getpid|hostread|clock N [FILE] -> ns per call */
#include <fcntl.h>
#include <string.h>
#include "bench.h"

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    long n = atol(argv[2]);
    double t0;
    if (strcmp(mode, "getpid") == 0) {
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++) syscall(SYS_getpid);
    } else if (strcmp(mode, "hostread") == 0) {
        int fd = open(argc > 3 ? argv[3] : "/etc/passwd", O_RDONLY);
        if (fd < 0) return bench_fail("open");
        char c;
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++)
            if (pread(fd, &c, 1, 0) != 1) return bench_fail("pread");
    } else if (strcmp(mode, "clock") == 0) {
        struct timespec ts;
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++) clock_gettime(CLOCK_MONOTONIC, &ts);
    } else {
        return 2;
    }
    return bench_report(t0, n);
}
