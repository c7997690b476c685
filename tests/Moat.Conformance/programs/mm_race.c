/* A read(2) into a buffer that a sibling thread unmaps (or MADV_DONTNEEDs) meanwhile must never write into
 * another process's memory: a forked checker allocates fresh memory again and again, checks that it reads
 * as zeros, fills it with a canary and checks that the canary stays. Reads from a /tmp file and from a pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LEN (4u << 20)
#define CHUNK (2u << 20)

static char *buf;
static volatile int stop;
static int file_fd;
static int pipe_fds[2] = {-1, -1};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *file_reader(void *arg) {
    (void)arg;
    while (!stop) {
        ssize_t r = pread(file_fd, buf, LEN, 0);
        if (r < 0 && errno != EFAULT) { printf("pread: %s\n", strerror(errno)); exit(1); }
    }
    return NULL;
}

static void *pipe_writer(void *arg) {
    (void)arg;
    char *src = malloc(1u << 20);
    memset(src, 0xAA, 1u << 20);
    while (!stop) {
        if (write(pipe_fds[1], src, 1u << 20) < 0) { printf("write: %s\n", strerror(errno)); exit(1); }
    }
    close(pipe_fds[1]);
    free(src);
    return NULL;
}

static void *pipe_reader(void *arg) {
    (void)arg;
    for (;;) {
        ssize_t r = read(pipe_fds[0], buf, LEN);
        if (r == 0) break;
        if (r < 0 && errno != EFAULT) { printf("read: %s\n", strerror(errno)); exit(1); }
    }
    return NULL;
}

/* Unmaps and maps the buffer again (or drops its pages) until the time is up. */
static void churn(double seconds) {
    double end = now() + seconds;
    for (int i = 0; now() < end; i++) {
        if (i % 2 == 0) {
            munmap(buf, LEN);
            sched_yield();
            if (mmap(buf, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != buf) {
                printf("mmap: %s\n", strerror(errno));
                exit(1);
            }
        } else {
            madvise(buf, LEN, MADV_DONTNEED);
        }
        sched_yield();
    }
}

/* The other process: fresh memory must read as zeros and keep what it is given. */
static int checker(int stop_fd) {
    char c;
    while (read(stop_fd, &c, 1) < 0 && errno == EAGAIN) {
        unsigned char *m = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return 2;
        for (unsigned i = 0; i < CHUNK; i++) if (m[i] != 0) return 3;
        memset(m, 0x55, CHUNK);
        sched_yield();
        for (unsigned i = 0; i < CHUNK; i++) if (m[i] != 0x55) return 4;
        munmap(m, CHUNK);
    }
    return 0;
}

static int run(const char *what, void *(*reader)(void *), void *(*writer)(void *)) {
    int stop_pipe[2];
    if (pipe2(stop_pipe, O_NONBLOCK) < 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(stop_pipe[1]);
        if (pipe_fds[1] >= 0) close(pipe_fds[1]); /* the reader must see EOF once the writer closes */
        _exit(checker(stop_pipe[0]));
    }
    close(stop_pipe[0]);

    stop = 0;
    pthread_t r, w;
    pthread_create(&r, NULL, reader, NULL);
    if (writer) pthread_create(&w, NULL, writer, NULL);
    churn(1.0);
    stop = 1;
    if (writer) pthread_join(w, NULL);
    pthread_join(r, NULL);

    if (write(stop_pipe[1], "x", 1) != 1) { /* only if the checker already gave up */ }
    int status;
    waitpid(pid, &status, 0);
    close(stop_pipe[1]);
    printf("%s: checker %s\n", what, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "saw foreign bytes");
    return 0;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN); /* a checker that gives up early must not kill us */
    buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) return 1;

    char path[64];
    snprintf(path, sizeof path, "/tmp/mm_race.%d", (int)getpid());
    file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (file_fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
    unlink(path);
    char *src = malloc(LEN);
    memset(src, 0xAA, LEN);
    if (write(file_fd, src, LEN) != (ssize_t)LEN) return 1;
    free(src);
    if (run("file", file_reader, NULL)) return 1;

    if (pipe(pipe_fds) < 0) return 1;
    if (run("pipe", pipe_reader, pipe_writer)) return 1;
    return 0;
}
