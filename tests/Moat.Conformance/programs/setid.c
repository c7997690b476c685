/* Credentials as root: setgroups/getgroups, setresuid and back through the saved uid, a full drop, and
 * the EPERM that follows; capget before and after. (Run as root, like the rest of the suite.) */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned caps(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return 0xdead;
    return d[0].effective;
}

int main(void) {
    printf("root: %d, has capabilities: %d\n", geteuid() == 0, caps() != 0 && caps() != 0xdead);
    gid_t g[2] = {10, 20};
    printf("setgroups: %d\n", setgroups(2, g));
    gid_t got[8];
    int n = getgroups(8, got);
    printf("getgroups: %d [%u %u] size query %d\n", n, got[0], got[1], getgroups(0, NULL));
    printf("getgroups too small: %d\n", getgroups(1, got) == -1 && errno == EINVAL);
    printf("setresuid: %d\n", setresuid(1000, 1000, 0));
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("ids: %u %u %u, caps now: %x\n", r, e, s, caps());
    printf("setgroups unprivileged: %d\n", setgroups(0, NULL) == -1 && errno == EPERM);
    printf("back to root via saved uid: %d euid %u\n", seteuid(0), geteuid());
    printf("full drop: %d\n", setuid(1000));
    getresuid(&r, &e, &s);
    printf("ids: %u %u %u\n", r, e, s);
    int rr = setuid(0);
    printf("regain root: %d %s\n", rr, errno == EPERM ? "EPERM" : "other");
    printf("setgid unprivileged: %d\n", setgid(0) == -1 && errno == EPERM);
    return 0;
}
