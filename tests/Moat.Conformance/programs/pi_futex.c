/* Priority-inheritance futexes: the word protocol of FUTEX_LOCK_PI/LOCK_PI2/TRYLOCK_PI/UNLOCK_PI (TID,
 * FUTEX_WAITERS, FUTEX_OWNER_DIED), their errors (EDEADLK, EPERM, ESRCH, EINVAL, EFAULT, ENOSYS, EAGAIN,
 * ETIMEDOUT), the hand-over to a waiter, FUTEX_WAIT_REQUEUE_PI/FUTEX_CMP_REQUEUE_PI, and pthread mutexes
 * with PTHREAD_PRIO_INHERIT: contended by four threads, error-checking, robust within a process and across
 * fork with a waiter blocked when the owner dies. Waits for a state poll the futex word, never time. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

static const char *name(int e) {
    switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case EPERM: return "EPERM";
    case EDEADLK: return "EDEADLK";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOSYS: return "ENOSYS";
    case EOWNERDEAD: return "EOWNERDEAD";
    case EBUSY: return "EBUSY";
    default: return "OTHER";
    }
}

static long fx(void *a, int op, long v, void *t, void *a2, unsigned v3) {
    return syscall(SYS_futex, a, op, v, t, a2, v3);
}

static void show(const char *what, long r) {
    printf("%s: %ld %s\n", what, r, r < 0 ? name(errno) : "OK");
}

static unsigned gettid_u(void) { return (unsigned)syscall(SYS_gettid); }

/* How a word looks, without naming TIDs: "tid" for the caller, "other" for another, plus the flag bits. */
static void word(const char *what, uint32_t w, unsigned me, unsigned other) {
    unsigned tid = w & FUTEX_TID_MASK;
    printf("%s: %s%s%s\n", what,
           tid == 0 ? "0" : tid == me ? "mine" : tid == other ? "other's" : "someone's",
           (w & FUTEX_WAITERS) ? "|WAITERS" : "", (w & FUTEX_OWNER_DIED) ? "|OWNER_DIED" : "");
}

static void wait_for_bit(volatile uint32_t *w, uint32_t bit) {
    while (!(__atomic_load_n(w, __ATOMIC_SEQ_CST) & bit)) usleep(1000);
}

static uint32_t lock_word;
static volatile unsigned holder_tid;
static volatile int holder_release, holder_has_it;

static void *holder(void *arg) {
    (void)arg;
    holder_tid = gettid_u();
    fx(&lock_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    __atomic_store_n(&holder_has_it, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&holder_release, __ATOMIC_SEQ_CST)) usleep(1000);
    long r = fx(&lock_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return (void *)r;
}

static void protocol(void) {
    unsigned me = gettid_u();
    uint32_t w = 0;
    show("LOCK_PI free", fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    word("word", w, me, 0);
    show("LOCK_PI again", fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("TRYLOCK_PI own", fx(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("UNLOCK_PI", fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    word("word", w, me, 0);
    show("UNLOCK_PI of a free word", fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    w = me | FUTEX_WAITERS;
    show("UNLOCK_PI with a stale WAITERS", fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    word("word", w, me, 0);
    w = FUTEX_OWNER_DIED;
    show("TRYLOCK_PI of an OWNER_DIED word", fx(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    word("word", w, me, 0);
    show("UNLOCK_PI", fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    word("word", w, me, 0);
    w = 0x3ffffff0;
    show("LOCK_PI owned by no task", fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("waiters bit set: %d\n", (w & FUTEX_WAITERS) != 0);
    show("TRYLOCK_PI owned by no task", fx(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    w = 0x3ffffff0;
    show("UNLOCK_PI of another's word", fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("LOCK_PI unaligned", fx((char *)&w + 1, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("LOCK_PI NULL", fx(NULL, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("UNLOCK_PI NULL", fx(NULL, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    w = 0;
    show("LOCK_PI with FUTEX_CLOCK_REALTIME", fx(&w, FUTEX_LOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0));
    show("LOCK_PI2 with FUTEX_CLOCK_REALTIME", fx(&w, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0));
    word("word", w, me, 0);
    show("UNLOCK_PI", fx(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    struct timespec bad = { 0, 1000000000L };
    show("LOCK_PI bad timeout", fx(&w, FUTEX_LOCK_PI_PRIVATE, 0, &bad, NULL, 0));

    /* Held by another thread: timeouts, trylock, then the holder's unlock with no waiter left. */
    pthread_t th;
    lock_word = 0;
    holder_release = holder_has_it = 0;
    pthread_create(&th, NULL, holder, NULL);
    while (!__atomic_load_n(&holder_has_it, __ATOMIC_SEQ_CST)) usleep(1000);
    word("held", lock_word, me, holder_tid);
    show("TRYLOCK_PI of a held lock", fx(&lock_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    word("after the trylock", lock_word, me, holder_tid);
    struct timespec past;
    clock_gettime(CLOCK_REALTIME, &past);
    past.tv_sec -= 1;
    show("LOCK_PI past realtime deadline", fx(&lock_word, FUTEX_LOCK_PI_PRIVATE, 0, &past, NULL, 0));
    struct timespec soon;
    clock_gettime(CLOCK_MONOTONIC, &soon);
    soon.tv_nsec += 30000000L;
    if (soon.tv_nsec >= 1000000000L) { soon.tv_sec++; soon.tv_nsec -= 1000000000L; }
    show("LOCK_PI2 monotonic deadline", fx(&lock_word, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG, 0, &soon, NULL, 0));
    word("after the timeouts", lock_word, me, holder_tid);
    __atomic_store_n(&holder_release, 1, __ATOMIC_SEQ_CST);
    void *res;
    pthread_join(th, &res);
    printf("holder's UNLOCK_PI: %ld\n", (long)res);
    word("released", lock_word, me, holder_tid);
}

/* The owner's unlock hands the lock to a blocked waiter: the word then names the waiter, with WAITERS. */
static uint32_t hand_word;
static volatile unsigned waiter_tid;
static volatile uint32_t seen_by_waiter;

static void *waiter(void *arg) {
    (void)arg;
    waiter_tid = gettid_u();
    long r = fx(&hand_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    seen_by_waiter = hand_word;
    long u = fx(&hand_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return (void *)(r * 10 + u);
}

static void handover(void) {
    unsigned me = gettid_u();
    hand_word = 0;
    fx(&hand_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    pthread_t th;
    pthread_create(&th, NULL, waiter, NULL);
    wait_for_bit(&hand_word, FUTEX_WAITERS);
    word("with a waiter", hand_word, me, 0);
    show("FUTEX_WAKE of a PI word with a waiter", fx(&hand_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    show("UNLOCK_PI to the waiter", fx(&hand_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    void *res;
    pthread_join(th, &res);
    printf("waiter: lock and unlock %ld\n", (long)res);
    word("the waiter saw", seen_by_waiter, me, waiter_tid);
    word("at the end", hand_word, me, waiter_tid);
}

/* FUTEX_WAIT_REQUEUE_PI / FUTEX_CMP_REQUEUE_PI: two waiters on a plain word move to a PI lock. */
static uint32_t cond_word, pi_word;
static volatile long rq_results[2];
static volatile int rq_owned;

static void *rq_waiter(void *arg) {
    long i = (long)arg;
    long r = fx(&cond_word, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &pi_word, 0);
    if (r == 0 && (pi_word & FUTEX_TID_MASK) == gettid_u()) __atomic_add_fetch(&rq_owned, 1, __ATOMIC_SEQ_CST);
    long u = r == 0 ? fx(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) : -1;
    rq_results[i] = r * 10 + u;
    return NULL;
}

static void requeue(int held) {
    cond_word = 0;
    pi_word = 0;
    rq_owned = 0;
    if (held) fx(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    pthread_t th[2];
    for (long i = 0; i < 2; i++) pthread_create(&th[i], NULL, rq_waiter, (void *)i);
    /* Both waiters are moved eventually: each call woke or queued as many as it returned. */
    long moved = 0;
    while (moved < 2) {
        long r = fx(&cond_word, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)(long)INT_MAX, &pi_word, 0);
        if (r < 0) { show("CMP_REQUEUE_PI", r); break; }
        moved += r;
        if (moved < 2) usleep(1000);
    }
    printf("requeue (%s): moved %ld\n", held ? "lock held" : "lock free", moved);
    if (held) show("UNLOCK_PI to the first requeued", fx(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    printf("waiters: %ld %ld, owned the lock %d times, word at the end %u\n", rq_results[0], rq_results[1], rq_owned, pi_word);
}

static void requeue_errors(void) {
    uint32_t c = 0, l = 0;
    show("CMP_REQUEUE_PI nr_wake 2", fx(&c, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, (void *)1L, &l, 0));
    show("CMP_REQUEUE_PI nr_wake 0", fx(&c, FUTEX_CMP_REQUEUE_PI_PRIVATE, 0, (void *)1L, &l, 0));
    show("CMP_REQUEUE_PI same word", fx(&c, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1L, &c, 0));
    show("CMP_REQUEUE_PI value differs", fx(&c, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1L, &l, 5));
    show("CMP_REQUEUE_PI no waiters", fx(&c, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1L, &l, 0));
    show("WAIT_REQUEUE_PI same word", fx(&c, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &c, 0));
    show("WAIT_REQUEUE_PI value differs", fx(&c, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 7, NULL, &l, 0));
    struct timespec past;
    clock_gettime(CLOCK_MONOTONIC, &past);
    past.tv_sec -= 1;
    show("WAIT_REQUEUE_PI past deadline", fx(&c, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &past, &l, 0));
}

/* pthread mutexes with PTHREAD_PRIO_INHERIT. */
static pthread_mutex_t pim;
static long counter;

static void *incrementer(void *arg) {
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&pim);
        long c = counter;
        if ((i & 255) == 0) sched_yield();
        counter = c + 1;
        pthread_mutex_unlock(&pim);
    }
    return NULL;
}

static void init_pi_mutex(pthread_mutex_t *m, int type, int robust, int pshared) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutexattr_settype(&a, type);
    if (robust) pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (pshared) pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

static void *try_from_thread(void *arg) {
    return (void *)(long)pthread_mutex_trylock((pthread_mutex_t *)arg);
}

static void *unlock_from_thread(void *arg) {
    return (void *)(long)pthread_mutex_unlock((pthread_mutex_t *)arg);
}

static void *die_holding(void *arg) {
    pthread_mutex_lock((pthread_mutex_t *)arg);
    return NULL;
}

static pthread_mutex_t robust_m;
static volatile int robust_lock_result = -1;

static void *robust_waiter(void *arg) {
    (void)arg;
    robust_lock_result = pthread_mutex_lock(&robust_m);
    if (robust_lock_result == EOWNERDEAD) pthread_mutex_consistent(&robust_m);
    pthread_mutex_unlock(&robust_m);
    return NULL;
}

static volatile int owner_go;
static void *robust_owner(void *arg) {
    (void)arg;
    pthread_mutex_lock(&robust_m);
    while (!__atomic_load_n(&owner_go, __ATOMIC_SEQ_CST)) usleep(1000);
    return NULL; /* dies holding it */
}

static void mutexes(void) {
    init_pi_mutex(&pim, PTHREAD_MUTEX_NORMAL, 0, 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, incrementer, NULL);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    printf("four threads under a PI mutex: %ld\n", counter);

    pthread_mutex_t m;
    init_pi_mutex(&m, PTHREAD_MUTEX_ERRORCHECK, 0, 0);
    printf("lock: %s\n", name(pthread_mutex_lock(&m)));
    printf("relock (errorcheck): %s\n", name(pthread_mutex_lock(&m)));
    pthread_t t;
    void *res;
    pthread_create(&t, NULL, try_from_thread, &m);
    pthread_join(t, &res);
    printf("trylock from another thread: %s\n", name((int)(long)res));
    pthread_create(&t, NULL, unlock_from_thread, &m);
    pthread_join(t, &res);
    printf("unlock from another thread: %s\n", name((int)(long)res));
    printf("unlock: %s\n", name(pthread_mutex_unlock(&m)));

    /* Robust: a thread dies holding it, with nobody waiting, then with a waiter blocked in the kernel. */
    pthread_mutex_t rm;
    init_pi_mutex(&rm, PTHREAD_MUTEX_NORMAL, 1, 0);
    pthread_create(&t, NULL, die_holding, &rm);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&rm);
    printf("robust PI, owner gone: %s\n", name(r));
    pthread_mutex_consistent(&rm);
    printf("unlock after consistent: %s\n", name(pthread_mutex_unlock(&rm)));

    init_pi_mutex(&robust_m, PTHREAD_MUTEX_NORMAL, 1, 0);
    pthread_t o, w;
    owner_go = 0;
    pthread_create(&o, NULL, robust_owner, NULL);
    while (!(robust_m.__data.__lock & FUTEX_TID_MASK)) usleep(1000);
    pthread_create(&w, NULL, robust_waiter, NULL);
    wait_for_bit((volatile uint32_t *)&robust_m.__data.__lock, FUTEX_WAITERS);
    owner_go = 1;
    pthread_join(o, NULL);
    pthread_join(w, NULL);
    printf("robust PI, waiter blocked when the owner died: %s\n", name(robust_lock_result));

    /* Across processes: a child dies holding a shared robust PI mutex the parent waits for. */
    pthread_mutex_t *sm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile int *go = (volatile int *)(sm + 1);
    init_pi_mutex(sm, PTHREAD_MUTEX_NORMAL, 1, 1);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(sm);
        *go = 1;
        while (!(sm->__data.__lock & FUTEX_WAITERS)) usleep(1000);
        _exit(0);
    }
    while (!*go) usleep(1000);
    r = pthread_mutex_lock(sm);
    printf("shared robust PI, child died holding it: %s\n", name(r));
    if (r == EOWNERDEAD) pthread_mutex_consistent(sm);
    printf("unlock: %s\n", name(pthread_mutex_unlock(sm)));
    waitpid(pid, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    protocol();
    handover();
    requeue_errors();
    requeue(0);
    requeue(1);
    mutexes();
    return 0;
}
