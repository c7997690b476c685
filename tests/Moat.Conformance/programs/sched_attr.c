/* sched_setattr/sched_getattr: struct sched_attr sizes (0 as VER0, E2BIG with the size written back, a
 * larger zero-padded struct, a short one), flags (RESET_ON_FORK, KEEP_POLICY, KEEP_PARAMS, unknown ones),
 * SCHED_OTHER/BATCH/IDLE with nice (read back through getpriority too), SCHED_FIFO/RR with priorities (as
 * root, who holds CAP_SYS_NICE), the rules of each policy, and EINVAL/ESRCH/EFAULT; a child started with
 * reset-on-fork; uid 65534 refused a lower nice and a real-time policy. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCHED_FLAG_RESET_ON_FORK 0x01
#define SCHED_FLAG_KEEP_POLICY 0x08
#define SCHED_FLAG_KEEP_PARAMS 0x10

struct attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

static const char *name(int e) {
    switch (e) {
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case EPERM: return "EPERM";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "OTHER";
    }
}

static long setattr(pid_t pid, void *a, unsigned flags) { return syscall(SYS_sched_setattr, pid, a, flags); }
static long getattr(pid_t pid, void *a, unsigned size, unsigned flags) { return syscall(SYS_sched_getattr, pid, a, size, flags); }

static void show(const char *what, long r) {
    printf("%s: %ld %s\n", what, r, r < 0 ? name(errno) : "OK");
}

static void set(const char *what, uint32_t policy, uint64_t flags, int nice, uint32_t prio) {
    struct attr a;
    memset(&a, 0, sizeof a);
    a.size = 48;
    a.policy = policy;
    a.flags = flags;
    a.nice = nice;
    a.priority = prio;
    show(what, setattr(0, &a, 0));
}

static void get(const char *what) {
    struct attr a;
    memset(&a, 0xee, sizeof a);
    long r = getattr(0, &a, sizeof a, 0);
    errno = 0;
    int prio = getpriority(PRIO_PROCESS, 0);
    printf("%s: %ld size %u policy %u flags %llu nice %d priority %u getpriority %d sched_getscheduler %d\n", what, r, a.size, a.policy,
           (unsigned long long)a.flags, a.nice, a.priority, prio, sched_getscheduler(0));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct attr a;
    get("initial");

    /* Sizes. */
    memset(&a, 0, sizeof a);
    a.size = 0;
    a.nice = 3;
    show("size 0 (VER0)", setattr(0, &a, 0));
    get("after size 0");
    memset(&a, 0, sizeof a);
    a.size = 47;
    show("size 47", setattr(0, &a, 0));
    printf("size written back: %u\n", a.size);
    char big[8192];
    memset(big, 0, sizeof big);
    ((struct attr *)big)->size = 4097;
    show("size 4097", setattr(0, big, 0));
    printf("size written back: %u\n", ((struct attr *)big)->size);
    memset(big, 0, sizeof big);
    ((struct attr *)big)->size = 128;
    ((struct attr *)big)->nice = 2;
    show("size 128, zero tail", setattr(0, big, 0));
    big[100] = 1;
    ((struct attr *)big)->size = 128;
    show("size 128, non-zero tail", setattr(0, big, 0));
    printf("size written back: %u\n", ((struct attr *)big)->size);
    get("after the sizes");

    /* Errors. */
    memset(&a, 0, sizeof a);
    a.size = 48;
    show("NULL", setattr(0, NULL, 0));
    show("flags argument", setattr(0, &a, 1));
    show("pid -1", setattr(-1, &a, 0));
    show("no such pid", setattr(0x3ffffff0, &a, 0));
    show("bad pointer", setattr(0, (void *)16, 0));
    a.policy = 4;
    show("policy 4", setattr(0, &a, 0));
    a.policy = (uint32_t)-1;
    show("policy -1", setattr(0, &a, 0));
    set("unknown flag", SCHED_OTHER, 0x80, 0, 0);
    set("SCHED_OTHER priority 1", SCHED_OTHER, 0, 0, 1);
    set("SCHED_FIFO priority 0", SCHED_FIFO, 0, 0, 0);
    set("SCHED_FIFO priority 100", SCHED_FIFO, 0, 0, 100);
    set("SCHED_DEADLINE zero parameters", 6, 0, 0, 0);
    show("getattr NULL", getattr(0, NULL, 56, 0));
    show("getattr size 47", getattr(0, &a, 47, 0));
    show("getattr size 4097", getattr(0, &a, 4097, 0));
    show("getattr flags", getattr(0, &a, 56, 1));
    show("getattr pid -1", getattr(-1, &a, 56, 0));
    show("getattr no such pid", getattr(0x3ffffff0, &a, 56, 0));
    show("getattr bad pointer", getattr(0, (void *)16, 56, 0));
    memset(big, 0xee, sizeof big);
    show("getattr size 4096", getattr(0, big, 4096, 0));
    printf("bytes past 56 untouched: %d, size %u\n", (unsigned char)big[56] == 0xee, ((struct attr *)big)->size);
    memset(&a, 0xee, sizeof a);
    show("getattr size 48", getattr(0, &a, 48, 0));
    printf("size %u, util fields untouched: %d\n", a.size, a.util_min == 0xeeeeeeee);

    /* Policies. */
    set("SCHED_BATCH nice 5", SCHED_BATCH, 0, 5, 0);
    get("batch");
    set("SCHED_OTHER nice 40 (clamped)", SCHED_OTHER, 0, 40, 0);
    get("clamped");
    set("SCHED_IDLE nice -3", SCHED_IDLE, 0, -3, 0);
    get("idle");
    set("SCHED_FIFO 10", SCHED_FIFO, 0, -7, 10);
    get("fifo");
    set("KEEP_POLICY priority 20", SCHED_OTHER, SCHED_FLAG_KEEP_POLICY, 0, 20);
    get("keep policy");
    set("SCHED_RR KEEP_PARAMS", SCHED_RR, SCHED_FLAG_KEEP_PARAMS, 0, 0);
    get("rr, params kept");
    set("SCHED_OTHER RESET_ON_FORK nice -2", SCHED_OTHER, SCHED_FLAG_RESET_ON_FORK, -2, 0);
    get("reset on fork");
    pid_t pid = fork();
    if (pid == 0) {
        get("child");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    set("SCHED_OTHER nice 0", SCHED_OTHER, 0, 0, 0);
    get("back to normal");

    /* Another thread by tid, and an unprivileged caller. */
    pid = fork();
    if (pid == 0) {
        set("child: SCHED_OTHER nice 4", SCHED_OTHER, 0, 4, 0);
        setresuid(65534, 65534, 65534);
        set("uid 65534: nice 6", SCHED_OTHER, 0, 6, 0);
        set("uid 65534: nice 1", SCHED_OTHER, 0, 1, 0);
        set("uid 65534: SCHED_FIFO 1", SCHED_FIFO, 0, 0, 1);
        set("uid 65534: SCHED_BATCH nice 6", SCHED_BATCH, 0, 6, 0);
        show("uid 65534: setattr of pid 1", setattr(1, &a, 0));
        get("uid 65534");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
