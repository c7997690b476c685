/* Robust futex lists: set/get_robust_list, the kernel's walk when a thread or process dies holding locks
   (FUTEX_OWNER_DIED, a wake when FUTEX_WAITERS is set, list_op_pending, circular lists), and glibc's robust
   mutexes answering EOWNERDEAD, within a process and across fork. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name(int e) {
    switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case EPERM: return "EPERM";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case EBUSY: return "EBUSY";
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

static long waiting(uint32_t *a) { return fx(a, FUTEX_REQUEUE, 0, INT_MAX, a, 0); }

static void await_waiters(uint32_t *a, long n) {
    while (waiting(a) < n) usleep(1000);
}

/* A lock as the kernel sees it: a list link, then the futex word at futex_offset from the link. */
struct lock {
    struct robust_list link;
    uint32_t word;
};

static struct robust_list_head head;
static struct lock locks[4];
static uint32_t go;
static uint32_t tid_seen;

static void show_word(const char *what, uint32_t w) {
    printf("%s: owner %s, waiters %d, owner died %d\n", what,
           (w & FUTEX_TID_MASK) == 0 ? "none" : (w & FUTEX_TID_MASK) == tid_seen ? "dead thread" : "other",
           !!(w & FUTEX_WAITERS), !!(w & FUTEX_OWNER_DIED));
}

/* Registers a list of locks 0..2 (1 owned by someone else), lock 3 as list_op_pending, then dies when told. */
static void *owner_thread(void *arg) {
    int mode = (int)(long)arg;
    uint32_t tid = (uint32_t)syscall(SYS_gettid);
    tid_seen = tid;
    head.list.next = &locks[0].link;
    locks[0].link.next = &locks[1].link;
    locks[1].link.next = &locks[2].link;
    locks[2].link.next = mode == 1 ? &locks[2].link : &head.list; /* mode 1: a loop, cut by the limit */
    head.futex_offset = offsetof(struct lock, word);
    head.list_op_pending = &locks[3].link;
    locks[0].word = tid | FUTEX_WAITERS;
    locks[1].word = 12345 | FUTEX_WAITERS;
    locks[2].word = tid;
    locks[3].word = mode == 2 ? 0 : tid;
    syscall(SYS_set_robust_list, &head, sizeof(head));
    while (__atomic_load_n(&go, __ATOMIC_SEQ_CST) == 0) fx(&go, FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0);
    return NULL;
}

static long waiter_result;

static void *lock_waiter(void *arg) {
    uint32_t *word = arg;
    waiter_result = fx(word, FUTEX_WAIT, (int)*word, 0, NULL, 0);
    return NULL;
}

static void raw_lists(int mode) {
    pthread_t owner, waiter;
    go = 0;
    memset(locks, 0, sizeof(locks));
    pthread_create(&owner, NULL, owner_thread, (void *)(long)mode);
    while (__atomic_load_n(&locks[0].word, __ATOMIC_SEQ_CST) == 0) usleep(1000);
    /* list_op_pending with no owner (mode 2) wakes a waiter of lock 3; otherwise lock 0's waiter wakes. */
    uint32_t *waited = mode == 2 ? &locks[3].word : &locks[0].word;
    waiter_result = -99;
    pthread_create(&waiter, NULL, lock_waiter, waited);
    await_waiters(waited, 1);
    __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
    fx(&go, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0);
    pthread_join(owner, NULL);
    pthread_join(waiter, NULL);
    printf("mode %d: waiter woken: %s\n", mode, waiter_result == 0 ? "yes" : "no");
    show_word("  lock 0", locks[0].word);
    show_word("  lock 1", locks[1].word);
    show_word("  lock 2", locks[2].word);
    show_word("  lock 3 (pending)", locks[3].word);
}

static void get_set(void) {
    struct robust_list_head *h = NULL;
    size_t len = 0;
    show("set_robust_list size 23", syscall(SYS_set_robust_list, &head, 23));
    show("get_robust_list self", syscall(SYS_get_robust_list, 0, &h, &len));
    printf("glibc's head registered: %d, len %zu\n", h != NULL, len);
    struct robust_list_head *glibc_head = h;
    show("set_robust_list ours", syscall(SYS_set_robust_list, &head, sizeof(head)));
    show("get_robust_list by tid", syscall(SYS_get_robust_list, (int)syscall(SYS_gettid), &h, &len));
    printf("ours: %d\n", h == &head);
    show("get_robust_list pid -1", syscall(SYS_get_robust_list, -1, &h, &len));
    show("get_robust_list no such pid", syscall(SYS_get_robust_list, 999999, &h, &len));
    show("get_robust_list bad len pointer", syscall(SYS_get_robust_list, 0, &h, (void *)8));
    show("get_robust_list bad head pointer", syscall(SYS_get_robust_list, 0, (void *)8, &len));
    show("set_robust_list NULL", syscall(SYS_set_robust_list, NULL, sizeof(head)));
    show("get_robust_list after NULL", syscall(SYS_get_robust_list, 0, &h, &len));
    printf("null: %d\n", h == NULL);
    syscall(SYS_set_robust_list, glibc_head, sizeof(head)); /* glibc's robust mutexes need its own list */
}

static pthread_mutex_t *mu;
static uint32_t locked;

static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(mu);
    __atomic_store_n(&locked, 1, __ATOMIC_SEQ_CST);
    /* Die once the main thread is blocked on the mutex (glibc has set FUTEX_WAITERS by then). */
    while ((__atomic_load_n((uint32_t *)&mu->__data.__lock, __ATOMIC_SEQ_CST) & FUTEX_WAITERS) == 0) usleep(1000);
    return NULL;
}

static void robust_mutex(int pshared) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (pshared) pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    mu = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutex_init(mu, &attr);
    const char *kind = pshared ? "shared" : "private";
    if (!pshared) {
        pthread_t th;
        locked = 0;
        pthread_create(&th, NULL, die_holding, NULL);
        while (!__atomic_load_n(&locked, __ATOMIC_SEQ_CST)) usleep(1000);
        int r = pthread_mutex_lock(mu); /* blocks until the owner dies */
        printf("%s: lock while owner dies: %s\n", kind, name(r));
        pthread_join(th, NULL);
    } else {
        pid_t c = fork();
        if (c == 0) {
            pthread_mutex_lock(mu);
            _exit(3); /* the process dies holding the lock */
        }
        int status;
        waitpid(c, &status, 0);
        int r = pthread_mutex_lock(mu);
        printf("%s: lock after holder's process exited %d: %s\n", kind, WEXITSTATUS(status), name(r));
    }
    printf("%s: consistent: %s\n", kind, name(pthread_mutex_consistent(mu)));
    printf("%s: unlock: %s\n", kind, name(pthread_mutex_unlock(mu)));
    printf("%s: lock again: %s\n", kind, name(pthread_mutex_lock(mu)));
    printf("%s: unlock: %s\n", kind, name(pthread_mutex_unlock(mu)));

    /* Unlocked without pthread_mutex_consistent: the mutex becomes unrecoverable. */
    pthread_t th;
    locked = 0;
    pthread_create(&th, NULL, die_holding, NULL);
    while (!__atomic_load_n(&locked, __ATOMIC_SEQ_CST)) usleep(1000);
    int r = pthread_mutex_lock(mu);
    pthread_join(th, NULL);
    printf("%s: second death: %s\n", kind, name(r));
    printf("%s: unlock without consistent: %s\n", kind, name(pthread_mutex_unlock(mu)));
    printf("%s: lock: %s\n", kind, name(pthread_mutex_lock(mu)));
}

/* execve releases the old image's robust list too: a lock held across exec is marked owner-died. */
static void exec_releases(char *self) {
    struct lock *l = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t c = fork();
    if (c == 0) {
        l->word = (uint32_t)syscall(SYS_gettid);
        l->link.next = &head.list;
        head.list.next = &l->link;
        head.futex_offset = offsetof(struct lock, word);
        head.list_op_pending = NULL;
        syscall(SYS_set_robust_list, &head, sizeof(head));
        execl(self, self, "exec", (char *)NULL);
        _exit(99);
    }
    int status;
    waitpid(c, &status, 0);
    tid_seen = (uint32_t)c;
    printf("exec child: %d\n", WEXITSTATUS(status));
    show_word("  lock held across execve", l->word);
}

int main(int argc, char **argv) {
    if (argc > 1) return 0; /* the image exec_releases runs */
    setvbuf(stdout, NULL, _IONBF, 0);
    get_set();
    raw_lists(0);
    raw_lists(1);
    raw_lists(2);
    robust_mutex(0);
    robust_mutex(1);
    exec_releases(argv[0]);
    return 0;
}
