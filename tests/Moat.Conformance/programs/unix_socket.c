/* AF_UNIX stream sockets: socketpair across fork, bind/listen/connect/accept on abstract and path names,
 * shutdown, MSG_NOSIGNAL, getsockopt, and the errors of each. */
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
    case EPIPE: return "EPIPE";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRINUSE: return "EADDRINUSE";
    case ENOTCONN: return "ENOTCONN";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EAGAIN: return "EAGAIN";
    case ENOENT: return "ENOENT";
    case ENOTSOCK: return "ENOTSOCK";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path + 1, name);
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

int main(void) {
    int sv[2];
    printf("socketpair: %d\n", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    pid_t c = fork();
    if (c == 0) {
        char b[64];
        ssize_t n = read(sv[1], b, sizeof b);
        for (ssize_t i = 0; i < n; i++) b[i] = b[i] >= 'a' && b[i] <= 'z' ? b[i] - 32 : b[i];
        write(sv[1], b, n);
        _exit(0);
    }
    write(sv[0], "ping", 4);
    char buf[64] = {0};
    ssize_t n = read(sv[0], buf, sizeof buf);
    printf("echo: %zd %s\n", n, buf);
    waitpid(c, NULL, 0);
    int type = 0;
    socklen_t tl = sizeof type;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &tl);
    printf("SO_TYPE stream: %d\n", type == SOCK_STREAM);
    struct ucred cred;
    socklen_t cl = sizeof cred;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &cl);
    printf("peercred is me: %d\n", cred.pid == getpid() && cred.uid == getuid());
    printf("shutdown write: %d\n", shutdown(sv[1], SHUT_WR));
    n = read(sv[0], buf, sizeof buf);
    printf("read after peer shutdown: %zd\n", n);
    close(sv[1]);
    n = send(sv[0], "x", 1, MSG_NOSIGNAL);
    printf("send to closed peer: %zd %s\n", n, ename(errno));
    close(sv[0]);

    struct sockaddr_un addr;
    socklen_t len = abstract_addr(&addr, "moat-test-sock");
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind: %d\n", bind(srv, (struct sockaddr *)&addr, len));
    int srv2 = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = bind(srv2, (struct sockaddr *)&addr, len);
    printf("bind again: %d %s\n", r, ename(errno));
    close(srv2);
    int early = socket(AF_UNIX, SOCK_STREAM, 0);
    r = connect(early, (struct sockaddr *)&addr, len);
    printf("connect before listen: %d %s\n", r, ename(errno));
    close(early);
    printf("listen: %d\n", listen(srv, 4));
    c = fork();
    if (c == 0) {
        int cl2 = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(cl2, (struct sockaddr *)&addr, len) != 0) _exit(1);
        write(cl2, "hello server", 12);
        char b[16];
        ssize_t k = read(cl2, b, sizeof b);
        _exit(k == 2 && b[0] == 'o' ? 0 : 2);
    }
    struct pollfd pfd = {srv, POLLIN, 0};
    printf("poll listener: %d\n", poll(&pfd, 1, 5000));
    int conn = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
    printf("accepted: %d\n", conn >= 0);
    memset(buf, 0, sizeof buf);
    n = recv(conn, buf, sizeof buf, 0);
    printf("server got: %zd %s\n", n, buf);
    send(conn, "ok", 2, 0);
    int st;
    waitpid(c, &st, 0);
    printf("client exit: %d\n", WEXITSTATUS(st));
    close(conn);
    close(srv);

    /* A path name under /tmp. */
    char path[] = "/tmp/moat-sock-XXXXXX";
    int tmpfd = mkstemp(path);
    close(tmpfd);
    unlink(path);
    struct sockaddr_un pa = {.sun_family = AF_UNIX};
    strcpy(pa.sun_path, path);
    int ps = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    printf("bind path: %d\n", bind(ps, (struct sockaddr *)&pa, sizeof pa));
    listen(ps, 1);
    int none = accept(ps, NULL, NULL);
    printf("nonblocking accept: %d %s\n", none, ename(errno));
    int pc = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect path: %d\n", connect(pc, (struct sockaddr *)&pa, sizeof pa));
    int pconn = accept(ps, NULL, NULL);
    printf("accepted path: %d\n", pconn >= 0);
    close(pc);
    close(pconn);
    close(ps);
    unlink(path);
    int nofile = socket(AF_UNIX, SOCK_STREAM, 0);
    r = connect(nofile, (struct sockaddr *)&pa, sizeof pa);
    printf("connect missing path: %d %s\n", r, ename(errno));
    r = shutdown(0, SHUT_RD);
    printf("shutdown non-socket: %d %s\n", r, ename(errno));
    return 0;
}
