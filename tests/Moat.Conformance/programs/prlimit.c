/* prlimit.c - getrlimit / setrlimit / prlimit64. Limit values themselves
 * are not printed (they vary by host), except ones this program sets.
 * Exit status 0. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static const char *errname(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    default: return "E?";
    }
}

static void show(const char *name, long r, int e)
{
    if (r < 0)
        printf("%s: %ld %s\n", name, r, errname(e));
    else
        printf("%s: %ld\n", name, r);
}

static const char *yesno(int c) { return c ? "yes" : "no"; }

/* the kernel's struct rlimit64 has the same layout as struct rlimit on x86-64 */
struct k_rlimit64 { unsigned long long cur, max; };

int main(void)
{
    long r;
    int e;
    struct rlimit rl;

    errno = 0; r = getrlimit(RLIMIT_STACK, &rl); e = errno;
    printf("getrlimit RLIMIT_STACK: %s\n", r == 0 ? "ok" : errname(e));
    printf("stack cur <= max: %s\n", yesno(rl.rlim_max == RLIM_INFINITY || rl.rlim_cur <= rl.rlim_max));

    struct k_rlimit64 old = { 0, 0 };
    errno = 0; r = syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &old); e = errno;
    printf("prlimit64 RLIMIT_NOFILE: %s\n", r == 0 ? "ok" : errname(e));
    printf("nofile cur > 0: %s\n", yesno(old.cur > 0));
    printf("nofile cur <= max: %s\n", yesno(old.cur <= old.max));

    /* the legacy getrlimit syscall and glibc agree with prlimit64 */
    struct rlimit k;
    errno = 0; r = syscall(SYS_getrlimit, RLIMIT_NOFILE, &k); e = errno;
    show("raw getrlimit RLIMIT_NOFILE", r, e);
    printf("raw getrlimit matches prlimit64: %s\n", yesno(k.rlim_cur == old.cur && k.rlim_max == old.max));
    errno = 0; r = getrlimit(RLIMIT_NOFILE, &rl); e = errno;
    printf("glibc getrlimit matches: %s\n", yesno(r == 0 && rl.rlim_cur == old.cur && rl.rlim_max == old.max));

    /* prlimit64 on our own pid is the same as pid 0 */
    struct k_rlimit64 self = { 0, 0 };
    errno = 0; r = syscall(SYS_prlimit64, getpid(), RLIMIT_NOFILE, NULL, &self); e = errno;
    show("prlimit64 own pid", r, e);
    printf("own pid matches pid 0: %s\n", yesno(self.cur == old.cur && self.max == old.max));

    /* cur > max is EINVAL regardless of the current limits */
    struct rlimit inv = { .rlim_cur = 2000, .rlim_max = 1000 };
    errno = 0; r = setrlimit(RLIMIT_NOFILE, &inv); e = errno;
    show("setrlimit NOFILE cur>max", r, e);
    errno = 0; r = syscall(SYS_setrlimit, RLIMIT_NOFILE, &inv); e = errno;
    show("raw setrlimit NOFILE cur>max", r, e);

    /* lower the soft limit to 256 and read it back */
    if (old.max >= 256) {
        struct rlimit lo = { .rlim_cur = 256, .rlim_max = old.max };
        errno = 0; r = setrlimit(RLIMIT_NOFILE, &lo); e = errno;
        show("setrlimit NOFILE soft 256", r, e);
        getrlimit(RLIMIT_NOFILE, &rl);
        printf("readback soft: %lu\n", (unsigned long)rl.rlim_cur);
        printf("hard unchanged: %s\n", yesno(rl.rlim_max == old.max));
        /* prlimit64 can set and return the old value in one call */
        struct k_rlimit64 nw = { 128, old.max }, prev = { 0, 0 };
        errno = 0; r = syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &nw, &prev); e = errno;
        show("prlimit64 set soft 128", r, e);
        printf("prlimit64 returned previous soft: %llu\n", prev.cur);
        getrlimit(RLIMIT_NOFILE, &rl);
        printf("readback soft: %lu\n", (unsigned long)rl.rlim_cur);
    } else {
        printf("nofile hard limit below 256: cannot test set\n");
    }

    /* bad resource numbers */
    errno = 0; r = getrlimit(999, &rl); e = errno;
    show("getrlimit resource 999", r, e);
    errno = 0; r = syscall(SYS_getrlimit, 999, &rl); e = errno;
    show("raw getrlimit resource 999", r, e);
    errno = 0; r = syscall(SYS_prlimit64, 0, 999, NULL, &old); e = errno;
    show("prlimit64 resource 999", r, e);
    errno = 0; r = syscall(SYS_getrlimit, RLIMIT_NOFILE, NULL); e = errno;
    show("raw getrlimit NULL", r, e);
    return 0;
}
