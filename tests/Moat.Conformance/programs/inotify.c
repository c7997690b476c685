/* inotify on a tmpfs directory (/tmp) and on one in the current directory (the root overlay under Moat):
 * create, open, modify, close, rename (cookies), chmod, link, unlink, rmdir, self events, one-shot and
 * mask-add watches, rm_watch, IN_ONLYDIR, the error cases, FIONREAD, poll and epoll readiness, and the
 * read buffer rules. Prints events as wd, names of the mask bits and the entry name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct { unsigned bit; const char *name; } bits[] = {
    {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
    {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
    {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
    {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
};

static unsigned last_cookie;

static void drain(int fd, const char *step)
{
    char buf[4096] __attribute__((aligned(8)));
    int pending = -1;
    ioctl(fd, FIONREAD, &pending);
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
        printf("%s: read %s (FIONREAD %d)\n", step, strerrorname_np(errno), pending);
        return;
    }
    printf("%s: FIONREAD matches read: %s\n", step, pending == n ? "yes" : "no");
    for (char *p = buf; p < buf + n;) {
        struct inotify_event *e = (struct inotify_event *)p;
        printf("  wd %d", e->wd);
        for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
            if (e->mask & bits[i].bit)
                printf(" %s", bits[i].name);
        if (e->cookie) {
            printf(" cookie %s", e->cookie == last_cookie ? "same" : "new");
            last_cookie = e->cookie;
        }
        if (e->len)
            printf(" '%s' (len %u)", e->name, e->len);
        printf("\n");
        p += sizeof *e + e->len;
    }
}

static void run(const char *base)
{
    char dir[256], path[300], path2[300];
    snprintf(dir, sizeof dir, "%s/inotify-test-%d", base, getpid());
    mkdir(dir, 0755);
    printf("== %s\n", base[0] == '/' ? "tmpfs" : "root");

    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    drain(fd, "empty");
    struct pollfd pfd = {fd, POLLIN, 0};
    printf("poll empty: %d\n", poll(&pfd, 1, 0));
    int wd = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    printf("wd %d\n", wd);
    printf("same dir again: %d\n", inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVE | IN_CLOSE | IN_OPEN | IN_DELETE_SELF));

    snprintf(path, sizeof path, "%s/a", dir);
    int f = open(path, O_CREAT | O_WRONLY, 0644);
    write(f, "hi", 2);
    close(f);
    int ready = poll(&pfd, 1, 0);
    printf("poll after events: %d revents %s\n", ready, pfd.revents & POLLIN ? "POLLIN" : "-");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("epoll: %d\n", epoll_wait(ep, &out, 1, 0));
    char small[8];
    ssize_t got = read(fd, small, sizeof small);
    printf("read 8 bytes: %zd %s\n", got, got < 0 ? strerrorname_np(errno) : "");
    drain(fd, "create a");
    printf("epoll drained: %d\n", epoll_wait(ep, &out, 1, 0));
    close(ep);

    snprintf(path2, sizeof path2, "%s/sub", dir);
    mkdir(path2, 0755);
    drain(fd, "mkdir sub");
    snprintf(path2, sizeof path2, "%s/b", dir);
    rename(path, path2);
    drain(fd, "rename a b");
    chmod(path2, 0600);
    drain(fd, "chmod b");
    f = open(path2, O_RDONLY);
    close(f);
    drain(fd, "open+close b");

    int wb = inotify_add_watch(fd, path2, IN_ATTRIB | IN_DELETE_SELF);
    printf("watch b: %d, onlydir on b: %s\n", wb, inotify_add_watch(fd, path2, IN_ATTRIB | IN_ONLYDIR) < 0 ? strerrorname_np(errno) : "ok");
    printf("mask add: %d\n", inotify_add_watch(fd, path2, IN_MODIFY | IN_MASK_ADD));
    printf("mask create on b: %s\n", inotify_add_watch(fd, path2, IN_MODIFY | IN_MASK_CREATE) < 0 ? strerrorname_np(errno) : "ok");
    f = open(path2, O_WRONLY | O_APPEND);
    write(f, "!", 1);
    close(f);
    drain(fd, "append to b");
    snprintf(path, sizeof path, "%s/c", dir);
    link(path2, path);
    drain(fd, "link b c");
    unlink(path);
    drain(fd, "unlink c");
    unlink(path2);
    drain(fd, "unlink b");

    snprintf(path, sizeof path, "%s/once", dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    drain(fd, "create once");
    int wo = inotify_add_watch(fd, path, IN_ATTRIB | IN_ONESHOT);
    chmod(path, 0600);
    chmod(path, 0644);
    drain(fd, "oneshot");
    printf("rm oneshot wd again: %s\n", inotify_rm_watch(fd, wo) < 0 ? strerrorname_np(errno) : "ok");
    int wr = inotify_add_watch(fd, path, IN_ATTRIB);
    printf("rm_watch: %d\n", inotify_rm_watch(fd, wr));
    drain(fd, "rm_watch");
    unlink(path);
    drain(fd, "unlink once");

    snprintf(path, sizeof path, "%s/sub", dir);
    snprintf(path2, sizeof path2, "%s/sub2", dir);
    int ws = inotify_add_watch(fd, path, IN_DELETE_SELF | IN_MOVE_SELF);
    printf("watch sub: %s\n", ws > 0 ? "yes" : "no");
    rename(path, path2);
    rmdir(path2);
    drain(fd, "rename+rmdir sub");

    printf("bad fd: %s\n", inotify_add_watch(99, dir, IN_ALL_EVENTS) < 0 ? strerrorname_np(errno) : "ok");
    printf("not inotify: %s\n", inotify_add_watch(1, dir, IN_ALL_EVENTS) < 0 ? strerrorname_np(errno) : "ok");
    printf("no events: %s\n", inotify_add_watch(fd, dir, 0) < 0 ? strerrorname_np(errno) : "ok");
    printf("missing: %s\n", inotify_add_watch(fd, "/nonexistent-inotify", IN_ALL_EVENTS) < 0 ? strerrorname_np(errno) : "ok");
    printf("rm bad wd: %s\n", inotify_rm_watch(fd, 12345) < 0 ? strerrorname_np(errno) : "ok");
    printf("init1 bad flags: %s\n", inotify_init1(1) < 0 ? strerrorname_np(errno) : "ok");

    rmdir(dir);
    drain(fd, "rmdir dir");
    close(fd);
}

int main(void)
{
    run("/tmp");
    run(".");
    return 0;
}
