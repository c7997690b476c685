// A shared mapping of a memfd or a /dev/shm file that reaches past the end of the file: SIGBUS there
// (BUS_ADRERR), until ftruncate, write or fallocate grows the file over the page, which the mapping then
// shows (and another mapping, and a forked child); write(2) from a page past the end is EFAULT, from a
// page the file has grown over it copies the file's bytes.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096L

static sigjmp_buf jump;
static volatile int caught_sig, caught_code;

static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    caught_sig = sig;
    caught_code = si->si_code;
    siglongjmp(jump, 1);
}

// Touches one byte; prints what happened.
static void touch(const char *what, volatile char *p, int write, char value) {
    caught_sig = 0;
    if (sigsetjmp(jump, 1) == 0) {
        if (write) *p = value;
        int v = *p;
        printf("%s: ok, reads %d\n", what, v);
    } else {
        printf("%s: %s code %d\n", what, caught_sig == SIGBUS ? "SIGBUS" : caught_sig == SIGSEGV ? "SIGSEGV" : "other", caught_code);
    }
}

static void run(const char *label, int fd) {
    printf("== %s\n", label);
    ftruncate(fd, PG);
    char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *ro = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED || ro == MAP_FAILED) { printf("mmap: %s\n", strerror(errno)); return; }
    touch("page 0 write", m, 1, 1);
    touch("page 1 read before growth", m + PG, 0, 0);
    touch("page 2 write before growth", m + 2 * PG, 1, 2);
    errno = 0;
    ssize_t w = write(STDOUT_FILENO, m + PG, 0) ; // zero bytes: no access
    printf("write of 0 bytes from past the end: %zd\n", w);
    int pfd[2];
    pipe(pfd);
    errno = 0;
    w = write(pfd[1], m + 2 * PG, 16);
    printf("write(2) from past the end: %zd %s\n", w, w < 0 ? strerrorname_np(errno) : "-");

    printf("ftruncate to 3 pages: %d\n", ftruncate(fd, 3 * PG));
    // The Sentry's copy reaches a page the file has grown over before the program touches it.
    w = write(pfd[1], m + PG, 16);
    printf("write(2) from a grown page: %zd\n", w);
    touch("page 1 read after growth", m + PG, 0, 0);
    touch("page 2 write after growth", m + 2 * PG, 1, 42);
    char b = 0;
    pread(fd, &b, 1, 2 * PG);
    printf("pread sees the store: %d\n", b);
    touch("the read-only mapping sees it", ro + 2 * PG, 0, 0);
    touch("read-only mapping written", ro + 2 * PG, 1, 5);
    touch("page 3 still past the end", m + 3 * PG, 0, 0);

    b = 9;
    printf("pwrite at page 3: %zd\n", pwrite(fd, &b, 1, 3 * PG + 100));
    touch("page 3 after pwrite grew the file", m + 3 * PG + 100, 0, 0);

    pid_t pid = fork();
    if (pid == 0) {
        m[2 * PG + 1] = 77;
        _exit(m[3 * PG + 100] == 9 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child saw the page and wrote: %d %d\n", WEXITSTATUS(status), m[2 * PG + 1]);
    close(pfd[0]);
    close(pfd[1]);
    munmap(m, 4 * PG);
    munmap(ro, 4 * PG);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);

    int fd = memfd_create("grow", 0);
    run("memfd", fd);
    close(fd);

    char name[64];
    snprintf(name, sizeof name, "/dev/shm/memfd_grow.%d", getpid());
    fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    unlink(name);
    run("/dev/shm file", fd);
    close(fd);
    return 0;
}
