/* Unix stream socket options and flags: SO_TYPE/SO_DOMAIN/SO_PROTOCOL per type, SO_ERROR, SO_SNDBUF and
 * SO_RCVBUF, SO_RCVTIMEO/SO_SNDTIMEO (EAGAIN when they run out, EINTR on a signal), SA_RESTART, FIONREAD,
 * MSG_PEEK, MSG_WAITALL across fork, MSG_DONTWAIT, shutdown directions, SIGPIPE and MSG_NOSIGNAL, and
 * the errors of bad levels, lengths and unconnected sockets. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case ENOTCONN: return "ENOTCONN";
    case EPIPE: return "EPIPE";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EDOM: return "EDOM";
    case EISCONN: return "EISCONN";
    case ECONNRESET: return "ECONNRESET";
    default: return "other";
    }
}

static volatile sig_atomic_t pipes, alarms;
static int feed_fd = -1;
static void on_pipe(int s) {
    (void)s;
    pipes++;
}
static void on_alarm(int s) {
    (void)s;
    alarms++;
    if (feed_fd >= 0) write(feed_fd, "R", 1);
}

static int geti(int fd, int opt) {
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) < 0) return -errno;
    return v;
}

static void arm(int ms, int restart) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, ms * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
    signal(SIGPIPE, on_pipe);
    int types[3] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    for (int i = 0; i < 3; i++) {
        int s = socket(AF_UNIX, types[i], 0);
        printf("type %d: SO_TYPE %d domain %d protocol %d acceptconn %d\n", types[i], geti(s, SO_TYPE), geti(s, SO_DOMAIN), geti(s, SO_PROTOCOL), geti(s, SO_ACCEPTCONN));
        close(s);
    }
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    printf("SO_ERROR: %d\n", geti(sv[0], SO_ERROR));
    printf("default buffers: %d %d\n", geti(sv[0], SO_SNDBUF), geti(sv[0], SO_RCVBUF));
    int v = 65536;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    printf("set 65536: %d %d\n", geti(sv[0], SO_SNDBUF), geti(sv[0], SO_RCVBUF));
    v = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    printf("set 1: %d %d\n", geti(sv[0], SO_SNDBUF), geti(sv[0], SO_RCVBUF));
    printf("passcred default: %d\n", geti(sv[0], SO_PASSCRED));
    v = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v);
    printf("reuseaddr: %d\n", geti(sv[0], SO_REUSEADDR));
    int r = setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, 2);
    int e = errno;
    printf("short optlen: %d %s\n", r, ename(e));
    r = setsockopt(sv[0], SOL_SOCKET, 9999, &v, sizeof v);
    e = errno;
    printf("unknown option: %d %s\n", r, ename(e));
    r = setsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, sizeof v);
    e = errno;
    printf("set SO_TYPE: %d %s\n", r, ename(e));
    r = setsockopt(sv[0], 6 /* IPPROTO_TCP */, 1, &v, sizeof v);
    e = errno;
    printf("tcp level set: %d %s\n", r, ename(e));
    socklen_t l = sizeof v;
    r = getsockopt(sv[0], 6, 1, &v, &l);
    e = errno;
    printf("tcp level get: %d %s\n", r, ename(e));
    short sh = -1;
    l = sizeof sh;
    r = getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &sh, &l);
    printf("short get: %d len %u value %d\n", r, l, sh);
    l = (socklen_t)-1;
    r = getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l);
    e = errno;
    printf("negative len: %d %s\n", r, ename(e));
    struct ucred uc;
    l = sizeof uc + 10;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &l);
    printf("peercred len: %u pid ok %d\n", l, uc.pid == getpid());

    /* Timeouts. */
    struct timeval tv = {0, 100000};
    printf("rcvtimeo: %d\n", setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    struct timeval got = {0};
    l = sizeof got;
    getsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &got, &l);
    printf("rcvtimeo back: %ld %ld len %u\n", (long)got.tv_sec, (long)got.tv_usec, l);
    char b[256];
    ssize_t n = recv(sv[1], b, sizeof b, 0);
    e = errno;
    printf("recv timed out: %zd %s\n", n, ename(e));
    tv.tv_usec = 1000000;
    r = setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    e = errno;
    printf("bad usec: %d %s\n", r, ename(e));
    r = setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, 8);
    e = errno;
    printf("short timeval: %d %s\n", r, ename(e));
    /* A signal interrupts a recv with a time limit with EINTR even under SA_RESTART. */
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    arm(50, 1);
    n = recv(sv[1], b, sizeof b, 0);
    e = errno;
    printf("timed recv + signal: %zd %s alarms %d\n", n, ename(e), (int)alarms);
    tv.tv_sec = 0;
    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    /* Without a time limit: EINTR without SA_RESTART; restarted with it (the handler feeds the socket). */
    alarms = 0;
    arm(50, 0);
    n = recv(sv[1], b, sizeof b, 0);
    e = errno;
    printf("recv + signal: %zd %s alarms %d\n", n, ename(e), (int)alarms);
    alarms = 0;
    feed_fd = sv[0];
    arm(50, 1);
    n = recv(sv[1], b, sizeof b, 0);
    printf("recv + SA_RESTART: %zd %c alarms %d\n", n, b[0], (int)alarms);
    feed_fd = -1;

    /* SO_SNDTIMEO: a full socket times out. */
    v = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    tv.tv_sec = 0;
    tv.tv_usec = 100000;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static char big[1 << 20];
    long total = 0;
    while (1) {
        n = send(sv[0], big, 1000, 0);
        if (n < 0) break;
        total += n;
    }
    e = errno;
    printf("send until full: %s wrote-some %d\n", ename(e), total > 0);
    struct pollfd pf = {sv[0], POLLOUT, 0};
    r = poll(&pf, 1, 0);
    printf("poll full: %d\n", r);
    int avail = 0;
    ioctl(sv[1], FIONREAD, &avail);
    printf("FIONREAD = written: %d\n", avail == total);
    long drained = 0;
    while ((n = recv(sv[1], big, sizeof big, MSG_DONTWAIT)) > 0) drained += n;
    printf("drained all: %d\n", drained == total);
    r = poll(&pf, 1, 0);
    printf("poll drained: %d %#x\n", r, pf.revents);

    /* MSG_PEEK and MSG_WAITALL across a forked writer. */
    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        char x;
        for (int i = 0; i < 4; i++) {
            read(go[0], &x, 1);
            write(sv[0], "abcd", 4);
        }
        _exit(0);
    }
    write(go[1], "g", 1);
    n = recv(sv[1], b, 4, MSG_PEEK);
    printf("peek: %zd %.4s\n", n, b);
    for (int i = 0; i < 3; i++) write(go[1], "g", 1);
    n = recv(sv[1], b, 16, MSG_WAITALL);
    printf("waitall: %zd %.16s\n", n, b);
    waitpid(c, NULL, 0);
    n = recv(sv[1], b, 16, MSG_DONTWAIT);
    e = errno;
    printf("dontwait: %zd %s\n", n, ename(e));
    write(sv[0], "xy", 2);
    shutdown(sv[0], SHUT_WR);
    n = recv(sv[1], b, 16, MSG_WAITALL);
    printf("waitall until EOF: %zd\n", n);

    /* shutdown(SHUT_RD): queued bytes can still be read; the peer's writes fail with EPIPE and SIGPIPE. */
    int p2[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, p2);
    write(p2[0], "queued", 6);
    printf("shutdown rd: %d\n", shutdown(p2[1], SHUT_RD));
    n = read(p2[1], b, sizeof b);
    printf("read queued: %zd\n", n);
    n = read(p2[1], b, sizeof b);
    printf("then: %zd\n", n);
    pipes = 0;
    n = write(p2[0], "x", 1);
    e = errno;
    printf("peer write: %zd %s sigpipe %d\n", n, ename(e), (int)pipes);
    n = send(p2[0], "x", 1, MSG_NOSIGNAL);
    e = errno;
    printf("peer send nosignal: %zd %s sigpipe %d\n", n, ename(e), (int)pipes);
    printf("own write still works: %zd\n", write(p2[1], "ok", 2));
    pf.fd = p2[1];
    pf.events = POLLIN | POLLOUT | POLLRDHUP;
    r = poll(&pf, 1, 0);
    printf("poll shut rd: %d %#x\n", r, pf.revents);
    shutdown(p2[1], SHUT_WR);
    r = poll(&pf, 1, 0);
    printf("poll shut rdwr: %d %#x\n", r, pf.revents);
    r = shutdown(p2[1], 7);
    e = errno;
    printf("bad how: %d %s\n", r, ename(e));
    close(p2[0]);
    close(p2[1]);

    /* Closing with unread data resets the peer. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, p2);
    write(p2[0], "unread", 6);
    close(p2[1]);
    printf("SO_ERROR after reset: %s\n", ename(geti(p2[0], SO_ERROR) == ECONNRESET ? ECONNRESET : 0));
    close(p2[0]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, p2);
    write(p2[0], "unread", 6);
    close(p2[1]);
    n = read(p2[0], b, sizeof b);
    e = errno;
    printf("read after reset: %zd %s\n", n, ename(e));
    n = read(p2[0], b, sizeof b);
    printf("then: %zd\n", n);
    close(p2[0]);

    /* Unconnected stream sockets. */
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    n = recv(u, b, 1, MSG_DONTWAIT);
    e = errno;
    printf("recv unconnected: %zd %s\n", n, ename(e));
    n = send(u, "x", 1, MSG_NOSIGNAL);
    e = errno;
    printf("send unconnected: %zd %s\n", n, ename(e));
    r = shutdown(u, SHUT_RDWR);
    e = errno;
    printf("shutdown unconnected: %d %s\n", r, r ? ename(e) : "-");
    pf.fd = u;
    pf.events = POLLIN | POLLOUT;
    r = poll(&pf, 1, 0);
    printf("poll unconnected: %d %#x\n", r, pf.revents);
    struct sockaddr_un to = {.sun_family = AF_UNIX};
    strcpy(to.sun_path + 1, "moat-opts-none");
    n = sendto(sv[0], "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&to, sizeof to);
    e = errno;
    printf("sendto connected stream: %zd %s\n", n, ename(e));
    /* Zero-length I/O: read(2) of nothing returns at once; an empty write is a message only with boundaries. */
    for (int i = 0; i < 3; i++) {
        int zp[2];
        socketpair(AF_UNIX, types[i], 0, zp);
        ssize_t z0 = read(zp[1], b, 0);
        ssize_t z1 = write(zp[0], b, 0);
        struct pollfd zpf = {zp[1], POLLIN, 0};
        int zr = poll(&zpf, 1, 0);
        ssize_t z2 = recv(zp[1], b, sizeof b, MSG_DONTWAIT);
        e = errno;
        printf("zero-length type %d: read %zd write %zd poll %d recv %zd %s\n", types[i], z0, z1, zr, z2, z2 < 0 ? ename(e) : "-");
        shutdown(zp[0], SHUT_WR);
        z0 = send(zp[0], b, 0, MSG_NOSIGNAL);
        e = errno;
        printf("empty send after shutdown: %zd %s\n", z0, ename(e));
        close(zp[0]);
        close(zp[1]);
    }

    /* Identity: each socket is its own sockfs inode; /proc names it socket:[ino]. */
    struct stat s0, s1;
    fstat(sv[0], &s0);
    fstat(sv[1], &s1);
    char link[64] = {0}, want[64], lp[64];
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", sv[0]);
    readlink(lp, link, sizeof link - 1);
    snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)s0.st_ino);
    printf("fstat: sock %d mode %o distinct %d proc link ok %d\n", S_ISSOCK(s0.st_mode), (unsigned)(s0.st_mode & 0777), s0.st_ino != s1.st_ino, strcmp(link, want) == 0);
    uc.pid = 99;
    l = sizeof uc;
    getsockopt(u, SOL_SOCKET, SO_PEERCRED, &uc, &l);
    printf("peercred unconnected: pid %d uid %u gid %u\n", uc.pid, uc.uid, uc.gid);
    close(u);
    return 0;
}
