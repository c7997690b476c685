/* Linux native AIO through raw system calls (no libaio): io_setup's ring (magic, nr, head/tail, id) and its
 * errors, aio-nr, PREAD/PWRITE/PREADV/PWRITEV/FSYNC/FDSYNC on a /tmp file, IOCB_FLAG_RESFD with an eventfd,
 * RWF flags, io_submit's errors (which fail the submission and which complete with an error), IOCB_CMD_POLL
 * on a pipe completing when data comes, io_cancel, io_getevents' errors and EFAULT keeping the events,
 * reaping from the ring in user space as libaio does, a full ring (EAGAIN), EINTR of a waiting
 * io_getevents, io_pgetevents' signal mask, the ring after fork (mapped, but no context), io_destroy. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct ring {
    unsigned id, nr, head, tail, magic, compat_features, incompat_features, header_length;
    struct io_event events[];
};

static long io_setup(unsigned nr, aio_context_t *ctx) { return syscall(SYS_io_setup, nr, ctx); }
static long io_destroy(aio_context_t ctx) { return syscall(SYS_io_destroy, ctx); }
static long io_submit(aio_context_t ctx, long nr, struct iocb **cbs) { return syscall(SYS_io_submit, ctx, nr, cbs); }
static long io_cancel(aio_context_t ctx, struct iocb *cb, struct io_event *ev) { return syscall(SYS_io_cancel, ctx, cb, ev); }
static long io_getevents(aio_context_t ctx, long min, long nr, struct io_event *ev, struct timespec *ts) {
    return syscall(SYS_io_getevents, ctx, min, nr, ev, ts);
}

static const char *err(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EINTR: return "EINTR";
    case EINPROGRESS: return "EINPROGRESS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOMEM: return "ENOMEM";
    default: return strerror(errno);
    }
}

static const char *res_name(long long res) {
    static char buf[32];
    if (res >= 0) { snprintf(buf, sizeof buf, "%lld", res); return buf; }
    switch (-res) {
    case EFAULT: return "-EFAULT";
    case EAGAIN: return "-EAGAIN";
    case EBADF: return "-EBADF";
    case EINVAL: return "-EINVAL";
    default: snprintf(buf, sizeof buf, "-%lld", -res); return buf;
    }
}

static long aio_nr(void) {
    FILE *f = fopen("/proc/sys/fs/aio-nr", "r");
    long v = -1;
    if (f) { if (fscanf(f, "%ld", &v) != 1) v = -1; fclose(f); }
    return v;
}

static void prep(struct iocb *cb, int op, int fd, void *buf, size_t n, long long off, unsigned long long data) {
    memset(cb, 0, sizeof *cb);
    cb->aio_lio_opcode = op;
    cb->aio_fildes = fd;
    cb->aio_buf = (unsigned long)buf;
    cb->aio_nbytes = n;
    cb->aio_offset = off;
    cb->aio_data = data;
}

static long submit1(aio_context_t ctx, struct iocb *cb) {
    struct iocb *list[1] = { cb };
    return io_submit(ctx, 1, list);
}

/* Takes exactly one event without waiting long, printing what it says. */
static void reap1(aio_context_t ctx, const char *what, struct iocb *cb) {
    struct io_event ev;
    struct timespec ts = { 5, 0 };
    long n = io_getevents(ctx, 1, 1, &ev, &ts);
    if (n != 1) { printf("%s: io_getevents %ld %s\n", what, n, err(n)); return; }
    printf("%s: res %s res2 %lld data %llu obj %s\n", what, res_name(ev.res), (long long)ev.res2, (unsigned long long)ev.data,
           ev.obj == (unsigned long)cb ? "iocb" : "other");
}

static volatile int usr1;
static void on_usr1(int sig) { (void)sig; usr1++; }

int main(void) {
    aio_context_t ctx = 0;
    long before = aio_nr();

    /* io_setup's checks. */
    printf("setup NULL: %s\n", err(io_setup(8, NULL)));
    aio_context_t junk = 1;
    printf("setup nonzero ctx: %s\n", err(io_setup(8, &junk)));
    printf("setup 0: %s\n", err(io_setup(0, &ctx)));
    printf("setup 65537: %s\n", err(io_setup(65537, &ctx)));
    printf("setup 0x7fffffff: %s\n", err(io_setup(0x7fffffff, &ctx)));
    printf("setup 0x80000000: %s\n", err(io_setup(0x80000000u, &ctx)));
    printf("setup 5000000: %s\n", err(io_setup(5000000, &ctx)));
    aio_context_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("setup read-only ctxp: %s\n", err(io_setup(8, ro)));
    printf("aio-nr unchanged: %s\n", aio_nr() == before ? "yes" : "no");

    printf("setup 128: %s\n", err(io_setup(128, &ctx)));
    struct ring *ring = (struct ring *)ctx;
    printf("ring: id %u nr %u head %u tail %u magic %#x compat %u incompat %u header %u\n", ring->id, ring->nr, ring->head,
           ring->tail, ring->magic, ring->compat_features, ring->incompat_features, ring->header_length);
    printf("aio-nr +128: %s\n", aio_nr() == before + 128 ? "yes" : "no");
    aio_context_t ctx2 = 0;
    long r2 = io_setup(1, &ctx2);
    printf("second setup: %s id %u\n", err(r2), ((struct ring *)ctx2)->id);
    printf("aio-nr +129: %s\n", aio_nr() == before + 129 ? "yes" : "no");

    /* Reads and writes on a file. */
    int fd = open("/tmp/moat-aio", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char wbuf[64], rbuf[64];
    memset(wbuf, 'a', sizeof wbuf);
    struct iocb cb, cb2;
    prep(&cb, IOCB_CMD_PWRITE, fd, wbuf, 64, 100, 7);
    cb.aio_key = 99;
    printf("submit pwrite: %ld key %u\n", submit1(ctx, &cb), cb.aio_key);
    reap1(ctx, "pwrite", &cb);
    printf("file offset after pwrite: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    struct stat st;
    fstat(fd, &st);
    printf("size: %lld\n", (long long)st.st_size);
    memset(rbuf, 0, sizeof rbuf);
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 64, 130, 8);
    printf("submit pread: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "pread at 130", &cb);
    printf("read bytes: %.34s\n", rbuf);
    char v1[10], v2[20];
    struct iovec iov[2] = { { v1, sizeof v1 }, { v2, sizeof v2 } };
    memcpy(v1, "0123456789", 10);
    memcpy(v2, "abcdefghijklmnopqrst", 20);
    prep(&cb, IOCB_CMD_PWRITEV, fd, iov, 2, 0, 9);
    printf("submit pwritev: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "pwritev", &cb);
    memset(v1, 0, 10);
    memset(v2, 0, 20);
    iov[0].iov_len = 5;
    prep(&cb, IOCB_CMD_PREADV, fd, iov, 2, 3, 10);
    printf("submit preadv: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "preadv at 3", &cb);
    printf("preadv bytes: %.5s|%.20s\n", v1, v2);
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 64, 1000, 11);
    submit1(ctx, &cb);
    reap1(ctx, "pread past end", &cb);
    prep(&cb, IOCB_CMD_FSYNC, fd, NULL, 0, 0, 12);
    printf("submit fsync: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "fsync", &cb);
    prep(&cb, IOCB_CMD_FDSYNC, fd, NULL, 0, 0, 13);
    printf("submit fdsync: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "fdsync", &cb);

    /* Two at once, and RWF flags. */
    prep(&cb, IOCB_CMD_PWRITE, fd, "XY", 2, 0, 14);
    prep(&cb2, IOCB_CMD_PWRITE, fd, "Z", 1, 0, 15);
    cb2.aio_rw_flags = RWF_APPEND;
    struct iocb *two[2] = { &cb, &cb2 };
    printf("submit two: %ld\n", io_submit(ctx, 2, two));
    struct io_event evs[8];
    struct timespec ts5 = { 5, 0 };
    long n = io_getevents(ctx, 2, 8, evs, &ts5);
    printf("two events: %ld first data %llu second data %llu\n", n, (unsigned long long)evs[0].data, (unsigned long long)evs[1].data);
    fstat(fd, &st);
    printf("size after RWF_APPEND: %lld\n", (long long)st.st_size);
    pread(fd, rbuf, 2, 0);
    printf("start: %.2s\n", rbuf);
    prep(&cb, IOCB_CMD_PWRITE, fd, "Z", 1, 0, 16);
    cb.aio_rw_flags = 0x10000;
    printf("unknown rw flag: %s\n", err(submit1(ctx, &cb)));
    cb.aio_rw_flags = RWF_APPEND | RWF_NOAPPEND;
    printf("append and noappend: %s\n", err(submit1(ctx, &cb)));

    /* eventfd completions. */
    int efd = eventfd(0, EFD_NONBLOCK);
    for (int i = 0; i < 3; i++) {
        prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0, 20 + i);
        cb.aio_flags = IOCB_FLAG_RESFD;
        cb.aio_resfd = efd;
        submit1(ctx, &cb);
    }
    uint64_t count = 0;
    ssize_t got8 = read(efd, &count, 8);
    printf("eventfd read: %zd count %llu\n", got8, (unsigned long long)count);
    n = io_getevents(ctx, 3, 3, evs, &ts5);
    printf("resfd events: %ld\n", n);

    /* Errors that fail the submission. */
    int p[2];
    pipe(p);
    int wo = open("/tmp/moat-aio", O_WRONLY);
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    int path = open("/tmp/moat-aio", O_PATH);
    struct iocb *list[2] = { &cb, &cb2 };
    printf("submit bad ctx: %s\n", err(io_submit(12345, 1, list)));
    printf("submit nr -1: %s\n", err(io_submit(ctx, -1, list)));
    printf("submit nr 0: %ld\n", io_submit(ctx, 0, list));
    printf("submit NULL list: %s\n", err(io_submit(ctx, 1, NULL)));
    struct iocb *badp[1] = { (struct iocb *)8 };
    printf("submit bad iocb pointer: %s\n", err(io_submit(ctx, 1, badp)));
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0, 0);
    cb.aio_reserved2 = 1;
    printf("reserved2: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, (size_t)-1, 0, 0);
    printf("negative nbytes: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, 99, rbuf, 4, 0, 0);
    printf("bad fd: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, path, rbuf, 4, 0, 0);
    printf("O_PATH fd: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0, 0);
    cb.aio_flags = IOCB_FLAG_RESFD;
    cb.aio_resfd = fd;
    printf("resfd not eventfd: %s\n", err(submit1(ctx, &cb)));
    cb.aio_resfd = 99;
    printf("resfd bad: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_NOOP, fd, NULL, 0, 0, 0);
    printf("noop: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, 99, fd, NULL, 0, 0, 0);
    printf("opcode 99: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, 4, fd, NULL, 0, 0, 0);
    printf("opcode 4: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, wo, rbuf, 4, 0, 0);
    printf("pread write-only: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PWRITE, p[0], rbuf, 4, 0, 0);
    printf("pwrite read end: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, -1, 0);
    printf("negative offset: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, p[0], rbuf, 4, -5, 0);
    printf("negative offset on pipe: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0x7ffffffffffffffeLL, 0);
    printf("offset overflow: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, dir, rbuf, 4, 0, 0);
    printf("pread directory: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, fd, (void *)0xffff800000000000ULL, 4, 0, 0);
    printf("kernel buffer: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREADV, fd, iov, 1025, 0, 0);
    printf("preadv 1025: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREADV, fd, (void *)8, 2, 0, 0);
    printf("preadv bad iovec: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_FSYNC, p[1], NULL, 0, 0, 0);
    printf("fsync pipe: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_FSYNC, fd, NULL, 1, 0, 0);
    printf("fsync nbytes: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_FSYNC, efd, NULL, 0, 0, 0);
    printf("fsync eventfd: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_POLL, p[0], (void *)0x10000, 0, 0, 0);
    printf("poll big mask: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_POLL, p[0], (void *)POLLIN, 1, 0, 0);
    printf("poll nbytes: %s\n", err(submit1(ctx, &cb)));
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0, 30);
    prep(&cb2, IOCB_CMD_PREAD, 99, rbuf, 4, 0, 31);
    printf("good then bad: %ld\n", io_submit(ctx, 2, list));
    reap1(ctx, "good of two", &cb);

    /* Errors that complete: the transfer's own result is the event. */
    void *hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    prep(&cb, IOCB_CMD_PREAD, fd, hole, 4, 0, 40);
    printf("pread into PROT_NONE: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "pread into PROT_NONE", &cb);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    prep(&cb, IOCB_CMD_PREAD, p[0], rbuf, 4, 0, 41);
    printf("pread empty non-blocking pipe: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "pread empty non-blocking pipe", &cb);
    write(p[1], "pipe", 4);
    prep(&cb, IOCB_CMD_PREAD, p[0], rbuf, 64, 12345, 42);
    submit1(ctx, &cb);
    reap1(ctx, "pread pipe with data", &cb);
    prep(&cb, IOCB_CMD_PWRITE, p[1], "more", 4, 0, 43);
    submit1(ctx, &cb);
    reap1(ctx, "pwrite pipe", &cb);
    read(p[0], rbuf, 64);

    /* Polls. */
    prep(&cb, IOCB_CMD_POLL, fd, (void *)POLLIN, 0, 0, 50);
    printf("poll file: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "poll file", &cb);
    prep(&cb, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 51);
    printf("poll empty pipe: %ld\n", submit1(ctx, &cb));
    struct timespec zero = { 0, 0 };
    printf("nothing yet: %ld\n", io_getevents(ctx, 0, 8, evs, &zero));
    printf("ring head == tail: %s\n", ring->head == ring->tail ? "yes" : "no");
    write(p[1], "x", 1);
    reap1(ctx, "poll pipe after write", &cb);
    read(p[0], rbuf, 64);
    prep(&cb, IOCB_CMD_POLL, p[1], (void *)POLLOUT, 0, 0, 52);
    submit1(ctx, &cb);
    reap1(ctx, "poll pipe for writing", &cb);
    int hp[2];
    pipe(hp);
    prep(&cb, IOCB_CMD_POLL, hp[0], (void *)POLLIN, 0, 0, 53);
    submit1(ctx, &cb);
    close(hp[1]);
    reap1(ctx, "poll pipe writer closed", &cb);
    close(hp[0]);

    /* io_cancel. */
    prep(&cb, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 60);
    cb.aio_flags = IOCB_FLAG_RESFD;
    cb.aio_resfd = efd;
    submit1(ctx, &cb);
    struct io_event cev;
    printf("cancel bad ctx: %s\n", err(io_cancel(777, &cb, &cev)));
    printf("cancel NULL iocb: %s\n", err(io_cancel(ctx, NULL, &cev)));
    printf("cancel poll: %s\n", err(io_cancel(ctx, &cb, &cev)));
    reap1(ctx, "cancelled poll", &cb);
    got8 = read(efd, &count, 8);
    printf("eventfd after cancel: %zd count %llu\n", got8, (unsigned long long)count);
    printf("cancel again: %s\n", err(io_cancel(ctx, &cb, &cev)));
    cb.aio_key = 1;
    printf("cancel bad key: %s\n", err(io_cancel(ctx, &cb, &cev)));
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0, 61);
    submit1(ctx, &cb);
    printf("cancel completed read: %s\n", err(io_cancel(ctx, &cb, &cev)));
    reap1(ctx, "completed read", &cb);

    /* io_getevents' errors; EFAULT leaves the events in the ring. */
    printf("getevents bad ctx: %s\n", err(io_getevents(4096, 0, 1, evs, &zero)));
    printf("getevents min > nr: %s\n", err(io_getevents(ctx, 2, 1, evs, &zero)));
    printf("getevents min < 0: %s\n", err(io_getevents(ctx, -1, 1, evs, &zero)));
    printf("getevents nr < 0: %s\n", err(io_getevents(ctx, 0, -1, evs, &zero)));
    printf("getevents bad timeout: %s\n", err(io_getevents(ctx, 0, 1, evs, (struct timespec *)8)));
    printf("getevents nothing, nr 0: %ld\n", io_getevents(ctx, 0, 0, evs, &zero));
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0, 70);
    submit1(ctx, &cb);
    printf("getevents bad events: %s\n", err(io_getevents(ctx, 1, 1, (struct io_event *)8, &zero)));
    reap1(ctx, "event kept", &cb);
    struct timespec ms = { 0, 1000000 };
    printf("getevents times out: %ld\n", io_getevents(ctx, 1, 1, evs, &ms));

    /* Reaping in user space, as libaio's io_getevents does when the ring has events. */
    for (int i = 0; i < 3; i++) {
        prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0, 80 + i);
        submit1(ctx, &cb);
    }
    unsigned head = ring->head, tail = ring->tail, got = 0;
    unsigned long long sum = 0;
    while (head != tail) {
        sum += ring->events[head].data;
        head = (head + 1) % ring->nr;
        got++;
    }
    __atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
    printf("user-space reap: %u events, data sum %llu\n", got, sum);
    printf("kernel sees none left: %ld\n", io_getevents(ctx, 0, 8, evs, &zero));

    /* A full ring: polls that wait take slots until EAGAIN; reaping gives them back. */
    long queued = 0, r;
    static struct iocb many[2048];
    for (;;) {
        prep(&many[queued], IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 1000 + queued);
        r = submit1(ctx, &many[queued]);
        if (r != 1 || queued >= 2000) break;
        queued++;
    }
    printf("full: %s after at least 128: %s, below nr: %s\n", err(r), queued >= 128 ? "yes" : "no", queued < ring->nr ? "yes" : "no");
    write(p[1], "y", 1);
    long reaped = 0;
    while (reaped < queued) {
        n = io_getevents(ctx, 1, 8, evs, &ts5);
        if (n <= 0) break;
        reaped += n;
    }
    printf("all polls completed: %s\n", reaped == queued ? "yes" : "no");
    read(p[0], rbuf, 64);
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0, 90);
    printf("submit after reaping: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "after reaping", &cb);

    /* A signal ends a waiting io_getevents with EINTR; io_pgetevents' mask keeps it out of the wait. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t parent = getpid();
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        for (;;) { kill(parent, SIGUSR1); usleep(20000); }
    }
    n = io_getevents(ctx, 1, 1, evs, NULL);
    printf("getevents interrupted: %s\n", err(n));
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    prep(&cb, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 95);
    submit1(ctx, &cb);
    usr1 = 0;
    fflush(stdout);
    kid = fork();
    if (kid == 0) {
        for (int i = 0; i < 10; i++) { kill(parent, SIGUSR1); usleep(20000); }
        write(p[1], "z", 1);
        _exit(0);
    }
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    struct { const sigset_t *mask; size_t size; } aset = { &block, 8 };
    n = syscall(SYS_io_pgetevents, ctx, 1, 1, evs, NULL, &aset);
    printf("pgetevents with SIGUSR1 masked: %ld data %llu\n", n, (unsigned long long)evs[0].data);
    waitpid(kid, NULL, 0);
    printf("handler ran after: %s\n", usr1 > 0 ? "yes" : "no");
    read(p[0], rbuf, 64);
    aset.size = 7;
    printf("pgetevents sigsetsize 7: %s\n", err(syscall(SYS_io_pgetevents, ctx, 0, 1, evs, &zero, &aset)));
    printf("pgetevents bad sigset: %s\n", err(syscall(SYS_io_pgetevents, ctx, 0, 1, evs, &zero, (void *)8)));
    aset.mask = NULL;
    printf("pgetevents NULL mask: %ld\n", syscall(SYS_io_pgetevents, ctx, 0, 1, evs, &zero, &aset));

    /* fork: the child keeps the ring mapping but has no context. */
    prep(&cb, IOCB_CMD_PREAD, fd, rbuf, 4, 0, 96);
    fflush(stdout);
    kid = fork();
    if (kid == 0) {
        printf("child sees magic: %s\n", ring->magic == 0xa10a10a1 ? "yes" : "no");
        printf("child submit: %s\n", err(submit1(ctx, &cb)));
        printf("child getevents: %s\n", err(io_getevents(ctx, 0, 1, evs, &zero)));
        printf("child destroy: %s\n", err(io_destroy(ctx)));
        aio_context_t own = 0;
        long ro2 = io_setup(4, &own);
        printf("child setup: %s id %u\n", err(ro2), ((struct ring *)own)->id);
        fflush(stdout);
        _exit(0);
    }
    waitpid(kid, NULL, 0);
    printf("parent submit after fork: %ld\n", submit1(ctx, &cb));
    reap1(ctx, "parent after fork", &cb);
    printf("aio-nr after child exit: %s\n", aio_nr() == before + 129 ? "yes" : "no");

    /* io_destroy: the ring goes away, with the context. */
    prep(&cb, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 97);
    submit1(ctx, &cb);
    printf("destroy: %s\n", err(io_destroy(ctx)));
    printf("ring unmapped: %s\n", msync((void *)ctx, 4096, MS_ASYNC) != 0 && errno == ENOMEM ? "yes" : "no");
    printf("destroy again: %s\n", err(io_destroy(ctx)));
    printf("getevents destroyed: %s\n", err(io_getevents(ctx, 0, 1, evs, &zero)));
    printf("submit destroyed: %s\n", err(submit1(ctx, &cb)));
    printf("destroy bad ctx: %s\n", err(io_destroy(0)));
    printf("destroy second: %s\n", err(io_destroy(ctx2)));
    printf("aio-nr back: %s\n", aio_nr() == before ? "yes" : "no");
    unlink("/tmp/moat-aio");
    return 0;
}
