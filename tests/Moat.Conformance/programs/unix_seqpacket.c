/* AF_UNIX SOCK_SEQPACKET sockets: message boundaries and truncation over socketpair and over
 * listen/connect/accept, MSG_PEEK, EOF and EPIPE after the peer closes, shutdown, poll, and the errors of
 * unconnected use. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case ENOTCONN: return "ENOTCONN";
    case EPIPE: return "EPIPE";
    case EINVAL: return "EINVAL";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EISCONN: return "EISCONN";
    case ECONNRESET: return "ECONNRESET";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EMSGSIZE: return "EMSGSIZE";
    default: return "other";
    }
}

static volatile sig_atomic_t pipes;
static void on_pipe(int s) {
    (void)s;
    pipes++;
}

int main(void) {
    signal(SIGPIPE, on_pipe);
    int sv[2];
    printf("socketpair: %d\n", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    write(sv[0], "first", 5);
    write(sv[0], "second", 6);
    char b[64] = {0};
    ssize_t n = read(sv[1], b, 3);
    printf("truncated read: %zd %.3s\n", n, b);
    struct iovec iov[2] = {{b, 2}, {b + 2, 2}};
    struct msghdr m = {0};
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    n = recvmsg(sv[1], &m, MSG_PEEK);
    printf("peek into two iovecs: %zd %.4s trunc %d\n", n, b, !!(m.msg_flags & MSG_TRUNC));
    n = recvmsg(sv[1], &m, MSG_TRUNC);
    printf("MSG_TRUNC: %zd trunc %d\n", n, !!(m.msg_flags & MSG_TRUNC));
    n = recv(sv[1], b, sizeof b, MSG_DONTWAIT);
    int e = errno;
    printf("empty: %zd %s\n", n, ename(e));
    struct sockaddr_un to = {.sun_family = AF_UNIX};
    strcpy(to.sun_path + 1, "moat-seq-ignored");
    n = sendto(sv[0], "named", 5, 0, (struct sockaddr *)&to, offsetof(struct sockaddr_un, sun_path) + 17);
    e = errno;
    printf("sendto with a name on a connected seqpacket: %zd %s\n", n, n < 0 ? ename(e) : "-");
    if (n > 0) recv(sv[1], b, sizeof b, 0);

    /* shutdown(SHUT_WR) on one side: the other reads EOF; the shut side gets EPIPE. */
    printf("shutdown wr: %d\n", shutdown(sv[0], SHUT_WR));
    n = recv(sv[1], b, sizeof b, 0);
    printf("peer reads: %zd\n", n);
    n = send(sv[0], "x", 1, MSG_NOSIGNAL);
    e = errno;
    printf("send after shutdown: %zd %s\n", n, ename(e));
    printf("reverse still works: %zd\n", send(sv[1], "back", 4, 0));
    n = recv(sv[0], b, sizeof b, 0);
    printf("got back: %zd\n", n);
    struct pollfd pf = {sv[1], POLLIN | POLLOUT | POLLRDHUP, 0};
    int r = poll(&pf, 1, 0);
    printf("poll half-closed: %d %#x\n", r, pf.revents);
    close(sv[0]);
    r = poll(&pf, 1, 0);
    printf("poll peer closed: %d %#x\n", r, pf.revents);
    n = recv(sv[1], b, sizeof b, 0);
    printf("read after close: %zd\n", n);
    pipes = 0;
    n = send(sv[1], "x", 1, 0);
    e = errno;
    printf("send after close: %zd %s sigpipe %d\n", n, ename(e), (int)pipes);
    close(sv[1]);

    /* listen / connect / accept, across fork. */
    char name[64];
    int len = snprintf(name, sizeof name, "moat-seq-%d", getpid());
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path + 1, name, len);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 + len;
    int srv = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    n = listen(srv, 1);
    e = errno;
    printf("listen unbound: %zd %s\n", n, ename(e));
    printf("bind: %d\n", bind(srv, (struct sockaddr *)&a, alen));
    n = recv(srv, b, sizeof b, MSG_DONTWAIT);
    e = errno;
    printf("recv unconnected: %zd %s\n", n, ename(e));
    n = send(srv, "x", 1, MSG_NOSIGNAL);
    e = errno;
    printf("send unconnected: %zd %s\n", n, ename(e));
    printf("listen: %d\n", listen(srv, 2));
    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        int cl = socket(AF_UNIX, SOCK_SEQPACKET, 0);
        if (connect(cl, (struct sockaddr *)&a, alen)) _exit(1);
        write(cl, "msg-1", 5);
        write(cl, "msg-two", 7);
        char cb[16];
        ssize_t k = read(cl, cb, sizeof cb);
        if (k != 3) _exit(2);
        close(cl);
        _exit(0);
    }
    int conn = accept(srv, NULL, NULL);
    printf("accepted: %d\n", conn >= 0);
    n = read(conn, b, sizeof b);
    printf("msg: %zd %.*s\n", n, (int)n, b);
    n = read(conn, b, sizeof b);
    printf("msg: %zd %.*s\n", n, (int)n, b);
    write(conn, "bye", 3);
    int st;
    waitpid(c, &st, 0);
    printf("client exit: %d\n", WEXITSTATUS(st));
    n = read(conn, b, sizeof b);
    printf("EOF: %zd\n", n);
    close(conn);
    int stream = socket(AF_UNIX, SOCK_STREAM, 0);
    n = connect(stream, (struct sockaddr *)&a, alen);
    e = errno;
    printf("stream connect to seqpacket: %zd %s\n", n, ename(e));
    close(stream);

    /* Connections queued on a closed listener are reset. */
    int cl = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("connect: %d\n", connect(cl, (struct sockaddr *)&a, alen));
    n = send(cl, "early", 5, 0);
    printf("send before accept: %zd\n", n);
    close(srv);
    n = recv(cl, b, sizeof b, 0);
    e = errno;
    printf("recv after listener closed: %zd %s\n", n, ename(e));
    n = recv(cl, b, sizeof b, 0);
    printf("then: %zd\n", n);
    close(cl);
    return 0;
}
