/* The vDSO: AT_SYSINFO_EHDR points at an ELF image, and clock_gettime, gettimeofday, time and getcpu work
 * through it in the process, in a forked child (whose vDSO must be at the same address) and in a thread. */
#define _GNU_SOURCE
#include <elf.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int clocks_ok(void) {
    struct timespec a, b, r;
    struct timeval tv;
    if (clock_gettime(CLOCK_MONOTONIC, &a) || clock_gettime(CLOCK_MONOTONIC, &b)) return 0;
    if (b.tv_sec < a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec < a.tv_nsec)) return 0;
    if (clock_gettime(CLOCK_REALTIME, &r) || r.tv_sec < 1600000000) return 0;
    if (gettimeofday(&tv, NULL) || tv.tv_sec < r.tv_sec - 5 || tv.tv_sec > r.tv_sec + 5) return 0;
    time_t t = time(NULL);
    if (t < r.tv_sec - 5 || t > r.tv_sec + 5) return 0;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &a) || clock_gettime(CLOCK_BOOTTIME, &b)) return 0;
    return sched_getcpu() >= 0;
}

static void *thread_main(void *arg) {
    (void)arg;
    return (void *)(long)clocks_ok();
}

int main(void) {
    unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);
    printf("vdso present: %s\n", ehdr ? "yes" : "no");
    if (ehdr) printf("vdso is ELF: %s\n", memcmp((void *)ehdr, ELFMAG, SELFMAG) == 0 ? "yes" : "no");
    printf("clocks in process: %s\n", clocks_ok() ? "ok" : "bad");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(clocks_ok() ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    printf("clocks in forked child: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "bad");
    pthread_t th;
    void *res;
    pthread_create(&th, NULL, thread_main, NULL);
    pthread_join(th, &res);
    printf("clocks in thread: %s\n", res ? "ok" : "bad");
    return 0;
}
