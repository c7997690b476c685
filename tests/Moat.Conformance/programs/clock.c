/* clock.c - clock_gettime / clock_getres / gettimeofday / time, both through
 * glibc (which may use the vDSO) and through raw syscalls (the sandbox has
 * no vDSO yet). Only relations between readings are printed, never times.
 * Exit status 0. */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/time.h>

static const char *errname(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case ESRCH: return "ESRCH";
    default: return "E?";
    }
}

static const char *yesno(int c) { return c ? "yes" : "no"; }

static long long ns(const struct timespec *t) { return (long long)t->tv_sec * 1000000000LL + t->tv_nsec; }

static volatile unsigned long sink;

static void busy(void)
{
    for (unsigned long i = 0; i < 2000000; i++)
        sink += i;
}

static int ts_valid(const struct timespec *t) { return t->tv_nsec >= 0 && t->tv_nsec < 1000000000L; }

int main(void)
{
    struct timespec a, b, r;

    /* glibc path */
    int ra = clock_gettime(CLOCK_MONOTONIC, &a);
    busy();
    int rb = clock_gettime(CLOCK_MONOTONIC, &b);
    printf("clock_gettime monotonic: %d %d\n", ra, rb);
    printf("monotonic nondecreasing: %s\n", yesno(ns(&b) >= ns(&a)));

    /* raw syscall path */
    long sa = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a);
    busy();
    long sb = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
    printf("raw clock_gettime monotonic: %ld %ld\n", sa, sb);
    printf("raw monotonic nondecreasing: %s\n", yesno(ns(&b) >= ns(&a)));
    printf("raw monotonic nsec in range: %s\n", yesno(ts_valid(&a) && ts_valid(&b)));

    /* glibc and raw readings agree on ordering */
    struct timespec g;
    clock_gettime(CLOCK_MONOTONIC, &g);
    printf("glibc after raw: %s\n", yesno(ns(&g) >= ns(&b)));

    /* realtime */
    long sr = syscall(SYS_clock_gettime, CLOCK_REALTIME, &r);
    printf("raw clock_gettime realtime: %ld\n", sr);
    printf("realtime year > 2020: %s\n", yesno(r.tv_sec > 1609459200L)); /* 2021-01-01 */
    struct timespec gr;
    printf("clock_gettime realtime: %d\n", clock_gettime(CLOCK_REALTIME, &gr));
    printf("glibc realtime year > 2020: %s\n", yesno(gr.tv_sec > 1609459200L));

    struct timeval tv;
    int gt = gettimeofday(&tv, NULL);
    printf("gettimeofday works: %s\n", yesno(gt == 0 && tv.tv_sec > 1609459200L && tv.tv_usec >= 0 && tv.tv_usec < 1000000));
    struct timeval tv2;
    long sg = syscall(SYS_gettimeofday, &tv2, NULL);
    printf("raw gettimeofday works: %s\n", yesno(sg == 0 && tv2.tv_sec > 1609459200L && tv2.tv_usec >= 0 && tv2.tv_usec < 1000000));

    time_t t = time(NULL);
    long d = (long)t - (long)r.tv_sec;
    printf("time(NULL) within 5 s of CLOCK_REALTIME: %s\n", yesno(d >= -5 && d <= 5));
    time_t t2 = 0;
    long st = syscall(SYS_time, &t2);
    printf("raw time() consistent: %s\n", yesno(st == (long)t2 && st - (long)r.tv_sec >= -5 && st - (long)r.tv_sec <= 5));

    /* other clocks */
    struct timespec c;
    printf("raw CLOCK_MONOTONIC_RAW: %ld\n", syscall(SYS_clock_gettime, CLOCK_MONOTONIC_RAW, &c));
    printf("raw CLOCK_BOOTTIME: %ld\n", syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &c));
    printf("raw CLOCK_PROCESS_CPUTIME_ID: %ld\n", syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &c));

    /* errors */
    errno = 0;
    long e = syscall(SYS_clock_gettime, 12345, &c);
    printf("raw clock_gettime clock 12345: %ld %s\n", e, errname(errno));
    errno = 0;
    e = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, NULL);
    printf("raw clock_gettime NULL: %ld %s\n", e, errname(errno));

    /* resolution */
    printf("clock_getres monotonic: %d\n", clock_getres(CLOCK_MONOTONIC, &r));
    printf("raw clock_getres monotonic: %ld\n", syscall(SYS_clock_getres, CLOCK_MONOTONIC, &r));
    printf("res sane: %s\n", yesno(r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 10000000));
    printf("raw clock_getres NULL res: %ld\n", syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL));
    errno = 0;
    e = syscall(SYS_clock_getres, 12345, &r);
    printf("raw clock_getres clock 12345: %ld %s\n", e, errname(errno));
    return 0;
}
