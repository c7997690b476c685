/* Readiness of both ends of a pty: poll on the replica (a partial canonical line is not readable, a
 * complete one is; non-canonical bytes are), POLLOUT on both, epoll on the master woken by a replica write
 * from another process, and blocking reads on each side woken by the other. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int ready(int fd, short ev, int ms) {
    struct pollfd p = {fd, ev, 0};
    int r = poll(&p, 1, ms);
    return r < 0 ? -errno : p.revents;
}

static const char *ev(int r) {
    static char b[64];
    b[0] = 0;
    if (r < 0) return strerrorname_np(-r);
    if (r & POLLIN) strcat(b, "IN ");
    if (r & POLLOUT) strcat(b, "OUT ");
    if (r & POLLHUP) strcat(b, "HUP ");
    if (r & POLLERR) strcat(b, "ERR ");
    if (!b[0]) strcat(b, "none");
    return b;
}

int main(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    printf("replica idle: %s\n", ev(ready(s, POLLIN | POLLOUT, 0)));
    printf("master idle: %s\n", ev(ready(m, POLLIN | POLLOUT, 0)));
    write(m, "ab", 2);
    /* The echo arrives on the master: wait for it, then the partial line is known to be processed. */
    printf("master after input (echo): %s\n", ev(ready(m, POLLIN, -1)));
    printf("replica partial line: %s\n", ev(ready(s, POLLIN, 0)));
    write(m, "\n", 1);
    printf("replica full line: %s\n", ev(ready(s, POLLIN, -1)));
    char b[64];
    printf("read: %ld\n", (long)read(s, b, sizeof b));
    while (ready(m, POLLIN, 0) > 0) read(m, b, sizeof b);
    printf("master drained: %s\n", ev(ready(m, POLLIN, 0)));

    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);

    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = 7};
    printf("epoll_ctl master: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, m, &e) == 0 ? "ok" : strerrorname_np(errno));
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        usleep(20000);
        write(s, "xyz", 3);
        char d[8];
        long n = read(s, d, sizeof d); /* blocks until main writes */
        _exit(n == 2 && memcmp(d, "ok", 2) == 0 ? 0 : 1);
    }
    struct epoll_event got;
    int n = epoll_wait(ep, &got, 1, 5000);
    printf("epoll_wait: %d data %u in %d\n", n, got.data.u32, !!(got.events & EPOLLIN));
    printf("master read: %ld\n", (long)read(m, b, sizeof b));
    usleep(20000);
    write(m, "ok", 2);
    int st;
    waitpid(c, &st, 0);
    printf("child read the master's write: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");

    /* A blocking master read woken by the replica's writer. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        usleep(20000);
        write(s, "late", 4);
        _exit(0);
    }
    printf("blocking master read: %ld\n", (long)read(m, b, sizeof b));
    waitpid(c, &st, 0);
    close(s);
    printf("master, replica closed: %s\n", ev(ready(m, POLLIN | POLLOUT, 0)));
    return 0;
}
