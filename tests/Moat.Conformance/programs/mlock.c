/* mlock, munlock, mlock2, mlockall, munlockall: what is locked (VmLck in /proc/self/status), flag checks,
   ENOMEM for unmapped ranges, MAP_LOCKED and MCL_FUTURE mappings (EPERM/EAGAIN), RLIMIT_MEMLOCK accounting for an unprivileged caller (EPERM with a zero limit,
   ENOMEM beyond it, pages already locked not counted twice), CAP_IPC_LOCK ignoring the limit, fork. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL

static const char *name(int e) {
    switch (e) {
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN";
    case EFAULT: return "EFAULT";
    default: return "OTHER";
    }
}

static void show(const char *what, long r) {
    printf("%s: %s\n", what, r < 0 ? name(errno) : "ok");
}

static long vmlck(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmLck:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
        }
    }
    if (f) fclose(f);
    return kb;
}

static char *map(size_t pages) {
    char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { printf("mmap failed\n"); exit(1); }
    return p;
}

static int wait_child(pid_t c) {
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void unprivileged(rlim_t limit) {
    struct rlimit rl = {limit, limit};
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0 || setresuid(65534, 65534, 65534) != 0) {
        printf("setup failed\n");
        exit(1);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char *p = map(16);
    printf("start VmLck %ld\n", vmlck());
    show("mlock 16 pages", mlock(p, 16 * PG));
    printf("VmLck %ld\n", vmlck());
    show("mlock again", mlock(p, 16 * PG));
    printf("VmLck %ld\n", vmlck());
    show("munlock 4 pages in the middle", munlock(p + 4 * PG, 4 * PG));
    printf("VmLck %ld\n", vmlck());
    show("munlock unaligned 1 byte", munlock(p + PG + 100, 1));
    printf("VmLck %ld\n", vmlck());
    show("mlock unaligned 2 bytes across a page", mlock(p + 4 * PG + PG - 1, 2));
    printf("VmLck %ld\n", vmlck());
    show("mlock length 0", mlock(p, 0));
    show("munlock all 16", munlock(p, 16 * PG));
    printf("VmLck %ld\n", vmlck());

    /* A hole: the pages before it are locked, the call fails. */
    munmap(p + 8 * PG, PG);
    show("mlock over a hole", mlock(p, 16 * PG));
    printf("VmLck %ld\n", vmlck());
    show("munlock over a hole", munlock(p, 16 * PG));
    printf("VmLck %ld\n", vmlck());
    show("mlock unmapped", mlock(p + 8 * PG, PG));
    show("munlock unmapped", munlock(p + 8 * PG, PG));

    char *none = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mlock PROT_NONE", mlock(none, 4 * PG));
    printf("VmLck %ld\n", vmlck());
    show("munlock PROT_NONE", munlock(none, 4 * PG));
    show("mlock2 MLOCK_ONFAULT PROT_NONE", syscall(SYS_mlock2, none, 4 * PG, 1));
    printf("VmLck %ld\n", vmlck());
    munlock(none, 4 * PG);

    show("mlock2 flags 2", syscall(SYS_mlock2, p, PG, 2));
    show("mlock2 MLOCK_ONFAULT", syscall(SYS_mlock2, p, PG, 1));
    printf("VmLck %ld\n", vmlck());
    show("mlock2 no flags", syscall(SYS_mlock2, p + PG, PG, 0));
    printf("VmLck %ld\n", vmlck());
    munlock(p, 2 * PG);

    show("mlockall 0", mlockall(0));
    show("mlockall 8", mlockall(8));
    show("mlockall MCL_ONFAULT", mlockall(MCL_ONFAULT));
    show("mlockall MCL_CURRENT", mlockall(MCL_CURRENT));
    printf("VmLck positive %d\n", vmlck() > 0);
    show("munlockall", munlockall());
    printf("VmLck %ld\n", vmlck());

    /* MCL_FUTURE: a new mapping is locked; MCL_CURRENT alone leaves new mappings unlocked. */
    show("mlockall MCL_FUTURE|MCL_ONFAULT", mlockall(MCL_FUTURE | MCL_ONFAULT));
    char *f = map(4);
    printf("VmLck %ld\n", vmlck());
    munmap(f, 4 * PG);
    printf("VmLck after munmap %ld\n", vmlck());
    show("munlockall", munlockall());
    f = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    printf("MAP_LOCKED VmLck %ld\n", vmlck());
    munmap(f, 4 * PG);
    f = map(4);
    printf("VmLck %ld\n", vmlck());
    munmap(f, 4 * PG);

    /* Locks are not inherited by fork. */
    mlock(p, 4 * PG);
    pid_t c = fork();
    if (c == 0) {
        printf("child VmLck %ld\n", vmlck());
        _exit(0);
    }
    wait_child(c);
    printf("parent VmLck %ld\n", vmlck());
    munlock(p, 4 * PG);

    /* Root keeps CAP_IPC_LOCK: a zero limit does not stop it. */
    c = fork();
    if (c == 0) {
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_MEMLOCK, &rl);
        show("root, limit 0: mlock", mlock(p, 4 * PG));
        show("root, limit 0: mlockall MCL_CURRENT", mlockall(MCL_CURRENT));
        _exit(0);
    }
    wait_child(c);

    /* Unprivileged, limit 0: EPERM, after the flag checks; munlock needs nothing. */
    c = fork();
    if (c == 0) {
        unprivileged(0);
        show("limit 0: mlock", mlock(p, PG));
        show("limit 0: mlock2 flags 2", syscall(SYS_mlock2, p, PG, 2));
        show("limit 0: mlockall 0", mlockall(0));
        show("limit 0: mlockall MCL_FUTURE", mlockall(MCL_FUTURE));
        show("limit 0: munlock", munlock(p, PG));
        char *m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        show("limit 0: mmap MAP_LOCKED", m == MAP_FAILED ? -1 : 0);
        show("limit 0: munlockall", munlockall());
        _exit(0);
    }
    wait_child(c);

    /* Unprivileged, limit 32 KiB (8 pages). */
    c = fork();
    if (c == 0) {
        unprivileged(8 * PG + 100);
        show("limit 8: mlock 4", mlock(p, 4 * PG));
        show("limit 8: mlock 4 more", mlock(p + 4 * PG, 4 * PG));
        printf("VmLck %ld\n", vmlck());
        show("limit 8: mlock 1 more", mlock(p + 9 * PG, PG));
        show("limit 8: mlock the same 8 again", mlock(p, 8 * PG));
        show("limit 8: munlock 2", munlock(p, 2 * PG));
        show("limit 8: mlock 2 overlapping 1 locked", mlock(p + PG, 2 * PG));
        show("limit 8: mlock 2 new", mlock(p + 9 * PG, 2 * PG));
        printf("VmLck %ld\n", vmlck());
        show("limit 8: mlockall MCL_CURRENT", mlockall(MCL_CURRENT));
        show("limit 8: mlockall MCL_FUTURE", mlockall(MCL_FUTURE));
        char *m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        show("limit 8, MCL_FUTURE: mmap 1 page", m == MAP_FAILED ? -1 : 0);
        m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        show("limit 8, MCL_FUTURE: mmap 2 pages", m == MAP_FAILED ? -1 : 0);
        show("limit 8: munlockall", munlockall());
        m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        show("limit 8: mmap MAP_LOCKED 2 pages", m == MAP_FAILED ? -1 : 0);
        printf("VmLck %ld\n", vmlck());
        m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        show("limit 8: mmap MAP_LOCKED 8 pages", m == MAP_FAILED ? -1 : 0);
        show("limit 8: munlockall", munlockall());
        printf("VmLck %ld\n", vmlck());
        _exit(0);
    }
    wait_child(c);
    return 0;
}
