/* UDP on the loopback network: bind, sendto/recvfrom with source addresses, message boundaries, empty
 * datagrams, MSG_TRUNC and MSG_PEEK, FIONREAD, connected sockets (ECONNREFUSED after a datagram to a port
 * nobody has bound, AF_UNSPEC disconnect, EDESTADDRREQ), EADDRINUSE and SO_REUSEADDR, EMSGSIZE,
 * SO_BROADCAST, poll, SO_RCVTIMEO, sendmmsg/recvmmsg, IPv6 with IPv4-mapped senders, and ancillary data
 * (IPV6_RECVHOPLIMIT/IPV6_RECVTCLASS, IPV6_HOPLIMIT on sendmsg, MSG_CTRUNC, IP_RECVTTL/IP_RECVTOS).
 * Ports are below the ephemeral range, in the first block free on the host, printed relative to it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRINUSE: return "EADDRINUSE";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EISCONN: return "EISCONN";
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

static struct sockaddr_in v4(const char *ip, int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int bound(int port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = v4("127.0.0.1", port);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("busy %d\n", port);
        exit(0);
    }
    return s;
}

static const char *rc(long r) { return r < 0 ? ename(errno) : "ok"; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    BASE = pick_base(27410);
    int r = bound(BASE);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = v4("127.0.0.1", BASE);
    char buf[2048];
    memset(buf, 'x', sizeof buf);
    sendto(s, buf, 1, 0, (struct sockaddr *)&to, sizeof to);
    sendto(s, buf, 100, 0, (struct sockaddr *)&to, sizeof to);
    sendto(s, buf, 0, 0, (struct sockaddr *)&to, sizeof to);
    sendto(s, buf, 1000, 0, (struct sockaddr *)&to, sizeof to);
    int n;
    ioctl(r, FIONREAD, &n);
    printf("fionread %d\n", n);
    struct sockaddr_in from, me;
    socklen_t len = sizeof from;
    n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    socklen_t ml = sizeof me;
    getsockname(s, (struct sockaddr *)&me, &ml);
    printf("got %d from %s len %d same-port %s\n", n, inet_ntoa(from.sin_addr), (int)len, from.sin_port == me.sin_port ? "yes" : "no");
    printf("sender bound to %s ephemeral %s\n", inet_ntoa(me.sin_addr), ntohs(me.sin_port) >= 32768 ? "yes" : "no");
    n = recv(r, buf, 10, MSG_PEEK);
    printf("peek %d\n", n);
    struct iovec iov = {buf, 10};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    n = recvmsg(r, &mh, 0);
    printf("recvmsg %d trunc %d\n", n, !!(mh.msg_flags & MSG_TRUNC));
    n = recv(r, buf, sizeof buf, 0);
    printf("empty %d\n", n);
    n = recv(r, buf, 10, MSG_TRUNC);
    printf("recv MSG_TRUNC %d\n", n);
    errno = 0;
    n = recv(r, buf, sizeof buf, MSG_DONTWAIT);
    printf("drained %d %s\n", n, ename(errno));

    /* poll and a receive time limit */
    struct pollfd p = {r, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("poll empty: in %d out %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT));
    sendto(s, "z", 1, 0, (struct sockaddr *)&to, sizeof to);
    poll(&p, 1, 1000);
    printf("poll data: in %d\n", !!(p.revents & POLLIN));
    recv(r, buf, sizeof buf, 0);
    struct timeval tv = {0, 30000};
    setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    errno = 0;
    n = recv(r, buf, sizeof buf, 0);
    printf("rcvtimeo %d %s\n", n, ename(errno));

    /* Errors of unconnected and connected sockets. */
    errno = 0;
    n = send(s, "a", 1, 0);
    printf("send unconnected %d %s\n", n, ename(errno));
    printf("listen %s\n", rc(listen(s, 1)));
    printf("accept %s\n", rc(accept(s, NULL, NULL)));
    struct sockaddr_in pa;
    len = sizeof pa;
    printf("getpeername %s\n", rc(getpeername(s, (struct sockaddr *)&pa, &len)));
    static char huge[70000];
    printf("65507 %s\n", rc(sendto(s, huge, 65507, 0, (struct sockaddr *)&to, sizeof to)));
    printf("65508 %s\n", rc(sendto(s, huge, 65508, 0, (struct sockaddr *)&to, sizeof to)));
    n = recv(r, huge, sizeof huge, 0);
    printf("big datagram %d\n", n);
    struct sockaddr_in zero = v4("127.0.0.1", 0);
    printf("sendto port 0 %s\n", rc(sendto(s, "a", 1, 0, (struct sockaddr *)&zero, sizeof zero)));

    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in dead = v4("127.0.0.1", BASE + 1);
    printf("connect %s\n", rc(connect(c, (struct sockaddr *)&dead, sizeof dead)));
    len = sizeof pa;
    getpeername(c, (struct sockaddr *)&pa, &len);
    printf("peer port +%d\n", ntohs(pa.sin_port) - BASE);
    errno = 0;
    n = send(c, "a", 1, 0);
    printf("first send %d %s\n", n, ename(errno));
    usleep(20000);
    errno = 0;
    n = send(c, "a", 1, 0);
    printf("second send %d %s\n", n, ename(errno));
    errno = 0;
    n = send(c, "a", 1, 0);
    printf("third send %d %s\n", n, ename(errno));
    usleep(20000);
    errno = 0;
    n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
    printf("recv after refused %d %s\n", n, ename(errno));
    int err = -1;
    socklen_t el = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("so_error %s\n", ename(err));

    /* A connected socket takes datagrams only from its peer. */
    struct sockaddr_in self = v4("127.0.0.1", BASE);
    connect(c, (struct sockaddr *)&self, sizeof self);
    len = sizeof me;
    getsockname(c, (struct sockaddr *)&me, &len);
    printf("connected local %s\n", inet_ntoa(me.sin_addr));
    sendto(s, "q", 1, 0, (struct sockaddr *)&me, sizeof me);
    sendto(r, "r", 1, 0, (struct sockaddr *)&me, sizeof me);
    n = recv(c, buf, sizeof buf, 0);
    printf("connected got %d %c\n", n, buf[0]);
    errno = 0;
    n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
    printf("stranger dropped %d %s\n", n, ename(errno));
    struct sockaddr_in unspec = {0};
    unspec.sin_family = AF_UNSPEC;
    printf("disconnect %s\n", rc(connect(c, (struct sockaddr *)&unspec, sizeof unspec)));
    errno = 0;
    n = send(c, "a", 1, 0);
    printf("send after disconnect %d %s\n", n, ename(errno));
    close(c);

    /* Binding. */
    int d = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = v4("0.0.0.0", BASE);
    printf("bind taken %s\n", rc(bind(d, (struct sockaddr *)&any, sizeof any)));
    close(d);
    int one = 1;
    int e1 = socket(AF_INET, SOCK_DGRAM, 0), e2 = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(e1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(e2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in ra = v4("127.0.0.1", BASE + 2);
    printf("reuse1 %s\n", rc(bind(e1, (struct sockaddr *)&ra, sizeof ra)));
    printf("reuse2 %s\n", rc(bind(e2, (struct sockaddr *)&ra, sizeof ra)));
    close(e1);
    close(e2);
    printf("broadcast %d\n", ({ int v = -1; socklen_t l = sizeof v; getsockopt(s, SOL_SOCKET, SO_BROADCAST, &v, &l); v; }));
    setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    printf("broadcast %d\n", ({ int v = -1; socklen_t l = sizeof v; getsockopt(s, SOL_SOCKET, SO_BROADCAST, &v, &l); v; }));

    /* sendmmsg / recvmmsg */
    struct mmsghdr mm[3];
    struct iovec iv[3];
    char data[3][8] = {"one", "two!", "three"};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = data[i];
        iv[i].iov_len = strlen(data[i]);
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &to;
        mm[i].msg_hdr.msg_namelen = sizeof to;
    }
    n = sendmmsg(s, mm, 3, 0);
    printf("sendmmsg %d lens %u %u %u\n", n, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    char rb[3][16];
    struct sockaddr_in names[3];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = rb[i];
        iv[i].iov_len = sizeof rb[i];
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &names[i];
        mm[i].msg_hdr.msg_namelen = sizeof names[i];
    }
    n = recvmmsg(r, mm, 3, MSG_WAITFORONE, NULL);
    printf("recvmmsg %d: %.*s %.*s %.*s namelen %u\n", n, (int)mm[0].msg_len, rb[0], (int)mm[1].msg_len, rb[1], (int)mm[2].msg_len, rb[2], mm[0].msg_hdr.msg_namelen);

    /* IPv6: a dual-stack socket receives from IPv4 senders as mapped addresses. */
    int six = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a6 = {0};
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(BASE + 3);
    a6.sin6_addr = in6addr_any;
    if (bind(six, (struct sockaddr *)&a6, sizeof a6) < 0) {
        printf("busy\n");
        return 0;
    }
    struct sockaddr_in t4 = v4("127.0.0.1", BASE + 3);
    sendto(s, "v4", 2, 0, (struct sockaddr *)&t4, sizeof t4);
    struct sockaddr_in6 f6;
    len = sizeof f6;
    n = recvfrom(six, buf, sizeof buf, 0, (struct sockaddr *)&f6, &len);
    char txt[64];
    inet_ntop(AF_INET6, &f6.sin6_addr, txt, sizeof txt);
    printf("v6 got %d from %s len %d\n", n, txt, (int)len);
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 lo6 = a6;
    lo6.sin6_addr = in6addr_loopback;
    sendto(s6, "v6", 2, 0, (struct sockaddr *)&lo6, sizeof lo6);
    len = sizeof f6;
    n = recvfrom(six, buf, sizeof buf, 0, (struct sockaddr *)&f6, &len);
    inet_ntop(AF_INET6, &f6.sin6_addr, txt, sizeof txt);
    printf("v6 got %d from %s\n", n, txt);
    printf("v4 addr on v6 sendto %s\n", rc(sendto(s6, "x", 1, 0, (struct sockaddr *)&t4, sizeof t4)));
    recv(six, buf, sizeof buf, 0);

    /* Ancillary data: the hop limit and traffic class a datagram was sent with. */
    one = 1;
    setsockopt(six, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one);
    setsockopt(six, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof one);
    int tc = 0x20;
    setsockopt(s6, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof tc);
    sendto(s6, "anc", 3, 0, (struct sockaddr *)&lo6, sizeof lo6);
    char cbuf[256];
    struct iovec aiov = {buf, sizeof buf};
    struct msghdr am = {0};
    am.msg_iov = &aiov;
    am.msg_iovlen = 1;
    am.msg_control = cbuf;
    am.msg_controllen = sizeof cbuf;
    n = recvmsg(six, &am, 0);
    printf("anc recv %d controllen %d\n", n, (int)am.msg_controllen);
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&am); cm; cm = CMSG_NXTHDR(&am, cm))
        printf("cmsg level %d type %d len %d value %d\n", cm->cmsg_level, cm->cmsg_type, (int)cm->cmsg_len, *(int *)CMSG_DATA(cm));
    /* A hop limit chosen per datagram, and a control buffer too short for both. */
    char sc[CMSG_SPACE(sizeof(int))] = {0};
    struct msghdr sm = {0};
    struct iovec siov = {"hop", 3};
    sm.msg_name = &lo6;
    sm.msg_namelen = sizeof lo6;
    sm.msg_iov = &siov;
    sm.msg_iovlen = 1;
    sm.msg_control = sc;
    sm.msg_controllen = sizeof sc;
    struct cmsghdr *h = CMSG_FIRSTHDR(&sm);
    h->cmsg_level = IPPROTO_IPV6;
    h->cmsg_type = IPV6_HOPLIMIT;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    *(int *)CMSG_DATA(h) = 7;
    printf("sendmsg hoplimit %s\n", rc(sendmsg(s6, &sm, 0)));
    am.msg_controllen = CMSG_SPACE(sizeof(int));
    am.msg_flags = 0;
    n = recvmsg(six, &am, 0);
    struct cmsghdr *f = CMSG_FIRSTHDR(&am);
    printf("short control: controllen %d ctrunc %d first type %d value %d\n", (int)am.msg_controllen, !!(am.msg_flags & MSG_CTRUNC), f ? f->cmsg_type : -1, f ? *(int *)CMSG_DATA(f) : -1);
    h->cmsg_type = 9999;
    printf("sendmsg bad cmsg %s\n", rc(sendmsg(s6, &sm, 0)));

    int ttl = 1;
    setsockopt(r, IPPROTO_IP, IP_RECVTTL, &ttl, sizeof ttl);
    setsockopt(r, IPPROTO_IP, IP_RECVTOS, &ttl, sizeof ttl);
    sendto(s, "ttl", 3, 0, (struct sockaddr *)&to, sizeof to);
    am.msg_controllen = sizeof cbuf;
    n = recvmsg(r, &am, 0);
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&am); cm; cm = CMSG_NXTHDR(&am, cm))
        printf("v4 cmsg level %d type %d len %d value %d\n", cm->cmsg_level, cm->cmsg_type, (int)cm->cmsg_len, cm->cmsg_type == IP_TTL ? *(int *)CMSG_DATA(cm) : *(unsigned char *)CMSG_DATA(cm));
    close(s6);
    close(six);
    close(s);
    close(r);
    return 0;
}
