/* Unix stream connections: addresses seen by accept/getsockname/getpeername/recvfrom, the backlog (listen(0)
 * holds one connection; non-blocking connect then fails with EAGAIN, a blocking one waits for accept),
 * EISCONN/EINVAL cases, a 1 MiB write blocked until a forked reader drains it, epoll waking on data and
 * on room, and iovec limits of sendmsg. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EISCONN: return "EISCONN";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    default: return "other";
    }
}

static int srv;
static int started[2];
static int accept_result, accept_errno;

static void *acceptor(void *p) {
    (void)p;
    write(started[1], "s", 1);
    accept_result = accept(srv, NULL, NULL);
    accept_errno = errno;
    return NULL;
}

int main(void) {
    char name[64];
    int nl = snprintf(name, sizeof name, "moat-connect-%d", getpid());
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path + 1, name, nl);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 + nl;

    srv = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    getsockname(srv, (struct sockaddr *)&got, &gl);
    printf("unbound getsockname len: %u\n", gl);
    bind(srv, (struct sockaddr *)&a, alen);
    int r = bind(srv, (struct sockaddr *)&a, alen);
    int e = errno;
    printf("bind twice: %d %s\n", r, ename(e));
    gl = sizeof got;
    getsockname(srv, (struct sockaddr *)&got, &gl);
    printf("bound getsockname len ok: %d\n", gl == alen);
    printf("listen 0: %d\n", listen(srv, 0));

    int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    printf("connect 1: %d\n", connect(c1, (struct sockaddr *)&a, alen));
    int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r = connect(c2, (struct sockaddr *)&a, alen);
    e = errno;
    printf("connect 2 (backlog full): %d %s\n", r, ename(e));
    r = connect(c1, (struct sockaddr *)&a, alen);
    e = errno;
    printf("connect again: %d %s\n", r, ename(e));
    r = listen(c1, 1);
    e = errno;
    printf("listen connected: %d %s\n", r, ename(e));
    gl = sizeof got;
    r = getpeername(c1, (struct sockaddr *)&got, &gl);
    printf("client getpeername: %d len ok %d\n", r, gl == alen);

    /* A blocking connect waits until accept makes room. */
    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        write(go[1], "c", 1);
        if (connect(s, (struct sockaddr *)&a, alen)) _exit(1);
        write(s, "late", 4);
        _exit(0);
    }
    char b[64];
    read(go[0], b, 1);
    gl = sizeof got;
    memset(&got, 0x55, sizeof got);
    int a1 = accept(srv, (struct sockaddr *)&got, &gl);
    printf("accept 1: %d addrlen %u family %d\n", a1 >= 0, gl, got.sun_family);
    int a2 = accept(srv, NULL, NULL);
    int st;
    waitpid(c, &st, 0);
    ssize_t n = read(a2, b, sizeof b);
    printf("blocked connect got through: %d %zd\n", WEXITSTATUS(st), n);

    /* recvfrom on a stream reports no address for an unnamed peer. */
    write(c1, "hey", 3);
    gl = sizeof got;
    n = recvfrom(a1, b, sizeof b, 0, (struct sockaddr *)&got, &gl);
    printf("recvfrom stream: %zd addrlen %u\n", n, gl);
    write(a1, "hey", 3);
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_name = &got;
    m.msg_namelen = sizeof got;
    n = recvmsg(c1, &m, 0);
    printf("recvmsg from server end: %zd namelen ok %d\n", n, m.msg_namelen == alen);

    /* sendmsg iovec limits. */
    static struct iovec many[1025];
    for (int i = 0; i < 1025; i++) {
        many[i].iov_base = b;
        many[i].iov_len = 0;
    }
    many[0].iov_len = 1;
    memset(&m, 0, sizeof m);
    m.msg_iov = many;
    m.msg_iovlen = 1024;
    printf("1024 iovecs: %zd\n", sendmsg(c1, &m, 0));
    m.msg_iovlen = 1025;
    n = sendmsg(c1, &m, 0);
    e = errno;
    printf("1025 iovecs: %zd %s\n", n, ename(e));
    many[1].iov_len = (size_t)-1;
    m.msg_iovlen = 2;
    n = sendmsg(c1, &m, 0);
    e = errno;
    printf("negative iov_len: %zd %s\n", n, ename(e));
    read(a1, b, sizeof b);

    /* A 1 MiB write blocks until a forked reader drains it. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    c = fork();
    if (c == 0) {
        close(sv[0]);
        static char rb[65536];
        unsigned long sum = 0, total = 0;
        ssize_t k;
        while ((k = read(sv[1], rb, sizeof rb)) > 0) {
            for (ssize_t i = 0; i < k; i++) sum = sum * 31 + (unsigned char)rb[i];
            total += k;
        }
        char out[64];
        int ol = snprintf(out, sizeof out, "%lu %lu", total, sum);
        write(sv[1], out, ol);
        _exit(0);
    }
    static char big[1 << 20];
    unsigned long sum = 0;
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (char)(i * 7 + i / 4096);
        sum = sum * 31 + (unsigned char)big[i];
    }
    n = write(sv[0], big, sizeof big);
    printf("big write: %zd\n", n);
    shutdown(sv[0], SHUT_WR);
    memset(b, 0, sizeof b);
    n = read(sv[0], b, sizeof b - 1);
    unsigned long rt = 0, rs = 0;
    sscanf(b, "%lu %lu", &rt, &rs);
    printf("reader saw: %lu bytes, checksum ok %d\n", rt, rs == sum);
    waitpid(c, NULL, 0);
    close(sv[0]);
    close(sv[1]);

    /* epoll: data wakes a waiter; a full writer is woken by the reader making room. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = sv[1]};
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
    c = fork();
    if (c == 0) {
        read(go[0], b, 1);
        write(sv[0], "data", 4);
        _exit(0);
    }
    write(go[1], "g", 1);
    struct epoll_event out[2];
    r = epoll_wait(ep, out, 2, 5000);
    printf("epoll data: %d in %d\n", r, r == 1 && (out[0].events & EPOLLIN) != 0);
    waitpid(c, NULL, 0);
    read(sv[1], b, sizeof b);
    epoll_ctl(ep, EPOLL_CTL_DEL, sv[1], NULL);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    long filled = 0;
    while ((n = write(sv[0], big, 4096)) > 0) filled += n;
    ev.events = EPOLLOUT;
    ev.data.fd = sv[0];
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
    r = epoll_wait(ep, out, 2, 0);
    printf("epoll full: %d\n", r);
    c = fork();
    if (c == 0) {
        static char rb[1 << 20];
        read(go[0], b, 1);
        long k = 0;
        while (k < filled) {
            ssize_t x = read(sv[1], rb, sizeof rb);
            if (x <= 0) break;
            k += x;
        }
        _exit(0);
    }
    write(go[1], "g", 1);
    r = epoll_wait(ep, out, 2, 5000);
    printf("epoll room: %d out %d\n", r, r == 1 && out[0].data.fd == sv[0] && (out[0].events & EPOLLOUT) != 0);
    waitpid(c, NULL, 0);
    /* shutdown(2) of a listener ends accept (in another thread, blocked or about to block) with EINVAL. */
    pipe(started);
    pthread_t th;
    pthread_create(&th, NULL, acceptor, NULL);
    read(started[0], b, 1);
    printf("shutdown listener: %d\n", shutdown(srv, SHUT_RDWR));
    pthread_join(th, NULL);
    printf("accept in thread: %d %s\n", accept_result, ename(accept_errno));
    c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    r = connect(c2, (struct sockaddr *)&a, alen);
    e = errno;
    printf("connect to shut listener: %d %s\n", r, ename(e));
    struct pollfd lp = {srv, POLLIN | POLLOUT | POLLRDHUP, 0};
    r = poll(&lp, 1, 0);
    printf("poll shut listener: %d %#x\n", r, lp.revents);
    return 0;
}
