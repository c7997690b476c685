/* Scheduling policies and nice values: sched_{get,set}{scheduler,param}, priority ranges, rr interval,
   get/setpriority (raw 20-nice encoding, per thread, groups, users), inheritance and SCHED_RESET_ON_FORK,
   and the rules for an unprivileged user (RLIMIT_NICE, RLIMIT_RTPRIO, other users' tasks). Real-time
   policies are only set in short-lived children. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *name(int e) {
    switch (e) {
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    default: return "OTHER";
    }
}

static void show(const char *what, long r) {
    int e = errno;
    printf("%s: %ld %s\n", what, r, r < 0 ? name(e) : "OK");
    errno = 0;
}

static long prio(int which, int who) { return syscall(SYS_getpriority, which, who); }
static long setprio(int which, int who, int nice) { return syscall(SYS_setpriority, which, who, nice); }

static long set_sched(int pid, int policy, int priority) {
    struct sched_param p = {priority};
    return syscall(SYS_sched_setscheduler, pid, policy, &p);
}

static int param(int pid) {
    struct sched_param p = {-1};
    syscall(SYS_sched_getparam, pid, &p);
    return p.sched_priority;
}

static void rr(const char *what) {
    struct timespec ts = {-1, -1};
    long r = syscall(SYS_sched_rr_get_interval, 0, &ts);
    printf("%s: %ld %ld.%09ld\n", what, r, (long)ts.tv_sec, ts.tv_nsec);
}

static int wait_child(pid_t c) {
    int status;
    waitpid(c, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void ranges(void) {
    for (int policy = -1; policy <= 8; policy++) {
        long mx = syscall(SYS_sched_get_priority_max, policy);
        int e1 = errno;
        long mn = syscall(SYS_sched_get_priority_min, policy);
        int e2 = errno;
        printf("policy %d: max %ld %s, min %ld %s\n", policy, mx, mx < 0 ? name(e1) : "OK", mn, mn < 0 ? name(e2) : "OK");
        errno = 0;
    }
}

static void errors(void) {
    struct sched_param p = {0};
    struct timespec ts;
    show("getscheduler -1", syscall(SYS_sched_getscheduler, -1));
    show("getscheduler no such pid", syscall(SYS_sched_getscheduler, 999999));
    show("getparam NULL", syscall(SYS_sched_getparam, 0, NULL));
    show("getparam -1", syscall(SYS_sched_getparam, -1, &p));
    show("getparam bad pointer", syscall(SYS_sched_getparam, 0, (void *)8));
    show("getparam no such pid", syscall(SYS_sched_getparam, 999999, &p));
    show("setscheduler policy -1", set_sched(0, -1, 0));
    show("setscheduler policy 4", set_sched(0, 4, 0));
    show("setscheduler SCHED_DEADLINE", set_sched(0, 6, 0));
    show("setscheduler policy 8", set_sched(0, 8, 0));
    show("setscheduler OTHER priority 1", set_sched(0, SCHED_OTHER, 1));
    show("setscheduler FIFO priority 0", set_sched(0, SCHED_FIFO, 0));
    show("setscheduler FIFO priority 100", set_sched(0, SCHED_FIFO, 100));
    show("setscheduler FIFO priority -1", set_sched(0, SCHED_FIFO, -1));
    show("setscheduler NULL param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL));
    show("setscheduler bad param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, (void *)8));
    show("setscheduler bad param, no such pid", syscall(SYS_sched_setscheduler, 999999, SCHED_OTHER, (void *)8));
    show("setscheduler pid -1", set_sched(-1, SCHED_OTHER, 0));
    show("setscheduler no such pid", set_sched(999999, SCHED_OTHER, 0));
    show("setparam NULL", syscall(SYS_sched_setparam, 0, NULL));
    p.sched_priority = 3;
    show("setparam 3 while SCHED_OTHER", syscall(SYS_sched_setparam, 0, &p));
    show("rr_get_interval -1", syscall(SYS_sched_rr_get_interval, -1, &ts));
    show("rr_get_interval no such pid", syscall(SYS_sched_rr_get_interval, 999999, &ts));
    show("rr_get_interval bad pointer", syscall(SYS_sched_rr_get_interval, 0, (void *)8));
    show("rr_get_interval normal", syscall(SYS_sched_rr_get_interval, 0, &ts) < 0 ? -1 : 0);
    show("getpriority which 3", prio(3, 0));
    show("getpriority which -1", prio(-1, 0));
    show("setpriority which 3", setprio(3, 0, 0));
    show("getpriority no such pid", prio(PRIO_PROCESS, 999999));
    show("getpriority pid -5", prio(PRIO_PROCESS, -5));
    show("setpriority no such pid", setprio(PRIO_PROCESS, 999999, 0));
    show("getpriority no such group", prio(PRIO_PGRP, 999999));
    show("getpriority group -1", prio(PRIO_PGRP, -1));
    show("getpriority user nobody-has", prio(PRIO_USER, (int)4000000000u));
    show("setpriority user nobody-has", setprio(PRIO_USER, (int)4000000000u, 0));
}

static long thread_raw;
static int thread_tid;
static int thread_go;

static void *nice_thread(void *arg) {
    (void)arg;
    __atomic_store_n(&thread_tid, (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&thread_go, __ATOMIC_SEQ_CST)) usleep(1000);
    thread_raw = prio(PRIO_PROCESS, 0);
    return NULL;
}

static void nice_values(void) {
    show("raw getpriority", prio(PRIO_PROCESS, 0));
    show("getscheduler", syscall(SYS_sched_getscheduler, 0));
    printf("getparam: %d\n", param(0));
    show("setpriority 5", setprio(PRIO_PROCESS, 0, 5));
    show("raw getpriority", prio(PRIO_PROCESS, 0));
    errno = 0;
    int n = getpriority(PRIO_PROCESS, 0);
    printf("glibc getpriority: %d errno %d\n", n, errno);
    show("setpriority 100 (clamped)", setprio(PRIO_PROCESS, 0, 100));
    show("raw getpriority", prio(PRIO_PROCESS, 0));
    show("setpriority -100 (clamped)", setprio(PRIO_PROCESS, getpid(), -100));
    show("raw getpriority", prio(PRIO_PROCESS, getpid()));
    show("setpriority 2", setprio(PRIO_PROCESS, 0, 2));

    /* Nice values belong to threads: PRIO_PROCESS takes a thread id. */
    pthread_t th;
    pthread_create(&th, NULL, nice_thread, NULL);
    while (!__atomic_load_n(&thread_tid, __ATOMIC_SEQ_CST)) usleep(1000);
    show("thread inherited", prio(PRIO_PROCESS, thread_tid));
    show("setpriority thread 7", setprio(PRIO_PROCESS, thread_tid, 7));
    show("thread by tid", prio(PRIO_PROCESS, thread_tid));
    show("self unchanged", prio(PRIO_PROCESS, 0));
    __atomic_store_n(&thread_go, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    printf("thread saw raw %ld\n", thread_raw);
}

static void inheritance(void) {
    pid_t c = fork();
    if (c == 0) _exit((int)prio(PRIO_PROCESS, 0));
    printf("child's raw priority: %d\n", wait_child(c));

    /* SCHED_RESET_ON_FORK undoes a negative nice in the child, and only there. */
    setprio(PRIO_PROCESS, 0, -5);
    show("OTHER|RESET_ON_FORK", set_sched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0));
    show("getscheduler", syscall(SYS_sched_getscheduler, 0));
    c = fork();
    if (c == 0) _exit((int)prio(PRIO_PROCESS, 0) + 100 * (int)syscall(SYS_sched_getscheduler, 0));
    printf("reset child: %d\n", wait_child(c));
    show("parent still", prio(PRIO_PROCESS, 0));
    show("OTHER", set_sched(0, SCHED_OTHER, 0));
    show("getscheduler", syscall(SYS_sched_getscheduler, 0));
    show("BATCH", set_sched(0, SCHED_BATCH, 0));
    c = fork();
    if (c == 0) _exit((int)syscall(SYS_sched_getscheduler, 0));
    printf("batch child's policy: %d\n", wait_child(c));
    rr("rr_get_interval batch");
    show("IDLE", set_sched(0, SCHED_IDLE, 0));
    show("raw getpriority under IDLE", prio(PRIO_PROCESS, 0));
    show("OTHER", set_sched(0, SCHED_OTHER, 0));
    setprio(PRIO_PROCESS, 0, 0);
}

static void real_time(void) {
    pid_t c = fork();
    if (c == 0) {
        struct sched_param p = {20};
        setprio(PRIO_PROCESS, 0, 4);
        show("FIFO 10", set_sched(0, SCHED_FIFO, 10));
        show("getscheduler", syscall(SYS_sched_getscheduler, 0));
        printf("getparam: %d\n", param(0));
        show("setparam 20", syscall(SYS_sched_setparam, 0, &p));
        printf("getparam: %d\n", param(0));
        p.sched_priority = 0;
        show("setparam 0 while FIFO", syscall(SYS_sched_setparam, 0, &p));
        show("raw getpriority keeps the nice value", prio(PRIO_PROCESS, 0));
        rr("rr_get_interval FIFO");
        show("RR 5", set_sched(0, SCHED_RR, 5));
        rr("rr_get_interval RR");
        show("RR|RESET_ON_FORK 6", set_sched(0, SCHED_RR | SCHED_RESET_ON_FORK, 6));
        show("getscheduler", syscall(SYS_sched_getscheduler, 0));
        pid_t g = fork();
        if (g == 0) _exit((int)prio(PRIO_PROCESS, 0) + 100 * (int)syscall(SYS_sched_getscheduler, 0) + 10 * param(0));
        printf("reset grandchild: %d\n", wait_child(g));
        show("FIFO 1 no reset", set_sched(0, SCHED_FIFO, 1));
        g = fork();
        if (g == 0) _exit((int)syscall(SYS_sched_getscheduler, 0) * 100 + param(0));
        printf("FIFO grandchild: %d\n", wait_child(g));
        show("OTHER", set_sched(0, SCHED_OTHER, 0));
        printf("getparam: %d\n", param(0));
        _exit(0);
    }
    printf("real-time child: %d\n", wait_child(c));
}

static void unprivileged(void) {
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        /* Only lowering limits needs no privilege (the suite's root may lack CAP_SYS_RESOURCE). */
        struct rlimit zero = {0, 0};
        setrlimit(RLIMIT_NICE, &zero);
        setrlimit(RLIMIT_RTPRIO, &zero);
        /* A uid of its own, so that PRIO_USER reaches no one else's processes. */
        uid_t uid = 100000 + (uid_t)getpid();
        show("setresuid", syscall(SYS_setresuid, uid, uid, uid));
        show("setpriority 5", setprio(PRIO_PROCESS, 0, 5));
        show("setpriority 5 again", setprio(PRIO_PROCESS, 0, 5));
        show("setpriority 4 (RLIMIT_NICE 0)", setprio(PRIO_PROCESS, 0, 4));
        show("setpriority 7", setprio(PRIO_PROCESS, 0, 7));
        show("raw getpriority", prio(PRIO_PROCESS, 0));
        show("setpriority root's process", setprio(PRIO_PROCESS, parent, 0));
        show("getpriority root's process", prio(PRIO_PROCESS, parent));
        show("setpriority own user 6", setprio(PRIO_USER, 0, 6));
        show("setpriority own user 9", setprio(PRIO_USER, 0, 9));
        show("getpriority own user", prio(PRIO_USER, 0));
        show("getpriority by uid", prio(PRIO_USER, (int)uid));
        show("FIFO without RLIMIT_RTPRIO", set_sched(0, SCHED_FIFO, 1));
        show("setscheduler root's process", set_sched(parent, SCHED_OTHER, 0));
        show("getscheduler root's process", syscall(SYS_sched_getscheduler, parent));
        show("OTHER|RESET_ON_FORK", set_sched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0));
        show("setparam keeps RESET_ON_FORK", syscall(SYS_sched_setparam, 0, &(struct sched_param){0}));
        show("getscheduler", syscall(SYS_sched_getscheduler, 0));
        show("clear RESET_ON_FORK", set_sched(0, SCHED_OTHER, 0));
        show("BATCH|RESET_ON_FORK", set_sched(0, SCHED_BATCH | SCHED_RESET_ON_FORK, 0));
        show("IDLE|RESET_ON_FORK", set_sched(0, SCHED_IDLE | SCHED_RESET_ON_FORK, 0));
        show("OTHER|RESET_ON_FORK from IDLE at nice 9", set_sched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0));
        show("getscheduler", syscall(SYS_sched_getscheduler, 0));
        _exit(0);
    }
    printf("unprivileged child: %d\n", wait_child(c));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    ranges();
    errors();
    nice_values();
    inheritance();
    real_time();
    unprivileged();
    return 0;
}
