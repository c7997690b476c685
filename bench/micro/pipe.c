/* Pipe ping-pong between two processes, one byte each way, N round trips (argv[1]): ns per round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000;
    int ab[2], ba[2];
    pipe(ab);
    pipe(ba);
    char c = 0;
    pid_t p = fork();
    if (p == 0) {
        for (long i = 0; i < n; i++) {
            if (read(ab[0], &c, 1) != 1) _exit(1);
            write(ba[1], &c, 1);
        }
        _exit(0);
    }
    struct timespec a, b;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        write(ab[1], &c, 1);
        read(ba[0], &c, 1);
    }
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
    waitpid(p, NULL, 0);
    printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
    return 0;
}
