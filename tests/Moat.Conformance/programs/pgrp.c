/* Process groups and sessions: setsid, setpgid (self, child, after the child's exec, errors), getpgid,
 * getsid, and kill(-pgid) reaching exactly the group. Relations only: the harness's own ids differ. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(int e) {
    return e == 0 ? "ok" : e == EPERM ? "EPERM" : e == ESRCH ? "ESRCH" : e == EINVAL ? "EINVAL" : e == EACCES ? "EACCES" : strerror(e);
}

static int run(int (*fn)(void)) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) { int r = fn(); fflush(stdout); _exit(r); }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static int new_session(void) {
    pid_t parent_group = getpgrp();
    printf("child starts in parent's group: %s\n", parent_group == getpgid(getppid()) ? "yes" : "no");
    pid_t s = setsid();
    printf("setsid returns own pid: %s\n", s == getpid() ? "yes" : "no");
    printf("now session and group leader: %s\n", getsid(0) == getpid() && getpgrp() == getpid() ? "yes" : "no");
    int e = setsid() < 0 ? errno : 0;
    printf("setsid again: %s\n", err(e));
    e = setpgid(0, 0) < 0 ? errno : 0;
    printf("setpgid as session leader: %s\n", err(e));
    e = setpgid(0, parent_group) < 0 ? errno : 0;
    printf("join a group of another session: %s\n", err(e));
    return 0;
}

static int own_group(void) {
    int e = setpgid(0, 0) < 0 ? errno : 0;
    printf("setpgid(0, 0): %s, leader: %s\n", err(e), getpgrp() == getpid() ? "yes" : "no");
    e = setsid() < 0 ? errno : 0;
    printf("setsid as group leader: %s\n", err(e));
    e = setpgid(0, getpgid(getppid())) < 0 ? errno : 0;
    printf("back to parent's group: %s, same: %s\n", err(e), getpgrp() == getpgid(getppid()) ? "yes" : "no");
    return 0;
}

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got = 1; }

static int group_signal(void) {
    signal(SIGUSR1, on_usr1);
    setpgid(0, 0);
    int ready[2], go[2];
    pipe(ready);
    pipe(go);
    pid_t member = fork();
    if (member == 0) { /* same group */
        char c;
        write(ready[1], "r", 1);
        read(go[0], &c, 1);
        _exit(got ? 0 : 1);
    }
    pid_t outsider = fork();
    if (outsider == 0) { /* own group */
        setpgid(0, 0);
        char c;
        write(ready[1], "r", 1);
        read(go[0], &c, 1);
        _exit(got ? 0 : 1);
    }
    char c;
    read(ready[0], &c, 1);
    read(ready[0], &c, 1);
    setpgid(outsider, outsider); /* also from here: no race with the child's own call */
    kill(-getpgrp(), SIGUSR1);
    write(go[1], "gg", 2);
    int a, b;
    waitpid(member, &a, 0);
    waitpid(outsider, &b, 0);
    printf("kill(-pgid): self %s, member %s, outsider %s\n", got ? "got it" : "missed",
           WEXITSTATUS(a) == 0 ? "got it" : "missed", WEXITSTATUS(b) == 0 ? "got it" : "missed");
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "idle") == 0) {
        char c;
        write(atoi(argv[2]), "e", 1);
        read(0, &c, 1);
        return 0;
    }
    run(new_session);
    run(own_group);
    run(group_signal);

    /* setpgid on a child: before and after its exec (the exec'd child says so through a pipe). */
    int go[2], execd[2], in[2];
    pipe(go);
    pipe(execd);
    pipe(in);
    pid_t child = fork();
    if (child == 0) {
        char c, fd[16];
        read(go[0], &c, 1); /* wait for the parent's first setpgid */
        dup2(in[0], 0);
        snprintf(fd, sizeof fd, "%d", execd[1]);
        char *args[] = {argv[0], "idle", fd, NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int e = setpgid(child, child) < 0 ? errno : 0;
    printf("setpgid(child) before exec: %s, child's group is its pid: %s\n", err(e), getpgid(child) == child ? "yes" : "no");
    write(go[1], "x", 1);
    char c;
    read(execd[0], &c, 1);
    e = setpgid(child, getpgrp()) < 0 ? errno : 0;
    printf("setpgid(child) after exec: %s\n", err(e));
    write(in[1], "q", 1);
    waitpid(child, NULL, 0);

    e = setpgid(999999, 0) < 0 ? errno : 0;
    printf("setpgid(not a child): %s\n", err(e));
    e = setpgid(0, -1) < 0 ? errno : 0;
    printf("setpgid(0, -1): %s\n", err(e));
    e = getpgid(999999) < 0 ? errno : 0;
    printf("getpgid(no such pid): %s\n", err(e));
    e = getsid(999999) < 0 ? errno : 0;
    printf("getsid(no such pid): %s\n", err(e));
    printf("getsid(0) == getsid(getpid()): %s\n", getsid(0) == getsid(getpid()) ? "yes" : "no");
    return 0;
}
