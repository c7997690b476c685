/* TCP on the loopback network: listen/connect/accept on 127.0.0.1 and ::1, addresses from getsockname,
 * getpeername and accept, data both ways with half-close, ECONNREFUSED, non-blocking connect (EINPROGRESS,
 * POLLOUT, SO_ERROR), EADDRINUSE with SO_REUSEADDR/SO_REUSEPORT, RST on close with unread data and with
 * SO_LINGER 0, EPIPE with SIGPIPE after the peer closed, MSG_PEEK/MSG_DONTWAIT/MSG_WAITALL, options, poll
 * of fresh and listening sockets, the listen backlog, SO_RCVTIMEO, EINTR, IPv4-mapped IPv6 and IPV6_V6ONLY.
 * Ports are below the ephemeral range, in the first block free on the host, printed relative to it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case ENOTCONN: return "ENOTCONN";
    case EPIPE: return "EPIPE";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EINPROGRESS: return "EINPROGRESS";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EISCONN: return "EISCONN";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case ENETUNREACH: return "ENETUNREACH";
    case EALREADY: return "EALREADY";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    default: return "other";
    }
}

static int BASE;

/* The first block of 16 ports from start that nobody on this host uses (TCP and UDP, IPv4 and IPv6): the
 * program runs natively beside other tests. Ports are printed relative to it. */
static int pick_base(int start) {
    for (int base = start; base < start + 1600; base += 16) {
        int ok = 1;
        for (int p = base; p < base + 16 && ok; p++) {
            for (int type = SOCK_STREAM; type <= SOCK_DGRAM && ok; type++) {
                int s = socket(AF_INET6, type, 0);
                struct sockaddr_in6 a = {0};
                a.sin6_family = AF_INET6;
                a.sin6_port = htons(p);
                ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
                close(s);
            }
        }
        if (ok) return base;
    }
    return start;
}
static volatile sig_atomic_t pipes, alarms;
static void on_pipe(int s) { (void)s; pipes++; }
static void on_alarm(int s) { (void)s; alarms++; }

static struct sockaddr_in v4(const char *ip, int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip, int port) {
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static int listener(int port, int backlog) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = v4("127.0.0.1", port);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("busy %d\n", port);
        exit(0);
    }
    listen(s, backlog);
    return s;
}

static int connect4(int port) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("127.0.0.1", port);
    return connect(c, (struct sockaddr *)&a, sizeof a) == 0 ? c : -errno;
}

static int geti(int fd, int level, int opt) {
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, opt, &v, &l) < 0) return -errno;
    return v;
}

static const char *rc(long r) { return r < 0 ? ename(errno) : "ok"; }

static void basics(void) {
    int l = listener(BASE, 5);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &len);
    printf("listener: port +%d len %d acceptconn %d\n", ntohs(a.sin_port) - BASE, (int)len, geti(l, SOL_SOCKET, SO_ACCEPTCONN));
    int c = connect4(BASE);
    printf("connect: %s\n", c >= 0 ? "ok" : ename(-c));
    struct sockaddr_in ca, pa, acc;
    len = sizeof ca;
    getsockname(c, (struct sockaddr *)&ca, &len);
    int eph = ntohs(ca.sin_port);
    printf("client: %s ephemeral %s\n", inet_ntoa(ca.sin_addr), eph >= 32768 && eph <= 60999 ? "yes" : "no");
    len = sizeof acc;
    int s = accept(l, (struct sockaddr *)&acc, &len);
    printf("accept: %s len %d same-port %s\n", s >= 0 ? "ok" : ename(errno), (int)len, acc.sin_port == ca.sin_port ? "yes" : "no");
    len = sizeof pa;
    getpeername(c, (struct sockaddr *)&pa, &len);
    printf("peer of client: %s:+%d\n", inet_ntoa(pa.sin_addr), ntohs(pa.sin_port) - BASE);
    len = sizeof pa;
    getsockname(s, (struct sockaddr *)&pa, &len);
    printf("accepted name: %s:+%d\n", inet_ntoa(pa.sin_addr), ntohs(pa.sin_port) - BASE);
    printf("types: %d %d %d\n", geti(s, SOL_SOCKET, SO_TYPE), geti(s, SOL_SOCKET, SO_PROTOCOL), geti(s, SOL_SOCKET, SO_DOMAIN));

    char buf[64];
    write(c, "hello", 5);
    int n = read(s, buf, sizeof buf);
    printf("read %d %.*s\n", n, n, buf);
    ioctl(c, FIONREAD, &n);
    printf("fionread empty %d\n", n);
    write(s, "abcdef", 6);
    usleep(10000);
    ioctl(c, FIONREAD, &n);
    printf("fionread %d\n", n);
    n = recv(c, buf, 3, MSG_PEEK);
    printf("peek %d %.*s\n", n, n, buf);
    n = recv(c, buf, sizeof buf, 0);
    printf("recv %d %.*s\n", n, n, buf);
    errno = 0;
    n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
    printf("dontwait %d %s\n", n, ename(errno));

    /* Half-close: the server reads EOF, still writes back. */
    shutdown(c, SHUT_WR);
    n = read(s, buf, sizeof buf);
    printf("after shut_wr: read %d\n", n);
    struct pollfd p = {s, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    printf("server poll: in %d out %d rdhup %d hup %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT), !!(p.revents & POLLRDHUP), !!(p.revents & POLLHUP));
    n = write(s, "back", 4);
    printf("write back %d\n", n);
    n = read(c, buf, sizeof buf);
    printf("client read %d %.*s\n", n, n, buf);
    errno = 0;
    pipes = 0;
    n = write(c, "x", 1);
    int e0 = errno;
    printf("write after shut_wr %d %s pipes %d\n", n, ename(e0), (int)pipes);
    close(s);
    n = read(c, buf, sizeof buf);
    printf("eof %d\n", n);
    close(c);
    close(l);
}

static void refused(void) {
    int c = connect4(BASE + 1);
    printf("refused: %s\n", ename(-c));

    int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = v4("127.0.0.1", BASE + 1);
    errno = 0;
    connect(nb, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    struct pollfd p = {nb, POLLOUT, 0};
    poll(&p, 1, 1000);
    printf("nb refused: %s err %d out %d so_error %s\n", ename(e), !!(p.revents & POLLERR), !!(p.revents & POLLOUT), ename(geti(nb, SOL_SOCKET, SO_ERROR)));
    printf("so_error again %s\n", ename(geti(nb, SOL_SOCKET, SO_ERROR)));
    close(nb);

    int l = listener(BASE + 2, 5);
    nb = socket(AF_INET, SOCK_STREAM, 0);
    fcntl(nb, F_SETFL, O_NONBLOCK);
    a = v4("127.0.0.1", BASE + 2);
    errno = 0;
    connect(nb, (struct sockaddr *)&a, sizeof a);
    e = errno;
    p.fd = nb;
    p.events = POLLOUT | POLLIN;
    poll(&p, 1, 1000);
    printf("nb connect: %s out %d in %d so_error %s\n", ename(e), !!(p.revents & POLLOUT), !!(p.revents & POLLIN), ename(geti(nb, SOL_SOCKET, SO_ERROR)));
    errno = 0;
    connect(nb, (struct sockaddr *)&a, sizeof a);
    printf("connect again: %s\n", ename(errno));
    errno = 0;
    connect(nb, (struct sockaddr *)&a, sizeof a);
    printf("connect third: %s\n", ename(errno));
    int s = accept(l, NULL, NULL);
    printf("accepted %s\n", s >= 0 ? "yes" : "no");
    close(s);
    close(nb);
    close(l);
}

static void addrinuse(void) {
    int a1 = socket(AF_INET, SOCK_STREAM, 0), a2 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("127.0.0.1", BASE + 3);
    struct sockaddr_in any = v4("0.0.0.0", BASE + 3);
    printf("bind1 %s\n", rc(bind(a1, (struct sockaddr *)&a, sizeof a)));
    if (errno == EADDRINUSE) { printf("busy\n"); exit(0); }
    printf("bind same %s\n", rc(bind(a2, (struct sockaddr *)&a, sizeof a)));
    printf("bind any %s\n", rc(bind(a2, (struct sockaddr *)&any, sizeof any)));
    printf("bind twice %s\n", rc(bind(a1, (struct sockaddr *)&a, sizeof a)));
    close(a1);
    close(a2);

    int one = 1;
    a1 = socket(AF_INET, SOCK_STREAM, 0);
    a2 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(a1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(a2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    printf("reuseaddr %d\n", geti(a1, SOL_SOCKET, SO_REUSEADDR));
    printf("reuse bind1 %s\n", rc(bind(a1, (struct sockaddr *)&a, sizeof a)));
    printf("reuse bind2 %s\n", rc(bind(a2, (struct sockaddr *)&a, sizeof a)));
    printf("listen1 %s\n", rc(listen(a1, 1)));
    printf("listen2 %s\n", rc(listen(a2, 1)));
    int a3 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(a3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    printf("reuse bind over listener %s\n", rc(bind(a3, (struct sockaddr *)&a, sizeof a)));
    close(a1);
    close(a2);
    close(a3);

    a1 = socket(AF_INET, SOCK_STREAM, 0);
    a2 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(a1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    setsockopt(a2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    printf("reuseport bind1 %s\n", rc(bind(a1, (struct sockaddr *)&a, sizeof a)));
    printf("reuseport listen1 %s\n", rc(listen(a1, 1)));
    printf("reuseport bind2 %s\n", rc(bind(a2, (struct sockaddr *)&a, sizeof a)));
    printf("reuseport listen2 %s\n", rc(listen(a2, 1)));
    close(a1);
    close(a2);

    a1 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in far = v4("192.0.2.1", BASE + 3);
    printf("bind foreign %s\n", rc(bind(a1, (struct sockaddr *)&far, sizeof far)));
    struct sockaddr_in6 six = v6("::1", BASE + 3);
    printf("bind v6 addr on v4 socket %s\n", rc(bind(a1, (struct sockaddr *)&six, sizeof six)));
    printf("bind short %s\n", rc(bind(a1, (struct sockaddr *)&a, 8)));
    struct sockaddr_in a0 = v4("127.0.0.1", 0);
    printf("bind port 0 %s\n", rc(bind(a1, (struct sockaddr *)&a0, sizeof a0)));
    socklen_t len = sizeof a0;
    getsockname(a1, (struct sockaddr *)&a0, &len);
    printf("port 0 became ephemeral %s\n", ntohs(a0.sin_port) >= 32768 && ntohs(a0.sin_port) <= 60999 ? "yes" : "no");
    close(a1);

    /* listen on an unbound socket binds a port */
    a1 = socket(AF_INET, SOCK_STREAM, 0);
    listen(a1, 1);
    len = sizeof a0;
    getsockname(a1, (struct sockaddr *)&a0, &len);
    printf("listen autobind %s %s\n", inet_ntoa(a0.sin_addr), ntohs(a0.sin_port) >= 32768 ? "yes" : "no");
    int c = connect4(ntohs(a0.sin_port));
    printf("connect to autobound %s\n", c >= 0 ? "ok" : ename(-c));
    close(c);
    close(a1);
}

static void resets(void) {
    char buf[64];
    int l = listener(BASE + 4, 5);
    /* Close with unread data: the peer is reset. */
    int c = connect4(BASE + 4);
    int s = accept(l, NULL, NULL);
    write(c, "unread", 6);
    usleep(20000);
    close(s);
    usleep(20000);
    errno = 0;
    int e0;
    int n = read(c, buf, sizeof buf);
    printf("read after rst %d %s\n", n, ename(errno));
    errno = 0;
    n = read(c, buf, sizeof buf);
    printf("read again %d %s\n", n, ename(errno));
    close(c);

    /* SO_LINGER 0 resets too. */
    c = connect4(BASE + 4);
    s = accept(l, NULL, NULL);
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    struct linger got;
    socklen_t gl = sizeof got;
    getsockopt(s, SOL_SOCKET, SO_LINGER, &got, &gl);
    printf("linger %d %d len %d\n", got.l_onoff, got.l_linger, (int)gl);
    close(s);
    usleep(20000);
    errno = 0;
    n = recv(c, buf, sizeof buf, 0);
    printf("recv after linger0 %d %s\n", n, ename(errno));
    struct pollfd p = {c, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("poll after rst: in %d hup %d err %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLHUP), !!(p.revents & POLLERR));
    close(c);

    /* Writes after the peer closed: the first is taken, the next fails with EPIPE and SIGPIPE. */
    c = connect4(BASE + 4);
    s = accept(l, NULL, NULL);
    close(s);
    usleep(20000);
    n = read(c, buf, sizeof buf);
    printf("eof %d\n", n);
    errno = 0;
    n = write(c, "a", 1);
    printf("first write %d\n", n);
    usleep(20000);
    errno = 0;
    pipes = 0;
    n = write(c, "b", 1);
    e0 = errno;
    printf("second write %d %s sigpipe %d\n", n, ename(e0), (int)pipes);
    errno = 0;
    n = send(c, "c", 1, MSG_NOSIGNAL);
    e0 = errno;
    printf("nosignal %d %s sigpipe %d\n", n, ename(e0), (int)pipes);
    close(c);

    /* A connection closed by its client before accept still comes out of accept. */
    c = connect4(BASE + 4);
    close(c);
    usleep(20000);
    s = accept(l, NULL, NULL);
    n = read(s, buf, sizeof buf);
    printf("accepted closed conn: read %d\n", n);
    close(s);
    close(l);
}

static void unconnected(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    char buf[4];
    struct pollfd p = {s, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("fresh poll: in %d out %d hup %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT), !!(p.revents & POLLHUP));
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    printf("getpeername %s\n", rc(getpeername(s, (struct sockaddr *)&a, &len)));
    len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    printf("getsockname unbound: family %d port %d len %d\n", a.sin_family, ntohs(a.sin_port), (int)len);
    printf("recv %s\n", rc(recv(s, buf, 4, 0)));
    pipes = 0;
    const char *sr = rc(send(s, "x", 1, 0));
    printf("send %s sigpipe %d\n", sr, (int)pipes);
    printf("accept %s\n", rc(accept(s, NULL, NULL)));
    printf("shutdown %s\n", rc(shutdown(s, SHUT_RDWR)));
    printf("socketpair inet %s\n", rc(socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0})));
    printf("seqpacket inet %s\n", socket(AF_INET, SOCK_SEQPACKET, 0) < 0 ? ename(errno) : "ok");
    printf("stream udp proto %s\n", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP) < 0 ? ename(errno) : "ok");
    int l = listener(BASE + 5, 5);
    p.fd = l;
    poll(&p, 1, 0);
    printf("listener poll: in %d out %d hup %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT), !!(p.revents & POLLHUP));
    printf("recv on listener %s\n", rc(recv(l, buf, 4, 0)));
    struct sockaddr_in d = v4("127.0.0.1", BASE + 5);
    printf("connect listener %s\n", rc(connect(l, (struct sockaddr *)&d, sizeof d)));
    close(l);
    close(s);
}

static void options(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    printf("nodelay %d\n", geti(s, IPPROTO_TCP, TCP_NODELAY));
    printf("set nodelay %s\n", rc(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one)));
    printf("nodelay %d\n", geti(s, IPPROTO_TCP, TCP_NODELAY));
    printf("keepidle %d keepintvl %d keepcnt %d\n", geti(s, IPPROTO_TCP, TCP_KEEPIDLE), geti(s, IPPROTO_TCP, TCP_KEEPINTVL), geti(s, IPPROTO_TCP, TCP_KEEPCNT));
    int v = 30;
    setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v);
    printf("keepidle %d\n", geti(s, IPPROTO_TCP, TCP_KEEPIDLE));
    v = 0;
    printf("keepidle 0 %s\n", rc(setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v)));
    printf("keepalive %d\n", geti(s, SOL_SOCKET, SO_KEEPALIVE));
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    printf("keepalive %d\n", geti(s, SOL_SOCKET, SO_KEEPALIVE));
    printf("maxseg unconnected %d\n", geti(s, IPPROTO_TCP, TCP_MAXSEG));
    printf("ttl %d\n", geti(s, IPPROTO_IP, IP_TTL));
    v = 300;
    printf("ttl 300 %s\n", rc(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof v)));
    printf("v6 level on v4 %s\n", rc(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)));
    printf("unknown tcp %d\n", geti(s, IPPROTO_TCP, 999));
    printf("short opt %s\n", rc(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, 2)));
    char cc[16] = {0};
    socklen_t cl = sizeof cc;
    getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cc, &cl);
    printf("mtu unconnected %d\n", geti(s, IPPROTO_IP, IP_MTU));
    close(s);
}

static void nonblock_and_backlog(void) {
    int l = listener(BASE + 6, 1);
    int fl = fcntl(l, F_GETFL);
    fcntl(l, F_SETFL, fl | O_NONBLOCK);
    printf("accept empty %s\n", rc(accept(l, NULL, NULL)));
    fcntl(l, F_SETFL, fl);
    int c[3];
    struct sockaddr_in a = v4("127.0.0.1", BASE + 6);
    for (int i = 0; i < 3; i++) {
        c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        errno = 0;
        connect(c[i], (struct sockaddr *)&a, sizeof a);
        printf("connect %d: %s\n", i, ename(errno));
    }
    usleep(50000);
    for (int i = 0; i < 3; i++) {
        struct pollfd p = {c[i], POLLOUT, 0};
        poll(&p, 1, 100);
        printf("conn %d writable %d\n", i, !!(p.revents & POLLOUT));
    }
    struct pollfd lp = {l, POLLIN, 0};
    poll(&lp, 1, 0);
    printf("listener readable %d\n", !!(lp.revents & POLLIN));
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4 nonblock %d cloexec %d\n", !!(fcntl(s, F_GETFL) & O_NONBLOCK), !!(fcntl(s, F_GETFD) & FD_CLOEXEC));
    printf("accept4 bad flags %s\n", rc(accept4(l, NULL, NULL, 0x1234)));
    close(s);
    for (int i = 0; i < 3; i++) close(c[i]);
    close(l);
}

static void timeouts(void) {
    int l = listener(BASE + 7, 5);
    int c = connect4(BASE + 7);
    int s = accept(l, NULL, NULL);
    struct timeval tv = {0, 50000};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[8];
    errno = 0;
    int n = recv(c, buf, sizeof buf, 0);
    printf("rcvtimeo %d %s\n", n, ename(errno));
    tv.tv_usec = 0;
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    errno = 0;
    n = accept(l, NULL, NULL);
    printf("accept interrupted %d %s alarms %d\n", n, ename(errno), (int)alarms);
    setitimer(ITIMER_REAL, &it, NULL);
    errno = 0;
    n = read(c, buf, sizeof buf);
    printf("read interrupted %d %s alarms %d\n", n, ename(errno), (int)alarms);

    /* MSG_WAITALL gathers writes from a child. */
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 4; i++) {
            usleep(5000);
            write(s, "ab", 2);
        }
        _exit(0);
    }
    n = recv(c, buf, 8, MSG_WAITALL);
    printf("waitall %d %.*s\n", n, n, buf);
    waitpid(pid, NULL, 0);

    /* epoll sees a pending connection and data. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    int c2 = connect4(BASE + 7);
    struct epoll_event out;
    n = epoll_wait(ep, &out, 1, 1000);
    printf("epoll listener %d tag %u\n", n, out.data.u32);
    close(c2);
    close(ep);
    close(s);
    close(c);
    close(l);
}

static void bulk(void) {
    int l = listener(BASE + 8, 5);
    int c = connect4(BASE + 8);
    int s = accept(l, NULL, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(s);
        static char big[1 << 20];
        for (int i = 0; i < (int)sizeof big; i++) big[i] = (char)(i * 7 + (i >> 9));
        int off = 0;
        while (off < (int)sizeof big) {
            int n = write(c, big + off, sizeof big - off);
            if (n <= 0) _exit(1);
            off += n;
        }
        _exit(0);
    }
    close(c);
    static char got[1 << 20];
    long total = 0;
    unsigned sum = 0;
    int n;
    while ((n = read(s, got, sizeof got)) > 0) {
        for (int i = 0; i < n; i++) sum = sum * 31 + (unsigned char)got[i];
        total += n;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("bulk %ld sum %u child %d\n", total, sum, WEXITSTATUS(st));
    close(s);
    close(l);
}

static void ipv6(void) {
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    printf("v6only %d\n", geti(l, IPPROTO_IPV6, IPV6_V6ONLY));
    struct sockaddr_in6 any = v6("::", BASE + 9);
    if (bind(l, (struct sockaddr *)&any, sizeof any) < 0) { printf("busy\n"); return; }
    listen(l, 5);
    printf("v6only after bind %s\n", rc(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)));
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 lo = v6("::1", BASE + 9);
    printf("connect ::1 %s\n", rc(connect(c, (struct sockaddr *)&lo, sizeof lo)));
    struct sockaddr_in6 pa;
    socklen_t len = sizeof pa;
    int s = accept(l, (struct sockaddr *)&pa, &len);
    char txt[64];
    inet_ntop(AF_INET6, &pa.sin6_addr, txt, sizeof txt);
    printf("accepted from %s len %d\n", txt, (int)len);
    close(s);
    close(c);

    /* An IPv4 client reaches the dual-stack listener and is seen as mapped. */
    int c4 = connect4(BASE + 9);
    printf("v4 to v6 listener %s\n", c4 >= 0 ? "ok" : ename(-c4));
    len = sizeof pa;
    s = accept(l, (struct sockaddr *)&pa, &len);
    inet_ntop(AF_INET6, &pa.sin6_addr, txt, sizeof txt);
    printf("accepted from %s\n", txt);
    len = sizeof pa;
    getsockname(s, (struct sockaddr *)&pa, &len);
    inet_ntop(AF_INET6, &pa.sin6_addr, txt, sizeof txt);
    printf("accepted local %s\n", txt);
    close(s);
    close(c4);

    /* A v6 client may connect to a mapped address. */
    c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 mapped = v6("::ffff:127.0.0.1", BASE + 9);
    printf("connect mapped %s\n", rc(connect(c, (struct sockaddr *)&mapped, sizeof mapped)));
    len = sizeof pa;
    getsockname(c, (struct sockaddr *)&pa, &len);
    inet_ntop(AF_INET6, &pa.sin6_addr, txt, sizeof txt);
    printf("mapped client local %s\n", txt);
    s = accept(l, NULL, NULL);
    close(s);
    close(c);
    close(l);

    /* IPV6_V6ONLY listener: IPv4 is refused. */
    l = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bind(l, (struct sockaddr *)&any, sizeof any);
    listen(l, 5);
    c4 = connect4(BASE + 9);
    printf("v4 to v6only %s\n", c4 >= 0 ? "ok" : ename(-c4));
    int l4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a4 = v4("127.0.0.1", BASE + 9);
    int l6b = socket(AF_INET6, SOCK_STREAM, 0);
    printf("v6 bind beside v6only %s\n", rc(bind(l6b, (struct sockaddr *)&lo, sizeof lo)));
    c = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    printf("v6only connect mapped %s\n", rc(connect(c, (struct sockaddr *)&mapped, sizeof mapped)));
    struct sockaddr_in6 m0 = v6("::ffff:127.0.0.1", 0);
    printf("v6only bind mapped %s\n", rc(bind(c, (struct sockaddr *)&m0, sizeof m0)));
    printf("v4 addr to v6 socket %s\n", rc(bind(c, (struct sockaddr *)&a4, sizeof a4)));
    close(c);
    close(l6b);
    close(l4);
    close(l);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    BASE = pick_base(29410);
    signal(SIGPIPE, on_pipe);
    basics();
    refused();
    addrinuse();
    resets();
    unconnected();
    options();
    nonblock_and_backlog();
    timeouts();
    bulk();
    ipv6();
    return 0;
}
