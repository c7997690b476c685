/* futex(2) REQUEUE, CMP_REQUEUE and WAKE_OP with waiting threads, private and shared keys, error cases
   in Linux's order, and FUTEX_WAKE_OP's operations and comparisons. A requeue of a word onto itself with
   nr_wake 0 counts its waiters without waking them: that is how waiters are awaited deterministically. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *name(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    case EPERM: return "EPERM";
    default: return "OTHER";
    }
}

static long fx(void *a, int op, int v, long v2, void *a2, unsigned v3) {
    return syscall(SYS_futex, a, op, v, v2, a2, v3);
}

static void show(const char *what, long r) {
    int e = errno;
    printf("%s: %ld %s\n", what, r, r < 0 ? name(e) : "OK");
    errno = 0;
}

static long waiting(uint32_t *a, int priv) {
    return fx(a, FUTEX_REQUEUE | (priv ? FUTEX_PRIVATE_FLAG : 0), 0, INT_MAX, a, 0);
}

static void await_waiters(uint32_t *a, int priv, long n) {
    while (waiting(a, priv) < n) usleep(1000);
}

struct waiter { uint32_t *word; int op; long result; };

static void *wait_thread(void *p) {
    struct waiter *w = p;
    w->result = fx(w->word, w->op, 0, 0, NULL, 0);
    return NULL;
}

/* Waits on w->word while it holds the value it has when the thread starts. */
static void *wait_thread_value(void *p) {
    struct waiter *w = p;
    w->result = fx(w->word, w->op, (int)*w->word, 0, NULL, 0);
    return NULL;
}

static void start(pthread_t *th, struct waiter *w, int n, uint32_t *word, int op) {
    for (int i = 0; i < n; i++) {
        w[i].word = word;
        w[i].op = op;
        w[i].result = -99;
        pthread_create(&th[i], NULL, wait_thread, &w[i]);
    }
}

static int join_ok(pthread_t *th, struct waiter *w, int n) {
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].result == 0;
    }
    return ok;
}

static uint32_t wa, wb;

static void requeue(void) {
    pthread_t th[4];
    struct waiter w[4];
    start(th, w, 4, &wa, FUTEX_WAIT_PRIVATE);
    await_waiters(&wa, 1, 4);
    show("requeue 1 wake 2 move", fx(&wa, FUTEX_REQUEUE_PRIVATE, 1, 2, &wb, 0));
    show("left on a", waiting(&wa, 1));
    show("moved to b", waiting(&wb, 1));
    show("cmp_requeue mismatch", fx(&wa, FUTEX_CMP_REQUEUE_PRIVATE, 0, INT_MAX, &wb, 1));
    show("cmp_requeue all to b", fx(&wa, FUTEX_CMP_REQUEUE_PRIVATE, 0, INT_MAX, &wb, 0));
    show("now on b", waiting(&wb, 1));
    show("wake b with 0 wakes one", fx(&wb, FUTEX_WAKE_PRIVATE, 0, 0, NULL, 0));
    show("wake b all", fx(&wb, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0));
    printf("requeue waiters woken: %d\n", join_ok(th, w, 4));
}

static void wake_op(void) {
    pthread_t th[4];
    struct waiter w[4];
    wa = 0;
    wb = 0;
    start(th, w, 2, &wa, FUTEX_WAIT_PRIVATE);
    start(th + 2, w + 2, 2, &wb, FUTEX_WAIT_PRIVATE);
    await_waiters(&wa, 1, 2);
    await_waiters(&wb, 1, 2);
    show("wake_op add, b was 0 (true)", fx(&wa, FUTEX_WAKE_OP_PRIVATE, 1, 1, &wb, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)));
    printf("b=%u\n", wb);
    show("wake_op add, b was 1 (false)", fx(&wa, FUTEX_WAKE_OP_PRIVATE, 1, 1, &wb, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)));
    printf("b=%u\n", wb);
    show("wake_op second count 0 wakes one", fx(&wa, FUTEX_WAKE_OP_PRIVATE, 1, 0, &wb, FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 0)));
    printf("b=%u\n", wb);
    printf("wake_op waiters woken: %d\n", join_ok(th, w, 4));
}

/* One wake_op with a thread waiting on its target word: returns 1 when the comparison held. */
static long op_with_waiter(uint32_t *v, uint32_t init, int encoded) {
    static uint32_t dummy;
    pthread_t th;
    struct waiter w = {v, FUTEX_WAIT_PRIVATE, -99};
    *v = init;
    pthread_create(&th, NULL, wait_thread_value, &w);
    await_waiters(v, 1, 1);
    long r = fx(&dummy, FUTEX_WAKE_OP_PRIVATE, 1, 1, v, encoded);
    fx(v, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0);
    pthread_join(th, NULL);
    return r;
}

static void ops(void) {
    static const char *opn[] = {"set", "add", "or", "andn", "xor"};
    static const char *cmpn[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    uint32_t dummy = 0;
    for (int op = 0; op < 5; op++) {
        for (int cmp = 0; cmp < 6; cmp++) {
            uint32_t v1, v2, v3;
            long r1 = op_with_waiter(&v1, 0xa5, FUTEX_OP(op, 0x3c, cmp, 0xa5));
            long r2 = op_with_waiter(&v2, 0xfffffffe, FUTEX_OP(op, -3, cmp, -1));
            long r3 = op_with_waiter(&v3, 7, FUTEX_OP(op, 0x7ff, cmp, 8));
            printf("%s/%s: %ld %ld %ld v=%#x %#x %#x\n", opn[op], cmpn[cmp], r1, r2, r3, v1, v2, v3);
        }
    }
    int shift_set = FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, shift_or = FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT;
    uint32_t v = 7;
    show("shift 4", fx(&dummy, FUTEX_WAKE_OP_PRIVATE, 1, 1, &v, FUTEX_OP(shift_set, 4, 0, 0)));
    printf("v=%#x\n", v);
    show("shift 40 (masked)", fx(&dummy, FUTEX_WAKE_OP_PRIVATE, 1, 1, &v, FUTEX_OP(shift_or, 40, 0, 0)));
    printf("v=%#x\n", v);
    show("shift -1 (masked)", fx(&dummy, FUTEX_WAKE_OP_PRIVATE, 1, 1, &v, FUTEX_OP(shift_set, -1, 0, 0)));
    printf("v=%#x\n", v);
    v = 7;
    show("bad op", fx(&dummy, FUTEX_WAKE_OP_PRIVATE, 1, 1, &v, FUTEX_OP(6, 1, 0, 0)));
    printf("v=%u\n", v);
    show("bad cmp", fx(&dummy, FUTEX_WAKE_OP_PRIVATE, 1, 1, &v, FUTEX_OP(FUTEX_OP_ADD, 1, 7, 0)));
    printf("v=%u\n", v);
    show("null first word, private", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, 1, &v, FUTEX_OP(FUTEX_OP_ADD, 1, 0, 0)));
    printf("v=%u\n", v);
}

static void errors(void) {
    static uint32_t word = 5, w2 = 7;
    void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    struct timespec ts = {0, 1000};
    show("wait|realtime", fx(&word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 5, (long)&ts, NULL, 0));
    show("wait|realtime bad timeout", fx(&word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 5, 8, NULL, 0));
    show("wake|realtime", fx(&word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, 0, NULL, 0));
    show("requeue|realtime", fx(&word, FUTEX_REQUEUE | FUTEX_CLOCK_REALTIME, 1, 0, &w2, 0));
    show("wait_bitset|realtime mismatch", fx(&word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 4, 0, NULL, ~0u));
    show("wait_bitset bitset 0 bad timeout", fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, 8, NULL, 0));
    show("wake ignores its timeout", fx(&word, FUTEX_WAKE, 1, 8, NULL, 0));
    show("requeue nr_requeue -1", fx(&word, FUTEX_REQUEUE_PRIVATE, 1, -1L, &w2, 0));
    show("requeue nr_wake -1", fx(&word, FUTEX_REQUEUE_PRIVATE, -1, 1, &w2, 0));
    show("requeue nr_requeue 2^32+1", fx(&word, FUTEX_REQUEUE_PRIVATE, 1, 0x100000001L, &w2, 0));
    show("requeue unaligned target", fx(&word, FUTEX_REQUEUE_PRIVATE, 1, 1, (char *)&w2 + 1, 0));
    show("requeue private unmapped target", fx(&word, FUTEX_REQUEUE_PRIVATE, 1, 1, gone, 0));
    show("requeue shared unmapped target", fx(&word, FUTEX_REQUEUE, 1, 1, gone, 0));
    show("cmp_requeue unmapped source", fx(gone, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &w2, 4));
    show("wake private unmapped", fx(gone, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0));
    show("wake shared unmapped", fx(gone, FUTEX_WAKE, 1, 0, NULL, 0));
    show("wake private null", fx(NULL, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0));
    show("wake private top of user space", fx((void *)0x7ffffffff000ul, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0));
    show("wake private past user space", fx((void *)0x7ffffffff004ul, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0));
    show("wake private kernel address", fx((void *)0xffff800000000000ul, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0));
    show("wake shared read-only private", fx(ro, FUTEX_WAKE, 1, 0, NULL, 0));
    show("wait private read-only", fx(ro, FUTEX_WAIT_PRIVATE, 1, 0, NULL, 0));
    show("wait shared read-only private", fx(ro, FUTEX_WAIT, 1, 0, NULL, 0));
    show("wake shared PROT_NONE", fx(none, FUTEX_WAKE, 1, 0, NULL, 0));
    show("wait private PROT_NONE", fx(none, FUTEX_WAIT_PRIVATE, 1, 0, NULL, 0));
    show("wake_op unmapped", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, 0, gone, FUTEX_OP(1, 1, 0, 0)));
    show("wake_op unmapped bad op", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, 0, gone, FUTEX_OP(6, 1, 0, 0)));
    show("wake_op read-only", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, 0, ro, FUTEX_OP(1, 1, 0, 0)));
    show("wake_op read-only bad op", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, 0, ro, FUTEX_OP(6, 1, 0, 0)));
    show("wake_op shared read-only bad op", fx(&word, FUTEX_WAKE_OP, 1, 0, ro, FUTEX_OP(6, 1, 0, 0)));
    show("wake_op PROT_NONE bad op", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, 0, none, FUTEX_OP(6, 1, 0, 0)));
    show("wake_op PROT_NONE bad cmp", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, 0, none, FUTEX_OP(1, 1, 9, 0)));
    show("wake_op unaligned", fx((char *)&word + 2, FUTEX_WAKE_OP_PRIVATE, 1, 0, &w2, FUTEX_OP(1, 1, 0, 0)));
    show("wake_op shared unmapped first", fx(gone, FUTEX_WAKE_OP, 1, 0, &w2, FUTEX_OP(1, 1, 0, 0)));
    printf("w2=%u\n", w2);
    show("unknown op 99", fx(&word, 99, 1, 0, NULL, 0));
}

/* A private waiter is not woken by a shared wake of the same word, nor the other way round. */
static void kinds(void) {
    pthread_t th[2];
    struct waiter w[2];
    wa = 0;
    start(th, w, 1, &wa, FUTEX_WAIT_PRIVATE);
    start(th + 1, w + 1, 1, &wa, FUTEX_WAIT);
    await_waiters(&wa, 1, 1);
    await_waiters(&wa, 0, 1);
    show("shared wake, both kinds waiting", fx(&wa, FUTEX_WAKE, 1, 0, NULL, 0));
    show("private wake", fx(&wa, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0));
    show("shared wake", fx(&wa, FUTEX_WAKE, INT_MAX, 0, NULL, 0));
    printf("kinds woken: %d\n", join_ok(th, w, 2));
}

/* Shared futexes across fork: the MAP_SHARED word is the same futex in both processes. */
static void across_fork(void) {
    uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint32_t *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *priv = 0;
    pid_t c = fork();
    if (c == 0) {
        long r1 = fx(shared, FUTEX_WAIT, 0, 0, NULL, 0);
        long r2 = fx(shared + 1, FUTEX_WAIT, 0, 0, NULL, 0);
        struct timespec ts = {0, 50 * 1000 * 1000};
        long r3 = fx(priv, FUTEX_WAIT, 0, (long)&ts, NULL, 0);
        _exit((r1 == 0) + 2 * (r2 == 0) + 4 * (r3 == -1 && errno == ETIMEDOUT));
    }
    await_waiters(shared, 0, 1);
    show("private wake of shared word", fx(shared, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0));
    show("requeue to the next word", fx(shared, FUTEX_REQUEUE, 0, 1, shared + 1, 0));
    show("waiting on next word", waiting(shared + 1, 0));
    show("wake next word", fx(shared + 1, FUTEX_WAKE, 1, 0, NULL, 0));
    await_waiters(shared + 1, 0, 1);
    shared[1] = 1;
    show("wake_op across processes", fx(shared, FUTEX_WAKE_OP, 1, 1, shared + 1, FUTEX_OP(FUTEX_OP_SET, 2, FUTEX_OP_CMP_EQ, 1)));
    int status;
    waitpid(c, &status, 0);
    printf("child exit %d, shared[1]=%u\n", WEXITSTATUS(status), shared[1]);
    /* Memory shared before fork but first touched after it is shared too. */
    uint32_t *late = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    c = fork();
    if (c == 0) {
        *late = 42;
        _exit(0);
    }
    waitpid(c, &status, 0);
    printf("late shared page: %u\n", *late);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    errors();
    ops();
    requeue();
    wake_op();
    kinds();
    across_fork();
    return 0;
}
