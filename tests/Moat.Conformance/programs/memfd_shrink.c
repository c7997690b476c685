/* Shrinking a mapped memfd (and a /dev/shm file) drops the pages past the new size: an access there raises
 * SIGBUS (in the process that shrank it and in a forked child sharing the mapping), growing it back shows
 * zeroes, and FALLOC_FL_PUNCH_HOLE zeroes a mapped page in place. A private mapping shows the file until it
 * writes a page; a truncate takes even its own copies past the new end away (SIGBUS, then the file's zeroes),
 * while a punched hole leaves its copies alone. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int bus;

static void on_bus(int sig) {
    (void)sig;
    bus++;
    siglongjmp(env, 1);
}

static const char *probe(volatile char *p) {
    if (sigsetjmp(env, 1) == 0) {
        char c = *p;
        static char out[32];
        snprintf(out, sizeof out, "reads %d", c);
        return out;
    }
    return "SIGBUS";
}

static const char *poke(volatile char *p) {
    if (sigsetjmp(env, 1) == 0) {
        *p = 7;
        return "written";
    }
    return "SIGBUS";
}

static void run(const char *label, int fd) {
    long pg = sysconf(_SC_PAGESIZE);
    printf("-- %s\n", label);
    ftruncate(fd, 4 * pg);
    char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    for (int i = 0; i < 4; i++)
        m[i * pg] = 'a' + i;
    /* A child forked before the shrink, with the pages mapped in it too: they leave its mapping as well. */
    int go[2], done[2];
    pipe(go);
    pipe(done);
    pid_t early = fork();
    if (early == 0) {
        volatile char touch = m[2 * pg] + m[3 * pg];
        char t = touch;
        write(done[1], &t, 1);
        if (read(go[0], &t, 1) != 1)
            _exit(1);
        printf("early child page 1: %s\n", probe(m + pg));
        printf("early child page 2: %s\n", probe(m + 2 * pg));
        printf("early child page 3 write: %s\n", poke(m + 3 * pg));
        write(done[1], &t, 1);
        /* Then the parent punches a hole in page 1 (after growing the file back). */
        if (read(go[0], &t, 1) != 1)
            _exit(1);
        printf("early child page 1 after the punch: %s\n", probe(m + pg));
        _exit(0);
    }
    char t = 0;
    read(done[0], &t, 1);
    printf("ftruncate to 1.5 pages: %d\n", ftruncate(fd, pg + pg / 2));
    write(go[1], &t, 1);
    read(done[0], &t, 1);
    printf("page 0: %s\n", probe(m));
    printf("page 1, below the size: %s\n", probe(m + pg));
    printf("page 1, past the size in the last page: %s\n", probe(m + pg + pg / 2 + 10));
    printf("page 2: %s\n", probe(m + 2 * pg));
    printf("page 3 write: %s\n", poke(m + 3 * pg));
    pid_t c = fork();
    if (c == 0) {
        printf("child page 2: %s\n", probe(m + 2 * pg));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("ftruncate back to 4 pages: %d\n", ftruncate(fd, 4 * pg));
    printf("page 1 tail: %s\n", probe(m + pg + pg / 2 + 10));
    printf("page 2: %s\n", probe(m + 2 * pg));
    printf("page 3: %s\n", probe(m + 3 * pg));
    m[2 * pg] = 'x';
    char b = 0;
    pread(fd, &b, 1, 2 * pg);
    printf("pread page 2 after a store: %c\n", b);
    printf("punch page 1: %d\n", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pg, pg));
    write(go[1], &t, 1);
    waitpid(early, NULL, 0);
    close(go[0]);
    close(go[1]);
    close(done[0]);
    close(done[1]);
    printf("punch page 2: %d\n", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * pg, pg));
    printf("page 2 after punch: %s\n", probe(m + 2 * pg));
    printf("page 0 after punch: %s\n", probe(m));
    munmap(m, 4 * pg);

    char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    pwrite(fd, "F", 1, 0);
    pwrite(fd, "G", 1, pg);
    pwrite(fd, "H", 1, 2 * pg);
    printf("private sees the file: %c%c%c\n", p[0], p[pg], p[2 * pg]);
    p[0] = 'p';
    p[pg] = 'q';
    pwrite(fd, "I", 1, 0);
    pwrite(fd, "J", 1, 2 * pg);
    printf("after its writes and the file's: %c%c%c\n", p[0], p[pg], p[2 * pg]);
    printf("punch page 1: %d\n", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pg, pg));
    printf("private copy of page 1 stays: %c\n", p[pg]);
    printf("ftruncate to 1 page: %d\n", ftruncate(fd, pg));
    printf("private page 0 (own copy, inside): %s\n", probe(p));
    printf("private page 1 (own copy, past the end): %s\n", probe(p + pg));
    printf("private page 2 write: %s\n", poke(p + 2 * pg));
    printf("ftruncate to 3 pages: %d\n", ftruncate(fd, 3 * pg));
    printf("private page 1 after regrowth: %s\n", probe(p + pg));
    printf("private page 0: %c\n", p[0]);
    munmap(p, 3 * pg);
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {0};
    sa.sa_handler = on_bus;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGBUS, &sa, NULL);
    run("memfd", memfd_create("shrink", 0));
    char name[64];
    snprintf(name, sizeof name, "/dev/shm/memfd_shrink.%d", getpid());
    int fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    unlink(name);
    run("/dev/shm", fd);
    printf("SIGBUS count: %d\n", bus);
    return 0;
}
