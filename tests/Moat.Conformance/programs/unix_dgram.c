/* AF_UNIX SOCK_DGRAM sockets: message boundaries, truncation (MSG_TRUNC), MSG_PEEK, MSG_DONTWAIT, path and
 * abstract names with sendto/recvfrom, autobind, connect and its EPERM/ECONNREFUSED rules, queue limits,
 * shutdown, FIONREAD, poll, sendmmsg/recvmmsg, and a blocked receiver woken across fork. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENOENT: return "ENOENT";
    case ENOTCONN: return "ENOTCONN";
    case EMSGSIZE: return "EMSGSIZE";
    case EPIPE: return "EPIPE";
    case EINVAL: return "EINVAL";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EISCONN: return "EISCONN";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EADDRINUSE: return "EADDRINUSE";
    default: return "other";
    }
}

static socklen_t abstract(struct sockaddr_un *a, const char *tag) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "moat-dgram-%d-%s", getpid(), tag);
    return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static void show_addr(const char *what, struct sockaddr_un *a, socklen_t len, const char *path) {
    if (len == 0) {
        printf("%s: unnamed\n", what);
    } else if (len > 2 && a->sun_path[0] == 0) {
        printf("%s: abstract len-ok %d\n", what, strstr(a->sun_path + 1, "moat-dgram-") == a->sun_path + 1);
    } else {
        printf("%s: path %s len %d\n", what, strcmp(a->sun_path, path) == 0 ? "same" : a->sun_path, (int)(len - offsetof(struct sockaddr_un, sun_path)) - (int)strlen(path));
    }
}

int main(void) {
    int sv[2];
    printf("socketpair: %d\n", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    send(sv[0], "one", 3, 0);
    send(sv[0], "two!", 4, 0);
    send(sv[0], "", 0, 0);
    send(sv[0], "three", 5, 0);
    int avail = -1;
    ioctl(sv[1], FIONREAD, &avail);
    printf("FIONREAD next: %d\n", avail);
    char b[64] = {0};
    ssize_t n = recv(sv[1], b, sizeof b, 0);
    printf("1: %zd %.*s\n", n, (int)n, b);
    n = recv(sv[1], b, 2, MSG_PEEK);
    printf("peek 2: %zd %.2s\n", n, b);
    n = recv(sv[1], b, 2, MSG_PEEK | MSG_TRUNC);
    printf("peek trunc: %zd\n", n);
    struct iovec iov = {b, 2};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    n = recvmsg(sv[1], &m, 0);
    printf("2 truncated: %zd %.2s MSG_TRUNC %d\n", n, b, !!(m.msg_flags & MSG_TRUNC));
    n = recv(sv[1], b, sizeof b, 0);
    printf("3 empty: %zd\n", n);
    n = recv(sv[1], b, 1, MSG_TRUNC);
    printf("4 MSG_TRUNC: %zd %c\n", n, b[0]);
    n = recv(sv[1], b, sizeof b, MSG_DONTWAIT);
    int e = errno;
    printf("empty: %zd %s\n", n, ename(e));

    /* Readiness. */
    struct pollfd pf = {sv[1], POLLIN | POLLOUT, 0};
    int r0;
    r0 = poll(&pf, 1, 0);
    printf("poll idle: %d %#x\n", r0, pf.revents);
    send(sv[0], "x", 1, 0);
    r0 = poll(&pf, 1, 0);
    printf("poll data: %d %#x\n", r0, pf.revents);
    recv(sv[1], b, 1, 0);

    /* A receiver blocked in a child is woken by a send. */
    int go0[2];
    pipe(go0);
    pid_t c = fork();
    if (c == 0) {
        char cb[16];
        write(go0[1], "r", 1);
        ssize_t k = recv(sv[1], cb, sizeof cb, 0);
        _exit(k == 5 && memcmp(cb, "wake!", 5) == 0 ? 0 : 1);
    }
    read(go0[0], b, 1);
    send(sv[0], "wake!", 5, 0);
    int st;
    waitpid(c, &st, 0);
    printf("blocked child woken: %d\n", WEXITSTATUS(st));

    /* Peer closed: a datagram socket has no EOF; sending answers ECONNREFUSED. */
    close(sv[1]);
    n = send(sv[0], "gone", 4, 0);
    e = errno;
    printf("send to closed peer: %zd %s\n", n, ename(e));
    n = send(sv[0], "gone", 4, 0);
    e = errno;
    printf("send again: %zd %s\n", n, ename(e));
    close(sv[0]);

    /* Names: a path server and an abstract client. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/moat-dgram-%d", getpid());
    unlink(path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    socklen_t slen = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
    int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("bind path: %d\n", bind(srv, (struct sockaddr *)&sa, slen));
    struct sockaddr_un ca;
    socklen_t clen = abstract(&ca, "client");
    int cli = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("bind abstract: %d\n", bind(cli, (struct sockaddr *)&ca, clen));
    int dup = socket(AF_UNIX, SOCK_DGRAM, 0);
    n = bind(dup, (struct sockaddr *)&ca, clen);
    e = errno;
    printf("bind taken: %zd %s\n", n, ename(e));
    printf("sendto: %zd\n", sendto(cli, "hi there", 8, 0, (struct sockaddr *)&sa, slen));
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    memset(&from, 0, sizeof from);
    n = recvfrom(srv, b, sizeof b, 0, (struct sockaddr *)&from, &flen);
    printf("recvfrom: %zd %.*s\n", n, (int)n, b);
    show_addr("from", &from, flen, path);
    printf("reply: %zd\n", sendto(srv, "back", 4, 0, (struct sockaddr *)&from, flen));
    flen = sizeof from;
    n = recvfrom(cli, b, sizeof b, 0, (struct sockaddr *)&from, &flen);
    printf("reply got: %zd %.*s\n", n, (int)n, b);
    show_addr("reply from", &from, flen, path);
    /* An unnamed sender has no address. */
    sendto(dup, "anon", 4, 0, (struct sockaddr *)&sa, slen);
    flen = sizeof from;
    n = recvfrom(srv, b, sizeof b, 0, (struct sockaddr *)&from, &flen);
    printf("anon: %zd addrlen %u\n", n, flen);
    /* recvmsg reports the name too. */
    sendto(cli, "via msg", 7, 0, (struct sockaddr *)&sa, slen);
    memset(&m, 0, sizeof m);
    iov.iov_base = b;
    iov.iov_len = sizeof b;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    n = recvmsg(srv, &m, 0);
    show_addr("recvmsg name", &from, m.msg_namelen, path);
    struct sockaddr_un me;
    socklen_t mlen = sizeof me;
    getsockname(srv, (struct sockaddr *)&me, &mlen);
    show_addr("getsockname", &me, mlen, path);

    /* Errors of sendto. */
    struct sockaddr_un nowhere;
    socklen_t nlen = abstract(&nowhere, "nowhere");
    n = sendto(dup, "x", 1, 0, (struct sockaddr *)&nowhere, nlen);
    e = errno;
    printf("sendto missing abstract: %zd %s\n", n, ename(e));
    struct sockaddr_un np = {.sun_family = AF_UNIX};
    snprintf(np.sun_path, sizeof np.sun_path, "/tmp/moat-dgram-none-%d", getpid());
    n = sendto(dup, "x", 1, 0, (struct sockaddr *)&np, sizeof np);
    e = errno;
    printf("sendto missing path: %zd %s\n", n, ename(e));
    n = send(dup, "x", 1, 0);
    e = errno;
    printf("send unconnected: %zd %s\n", n, ename(e));
    static char big[300000];
    n = sendto(dup, big, sizeof big, 0, (struct sockaddr *)&sa, slen);
    e = errno;
    printf("too big: %zd %s\n", n, ename(e));
    int stream = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sta;
    socklen_t stlen = abstract(&sta, "stream");
    bind(stream, (struct sockaddr *)&sta, stlen);
    n = sendto(dup, "x", 1, 0, (struct sockaddr *)&sta, stlen);
    e = errno;
    printf("sendto stream socket: %zd %s\n", n, ename(e));
    n = connect(dup, (struct sockaddr *)&sta, stlen);
    e = errno;
    printf("connect to stream socket: %zd %s\n", n, ename(e));
    close(stream);
    n = listen(srv, 1);
    e = errno;
    printf("listen: %zd %s\n", n, ename(e));
    n = accept(srv, NULL, NULL);
    e = errno;
    printf("accept: %zd %s\n", n, ename(e));

    /* connect: a socket connected elsewhere refuses others (EPERM). */
    printf("srv connect to cli: %d\n", connect(srv, (struct sockaddr *)&ca, clen));
    n = sendto(dup, "x", 1, 0, (struct sockaddr *)&sa, slen);
    e = errno;
    printf("sendto connected-elsewhere: %zd %s\n", n, ename(e));
    printf("cli sendto srv: %zd\n", sendto(cli, "ok", 2, 0, (struct sockaddr *)&sa, slen));
    printf("srv send (connected): %zd\n", send(srv, "yo", 2, 0));
    n = recv(cli, b, sizeof b, 0);
    printf("cli got: %zd %.*s\n", n, (int)n, b);
    mlen = sizeof me;
    printf("getpeername: %d\n", getpeername(srv, (struct sockaddr *)&me, &mlen));
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    printf("disconnect: %d\n", connect(srv, &unspec, sizeof unspec));
    n = send(srv, "x", 1, 0);
    e = errno;
    printf("send after disconnect: %zd %s\n", n, ename(e));
    mlen = sizeof me;
    n = getpeername(srv, (struct sockaddr *)&me, &mlen);
    e = errno;
    printf("getpeername after disconnect: %zd %s\n", n, ename(e));
    while (recv(srv, b, sizeof b, MSG_DONTWAIT) >= 0) {
    }

    /* The receive queue of a socket that is not connected back is bounded in messages. */
    int sent = 0;
    while (sendto(dup, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, slen) == 1 && sent < 1000) sent++;
    e = errno;
    FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
    int qlen = 10;
    if (f) {
        fscanf(f, "%d", &qlen);
        fclose(f);
    }
    printf("queue full after qlen+1: %d %s\n", sent == qlen + 1, ename(e));
    pf.fd = dup;
    pf.events = POLLOUT;
    int drained = 0;
    while (recv(srv, b, sizeof b, MSG_DONTWAIT) == 1) drained++;
    printf("drained: %d\n", drained == sent);

    /* shutdown(SHUT_RD): reads return 0, senders get EPIPE. */
    printf("shutdown rd: %d\n", shutdown(srv, SHUT_RD));
    n = recv(srv, b, sizeof b, 0);
    printf("recv after shutdown: %zd\n", n);
    n = sendto(cli, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&sa, slen);
    e = errno;
    printf("sendto shut receiver: %zd %s\n", n, ename(e));
    pf.fd = srv;
    pf.events = POLLIN | POLLRDHUP;
    r0 = poll(&pf, 1, 0);
    printf("poll shut: %d %#x\n", r0, pf.revents);

    /* Autobind: a bare family binds to an abstract name of five hex digits. */
    int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    printf("autobind: %d\n", bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    mlen = sizeof me;
    getsockname(ab, (struct sockaddr *)&me, &mlen);
    printf("autobind name: len %u abstract %d\n", mlen, me.sun_path[0] == 0);

    /* sendmmsg / recvmmsg. */
    int mp[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, mp);
    struct mmsghdr mm[3];
    struct iovec mi[3];
    const char *words[3] = {"alpha", "be", "gamma!"};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mi[i].iov_base = (void *)words[i];
        mi[i].iov_len = strlen(words[i]);
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(mp[0], mm, 3, 0);
    printf("sendmmsg: %d lens %u %u %u\n", r, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    char rb[3][4];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mi[i].iov_base = rb[i];
        mi[i].iov_len = 4;
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    r = recvmmsg(mp[1], mm, 3, 0, NULL);
    printf("recvmmsg: %d lens %u %u %u trunc %d %d %d\n", r, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len,
           !!(mm[0].msg_hdr.msg_flags & MSG_TRUNC), !!(mm[1].msg_hdr.msg_flags & MSG_TRUNC), !!(mm[2].msg_hdr.msg_flags & MSG_TRUNC));
    printf("recvmmsg data: %.4s %.2s %.4s\n", rb[0], rb[1], rb[2]);
    send(mp[0], "solo", 4, 0);
    r = recvmmsg(mp[1], mm, 3, MSG_WAITFORONE, NULL);
    printf("recvmmsg waitforone: %d\n", r);
    r = recvmmsg(mp[1], mm, 3, MSG_DONTWAIT, NULL);
    e = errno;
    printf("recvmmsg empty: %d %s\n", r, ename(e));
    /* A connected sender whose receiver is full (of another sender's datagrams) is not writable; poll
     * wakes when a child drains it. */
    int rx = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un rxa;
    socklen_t rxl = abstract(&rxa, "full");
    bind(rx, (struct sockaddr *)&rxa, rxl);
    int tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    connect(tx, (struct sockaddr *)&rxa, rxl);
    int filler = socket(AF_UNIX, SOCK_DGRAM, 0);
    while (sendto(filler, "f", 1, MSG_DONTWAIT, (struct sockaddr *)&rxa, rxl) == 1) {
    }
    pf.fd = tx;
    pf.events = POLLOUT;
    r0 = poll(&pf, 1, 0);
    printf("poll full peer: %d\n", r0);
    int go[2];
    pipe(go);
    c = fork();
    if (c == 0) {
        read(go[0], b, 1);
        while (recv(rx, b, sizeof b, MSG_DONTWAIT) > 0) {
        }
        _exit(0);
    }
    write(go[1], "g", 1);
    r0 = poll(&pf, 1, 5000);
    printf("poll after drain: %d %#x\n", r0, pf.revents);
    waitpid(c, NULL, 0);
    unlink(path);
    return 0;
}
