// Load, ROUNDS times: 200 threads, 1000 short-lived processes, 10 000 files created and removed. Prints a line before and
// after each round, then waits for a line on stdin so the host can read the Sentry's memory at each point.
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void *worker(void *arg) {
    volatile long *sum = arg;
    for (int i = 0; i < 1000; i++) __sync_fetch_and_add(sum, 1);
    return NULL;
}

static void wait_line(void) {
    char buf[16];
    if (!fgets(buf, sizeof buf, stdin)) exit(3);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 1;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("start\n");
    wait_line();
    for (int round = 0; round < rounds; round++) {

    volatile long sum = 0;
    pthread_t t[200];
    int made = 0;
    for (int i = 0; i < 200; i++) if (pthread_create(&t[i], NULL, worker, (void *)&sum) == 0) made++;
    for (int i = 0; i < made; i++) pthread_join(t[i], NULL);
    printf("threads: %d, sum %ld\n", made, sum);

    int ok = 0;
    for (int i = 0; i < 1000; i++) {
        pid_t p = fork();
        if (p == 0) _exit(i % 7);
        int st;
        if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == i % 7) ok++;
    }
    printf("processes: %d\n", ok);

    mkdir("/tmp/load", 0755);
    int created = 0, removed = 0;
    char name[64];
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "/tmp/load/f%d", i);
        int fd = open(name, O_CREAT | O_WRONLY | O_EXCL, 0644);
        if (fd >= 0 && write(fd, name, strlen(name)) > 0) created++;
        if (fd >= 0) close(fd);
    }
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "/tmp/load/f%d", i);
        if (unlink(name) == 0) removed++;
    }
    rmdir("/tmp/load");
    printf("files: %d created, %d removed\n", created, removed);
    printf("round %d done\n", round + 1);
    wait_line();
    }
    return 0;
}
