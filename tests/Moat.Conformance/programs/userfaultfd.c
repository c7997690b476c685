/* userfaultfd with faults held for a handler (missing mode, anonymous memory): the state before UFFDIO_API
 * (EINVAL, POLLERR), UFFDIO_API's answers and errors, UFFDIO_REGISTER's checks (mode, alignment, no VMA, a
 * file mapping, EBUSY) and the range ioctls it reports; a thread's read and write faults held and resolved by
 * UFFDIO_COPY and UFFDIO_ZEROPAGE (message, flags, page address, data seen), poll/epoll readiness, EAGAIN,
 * EEXIST/ENOENT/EINVAL/EFAULT and a short fill (EAGAIN with the count), DONTWAKE then UFFDIO_WAKE (fdinfo's
 * pending/total), a read(2) and a write(2) of the kernel into registered pages, a signal ending the wait and
 * the fault coming again, MADV_DONTNEED making a page missing again, UNREGISTER and close waking a waiter
 * (zero page), a forked child not inheriting the registration, SIGKILL of a waiting process, the SIGBUS,
 * THREAD_ID and EXACT_ADDRESS features, and UFFD_USER_MODE_ONLY as uid 65534 (the kernel's copy gets EFAULT).
 * Features and ioctls are printed masked to what the sandbox offers: Linux may offer more. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
#define OFFERED (UFFD_FEATURE_SIGBUS | UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS)
#define RANGE_IOCTLS ((1ULL << _UFFDIO_WAKE) | (1ULL << _UFFDIO_COPY) | (1ULL << _UFFDIO_ZEROPAGE))

static const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static int new_uffd(int flags) { return (int)syscall(SYS_userfaultfd, flags); }

static int api(int fd, unsigned long long features) {
    struct uffdio_api a = {.api = UFFD_API, .features = features};
    return ioctl(fd, UFFDIO_API, &a);
}

static int reg(int fd, void *start, unsigned long len) {
    struct uffdio_register r = {.range = {(unsigned long)start, len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
    return ioctl(fd, UFFDIO_REGISTER, &r);
}

/* Waits (poll) for one message and reads it. */
static struct uffd_msg next_msg(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct uffd_msg m;
    memset(&m, 0, sizeof m);
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    if (read(fd, &m, sizeof m) != sizeof m) {
        printf("read msg: %s\n", strerrorname_np(errno));
    }
    return m;
}

static void show_msg(const char *what, struct uffd_msg m, char *base) {
    printf("%s: event %#x write %d page %ld offset %ld\n", what, m.event,
           (int)(m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE),
           (long)((char *)(uintptr_t)m.arg.pagefault.address - base) / (long)PAGE,
           (long)(m.arg.pagefault.address % PAGE));
}

static long copy_page(int fd, char *dst, const char *src, unsigned long len, unsigned long long mode, long long *copied) {
    struct uffdio_copy c = {.dst = (unsigned long)dst, .src = (unsigned long)src, .len = len, .mode = mode};
    long r = ioctl(fd, UFFDIO_COPY, &c);
    *copied = c.copy;
    return r;
}

static long zero_page(int fd, char *dst, unsigned long len, unsigned long long mode, long long *done) {
    struct uffdio_zeropage z = {.range = {(unsigned long)dst, len}, .mode = mode};
    long r = ioctl(fd, UFFDIO_ZEROPAGE, &z);
    *done = z.zeropage;
    return r;
}

/* fdinfo's pending and total lines. */
static void show_fdinfo(int fd) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int f = open(path, O_RDONLY);
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    buf[n > 0 ? n : 0] = 0;
    char *p = strstr(buf, "pending:"), *t = strstr(buf, "total:");
    int pending = -1, total = -1;
    if (p) sscanf(p, "pending:\t%d", &pending);
    if (t) sscanf(t, "total:\t%d", &total);
    printf("fdinfo pending %d total %d api %s\n", pending, total, strstr(buf, "API:\taa:") ? "aa" : "missing");
}

struct access {
    char *addr;
    int write;
    int value;
    int signals;
    pid_t tid;
};

static void *toucher(void *arg) {
    struct access *a = arg;
    a->tid = gettid();
    if (a->write) {
        *(volatile char *)a->addr = 0x5a;
        a->value = *(volatile char *)a->addr;
    } else {
        a->value = *(volatile char *)a->addr;
    }
    return NULL;
}

static pthread_t touch(struct access *a, char *addr, int write) {
    pthread_t th;
    a->addr = addr;
    a->write = write;
    a->value = -1;
    pthread_create(&th, NULL, toucher, a);
    return th;
}

static volatile int usr1_seen;
static void on_usr1(int sig) { (void)sig; usr1_seen++; }

static sigjmp_buf bus_jump;
static volatile int bus_code;
static void on_bus(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    bus_code = si->si_code;
    siglongjmp(bus_jump, 1);
}

struct io { int fd; char *buf; long r; int e; };
static void *reader(void *arg) {
    struct io *io = arg;
    io->r = read(io->fd, io->buf, 100);
    io->e = errno;
    return NULL;
}
static void *writer(void *arg) {
    struct io *io = arg;
    io->r = write(io->fd, io->buf, 100);
    io->e = errno;
    return NULL;
}

static void before_api(void) {
    int fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    struct uffd_msg m;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    printf("before api: read %s", err(read(fd, &m, sizeof m)));
    printf(", register %s", err(reg(fd, (void *)0x100000, PAGE)));
    int k = poll(&p, 1, 0);
    printf(", poll %d revents %#x\n", k, p.revents);
    struct uffdio_api a = {.api = 0x55, .features = 0, .ioctls = 7};
    printf("api 0x55: %s api %llu features %llu ioctls %llu\n", err(ioctl(fd, UFFDIO_API, &a)), a.api, a.features, a.ioctls);
    close(fd);
    fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    a = (struct uffdio_api){.api = UFFD_API, .features = 1ULL << 62};
    printf("unknown feature: %s api %llu\n", err(ioctl(fd, UFFDIO_API, &a)), a.api);
    close(fd);
    fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    a = (struct uffdio_api){.api = UFFD_API};
    long r = ioctl(fd, UFFDIO_API, &a);
    printf("api: %s api %#llx ioctls %#llx offered %#llx\n", err(r), a.api, a.ioctls, a.features & OFFERED);
    printf("api again: %s\n", err(api(fd, 0)));
    printf("bad pointer: %s\n", err(ioctl(new_uffd(O_CLOEXEC), UFFDIO_API, (void *)16)));
    p.fd = fd;
    k = poll(&p, 1, 0);
    printf("after api: poll %d revents %#x, read %s\n", k, p.revents, err(read(fd, &m, sizeof m)));
    printf("short read: %s\n", err(read(fd, &m, sizeof m - 1)));
    printf("unknown ioctl: %s\n", err(ioctl(fd, _IOWR(UFFDIO, 0x30, struct uffdio_range), &m)));
    close(fd);
    fd = new_uffd(O_CLOEXEC);
    api(fd, 0);
    p.fd = fd;
    k = poll(&p, 1, 0);
    printf("blocking fd: poll %d revents %#x\n", k, p.revents);
    close(fd);
}

static void registration(int fd, char *base) {
    struct uffdio_register r = {.range = {(unsigned long)base, 4 * PAGE}, .mode = 0};
    printf("mode 0: %s\n", err(ioctl(fd, UFFDIO_REGISTER, &r)));
    r.mode = 1ULL << 5;
    printf("unknown mode: %s\n", err(ioctl(fd, UFFDIO_REGISTER, &r)));
    printf("unaligned: %s\n", err(reg(fd, base + 1, PAGE)));
    printf("odd length: %s\n", err(reg(fd, base, PAGE + 1)));
    printf("empty: %s\n", err(reg(fd, base, 0)));
    printf("below mmap_min_addr: %s\n", err(reg(fd, (void *)PAGE, PAGE)));
    printf("beyond the user range: %s\n", err(reg(fd, (void *)(1UL << 47), PAGE)));
    char *hole = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, 2 * PAGE);
    printf("no mapping: %s\n", err(reg(fd, hole, 2 * PAGE)));
    int exe = open("/proc/self/exe", O_RDONLY);
    char *file = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, exe, 0);
    close(exe);
    printf("file mapping: %s\n", err(reg(fd, file, PAGE)));
    munmap(file, PAGE);
    r = (struct uffdio_register){.range = {(unsigned long)base, 16 * PAGE}, .mode = UFFDIO_REGISTER_MODE_MISSING};
    long rr = ioctl(fd, UFFDIO_REGISTER, &r);
    printf("register: %s ioctls %#llx\n", err(rr), r.ioctls & RANGE_IOCTLS);
    printf("register again: %s\n", err(reg(fd, base, 16 * PAGE)));
    int other = new_uffd(O_CLOEXEC | O_NONBLOCK);
    api(other, 0);
    printf("another uffd: %s\n", err(reg(other, base + 4 * PAGE, PAGE)));
    close(other);
}

static void faults(int fd, char *base) {
    static char src[2 * PAGE] __attribute__((aligned(4096)));
    memset(src, 'A', PAGE);
    memset(src + PAGE, 'B', PAGE);
    struct uffd_msg m;
    long long n;
    printf("nothing pending: %s\n", err(read(fd, &m, sizeof m)));

    struct access a;
    pthread_t th = touch(&a, base + 100, 0);
    m = next_msg(fd);
    show_msg("read fault", m, base);
    show_fdinfo(fd);
    printf("copy: %s", err(copy_page(fd, base, src, PAGE, 0, &n)));
    printf(" copied %lld\n", n);
    pthread_join(th, NULL);
    printf("reader saw %c\n", a.value);

    th = touch(&a, base + PAGE + 7, 1);
    m = next_msg(fd);
    show_msg("write fault", m, base);
    printf("zeropage: %s", err(zero_page(fd, base + PAGE, PAGE, 0, &n)));
    printf(" done %lld\n", n);
    pthread_join(th, NULL);
    printf("writer read back %#x, neighbour %d\n", a.value, base[PAGE]);

    printf("copy over a page: %s", err(copy_page(fd, base, src, PAGE, 0, &n)));
    printf(" copied %lld\n", n);
    printf("copy bad mode: %s\n", err(copy_page(fd, base + 2 * PAGE, src, PAGE, 4, &n)));
    printf("copy unaligned: %s\n", err(copy_page(fd, base + 2 * PAGE + 1, src, PAGE, 0, &n)));
    printf("copy bad source: %s", err(copy_page(fd, base + 2 * PAGE, (char *)16, PAGE, 0, &n)));
    printf(" copied %lld\n", n);
    printf("copy past the range: %s", err(copy_page(fd, base + 15 * PAGE, src, 2 * PAGE, 0, &n)));
    printf(" copied %lld\n", n);
    char *plain = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("copy unregistered: %s", err(copy_page(fd, plain, src, PAGE, 0, &n)));
    printf(" copied %lld\n", n);
    munmap(plain, PAGE);
    printf("zeropage bad mode: %s\n", err(zero_page(fd, base + 2 * PAGE, PAGE, 2, &n)));
    printf("zeropage of two pages: %s", err(zero_page(fd, base + 2 * PAGE, 2 * PAGE, 0, &n)));
    printf(" done %lld\n", n);
    printf("copy of two pages: %s", err(copy_page(fd, base + 5 * PAGE, src, 2 * PAGE, 0, &n)));
    printf(" copied %lld: %c %c\n", n, base[5 * PAGE], base[6 * PAGE + 4095]);
    printf("short zeropage: %s", err(zero_page(fd, base + 4 * PAGE, 2 * PAGE, 0, &n)));
    printf(" done %lld\n", n);
    printf("short copy: %s", err(copy_page(fd, base + 3 * PAGE, src, 2 * PAGE, 0, &n)));
    printf(" copied %lld\n", n);
    printf("wake bad range: %s\n", err(ioctl(fd, UFFDIO_WAKE, &(struct uffdio_range){(unsigned long)base, 0})));

    /* DONTWAKE: the page is there but the waiter sleeps on until UFFDIO_WAKE. */
    th = touch(&a, base + 7 * PAGE, 0);
    m = next_msg(fd);
    show_msg("dontwake fault", m, base);
    printf("copy dontwake: %s", err(copy_page(fd, base + 7 * PAGE, src + PAGE, PAGE, UFFDIO_COPY_MODE_DONTWAKE, &n)));
    printf(" copied %lld\n", n);
    show_fdinfo(fd);
    printf("wake: %s\n", err(ioctl(fd, UFFDIO_WAKE, &(struct uffdio_range){(unsigned long)base + 7 * PAGE, PAGE})));
    pthread_join(th, NULL);
    printf("woken reader saw %c\n", a.value);
    show_fdinfo(fd);

    /* A wake without a page: the access faults again. */
    th = touch(&a, base + 8 * PAGE, 0);
    m = next_msg(fd);
    ioctl(fd, UFFDIO_WAKE, &(struct uffdio_range){(unsigned long)base + 8 * PAGE, PAGE});
    m = next_msg(fd);
    show_msg("fault again after a bare wake", m, base);
    zero_page(fd, base + 8 * PAGE, PAGE, 0, &n);
    pthread_join(th, NULL);
    printf("reader saw %d\n", a.value);

    /* epoll readiness. */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("epoll idle: %d\n", epoll_wait(ep, &out, 1, 0));
    th = touch(&a, base + 9 * PAGE, 1);
    int k = epoll_wait(ep, &out, 1, -1);
    printf("epoll: %d events %#x\n", k, out.events);
    m = next_msg(fd);
    show_msg("epoll fault", m, base);
    printf("epoll after read: %d\n", epoll_wait(ep, &out, 1, 0));
    copy_page(fd, base + 9 * PAGE, src, PAGE, 0, &n);
    pthread_join(th, NULL);
    close(ep);

    /* The kernel's own copies wait too: read(2) into a missing page (a write), write(2) from one (a read). */
    int pipefd[2];
    pipe(pipefd);
    write(pipefd[1], "kernel copy", 12);
    struct io io = {.fd = pipefd[0], .buf = base + 10 * PAGE};
    pthread_create(&th, NULL, reader, &io);
    m = next_msg(fd);
    show_msg("read(2) fault", m, base);
    zero_page(fd, base + 10 * PAGE, PAGE, 0, &n);
    pthread_join(th, NULL);
    printf("read(2): %ld %s\n", io.r, base + 10 * PAGE);
    io = (struct io){.fd = pipefd[1], .buf = base + 11 * PAGE};
    pthread_create(&th, NULL, writer, &io);
    m = next_msg(fd);
    show_msg("write(2) fault", m, base);
    copy_page(fd, base + 11 * PAGE, src + PAGE, PAGE, 0, &n);
    pthread_join(th, NULL);
    char got[100] = "";
    read(pipefd[0], got, 100);
    printf("write(2): %ld %.3s\n", io.r, got);
    close(pipefd[0]);
    close(pipefd[1]);

    /* A signal ends the wait: the handler runs, and the access faults again. */
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    th = touch(&a, base + 12 * PAGE, 0);
    m = next_msg(fd);
    pthread_kill(th, SIGUSR1);
    m = next_msg(fd);
    show_msg("fault after a signal", m, base);
    printf("handler ran %d\n", usr1_seen);
    copy_page(fd, base + 12 * PAGE, src, PAGE, 0, &n);
    pthread_join(th, NULL);
    printf("reader saw %c\n", a.value);

    /* MADV_DONTNEED makes a filled page missing again. */
    madvise(base, PAGE, MADV_DONTNEED);
    th = touch(&a, base + 5, 0);
    m = next_msg(fd);
    show_msg("fault after MADV_DONTNEED", m, base);
    copy_page(fd, base, src + PAGE, PAGE, 0, &n);
    pthread_join(th, NULL);
    printf("reader saw %c\n", a.value);

    /* A forked child's memory is not registered: it gets zeros. */
    pid_t kid = fork();
    if (kid == 0) {
        _exit(base[13 * PAGE] == 0 && base[0] == 'B' ? 3 : 4);
    }
    int st;
    waitpid(kid, &st, 0);
    printf("forked child: exit %d\n", WEXITSTATUS(st));

    /* UNREGISTER wakes a waiter, which then gets a zero page. */
    th = touch(&a, base + 13 * PAGE, 0);
    m = next_msg(fd);
    printf("unregister: %s\n", err(ioctl(fd, UFFDIO_UNREGISTER, &(struct uffdio_range){(unsigned long)base + 13 * PAGE, PAGE})));
    pthread_join(th, NULL);
    printf("reader saw %d\n", a.value);
    printf("unregister nothing: %s\n", err(ioctl(fd, UFFDIO_UNREGISTER, &(struct uffdio_range){0x10000, PAGE})));

    /* close wakes a waiter too. */
    th = touch(&a, base + 14 * PAGE, 1);
    m = next_msg(fd);
    close(fd);
    pthread_join(th, NULL);
    printf("after close the writer read back %#x\n", a.value);
}

static void features(void) {
    char *base = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    struct uffdio_api a = {.api = UFFD_API, .features = UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS};
    printf("thread id and exact address: %s\n", err(ioctl(fd, UFFDIO_API, &a)));
    reg(fd, base, 2 * PAGE);
    struct access acc;
    pthread_t th = touch(&acc, base + 123, 0);
    struct uffd_msg m = next_msg(fd);
    show_msg("exact fault", m, base);
    long long n;
    zero_page(fd, base, PAGE, 0, &n);
    pthread_join(th, NULL);
    printf("ptid is the thread: %d\n", m.arg.pagefault.feat.ptid == (unsigned)acc.tid);
    close(fd);

    fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    printf("sigbus: %s\n", err(api(fd, UFFD_FEATURE_SIGBUS)));
    reg(fd, base, 2 * PAGE);
    struct sigaction sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO};
    sigaction(SIGBUS, &sa, NULL);
    if (sigsetjmp(bus_jump, 1) == 0) {
        (void)*(volatile char *)(base + PAGE);
        printf("no SIGBUS\n");
    } else {
        printf("SIGBUS code %d\n", bus_code);
    }
    struct uffd_msg none;
    printf("no message: %s\n", err(read(fd, &none, sizeof none)));
    close(fd);
    munmap(base, 2 * PAGE);
}

/* A process waiting on a fault dies of SIGKILL. */
static void killed(void) {
    int ready[2];
    pipe(ready);
    pid_t kid = fork();
    if (kid == 0) {
        char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
        api(fd, 0);
        reg(fd, p, PAGE);
        char c = (char)('0' + fd);
        write(ready[1], &c, 1);
        (void)*(volatile char *)p;
        _exit(9);
    }
    char c;
    read(ready[0], &c, 1);
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%c", kid, c);
    for (int i = 0; i < 10000; i++) {
        int f = open(path, O_RDONLY);
        ssize_t n = read(f, buf, sizeof buf - 1);
        close(f);
        buf[n > 0 ? n : 0] = 0;
        if (strstr(buf, "pending:\t1")) {
            break;
        }
        usleep(1000);
    }
    kill(kid, SIGKILL);
    int st;
    waitpid(kid, &st, 0);
    printf("waiting process: signaled %d signal %d\n", WIFSIGNALED(st), WTERMSIG(st));
}

/* As uid 65534: only UFFD_USER_MODE_ONLY is allowed, and then the kernel's copies do not wait. */
static void user_mode_only(void) {
    pid_t kid = fork();
    if (kid == 0) {
        setuid(65534);
        printf("uid 65534 without user mode only: %s\n", err(new_uffd(O_CLOEXEC)));
        int fd = new_uffd(O_CLOEXEC | O_NONBLOCK | 1);
        printf("uid 65534 user mode only: %s\n", err(fd));
        api(fd, 0);
        char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("register: %s\n", err(reg(fd, p, 2 * PAGE)));
        int pipefd[2];
        pipe(pipefd);
        write(pipefd[1], "x", 1);
        printf("kernel copy: %s\n", err(read(pipefd[0], p, 1)));
        struct access a;
        pthread_t th = touch(&a, p + PAGE, 1);
        struct uffd_msg m = next_msg(fd);
        show_msg("user fault", m, p);
        long long n;
        zero_page(fd, p + PAGE, PAGE, 0, &n);
        pthread_join(th, NULL);
        printf("writer read back %#x\n", a.value);
        fflush(stdout);
        _exit(0);
    }
    waitpid(kid, NULL, 0);
}

int main(void) {
    alarm(60); /* a fault never resolved must not hang the suite */
    setvbuf(stdout, NULL, _IOLBF, 0);
    before_api();
    char *base = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    api(fd, 0);
    registration(fd, base);
    faults(fd, base);
    features();
    killed();
    user_mode_only();
    return 0;
}
