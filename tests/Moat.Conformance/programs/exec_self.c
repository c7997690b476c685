/* execve through /proc links: /proc/self/exe (what `moat bench`'s fork-exec workload and many re-exec'ing
 * programs do), /proc/self/fd/N of an open executable, execveat(AT_EMPTY_PATH), and the errors of
 * executing a /proc file that is not a link or a link to a pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void run(const char *label, const char *path, int dirfd, int flags) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {"exec_self", "child", (char *)label, NULL};
        char *env[] = {NULL};
        if (dirfd >= 0) syscall(SYS_execveat, dirfd, path, args, env, flags);
        else execve(path, args, env);
        int e = errno;
        printf("%s: errno %s\n", label, e == EACCES ? "EACCES" : e == ENOENT ? "ENOENT" : e == ELOOP ? "ELOOP" : strerror(e));
        fflush(stdout);
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("%s: exit %d\n", label, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "child") == 0) {
        printf("%s: child runs\n", argv[2]);
        return 7;
    }
    run("self-exe", "/proc/self/exe", -1, 0);
    int fd = open("/proc/self/exe", O_RDONLY);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    run("self-fd", path, -1, 0);
    run("execveat-empty", "", fd, AT_EMPTY_PATH);
    run("proc-file", "/proc/self/status", -1, 0);
    int p[2];
    pipe(p);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    run("pipe-link", path, -1, 0);
    run("missing", "/proc/self/nonexistent", -1, 0);
    return 0;
}
