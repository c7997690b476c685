/* Small answers that must be Linux's: F_SETPIPE_SZ rounding (to a power of two of pages, 0 is a page) and
 * its EINVAL/EPERM/EBUSY/EBADF edges; AF_UNIX SOCK_RAW served as SOCK_DGRAM; reopening a socket through
 * /proc/self/fd (ENXIO); SO_PASSCRED inherited by an accepted socket; F_SEAL_WRITE refused (EBUSY) while a
 * shared mapping may write the memfd (also one a forked child holds), not for F_SEAL_FUTURE_WRITE or private
 * mappings; a hole punched in a memfd seen through a shared mapping. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "ok";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EBUSY: return "EBUSY";
    case EBADF: return "EBADF";
    case ENXIO: return "ENXIO";
    case ENOMEM: return "ENOMEM";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "other";
    }
}

static void show(const char *label, long r) {
    if (r < 0)
        printf("%s: %s\n", label, ename(errno));
    else
        printf("%s: %ld\n", label, r);
}

static int has_sys_resource(void) {
    struct { unsigned version; int pid; } hdr = {0x20080522, 0};
    struct { unsigned eff, prm, inh; } data[2];
    if (syscall(SYS_capget, &hdr, data) != 0) return 0;
    return (data[0].eff >> 24) & 1;
}

static void test_pipe_size(void) {
    int p[2];
    pipe(p);
    show("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    show("F_SETPIPE_SZ 0", fcntl(p[0], F_SETPIPE_SZ, 0));
    show("F_SETPIPE_SZ 1", fcntl(p[0], F_SETPIPE_SZ, 1));
    show("F_SETPIPE_SZ 4097", fcntl(p[1], F_SETPIPE_SZ, 4097));
    show("F_SETPIPE_SZ 12288", fcntl(p[0], F_SETPIPE_SZ, 12288));
    show("F_SETPIPE_SZ 65535", fcntl(p[0], F_SETPIPE_SZ, 65535));
    show("F_SETPIPE_SZ 1048576", fcntl(p[0], F_SETPIPE_SZ, 1048576));
    show("F_SETPIPE_SZ -1", fcntl(p[0], F_SETPIPE_SZ, -1));
    show("F_SETPIPE_SZ 2^31+1", fcntl(p[0], F_SETPIPE_SZ, (long)((1UL << 31) + 1)));
    show("F_SETPIPE_SZ 2^32+4096 (truncated to 4096)", fcntl(p[0], F_SETPIPE_SZ, (long)((1UL << 32) + 4096)));
    errno = 0;
    long r = fcntl(p[0], F_SETPIPE_SZ, 1048577);
    int res = has_sys_resource();
    printf("F_SETPIPE_SZ 1048577: %s\n", res ? (r == 2097152 ? "as Linux" : ename(errno)) : (r < 0 && errno == EPERM ? "as Linux" : "allowed"));
    fcntl(p[0], F_SETPIPE_SZ, 65536);
    char buf[8192];
    memset(buf, 'x', sizeof buf);
    write(p[1], buf, 5000);
    show("shrink below the contents", fcntl(p[0], F_SETPIPE_SZ, 4096));
    show("shrink to the contents' pages", fcntl(p[0], F_SETPIPE_SZ, 8192));
    int fd = open("/proc/self/status", O_RDONLY);
    show("F_SETPIPE_SZ on a file", fcntl(fd, F_SETPIPE_SZ, 4096));
    show("F_GETPIPE_SZ on a file", fcntl(fd, F_GETPIPE_SZ));
    close(fd);
    close(p[0]);
    close(p[1]);
}

static void test_unix_raw(void) {
    int s = socket(AF_UNIX, SOCK_RAW, 0);
    printf("AF_UNIX SOCK_RAW: %s\n", s < 0 ? ename(errno) : "ok");
    if (s >= 0) {
        int type = -1;
        socklen_t len = sizeof type;
        getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len);
        printf("SO_TYPE is SOCK_DGRAM: %d\n", type == SOCK_DGRAM);
        close(s);
    }
    int sv[2] = {-1, -1};
    show("socketpair SOCK_RAW", socketpair(AF_UNIX, SOCK_RAW, 0, sv));
    if (sv[0] >= 0) {
        send(sv[0], "abc", 3, 0);
        char b[8] = {0};
        show("datagram through a SOCK_RAW pair", recv(sv[1], b, sizeof b, 0));
        close(sv[0]);
        close(sv[1]);
    }
    int s1 = socket(AF_UNIX, SOCK_RAW, 1);
    show("SOCK_RAW protocol PF_UNIX", s1 < 0 ? -1 : 0);
    close(s1);
    show("SOCK_RAW protocol 2", socket(AF_UNIX, SOCK_RAW, 2));
}

static void test_proc_reopen(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
    show("open a socket through /proc/self/fd", open(path, O_RDWR));
    show("open it O_RDONLY", open(path, O_RDONLY));
    show("open it O_PATH", open(path, O_PATH) >= 0 ? 0 : -1);
    close(sv[0]);
    close(sv[1]);
}

static void test_passcred_inherit(void) {
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {AF_UNIX};
    snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "moat-small-%d", getpid());
    socklen_t len = sizeof(sa_family_t) + 1 + strlen(a.sun_path + 1);
    bind(l, (struct sockaddr *)&a, len);
    int on = 1;
    setsockopt(l, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    listen(l, 1);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, len);
    int s = accept(l, NULL, NULL);
    int v = -1;
    socklen_t vl = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_PASSCRED, &v, &vl);
    printf("accepted socket SO_PASSCRED: %d\n", v);
    v = -1;
    getsockopt(c, SOL_SOCKET, SO_PASSCRED, &v, &vl);
    printf("client SO_PASSCRED: %d\n", v);
    /* The accepted socket then receives credentials without asking. */
    write(c, "x", 1);
    char b[4];
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec io = {b, sizeof b};
    struct msghdr m = {0};
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    recvmsg(s, &m, 0);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    printf("credentials came: %d\n", cm != NULL && cm->cmsg_type == SCM_CREDENTIALS);
    close(s);
    close(c);
    close(l);
}

static void test_memfd(void) {
    int fd = memfd_create("seal", MFD_ALLOW_SEALING);
    ftruncate(fd, 8192);
    char *w = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    show("F_SEAL_WRITE with a writable shared mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(w, 8192);
    char *ro = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    show("F_SEAL_WRITE with a PROT_READ shared mapping of an O_RDWR memfd", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(ro, 8192);
    char *priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    show("F_SEAL_WRITE with a private mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(priv, 8192);
    show("F_SEAL_WRITE again", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    show("writable shared mmap after the seal", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0);
    close(fd);

    fd = memfd_create("seal2", MFD_ALLOW_SEALING);
    ftruncate(fd, 4096);
    w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    show("F_SEAL_FUTURE_WRITE with a writable mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    munmap(w, 4096);
    close(fd);

    /* A forked child's copy of the mapping counts too. */
    fd = memfd_create("seal3", MFD_ALLOW_SEALING);
    ftruncate(fd, 4096);
    w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int pp[2];
    pipe(pp);
    pid_t c = fork();
    if (c == 0) {
        char x;
        read(pp[0], &x, 1);
        _exit(0);
    }
    munmap(w, 4096);
    show("F_SEAL_WRITE while a child still maps it", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    write(pp[1], "x", 1);
    int st;
    waitpid(c, &st, 0);
    show("F_SEAL_WRITE after the child exited", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    close(fd);

    fd = memfd_create("punch", 0);
    ftruncate(fd, 3 * 4096);
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(m, 'a', 3 * 4096);
    show("PUNCH_HOLE", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096));
    printf("mapping after punch: %c %d %c\n", m[0], m[4096] + m[8191], m[8192]);
    char b = 'z';
    pread(fd, &b, 1, 4096);
    printf("file reads the hole as zero: %d\n", b);
    munmap(m, 3 * 4096);
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    test_pipe_size();
    test_unix_raw();
    test_proc_reopen();
    test_passcred_inherit();
    test_memfd();
    return 0;
}
