/* poll(2), select(2), epoll(7) and eventfd(2) over pipes and eventfds, with timeouts and error cases. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

int main(void) {
    int p[2];
    pipe(p);
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    int n = poll(pf, 2, 0);
    printf("poll empty: %d rin=%x rout=%x\n", n, pf[0].revents, pf[1].revents);
    write(p[1], "x", 1);
    n = poll(pf, 2, 0);
    printf("poll data: %d rin=%x\n", n, pf[0].revents);
    n = poll(pf, 1, 30);
    printf("poll again: %d\n", n);
    char c;
    read(p[0], &c, 1);
    n = poll(pf, 1, 30);
    printf("poll timeout: %d\n", n);
    struct pollfd bad = {999, POLLIN, 0};
    n = poll(&bad, 1, 0);
    printf("poll bad fd: %d revents=%x\n", n, bad.revents);

    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {0, 20000};
    n = select(p[0] + 1, &rs, NULL, NULL, &tv);
    printf("select timeout: %d\n", n);
    write(p[1], "y", 1);
    FD_SET(p[0], &rs);
    n = select(p[0] + 1, &rs, NULL, NULL, NULL);
    printf("select ready: %d isset=%d\n", n, FD_ISSET(p[0], &rs));
    read(p[0], &c, 1);

    int efd = eventfd(3, EFD_NONBLOCK);
    uint64_t v = 0;
    ssize_t got = read(efd, &v, 8);
    printf("eventfd read: %zd value=%llu\n", got, (unsigned long long)v);
    ssize_t rr = read(efd, &v, 8);
    printf("eventfd empty: %zd %s\n", rr, ename(errno));
    v = 5;
    write(efd, &v, 8);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42};
    printf("epoll add: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev));
    int r = epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    printf("epoll add again: %d %s\n", r, ename(errno));
    ev.data.u64 = 7;
    ev.events = EPOLLIN | EPOLLET;
    printf("epoll add pipe: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    struct epoll_event out[4];
    n = epoll_wait(ep, out, 4, 0);
    printf("epoll_wait: %d data=%llu events=%x\n", n, n > 0 ? (unsigned long long)out[0].data.u64 : 0ULL, n > 0 ? out[0].events : 0);
    r = epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);
    printf("epoll del missing: %d %s\n", r, ename(errno));
    r = epoll_ctl(ep, EPOLL_CTL_ADD, 0, NULL);
    printf("epoll add null event: %d\n", r == -1);
    read(efd, &v, 8);

    /* Regular files and directories cannot be watched (tmpfs here; the host root's too). */
    int reg = open("/dev/shm/moat-poll-regular", O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink("/dev/shm/moat-poll-regular");
    r = epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev);
    printf("epoll add tmpfs file: %d %s\n", r, ename(errno));
    int dir = open("/dev/shm", O_RDONLY | O_DIRECTORY);
    r = epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev);
    printf("epoll add tmpfs dir: %d %s\n", r, ename(errno));
    int host = open("/", O_RDONLY | O_DIRECTORY);
    r = epoll_ctl(ep, EPOLL_CTL_ADD, host, &ev);
    printf("epoll add host dir: %d %s\n", r, ename(errno));
    close(reg);
    close(dir);
    close(host);

    /* A child writes to the pipe later; epoll_wait blocks until then. */
    pid_t child = fork();
    if (child == 0) { usleep(30000); write(p[1], "z", 1); _exit(0); }
    n = epoll_wait(ep, out, 4, 5000);
    printf("epoll_wait after child: %d data=%llu\n", n, n > 0 ? (unsigned long long)out[0].data.u64 : 0ULL);
    n = epoll_wait(ep, out, 4, 0);
    printf("edge-triggered again: %d\n", n);
    waitpid(child, NULL, 0);
    return 0;
}
