/* Internet sockets where real test suites look: refused connections (connect, SO_ERROR, read and write after
 * a non-blocking connect), TCP_CORK and MSG_MORE holding partial data until uncorked, TCP_DEFER_ACCEPT
 * (accept waits for data; its seconds read back as Linux rounds them), TCP_INFO (state, options, sizes,
 * plausible rto/rtt, bytes counted), UDP receive timestamps (SIOCGSTAMP/SIOCGSTAMPNS, SO_TIMESTAMP and
 * SO_TIMESTAMPNS control messages), the boolean options Linux stores and reads back, and dual stack (IPv6
 * sockets reaching IPv4 ones through v4-mapped addresses and back). Ports are below the ephemeral range, in
 * the first block free on the host, printed relative to it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case ENOTCONN: return "ENOTCONN";
    case EPIPE: return "EPIPE";
    case ENOENT: return "ENOENT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNABORTED: return "ECONNABORTED";
    case EINPROGRESS: return "EINPROGRESS";
    case EISCONN: return "EISCONN";
    case EALREADY: return "EALREADY";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case ENETUNREACH: return "ENETUNREACH";
    default: return "other";
    }
}

static const char *rc(int r) { return r < 0 ? ename(errno) : "ok"; }

static int BASE;

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

static struct sockaddr_in v4(int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static struct sockaddr_in6 v6(const char *ip, int port) {
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static int geti(int s, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(s, level, name, &v, &len) < 0) return -errno;
    return v;
}

static int listener(int port) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = v4(port);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 8) < 0) {
        printf("listener +%d: %s\n", port - BASE, ename(errno));
        exit(1);
    }
    return l;
}

static int connect4(int port) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4(port);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("connect +%d: %s\n", port - BASE, ename(errno));
        exit(1);
    }
    return c;
}

static int pending(int s) {
    int n = -1;
    ioctl(s, FIONREAD, &n);
    return n;
}

static void refused(void) {
    struct sockaddr_in a = v4(BASE + 1);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    printf("blocking connect to a closed port: %s\n", rc(connect(c, (struct sockaddr *)&a, sizeof a)));
    char b[4];
    printf("then read: %s\n", rc(read(c, b, sizeof b)));
    close(c);

    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    printf("non-blocking connect: %s\n", rc(connect(c, (struct sockaddr *)&a, sizeof a)));
    struct pollfd p = {c, POLLIN | POLLOUT, 0};
    poll(&p, 1, 5000);
    printf("poll: in %d out %d err %d hup %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT), !!(p.revents & POLLERR),
           !!(p.revents & POLLHUP));
    printf("read: %s\n", rc(read(c, b, sizeof b)));
    int r = read(c, b, sizeof b);
    printf("read again: %d %s\n", r, r < 0 ? ename(errno) : "");
    printf("SO_ERROR after the read: %s\n", ename(geti(c, SOL_SOCKET, SO_ERROR)));
    printf("connect again: %s\n", rc(connect(c, (struct sockaddr *)&a, sizeof a)));
    close(c);

    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    poll(&p, 1, 5000);
    printf("send before SO_ERROR: %s\n", rc(send(c, "x", 1, MSG_NOSIGNAL)));
    printf("send after: %s\n", rc(send(c, "x", 1, MSG_NOSIGNAL)));
    close(c);

    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    p.fd = c;
    poll(&p, 1, 5000);
    int e1 = geti(c, SOL_SOCKET, SO_ERROR);
    int e2 = geti(c, SOL_SOCKET, SO_ERROR);
    printf("SO_ERROR: %s, again: %s\n", ename(e1), ename(e2));
    printf("connect after SO_ERROR: %s\n", rc(connect(c, (struct sockaddr *)&a, sizeof a)));
    close(c);

    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = v6("::1", BASE + 1);
    printf("v6 connect to a closed port: %s\n", rc(connect(c6, (struct sockaddr *)&a6, sizeof a6)));
    close(c6);
}

static void cork(void) {
    int l = listener(BASE + 2);
    int c = connect4(BASE + 2);
    int s = accept(l, NULL, NULL);
    char buf[256];
    int one = 1, zero = 0;
    printf("TCP_CORK default %d\n", geti(c, IPPROTO_TCP, TCP_CORK));
    setsockopt(c, IPPROTO_TCP, TCP_CORK, &one, sizeof one);
    printf("TCP_CORK set %d\n", geti(c, IPPROTO_TCP, TCP_CORK));
    write(c, buf, 100);
    int n = pending(s);
    int outq = -1;
    ioctl(c, SIOCOUTQ, &outq);
    printf("corked 100: SIOCOUTQ %d, FIONREAD %d, ", outq, n);
    printf("recv %s\n", rc(recv(s, buf, sizeof buf, MSG_DONTWAIT)));
    write(c, buf, 20);
    setsockopt(c, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
    n = pending(s);
    ioctl(c, SIOCOUTQ, &outq);
    printf("uncorked: SIOCOUTQ %d, FIONREAD %d, ", outq, n);
    printf("recv %d\n", (int)recv(s, buf, sizeof buf, MSG_DONTWAIT));

    send(c, buf, 50, MSG_MORE);
    printf("MSG_MORE 50: recv %s\n", rc(recv(s, buf, sizeof buf, MSG_DONTWAIT)));
    send(c, buf, 30, 0);
    printf("then 30 without: recv %d\n", (int)recv(s, buf, sizeof buf, MSG_DONTWAIT));

    setsockopt(c, IPPROTO_TCP, TCP_CORK, &one, sizeof one);
    write(c, buf, 10);
    shutdown(c, SHUT_WR);
    n = recv(s, buf, sizeof buf, 0);
    printf("corked then shutdown: recv %d, ", n);
    printf("then %d\n", (int)recv(s, buf, sizeof buf, 0));
    close(c);
    close(s);
    close(l);
}

static void defer_accept(void) {
    int l = listener(BASE + 3);
    int v = 5;
    printf("TCP_DEFER_ACCEPT default %d\n", geti(l, IPPROTO_TCP, TCP_DEFER_ACCEPT));
    const int secs[] = {1, 2, 3, 4, 5, 7, 8, 16, 40, 200, -3};
    for (unsigned i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        v = secs[i];
        setsockopt(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof v);
        printf("defer %d reads %d\n", secs[i], geti(l, IPPROTO_TCP, TCP_DEFER_ACCEPT));
    }
    v = 5;
    setsockopt(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof v);
    int c = connect4(BASE + 3);
    fcntl(l, F_SETFL, O_NONBLOCK);
    struct pollfd p = {l, POLLIN, 0};
    int n = poll(&p, 1, 0);
    printf("connected, no data: poll %d, ", n);
    printf("accept %s\n", rc(accept(l, NULL, NULL)));
    write(c, "hi", 2);
    p.revents = 0;
    n = poll(&p, 1, 5000);
    printf("after data: poll %d in %d\n", n, !!(p.revents & POLLIN));
    int s = accept(l, NULL, NULL);
    char b[8] = {0};
    printf("accept %s, ", s >= 0 ? "ok" : ename(errno));
    n = read(s, b, sizeof b);
    printf("read %d %s\n", n, b);
    close(s);
    close(c);
    close(l);
}

static void tcp_info(void) {
    int l = listener(BASE + 4);
    int c = connect4(BASE + 4);
    int s = accept(l, NULL, NULL);
    write(c, "hello", 5);
    char b[16];
    read(s, b, sizeof b);
    unsigned char ti[512];
    socklen_t len = sizeof ti;
    memset(ti, 0, sizeof ti);
    getsockopt(l, IPPROTO_TCP, TCP_INFO, ti, &len);
    printf("listener: len %d state %d options %d cwnd %u\n", (int)len, ti[0], ti[5], *(unsigned *)(ti + 80));
    int fds[2] = {c, s};
    for (int i = 0; i < 2; i++) {
        len = sizeof ti;
        memset(ti, 0, sizeof ti);
        getsockopt(fds[i], IPPROTO_TCP, TCP_INFO, ti, &len);
        struct tcp_info *t = (struct tcp_info *)ti;
        printf("%s: len %d state %d options %d wscale %d/%d rto plausible %d rtt plausible %d snd_mss %u rcv_mss %u"
               " pmtu %u advmss %u cwnd at least 10 %d ssthresh %u bytes_received %llu bytes_sent %llu\n",
               i ? "server" : "client", (int)len, t->tcpi_state, t->tcpi_options, t->tcpi_snd_wscale, t->tcpi_rcv_wscale,
               t->tcpi_rto >= 200000 && t->tcpi_rto <= 1000000, t->tcpi_rtt > 0 && t->tcpi_rtt < 1000000, t->tcpi_snd_mss,
               t->tcpi_rcv_mss, t->tcpi_pmtu, t->tcpi_advmss, t->tcpi_snd_cwnd >= 10, t->tcpi_snd_ssthresh,
               *(unsigned long long *)(ti + 128), *(unsigned long long *)(ti + 200));
    }
    struct tcp_info small;
    len = sizeof small;
    getsockopt(c, IPPROTO_TCP, TCP_INFO, &small, &len);
    printf("glibc-sized: len %d state %d\n", (int)len, small.tcpi_state);
    shutdown(c, SHUT_WR);
    len = sizeof small;
    getsockopt(s, IPPROTO_TCP, TCP_INFO, &small, &len);
    printf("server after the client's FIN: state %d\n", small.tcpi_state);
    int fresh = socket(AF_INET, SOCK_STREAM, 0);
    len = sizeof small;
    getsockopt(fresh, IPPROTO_TCP, TCP_INFO, &small, &len);
    printf("fresh socket: state %d\n", small.tcpi_state);
    close(fresh);
    close(c);
    close(s);
    close(l);
}

static int near_now(long sec) {
    struct timeval now;
    gettimeofday(&now, NULL);
    return sec > 0 && sec <= now.tv_sec && now.tv_sec - sec < 600;
}

static void recv_stamp(int r, const char *what) {
    char b[16], ctl[128];
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    int n = recvmsg(r, &m, 0);
    printf("%s: recv %d", what, n);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET) {
            long sec;
            memcpy(&sec, CMSG_DATA(c), sizeof sec);
            printf(" cmsg level %d type %d len %d plausible %d", c->cmsg_level, c->cmsg_type, (int)c->cmsg_len, near_now(sec));
        } else {
            printf(" cmsg level %d type %d len %d value 0x%x", c->cmsg_level, c->cmsg_type, (int)c->cmsg_len, *CMSG_DATA(c));
        }
    }
    printf("\n");
}

static void udp_stamps(void) {
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = v4(BASE + 5);
    bind(r, (struct sockaddr *)&a, sizeof a);
    int w = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv;
    struct timespec ts;
    printf("SIOCGSTAMP before any datagram: %s\n", rc(ioctl(r, SIOCGSTAMP, &tv)));
    sendto(w, "a", 1, 0, (struct sockaddr *)&a, sizeof a);
    char b[8];
    recv(r, b, sizeof b, 0);
    int ok = ioctl(r, SIOCGSTAMP, &tv);
    printf("SIOCGSTAMP: %s plausible %d usec ok %d\n", rc(ok), near_now(tv.tv_sec), tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    ok = ioctl(r, SIOCGSTAMPNS, &ts);
    printf("SIOCGSTAMPNS: %s plausible %d nsec ok %d\n", rc(ok), near_now(ts.tv_sec), ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
    printf("SIOCGSTAMP on tcp: %s\n", rc(ioctl(socket(AF_INET, SOCK_STREAM, 0), SIOCGSTAMP, &tv)));

    int one = 1, zero = 0;
    printf("SO_TIMESTAMP default %d\n", geti(r, SOL_SOCKET, SO_TIMESTAMP));
    setsockopt(r, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one);
    { int v1_ = geti(r, SOL_SOCKET, SO_TIMESTAMP); int v2_ = geti(r, SOL_SOCKET, SO_TIMESTAMPNS); printf("SO_TIMESTAMP %d SO_TIMESTAMPNS %d\n", v1_, v2_); }
    sendto(w, "b", 1, 0, (struct sockaddr *)&a, sizeof a);
    recv_stamp(r, "SO_TIMESTAMP");
    setsockopt(r, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    { int v1_ = geti(r, SOL_SOCKET, SO_TIMESTAMP); int v2_ = geti(r, SOL_SOCKET, SO_TIMESTAMPNS); printf("SO_TIMESTAMP %d SO_TIMESTAMPNS %d\n", v1_, v2_); }
    sendto(w, "c", 1, 0, (struct sockaddr *)&a, sizeof a);
    recv_stamp(r, "SO_TIMESTAMPNS");
    setsockopt(r, IPPROTO_IP, IP_RECVTOS, &one, sizeof one);
    int tos = 0x28;
    setsockopt(w, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    sendto(w, "d", 1, 0, (struct sockaddr *)&a, sizeof a);
    recv_stamp(r, "SO_TIMESTAMPNS and IP_RECVTOS");
    setsockopt(r, SOL_SOCKET, SO_TIMESTAMP, &zero, sizeof zero);
    { int v1_ = geti(r, SOL_SOCKET, SO_TIMESTAMP); int v2_ = geti(r, SOL_SOCKET, SO_TIMESTAMPNS); printf("SO_TIMESTAMP off: %d %d\n", v1_, v2_); }
    setsockopt(r, IPPROTO_IP, IP_RECVTOS, &zero, sizeof zero);
    sendto(w, "e", 1, 0, (struct sockaddr *)&a, sizeof a);
    recv_stamp(r, "none");
    close(r);
    close(w);
}

static void bools(void) {
    static const struct { int level, name; const char *what; int family, type; } opts[] = {
        {SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", AF_INET, SOCK_STREAM},
        {SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", AF_INET, SOCK_STREAM},
        {SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", AF_INET, SOCK_DGRAM},
        {SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", AF_INET, SOCK_STREAM},
        {SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", AF_INET, SOCK_DGRAM},
        {SOL_SOCKET, SO_DONTROUTE, "SO_DONTROUTE", AF_INET, SOCK_STREAM},
        {SOL_SOCKET, SO_TIMESTAMP, "SO_TIMESTAMP", AF_INET, SOCK_DGRAM},
        {SOL_SOCKET, SO_SELECT_ERR_QUEUE, "SO_SELECT_ERR_QUEUE", AF_INET, SOCK_DGRAM},
        {IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", AF_INET, SOCK_STREAM},
        {IPPROTO_TCP, TCP_QUICKACK, "TCP_QUICKACK", AF_INET, SOCK_STREAM},
        {IPPROTO_TCP, TCP_CORK, "TCP_CORK", AF_INET6, SOCK_STREAM},
        {IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, "TCP_THIN_LINEAR_TIMEOUTS", AF_INET, SOCK_STREAM},
        {IPPROTO_TCP, TCP_FASTOPEN_CONNECT, "TCP_FASTOPEN_CONNECT", AF_INET, SOCK_STREAM},
        {IPPROTO_IP, IP_RECVERR, "IP_RECVERR", AF_INET, SOCK_DGRAM},
        {IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", AF_INET, SOCK_STREAM},
        {IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", AF_INET, SOCK_DGRAM},
        {IPPROTO_IP, IP_RECVTOS, "IP_RECVTOS", AF_INET, SOCK_DGRAM},
        {IPPROTO_IP, IP_RECVTTL, "IP_RECVTTL", AF_INET, SOCK_DGRAM},
        {IPPROTO_IP, IP_RECVORIGDSTADDR, "IP_RECVORIGDSTADDR", AF_INET, SOCK_DGRAM},
        {IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT", AF_INET, SOCK_STREAM},
        {IPPROTO_IP, IP_MULTICAST_ALL, "IP_MULTICAST_ALL", AF_INET, SOCK_DGRAM},
        {IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", AF_INET6, SOCK_STREAM},
        {IPPROTO_IPV6, IPV6_RECVERR, "IPV6_RECVERR", AF_INET6, SOCK_DGRAM},
        {IPPROTO_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", AF_INET6, SOCK_DGRAM},
        {IPPROTO_IPV6, IPV6_RECVTCLASS, "IPV6_RECVTCLASS", AF_INET6, SOCK_DGRAM},
        {IPPROTO_IPV6, IPV6_FREEBIND, "IPV6_FREEBIND", AF_INET6, SOCK_STREAM},
        {IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, "IPV6_RECVORIGDSTADDR", AF_INET6, SOCK_DGRAM},
        {IPPROTO_IPV6, IPV6_MULTICAST_ALL, "IPV6_MULTICAST_ALL", AF_INET6, SOCK_DGRAM},
    };
    for (unsigned i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        int s = socket(opts[i].family, opts[i].type, 0);
        int d = geti(s, opts[i].level, opts[i].name);
        int v = 1;
        int r1 = setsockopt(s, opts[i].level, opts[i].name, &v, sizeof v);
        int a = geti(s, opts[i].level, opts[i].name);
        v = 7;
        setsockopt(s, opts[i].level, opts[i].name, &v, sizeof v);
        int b = geti(s, opts[i].level, opts[i].name);
        v = 0;
        setsockopt(s, opts[i].level, opts[i].name, &v, sizeof v);
        int z = geti(s, opts[i].level, opts[i].name);
        printf("%s: default %d, set 1 %s reads %d, 7 reads %d, 0 reads %d\n", opts[i].what, d, r1 < 0 ? ename(errno) : "ok", a, b, z);
        close(s);
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int tos = 0x2b;
    setsockopt(s, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    printf("IP_TOS 0x2b reads 0x%x\n", geti(s, IPPROTO_IP, IP_TOS));
    close(s);
    s = socket(AF_INET6, SOCK_DGRAM, 0);
    int tc = 0x2b;
    setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof tc);
    printf("IPV6_TCLASS 0x2b reads 0x%x\n", geti(s, IPPROTO_IPV6, IPV6_TCLASS));
    tc = -1;
    setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof tc);
    printf("IPV6_TCLASS -1 reads 0x%x\n", geti(s, IPPROTO_IPV6, IPV6_TCLASS));
    tc = 256;
    printf("IPV6_TCLASS 256: %s\n", rc(setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof tc)));
    close(s);
}

static void dual_stack(void) {
    char txt[64];
    /* An IPv4 listener reached from an IPv6 socket through ::ffff:127.0.0.1. */
    int l = listener(BASE + 6);
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 m = v6("::ffff:127.0.0.1", BASE + 6);
    printf("v6 connect to a v4 listener: %s\n", rc(connect(c, (struct sockaddr *)&m, sizeof m)));
    struct sockaddr_in6 pa;
    socklen_t len = sizeof pa;
    getpeername(c, (struct sockaddr *)&pa, &len);
    inet_ntop(AF_INET6, &pa.sin6_addr, txt, sizeof txt);
    printf("its peer %s +%d len %d\n", txt, ntohs(pa.sin6_port) - BASE, (int)len);
    struct sockaddr_in pa4;
    len = sizeof pa4;
    int s = accept(l, (struct sockaddr *)&pa4, &len);
    printf("accepted from %s family %d\n", inet_ntoa(pa4.sin_addr), pa4.sin_family);
    write(c, "ping", 4);
    char b[8] = {0};
    read(s, b, sizeof b);
    printf("data: %s\n", b);
    close(s);
    close(c);
    close(l);

    /* An IPv6 listener on :: accepts an IPv4 client and shows it mapped. */
    l = socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in6 any = v6("::", BASE + 7);
    bind(l, (struct sockaddr *)&any, sizeof any);
    listen(l, 4);
    c = connect4(BASE + 7);
    len = sizeof pa;
    s = accept(l, (struct sockaddr *)&pa, &len);
    inet_ntop(AF_INET6, &pa.sin6_addr, txt, sizeof txt);
    printf("v6 listener accepted %s len %d\n", txt, (int)len);
    len = sizeof pa;
    getpeername(s, (struct sockaddr *)&pa, &len);
    inet_ntop(AF_INET6, &pa.sin6_addr, txt, sizeof txt);
    printf("getpeername %s\n", txt);
    close(s);
    close(c);
    close(l);

    /* UDP both ways. */
    int r4 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a4 = v4(BASE + 8);
    bind(r4, (struct sockaddr *)&a4, sizeof a4);
    int w6 = socket(AF_INET6, SOCK_DGRAM, 0);
    m = v6("::ffff:127.0.0.1", BASE + 8);
    printf("v6 sendto mapped: %d\n", (int)sendto(w6, "u6", 2, 0, (struct sockaddr *)&m, sizeof m));
    len = sizeof pa4;
    int n = recvfrom(r4, b, sizeof b, 0, (struct sockaddr *)&pa4, &len);
    printf("v4 receiver got %d from %s\n", n, inet_ntoa(pa4.sin_addr));
    int r6 = socket(AF_INET6, SOCK_DGRAM, 0);
    any = v6("::", BASE + 9);
    bind(r6, (struct sockaddr *)&any, sizeof any);
    int w4 = socket(AF_INET, SOCK_DGRAM, 0);
    a4 = v4(BASE + 9);
    sendto(w4, "u4", 2, 0, (struct sockaddr *)&a4, sizeof a4);
    len = sizeof pa;
    n = recvfrom(r6, b, sizeof b, 0, (struct sockaddr *)&pa, &len);
    inet_ntop(AF_INET6, &pa.sin6_addr, txt, sizeof txt);
    printf("v6 receiver got %d from %s len %d\n", n, txt, (int)len);
    int v6only = socket(AF_INET6, SOCK_DGRAM, 0);
    setsockopt(v6only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    printf("v6only sendto mapped: %s\n", rc(sendto(v6only, "x", 1, 0, (struct sockaddr *)&m, sizeof m)));
    close(v6only);
    close(r4);
    close(w6);
    close(r6);
    close(w4);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    BASE = pick_base(30210);
    refused();
    cork();
    defer_accept();
    tcp_info();
    udp_stamps();
    bools();
    dual_stack();
    return 0;
}
