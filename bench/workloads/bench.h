/* Shared by Moat's benchmark workloads: a monotonic clock read with a raw syscall (never the vDSO, so the
 * measurement itself costs the same everywhere) and the one output line, nanoseconds per operation. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now_ns(void) {
    struct timespec t;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static inline int bench_report(double start_ns, double ops) {
    printf("%.1f\n", (bench_now_ns() - start_ns) / ops);
    return 0;
}

static inline int bench_fail(const char *what) {
    perror(what);
    return 1;
}
