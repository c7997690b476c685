/* userfaultfd(2)'s checks in a container with vm.unprivileged_userfaultfd = 0 (the kernel's default; this
 * program assumes the host has it): as root, unknown flags are EINVAL; as uid 65534 without
 * UFFD_USER_MODE_ONLY everything is EPERM, checked before the flags; the sysctl reads 0. What a userfaultfd
 * does once made is the `userfaultfd` program's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define UFFD_USER_MODE_ONLY 1

static const char *uffd(int flags) {
    long r = syscall(SYS_userfaultfd, flags);
    if (r >= 0) {
        close((int)r);
        return "ok";
    }
    return strerrorname_np(errno);
}

int main(void) {
    char buf[16] = "";
    int f = open("/proc/sys/vm/unprivileged_userfaultfd", O_RDONLY);
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    printf("unprivileged_userfaultfd: %s", n > 0 ? buf : "unreadable\n");
    printf("root, unknown flag: %s\n", uffd(0x100000));
    printf("root, user mode only and unknown flag: %s\n", uffd(UFFD_USER_MODE_ONLY | 0x100000));
    printf("root, O_APPEND: %s\n", uffd(O_APPEND));
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        setuid(65534);
        printf("uid 65534, O_CLOEXEC: %s\n", uffd(O_CLOEXEC));
        printf("uid 65534, 0: %s\n", uffd(0));
        printf("uid 65534, unknown flag: %s\n", uffd(0x100000));
        printf("uid 65534, user mode only and unknown flag: %s\n", uffd(UFFD_USER_MODE_ONLY | 0x100000));
        fflush(stdout);
        _exit(0);
    }
    waitpid(kid, NULL, 0);
    return 0;
}
