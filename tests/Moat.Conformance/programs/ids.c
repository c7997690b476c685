/* ids.c - process/user identity syscalls and uname. Prints only relations
 * and environment-independent strings. Exit status 0. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

static const char *yesno(int c) { return c ? "yes" : "no"; }

int main(void)
{
    pid_t pid = getpid();
    printf("getpid matches raw syscall: %s\n", yesno(pid == (pid_t)syscall(SYS_getpid)));
    printf("pid positive: %s\n", yesno(pid > 0));
    /* The sandbox's first process is pid 1 with parent 0, like init in a pid namespace. */
    printf("ppid nonnegative: %s\n", yesno(getppid() >= 0));
    printf("ppid differs from pid: %s\n", yesno(getppid() != pid));
    printf("gettid equals getpid: %s\n", yesno(gettid() == pid));
    printf("raw gettid equals getpid: %s\n", yesno((pid_t)syscall(SYS_gettid) == pid));
    printf("getuid equals geteuid: %s\n", yesno(getuid() == geteuid()));
    printf("getgid equals getegid: %s\n", yesno(getgid() == getegid()));
    printf("getpgid(0) equals getpgrp: %s\n", yesno(getpgid(0) == getpgrp()));

    uid_t r, e, s;
    printf("getresuid: %d\n", getresuid(&r, &e, &s));
    printf("resuid consistent: %s\n", yesno(r == getuid() && e == geteuid()));
    gid_t gr, ge, gs;
    printf("getresgid: %d\n", getresgid(&gr, &ge, &gs));
    printf("resgid consistent: %s\n", yesno(gr == getgid() && ge == getegid()));

    struct utsname u;
    memset(&u, 0, sizeof u);
    int ret = uname(&u);
    printf("uname: %d\n", ret);
    printf("sysname: %s\n", u.sysname);
    printf("machine: %s\n", u.machine);
    printf("release nonempty: %s\n", yesno(u.release[0] != 0));
    return 0;
}
