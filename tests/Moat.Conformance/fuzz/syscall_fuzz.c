/* A syscall fuzzer for the Sentry, run only inside the sandbox. It never checks answers against Linux: it
 * checks that the sandbox kernel survives whatever it is asked. Each round forks a child that starts
 * THREADS threads; each thread makes random syscalls with random arguments (small numbers, -1, huge values,
 * pointers into a random-filled buffer, into a PROT_NONE guard page, unmapped and kernel addresses) from a
 * seeded generator. The parent SIGKILLs the child after a time slice: whatever a thread is blocked in must
 * end. Then the next round. Output: one line per round with its seed and how the child ended, then a
 * summary. Reproducible from the seed: syscall_fuzz SEED ROUNDS SLICE_MS THREADS. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)

static unsigned char *buf;   /* random bytes: strings, structs, iovecs all land here */
static unsigned char *guard; /* a PROT_NONE page right after buf */

static uint64_t next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Calls that would end the round early without exercising anything, or reach outside the child. */
static int skipped(long nr) {
    switch (nr) {
    case SYS_exit: case SYS_exit_group: case SYS_rt_sigreturn:
    case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigqueueinfo: case SYS_rt_tgsigqueueinfo:
    case SYS_pidfd_send_signal:
    case SYS_fork: case SYS_vfork: case SYS_clone: case SYS_clone3:
    case SYS_execve: case SYS_execveat:
    case SYS_reboot:
        return 1;
    }
    return 0;
}

static long arg(uint64_t *s) {
    uint64_t r = next(s);
    switch (r % 12) {
    case 0: return 0;
    case 1: return 1;
    case 2: return -1;
    case 3: return (long)(r >> 8) % 64;                      /* small: fds, flags, counts */
    case 4: return (long)(buf + (r >> 8) % BUF_SIZE);       /* into readable, writable memory */
    case 5: return (long)buf;
    case 6: return (long)guard + (long)((r >> 8) % 4096);   /* PROT_NONE */
    case 7: return (long)(buf + BUF_SIZE - (r >> 8) % 64);  /* straddling the guard page */
    case 8: return 0x1000 + (long)((r >> 8) % 0x10000);      /* unmapped, low */
    case 9: return (long)0xffff800000000000ULL;             /* kernel half */
    case 10: return (long)(1UL << ((r >> 8) % 63));         /* powers of two: huge sizes, odd flags */
    default: return (long)r;
    }
}

static void *fuzz_thread(void *p) {
    uint64_t s = (uint64_t)(uintptr_t)p;
    for (;;) {
        long nr = (long)(next(&s) % 470);
        if (skipped(nr)) continue;
        long a[6];
        for (int i = 0; i < 6; i++) a[i] = arg(&s);
        if (next(&s) % 16 == 0) { /* refresh the buffer now and then: results overwrite it */
            for (int i = 0; i < 64; i++) ((uint64_t *)buf)[next(&s) % (BUF_SIZE / 8)] = next(&s);
        }
        syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    return NULL;
}

/* Small fds worth hitting: stdio on /dev/null (the fuzzer's garbage must not reach the real stdout), then
 * a host file, a tmpfs file, a pipe, a socket pair, an eventfd and an epoll instance. */
static void open_targets(void) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    close(null);
    open("/etc/passwd", O_RDONLY);
    open("/tmp/fuzz-file", O_RDWR | O_CREAT, 0600);
    int p[2], sv[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    eventfd(0, 0);
    epoll_create1(0);
}

static void child(uint64_t seed, int threads) {
    open_targets();
    buf = mmap(NULL, BUF_SIZE + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) _exit(100);
    guard = buf + BUF_SIZE;
    mprotect(guard, 4096, PROT_NONE);
    uint64_t s = seed;
    for (int i = 0; i < BUF_SIZE / 8; i++) ((uint64_t *)buf)[i] = next(&s);
    for (int t = 1; t < threads; t++) {
        pthread_t th;
        pthread_create(&th, NULL, fuzz_thread, (void *)(uintptr_t)(seed * 64 + t));
    }
    fuzz_thread((void *)(uintptr_t)(seed * 64));
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    int slice_ms = argc > 3 ? atoi(argv[3]) : 200;
    int threads = argc > 4 ? atoi(argv[4]) : 4;
    int signalled = 0, exited = 0;
    for (int round = 0; round < rounds; round++) {
        uint64_t rs = seed * 1000 + (uint64_t)round;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            child(rs, threads);
            _exit(0);
        }
        struct timespec slice = {slice_ms / 1000, (slice_ms % 1000) * 1000000L};
        nanosleep(&slice, NULL);
        kill(pid, SIGKILL);
        int status;
        pid_t w;
        while ((w = waitpid(pid, &status, __WALL)) < 0 && errno == EINTR) {}
        if (w != pid) { printf("round %d seed %llu: waitpid failed: %s\n", round, (unsigned long long)rs, strerror(errno)); return 1; }
        if (WIFSIGNALED(status)) signalled++; else exited++;
        printf("round %d seed %llu: %s %d\n", round, (unsigned long long)rs,
               WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    printf("fuzz done: %d rounds, %d signalled, %d exited\n", rounds, signalled, exited);
    return 0;
}
