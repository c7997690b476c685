// Attempts to leave the sandbox, each printed as "NAME: denied" (or another fixed word) or "NAME: ESCAPED ...".
// Run by EscapeTests under `moat do --root ROOT`, with ROOT holding this program and the links the test made.
// argv: 1 canary (absolute host path, outside ROOT), 2 its secret text, 3 a host pid that must not be
// signalled, 4 the canary's host inode (for a forged file handle), 5 a FIFO outside ROOT whose host writer
// waits for a reader (opening it here, even O_NONBLOCK, would release it: the test checks it stays blocked).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define STUB_PAGE 0x7f0000000000UL

static const char *secret;

// Opens path and reports whether the secret came back.
static void try_open(const char *name, const char *path) {
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: denied\n", name);
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    printf("%s: %s\n", name, strstr(buf, secret) ? "ESCAPED" : "denied");
}

// Opens a FIFO path without blocking: success means a host FIFO was reached.
static void try_fifo(const char *name, const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    printf("%s: %s\n", name, fd >= 0 ? "ESCAPED" : "denied");
    if (fd >= 0) close(fd);
}

static volatile int flipping = 1;

static void *flipper(void *arg) {
    const char *target = arg;
    while (flipping) {
        unlink("/tmp/flip");
        symlink("/inside.txt", "/tmp/flip");
        unlink("/tmp/flip");
        symlink(target, "/tmp/flip");
    }
    return NULL;
}

// Opens path many times while it may be swapped; reports if the secret ever came back.
static void race(const char *name, const char *path, int rounds) {
    int escaped = 0;
    for (int i = 0; i < rounds; i++) {
        char buf[256];
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        if (strstr(buf, secret)) escaped = 1;
    }
    printf("%s: %s\n", name, escaped ? "ESCAPED" : "denied");
}

static sigjmp_buf jump_back;
static volatile long trapped_rax;

static void on_fault(int sig, siginfo_t *si, void *ctx) {
    (void)si;
    if (sig == SIGTRAP) trapped_rax = ((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RAX];
    siglongjmp(jump_back, sig);
}

int main(int argc, char **argv) {
    if (argc < 6) return 2;
    const char *fifo = argv[5];
    const char *canary = argv[1];
    secret = argv[2];
    int host_pid = atoi(argv[3]);
    unsigned long canary_ino = strtoul(argv[4], NULL, 10);
    char path[4096];
    setvbuf(stdout, NULL, _IONBF, 0);

    // Paths: the host path itself, "..", links made on the host inside the root, links made in the sandbox.
    try_open("absolute", canary);
    snprintf(path, sizeof path, "/../../../../../..%s", canary);
    try_open("dotdot-absolute", path);
    try_open("dotdot-relative", "../outside/canary.txt");
    try_open("host-link-absolute", "/abs-link");
    try_open("host-link-relative", "/rel-link");
    try_open("host-dir-link", "/dir-link/canary.txt");
    symlink(canary, "/tmp/abs");
    try_open("app-link-absolute", "/tmp/abs");
    symlink("../../../../outside/canary.txt", "/tmp/rel");
    try_open("app-link-relative", "/tmp/rel");

    try_fifo("fifo-absolute", fifo);
    try_fifo("fifo-host-link", "/fifo-link");
    snprintf(path, sizeof path, "/../..%s", fifo);
    try_fifo("fifo-dotdot", path);
    snprintf(path, sizeof path, "/proc/self/root%s", fifo);
    try_fifo("fifo-proc-self-root", path);

    // /proc magic links: our root, the sandbox's init, and the pid of a host process.
    snprintf(path, sizeof path, "/proc/self/root%s", canary);
    try_open("proc-self-root", path);
    snprintf(path, sizeof path, "/proc/self/cwd/../..%s", canary);
    try_open("proc-self-cwd", path);
    snprintf(path, sizeof path, "/proc/1/root%s", canary);
    try_open("proc-1-root", path);
    snprintf(path, sizeof path, "/proc/%d/root%s", host_pid, canary);
    try_open("proc-hostpid-root", path);
    snprintf(path, sizeof path, "/proc/%d/cwd", host_pid);
    printf("proc-hostpid-cwd: %s\n", access(path, F_OK) == 0 ? "ESCAPED" : "denied");

    // File handles: a forged one naming the canary's inode, and whatever name_to_handle_at gives.
    {
        struct { unsigned int bytes; int type; uint32_t ino; uint32_t gen; } h = { 8, 1 /* FILEID_INO32_GEN */, (uint32_t)canary_ino, 0 };
        int fd = syscall(SYS_open_by_handle_at, AT_FDCWD, &h, O_RDONLY);
        printf("open-by-handle: %s\n", fd >= 0 ? "ESCAPED" : "denied");
        struct { unsigned int bytes; int type; unsigned char f[128]; } nh = { 128, 0, {0} };
        int mount_id;
        long r = syscall(SYS_name_to_handle_at, AT_FDCWD, "/inside.txt", &nh, &mount_id, 0);
        fd = r == 0 ? (int)syscall(SYS_open_by_handle_at, AT_FDCWD, &nh, O_RDONLY) : -1;
        printf("name-to-handle: %s\n", fd >= 0 ? "ESCAPED" : "denied");
    }

    // Races: a link in the sandbox flipped by a thread; a link in the root flipped by the host (the test).
    {
        pthread_t t;
        pthread_create(&t, NULL, flipper, (void *)canary);
        race("race-app-link", "/tmp/flip", 3000);
        flipping = 0;
        pthread_join(t, NULL);
        race("race-host-link", "/host-flip", 3000);
    }

    // /proc/self/mem reaches our own memory, and nothing outside it (the stub page, the Sentry).
    {
        static volatile char mine[8] = "before";
        int fd = open("/proc/self/mem", O_RDWR);
        long w = fd >= 0 ? pwrite(fd, "after", 6, (off_t)(uintptr_t)mine) : -1;
        printf("procmem-own: %s\n", w == 6 && strcmp((const char *)mine, "after") == 0 ? "written" : "failed");
        w = fd >= 0 ? pwrite(fd, "\xcc\xcc\xcc\xcc", 4, (off_t)(STUB_PAGE + 0x100)) : -1;
        printf("procmem-stub: %s\n", w >= 0 ? "ESCAPED" : "denied");
        char c;
        long rd = fd >= 0 ? pread(fd, &c, 1, (off_t)(STUB_PAGE + 0x100)) : -1;
        printf("procmem-stub-read: %s\n", rd >= 0 ? "ESCAPED" : "denied");
        if (fd >= 0) close(fd);
    }

    // ptrace and signals towards the host process.
    errno = 0;
    long pr = ptrace(PTRACE_ATTACH, host_pid, NULL, NULL);
    printf("ptrace-hostpid: %s\n", pr == 0 ? "ESCAPED" : "denied");
    pr = ptrace(PTRACE_ATTACH, getppid() > 0 ? getppid() : 1, NULL, NULL);
    printf("ptrace-parent: %s\n", pr == 0 ? "ESCAPED" : "denied");
    printf("kill-hostpid: %s\n", kill(host_pid, SIGKILL) == 0 ? "ESCAPED" : "denied");
    printf("kill0-hostpid: %s\n", kill(host_pid, 0) == 0 ? "ESCAPED" : "denied");
    printf("tgkill-hostpid: %s\n", syscall(SYS_tgkill, host_pid, host_pid, SIGKILL) == 0 ? "ESCAPED" : "denied");

    // No fd of the Sentry shows: /proc/self/fd lists 0, 1, 2 and the directory being read, fcntl finds no more.
    {
        int extra = 0;
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            int n = atoi(e->d_name);
            if (e->d_name[0] != '.' && n > 2 && n != dirfd(d)) extra++;
        }
        if (d) closedir(d);
        int open_fds = 0;
        for (int fd = 3; fd < 4096; fd++) {
            if (fcntl(fd, F_GETFD) >= 0) open_fds++;
        }
        printf("fd-listing: %s\n", extra == 0 ? "clean" : "LEAKED");
        printf("fd-probe: %s\n", open_fds == 0 ? "clean" : "LEAKED");
    }

    // Whatever Moat keeps above the user address range: not in our maps; jumping into it with a crafted
    // syscall is one more syscall served by the Sentry (kill of a host pid: ESRCH).
    {
        FILE *m = fopen("/proc/self/maps", "r");
        char line[512];
        int listed = 0;
        while (m && fgets(line, sizeof line, m)) {
            if (strtoul(line, NULL, 16) >= STUB_PAGE && strstr(line, "[vsyscall]") == NULL && strstr(line, "[vdso]") == NULL && strstr(line, "[vvar") == NULL)
                listed = 1;
        }
        if (m) fclose(m);
        printf("maps-above-user: %s\n", listed ? "listed" : "hidden");

        struct sigaction sa = { 0 };
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        sigaction(SIGTRAP, &sa, NULL);
        const unsigned char *page = (const unsigned char *)STUB_PAGE;
        const unsigned char *gadget = NULL;
        if (sigsetjmp(jump_back, 1) == 0) {
            for (int i = 0; i + 2 < 4096; i++) {
                if (page[i] == 0x0f && page[i + 1] == 0x05 && page[i + 2] == 0xcc) { gadget = page + i; break; }
            }
            printf("stub-page: %s\n", gadget ? "readable" : "no gadget");
        } else {
            printf("stub-page: unmapped\n");
        }
        if (gadget) {
            int sig = sigsetjmp(jump_back, 1);
            if (sig == 0) {
                register long rax __asm__("rax") = SYS_kill;
                register long rdi __asm__("rdi") = host_pid;
                register long rsi __asm__("rsi") = SIGKILL;
                __asm__ volatile("sub $256, %%rsp\n\tcall *%3" : "+r"(rax) : "r"(rdi), "r"(rsi), "r"(gadget) : "memory", "rcx", "r11");
                printf("stub-jump: returned\n");
            } else {
                printf("stub-jump: %s\n", sig == SIGTRAP && trapped_rax == -ESRCH ? "served by the sentry (ESRCH)" : "ESCAPED?");
            }
        }
    }

    printf("done\n");
    return 0;
}
