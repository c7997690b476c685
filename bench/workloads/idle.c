/* The program whose memory cost the runner measures. usage: idle [burst] SECONDS
 * Plain: prints "ready" and sleeps SECONDS. With "burst" it first runs what a busy container does to its
 * kernel (200 threads at once, 1000 short-lived processes, 10 000 files created and removed in /dev/shm), so
 * the runner measures what the sandbox keeps once the burst is over: memory an idle kernel should give back. */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "bench.h"

#define THREADS 200
#define PROCESSES 1000
#define FILES 10000

static void *thread_main(void *arg) {
    volatile long sum = 0;
    for (long i = 0; i < 1000; i++) sum += i;
    return arg;
}

static int burst(void) {
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, thread_main, NULL) != 0) return bench_fail("pthread_create");
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);

    for (int i = 0; i < PROCESSES; i++) {
        pid_t pid = fork();
        if (pid < 0) return bench_fail("fork");
        if (pid == 0) _exit(0);
        if (waitpid(pid, NULL, 0) != pid) return bench_fail("waitpid");
    }

    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/dev/shm/moat-bench-burst-%d", (int)getpid());
    if (mkdir(dir, 0700) != 0) return bench_fail("mkdir");
    for (int i = 0; i < FILES; i++) {
        snprintf(path, sizeof path, "%s/%d", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
        if (fd < 0 || write(fd, "x", 1) != 1) return bench_fail("create");
        close(fd);
    }
    for (int i = 0; i < FILES; i++) {
        snprintf(path, sizeof path, "%s/%d", dir, i);
        if (unlink(path) != 0) return bench_fail("unlink");
    }
    if (rmdir(dir) != 0) return bench_fail("rmdir");
    return 0;
}

int main(int argc, char **argv) {
    int arg = 1;
    if (argc > arg && strcmp(argv[arg], "burst") == 0) {
        arg++;
        if (burst() != 0) return 1;
    }
    struct timespec t = {argc > arg ? atol(argv[arg]) : 3, 0};
    printf("ready\n");
    fflush(stdout);
    nanosleep(&t, NULL);
    return 0;
}
