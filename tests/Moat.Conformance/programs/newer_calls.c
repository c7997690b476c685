/* fchmodat2 (flags, AT_SYMLINK_NOFOLLOW on a symlink EOPNOTSUPP, AT_EMPTY_PATH on a descriptor, EINVAL for an
   unknown flag), epoll_pwait2 (a timespec timeout that expires, one that finds an event, NULL with an event, a
   bad timespec EINVAL), and as uid 65534 the calls a container is refused for want of a capability (swapon,
   swapoff, acct, vhangup, syslog: EPERM). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

static void show(const char *what, long r) {
    int e = errno;
    printf("%s: %ld %s\n", what, r, r < 0 ? strerrorname_np(e) : "OK");
    errno = 0;
}

static void mode_of(const char *path) {
    struct stat st;
    lstat(path, &st);
    printf("  %s mode %o\n", strrchr(path, '/') + 1, st.st_mode & 07777);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/newer_calls.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char file[64], link[64];
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(link, sizeof link, "%s/l", dir);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    symlink("f", link);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    show("fchmodat2 0600", syscall(SYS_fchmodat2, dfd, "f", 0600, 0));
    mode_of(file);
    show("fchmodat2 nofollow on a file", syscall(SYS_fchmodat2, dfd, "f", 0640, AT_SYMLINK_NOFOLLOW));
    mode_of(file);
    show("fchmodat2 nofollow on a symlink", syscall(SYS_fchmodat2, dfd, "l", 0600, AT_SYMLINK_NOFOLLOW));
    show("fchmodat2 through a symlink", syscall(SYS_fchmodat2, dfd, "l", 0604, 0));
    mode_of(file);
    int fd = open(file, O_RDONLY);
    show("fchmodat2 empty path", syscall(SYS_fchmodat2, fd, "", 0611, AT_EMPTY_PATH));
    mode_of(file);
    show("fchmodat2 empty path without the flag", syscall(SYS_fchmodat2, fd, "", 0611, 0));
    show("fchmodat2 unknown flag", syscall(SYS_fchmodat2, dfd, "f", 0600, 0x10000));
    show("fchmodat2 missing", syscall(SYS_fchmodat2, dfd, "nosuch", 0600, 0));
    close(fd);

    int ep = epoll_create1(0);
    int p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    struct timespec ts = {0, 20 * 1000 * 1000};
    show("epoll_pwait2 20 ms, nothing ready", syscall(SYS_epoll_pwait2, ep, out, 4, &ts, NULL, 8));
    write(p[1], "x", 1);
    show("epoll_pwait2 with data", syscall(SYS_epoll_pwait2, ep, out, 4, &ts, NULL, 8));
    show("epoll_pwait2 NULL timeout with data", syscall(SYS_epoll_pwait2, ep, out, 4, NULL, NULL, 8));
    struct timespec bad = {0, 1000000000};
    show("epoll_pwait2 bad timespec", syscall(SYS_epoll_pwait2, ep, out, 4, &bad, NULL, 8));
    show("epoll_pwait2 bad pointer", syscall(SYS_epoll_pwait2, ep, out, 4, (void *)8, NULL, 8));
    struct timespec zero = {0, 0};
    char c;
    read(p[0], &c, 1);
    show("epoll_pwait2 zero timeout", syscall(SYS_epoll_pwait2, ep, out, 4, &zero, NULL, 8));

    pid_t pid = fork();
    if (pid == 0) {
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(3);
        show("uid 65534 swapon", syscall(SYS_swapon, "/nonexistent", 0));
        show("uid 65534 swapoff", syscall(SYS_swapoff, "/nonexistent"));
        show("uid 65534 acct", syscall(SYS_acct, 0));
        show("uid 65534 vhangup", syscall(SYS_vhangup));
        show("uid 65534 syslog", syscall(SYS_syslog, 10, 0, 0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    unlink(link);
    unlink(file);
    rmdir(dir);
    return 0;
}
