/* process_vm_readv/process_vm_writev between processes of one sandbox: reading and writing a child's memory
 * (scattered on both sides), partial transfers that stop at a page boundary on a fault (remote or local),
 * EFAULT when nothing moved, writes to read-only memory, flags (EINVAL), iovec counts and lengths (EINVAL,
 * the zero-length shortcuts that skip the pid), ESRCH for an absent or reaped process, the calling process
 * itself, and EPERM for an unprivileged user against root (ptrace attach rules with the real ids). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static void show(const char *label, ssize_t r) {
    if (r < 0)
        printf("%s: %s\n", label, ename(errno));
    else
        printf("%s: %zd\n", label, r);
}

/* The child's memory: the same addresses in the parent after fork. */
static char text[64] = "the child's own text";
static char *page;  /* two pages, the second unmapped in the child */
static char *rdonly;

static int pipe_to_child[2], pipe_to_parent[2];

static void wait_byte(int fd) {
    char c;
    if (read(fd, &c, 1) != 1) _exit(3);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long ps = sysconf(_SC_PAGESIZE);
    page = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 2 * ps, ps);
    rdonly = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(rdonly, "read only");
    mprotect(rdonly, ps, PROT_READ);
    if (pipe(pipe_to_child) || pipe(pipe_to_parent)) return 1;

    pid_t c = fork();
    if (c == 0) {
        memset(page, 'p', 2 * ps);
        munmap(page + ps, ps);
        strcpy(text, "changed in the child");
        if (write(pipe_to_parent[1], "r", 1) != 1) _exit(2);
        wait_byte(pipe_to_child[0]); /* the parent has written */
        printf("child sees: %s\n", text);
        printf("child page start: %.12s\n", page);
        if (write(pipe_to_parent[1], "d", 1) != 1) _exit(2);
        wait_byte(pipe_to_child[0]);
        _exit(0);
    }
    wait_byte(pipe_to_parent[0]);

    char buf[64] = {0};
    struct iovec l1 = {buf, sizeof text};
    struct iovec r1 = {text, sizeof text};
    show("readv text", process_vm_readv(c, &l1, 1, &r1, 1, 0));
    printf("read: %s\n", buf);

    /* Scattered: 3 local pieces from 2 remote ones. */
    char a[5] = {0}, b[7] = {0}, d[20] = {0};
    struct iovec ls[3] = {{a, 4}, {b, 6}, {d, 10}};
    struct iovec rs[2] = {{text, 8}, {text + 12, 8}};
    show("readv scattered", process_vm_readv(c, ls, 3, rs, 2, 0));
    printf("pieces: [%s] [%s] [%s]\n", a, b, d);

    /* A remote range running into the child's unmapped page stops at its boundary. */
    char *big = malloc(3 * ps);
    struct iovec lb = {big, 2 * ps};
    struct iovec rb = {page + ps - 100, 2 * ps};
    show("readv into unmapped remote page", process_vm_readv(c, &lb, 1, &rb, 1, 0));
    struct iovec rb2[2] = {{page, 10}, {page + ps, 10}};
    show("readv second remote iovec unmapped", process_vm_readv(c, &lb, 1, rb2, 2, 0));
    struct iovec rbad = {page + ps, 10};
    show("readv remote unmapped", process_vm_readv(c, &lb, 1, &rbad, 1, 0));
    /* A local page that faults stops the copy at its boundary too. */
    struct iovec lbad = {page + 2 * ps - 50, 200};
    struct iovec rgood = {page, 200};
    show("readv local page faults", process_vm_readv(c, &lbad, 1, &rgood, 1, 0));
    struct iovec lnull[2] = {{buf, 8}, {NULL, 8}};
    show("readv second local iovec NULL", process_vm_readv(c, lnull, 2, &rgood, 1, 0));

    /* Writes. */
    struct iovec wl = {"written by parent", 18};
    struct iovec wr = {text, 18};
    show("writev text", process_vm_writev(c, &wl, 1, &wr, 1, 0));
    struct iovec wl2[2] = {{"AB", 2}, {"CD", 2}};
    struct iovec wr2 = {page, 4};
    show("writev gathered", process_vm_writev(c, wl2, 2, &wr2, 1, 0));
    struct iovec wro = {rdonly, 4};
    show("writev read-only remote", process_vm_writev(c, &wl, 1, &wro, 1, 0));
    show("writev remote unmapped", process_vm_writev(c, &wl, 1, &rbad, 1, 0));
    if (write(pipe_to_child[1], "w", 1) != 1) return 1;
    wait_byte(pipe_to_parent[0]);

    /* Argument checks. */
    show("flags 1", process_vm_readv(c, &l1, 1, &r1, 1, 1));
    show("liovcnt 1025", process_vm_readv(c, &l1, 1025, &r1, 1, 0));
    show("riovcnt 1025", process_vm_readv(c, &l1, 1, &r1, 1025, 0));
    show("liovcnt 0", process_vm_readv(c, &l1, 0, &r1, 1, 0));
    show("liovcnt 0 bad pid", process_vm_readv(-5, &l1, 0, &r1, 1, 0));
    show("riovcnt 0", process_vm_readv(c, &l1, 1, &r1, 0, 0));
    struct iovec zero = {text, 0};
    show("remote length 0 bad pid", process_vm_readv(999999, &l1, 1, &zero, 1, 0));
    show("bad local iovec array", process_vm_readv(c, (struct iovec *)8, 1, &r1, 1, 0));
    show("bad remote iovec array", process_vm_readv(c, &l1, 1, (struct iovec *)8, 1, 0));
    struct iovec neg = {buf, (size_t)-1};
    show("negative local length", process_vm_readv(c, &neg, 1, &r1, 1, 0));
    show("negative remote length", process_vm_readv(c, &l1, 1, &neg, 1, 0));
    show("absent pid", process_vm_readv(999999, &l1, 1, &r1, 1, 0));

    /* Within the calling process. */
    static char mine[16] = "my own bytes";
    char out[16] = {0};
    struct iovec lm = {out, 12}, rm = {mine, 12};
    show("readv self", process_vm_readv(getpid(), &lm, 1, &rm, 1, 0));
    printf("self read: %s\n", out);

    if (write(pipe_to_child[1], "x", 1) != 1) return 1;
    int st;
    waitpid(c, &st, 0);
    show("reaped child", process_vm_readv(c, &l1, 1, &r1, 1, 0));

    /* An unprivileged user may not reach root's processes, nor a process that is not dumpable. */
    pid_t root_child = fork();
    if (root_child == 0) {
        pause();
        _exit(0);
    }
    pid_t user = fork();
    if (user == 0) {
        if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) _exit(1);
        char ub[8];
        struct iovec ul = {ub, 8}, ur = {text, 8};
        show("user reads root's process", process_vm_readv(root_child, &ul, 1, &ur, 1, 0));
        show("user writes root's process", process_vm_writev(root_child, &ul, 1, &ur, 1, 0));
        show("user reads parent (root)", process_vm_readv(getppid(), &ul, 1, &ur, 1, 0));
        pid_t own = fork();
        if (own == 0) {
            pause();
            _exit(0);
        }
        show("user reads its own child (not dumpable after setresuid)", process_vm_readv(own, &ul, 1, &ur, 1, 0));
        kill(own, SIGKILL);
        waitpid(own, NULL, 0);
        prctl(PR_SET_DUMPABLE, 1);
        own = fork();
        if (own == 0) {
            pause();
            _exit(0);
        }
        show("user reads its own dumpable child", process_vm_readv(own, &ul, 1, &ur, 1, 0));
        printf("bytes: %.8s\n", ub);
        kill(own, SIGKILL);
        waitpid(own, NULL, 0);
        _exit(0);
    }
    waitpid(user, &st, 0);
    printf("user child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    kill(root_child, SIGKILL);
    waitpid(root_child, NULL, 0);
    return 0;
}
