/* SCM_RIGHTS and SCM_CREDENTIALS over unix sockets: a pipe end passed to a forked child and used there,
 * several fds in one message, MSG_CTRUNC for a short control buffer, MSG_CMSG_CLOEXEC, files riding on
 * stream bytes, MSG_PEEK duplicating files, bad fds, SO_PASSCRED and SO_PEERCRED. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "0";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN";
    case EMSGSIZE: return "EMSGSIZE";
    default: return "other";
    }
}

/* Sends n fds with one byte of data. Returns sendmsg's result; errno is kept. */
static ssize_t send_fds(int s, const int *fds, int n, const char *byte) {
    char cbuf[CMSG_SPACE(sizeof(int) * 16)];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {(void *)byte, 1};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    return sendmsg(s, &m, 0);
}

/* Receives up to max fds into fds; returns the count, or -1. *flags gets msg_flags. */
static int recv_fds(int s, int *fds, int max, size_t ctl, int rflags, int *flags, char *byte) {
    char cbuf[512];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {byte, 1};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl ? cbuf : NULL;
    m.msg_controllen = ctl;
    if (recvmsg(s, &m, rflags) < 0) return -1;
    *flags = m.msg_flags;
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (int i = 0; i < k && n < max; i++) memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
    }
    return n;
}

static int same_file(int a, int b) {
    struct stat x, y;
    if (fstat(a, &x) || fstat(b, &y)) return 0;
    return x.st_ino == y.st_ino && x.st_dev == y.st_dev && x.st_mode == y.st_mode;
}

int main(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return 1;

    /* 1. A pipe's write end goes to a child that gets it over the socket and writes into it. */
    int p[2];
    pipe(p);
    int sync[2];
    pipe(sync);
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        close(p[0]);
        int got[4];
        int fl = 0;
        char b;
        int n = recv_fds(sv[1], got, 4, 64, 0, &fl, &b);
        if (n != 1 || b != 'P') _exit(2);
        write(got[0], "from child", 10);
        close(got[0]);
        _exit(0);
    }
    printf("send pipe fd: %zd\n", send_fds(sv[0], &p[1], 1, "P"));
    close(p[1]);
    char buf[64] = {0};
    ssize_t n = read(p[0], buf, sizeof buf);
    printf("parent read via child: %zd %s\n", n, buf);
    n = read(p[0], buf, sizeof buf);
    printf("then EOF: %zd\n", n);
    int st;
    waitpid(c, &st, 0);
    printf("child exit: %d\n", WEXITSTATUS(st));
    close(p[0]);

    /* 2. Three fds in one message; they refer to the same files; fd numbers are fresh. */
    int three[3] = {sv[0], sync[0], sync[1]};
    printf("send three: %zd\n", send_fds(sv[0], three, 3, "3"));
    int got[8];
    int fl = 0;
    char b = 0;
    int k = recv_fds(sv[1], got, 8, 256, 0, &fl, &b);
    printf("got three: %d byte %c ctrunc %d\n", k, b, !!(fl & MSG_CTRUNC));
    int same = k == 3;
    for (int i = 0; i < k; i++) same = same && same_file(got[i], three[i]) && got[i] != three[i];
    printf("same files, new fds: %d\n", same);
    printf("cloexec without flag: %d\n", k > 0 ? fcntl(got[0], F_GETFD) : -1);
    /* The received write end of sync works. */
    write(got[2], "z", 1);
    char z = 0;
    read(sync[0], &z, 1);
    printf("received pipe end works: %c\n", z);
    for (int i = 0; i < k; i++) close(got[i]);

    /* 3. A short control buffer: MSG_CTRUNC, only what fits is installed. */
    send_fds(sv[0], three, 3, "T");
    k = recv_fds(sv[1], got, 8, CMSG_LEN(sizeof(int) * 1) + 4, 0, &fl, &b);
    printf("short buffer: %d ctrunc %d\n", k, !!(fl & MSG_CTRUNC));
    for (int i = 0; i < k; i++) close(got[i]);
    send_fds(sv[0], three, 1, "N");
    k = recv_fds(sv[1], got, 8, 0, 0, &fl, &b);
    printf("no buffer: %d ctrunc %d byte %c\n", k, !!(fl & MSG_CTRUNC), b);

    /* 4. MSG_CMSG_CLOEXEC. */
    send_fds(sv[0], three, 1, "C");
    k = recv_fds(sv[1], got, 8, 64, MSG_CMSG_CLOEXEC, &fl, &b);
    printf("cmsg cloexec: %d fd flags %d\n", k, k == 1 ? fcntl(got[0], F_GETFD) : -1);
    if (k == 1) close(got[0]);

    /* 5. Files ride on their bytes: a read stops after them; MSG_PEEK duplicates them. */
    write(sv[0], "ab", 2);
    send_fds(sv[0], three, 1, "c");
    write(sv[0], "de", 2);
    char rb[8] = {0};
    k = recv_fds(sv[1], got, 8, 64, MSG_PEEK, &fl, &b);
    printf("peek with no files first: %d %c\n", k, b);
    char many[8] = {0};
    n = read(sv[1], many, 2);
    printf("read ab: %zd %s\n", n, many);
    k = recv_fds(sv[1], got, 8, 64, MSG_PEEK, &fl, &b);
    printf("peek files: %d %c\n", k, b);
    if (k == 1) close(got[0]);
    {
        char cbuf[64];
        struct iovec iov = {rb, sizeof rb};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        n = recvmsg(sv[1], &m, 0);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        int fd = -1;
        if (cm && cm->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        printf("read stops after files: %zd %.*s files %d\n", n, (int)(n > 0 ? n : 0), rb, fd >= 0);
        if (fd >= 0) close(fd);
    }
    memset(rb, 0, sizeof rb);
    n = read(sv[1], rb, sizeof rb);
    printf("rest: %zd %s\n", n, rb);

    /* 6. Errors: a bad fd, a bad cmsg length, too many fds. */
    int bad = 999;
    n = send_fds(sv[0], &bad, 1, "x");
    int e = errno;
    printf("bad fd: %zd %s\n", n, ename(e));
    {
        char cbuf[CMSG_SPACE(sizeof(int))];
        memset(cbuf, 0, sizeof cbuf);
        struct iovec iov = {"x", 1};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = sizeof cbuf + 8;
        n = sendmsg(sv[0], &m, 0);
        e = errno;
        printf("cmsg_len too long: %zd %s\n", n, ename(e));
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        cm->cmsg_type = 77;
        n = sendmsg(sv[0], &m, 0);
        e = errno;
        printf("unknown type: %zd %s\n", n, ename(e));
    }
    {
        static char cbuf[CMSG_SPACE(sizeof(int) * 300)];
        struct iovec iov = {"x", 1};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * 254);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * 254);
        for (int i = 0; i < 254; i++) memcpy(CMSG_DATA(cm) + i * sizeof(int), &sv[0], sizeof(int));
        n = sendmsg(sv[0], &m, 0);
        e = errno;
        printf("254 fds: %zd %s\n", n, ename(e));
        m.msg_controllen = CMSG_SPACE(sizeof(int) * 253);
        cm->cmsg_len = CMSG_LEN(sizeof(int) * 253);
        n = sendmsg(sv[0], &m, 0);
        e = errno;
        printf("253 fds: %zd %s\n", n, ename(e));
        k = recv_fds(sv[1], got, 8, 512, 0, &fl, &b);
        printf("received of 253 with room for %d: %d ctrunc %d\n", (int)((512 - sizeof(struct cmsghdr)) / sizeof(int)), k, !!(fl & MSG_CTRUNC));
        for (int i = 0; i < k; i++) close(got[i]);
    }

    /* 7. Credentials: SO_PASSCRED makes every message carry the sender's; SCM_CREDENTIALS claims them. */
    int on = 1;
    printf("passcred: %d\n", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
    write(sv[0], "q", 1);
    {
        char cbuf[256];
        struct iovec iov = {rb, 1};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        n = recvmsg(sv[1], &m, 0);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        struct ucred u = {0};
        int ok = cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS && cm->cmsg_len == CMSG_LEN(sizeof u);
        if (ok) memcpy(&u, CMSG_DATA(cm), sizeof u);
        printf("creds: %zd ok %d pid is me %d uid %u gid %u controllen %zu\n", n, ok, u.pid == getpid(), u.uid, u.gid, (size_t)m.msg_controllen);
        /* Too small a buffer for credentials. */
        write(sv[0], "r", 1);
        m.msg_controllen = sizeof(struct cmsghdr) + 4;
        n = recvmsg(sv[1], &m, 0);
        printf("short creds: %zd ctrunc %d\n", n, !!(m.msg_flags & MSG_CTRUNC));
    }
    {
        struct ucred u = {getpid(), getuid(), getgid()};
        char cbuf[CMSG_SPACE(sizeof u)];
        memset(cbuf, 0, sizeof cbuf);
        struct iovec iov = {"s", 1};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_CREDENTIALS;
        cm->cmsg_len = CMSG_LEN(sizeof u);
        memcpy(CMSG_DATA(cm), &u, sizeof u);
        printf("send creds: %zd\n", sendmsg(sv[0], &m, 0));
        cm->cmsg_len = CMSG_LEN(sizeof u - 4);
        n = sendmsg(sv[0], &m, 0);
        e = errno;
        printf("bad creds length: %zd %s\n", n, ename(e));
        char cb2[64];
        struct iovec iov2 = {rb, 1};
        struct msghdr m2 = {0};
        m2.msg_iov = &iov2;
        m2.msg_iovlen = 1;
        m2.msg_control = cb2;
        m2.msg_controllen = sizeof cb2;
        n = recvmsg(sv[1], &m2, 0);
        struct cmsghdr *c2 = CMSG_FIRSTHDR(&m2);
        struct ucred r = {0};
        if (c2 && c2->cmsg_type == SCM_CREDENTIALS) memcpy(&r, CMSG_DATA(c2), sizeof r);
        printf("claimed creds received: %zd %d\n", n, r.pid == getpid() && r.uid == getuid());
    }

    /* 8. SO_PEERCRED across fork and connect: the child's view of the listener is the parent's pid. */
    char name[64];
    snprintf(name, sizeof name, "moat-rights-%d", getpid());
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path + 1, name);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(srv, (struct sockaddr *)&a, alen);
    listen(srv, 1);
    pid_t parent = getpid();
    c = fork();
    if (c == 0) {
        int cl = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(cl, (struct sockaddr *)&a, alen)) _exit(3);
        struct ucred u;
        socklen_t ul = sizeof u;
        getsockopt(cl, SOL_SOCKET, SO_PEERCRED, &u, &ul);
        char okb = u.pid == parent ? 'y' : 'n';
        write(cl, &okb, 1);
        read(cl, &okb, 1);
        _exit(0);
    }
    int conn = accept(srv, NULL, NULL);
    struct ucred u;
    socklen_t ul = sizeof u;
    getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &u, &ul);
    char cb = 0;
    read(conn, &cb, 1);
    printf("peercred: server sees child %d, child sees parent %c, len %u\n", u.pid == c, cb, ul);
    write(conn, "k", 1);
    waitpid(c, &st, 0);
    printf("child exit: %d\n", WEXITSTATUS(st));
    close(conn);
    close(srv);

    /* 9. A socket sent over itself and closed everywhere does not hang anything. */
    int sp[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sp);
    send_fds(sp[0], &sp[1], 1, "s");
    close(sp[0]);
    close(sp[1]);
    /* SO_PASSCRED autobinds an unnamed socket when it connects or sends a datagram. */
    {
        char pn[64];
        int pl = snprintf(pn, sizeof pn, "moat-passcred-%d", getpid());
        struct sockaddr_un pa = {.sun_family = AF_UNIX};
        memcpy(pa.sun_path + 1, pn, pl);
        socklen_t pal = offsetof(struct sockaddr_un, sun_path) + 1 + pl;
        int rx = socket(AF_UNIX, SOCK_DGRAM, 0);
        bind(rx, (struct sockaddr *)&pa, pal);
        int tx = socket(AF_UNIX, SOCK_DGRAM, 0);
        setsockopt(tx, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
        sendto(tx, "x", 1, 0, (struct sockaddr *)&pa, pal);
        struct sockaddr_un f;
        socklen_t fl = sizeof f;
        recvfrom(rx, rb, 1, 0, (struct sockaddr *)&f, &fl);
        printf("passcred sender autobound: addrlen %u abstract %d\n", fl, fl > 2 && f.sun_path[0] == 0);
        int tx2 = socket(AF_UNIX, SOCK_DGRAM, 0);
        setsockopt(tx2, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
        connect(tx2, (struct sockaddr *)&pa, pal);
        fl = sizeof f;
        getsockname(tx2, (struct sockaddr *)&f, &fl);
        printf("passcred connect autobound: %u\n", fl);
        int sp2[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sp2);
        setsockopt(sp2[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
        send(sp2[0], "x", 1, 0);
        fl = sizeof f;
        getsockname(sp2[0], (struct sockaddr *)&f, &fl);
        printf("passcred socketpair stays unnamed: %u\n", fl);
    }
    printf("done\n");
    return 0;
}
