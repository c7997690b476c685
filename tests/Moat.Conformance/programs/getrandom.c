/* getrandom.c - getrandom(2) return values and error cases. Never prints
 * the random bytes themselves. Exit status 0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>

static const char *errname(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EINTR: return "EINTR";
    case ENOSYS: return "ENOSYS";
    default: return "E?";
    }
}

static void show(const char *name, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", name, errname(errno));
    else
        printf("%s: %ld\n", name, r);
}

static int not_all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 1;
    return 0;
}

int main(void)
{
    unsigned char a[32], b[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);

    long r = syscall(SYS_getrandom, a, sizeof a, 0);
    show("getrandom 32 flags=0", r);
    printf("not all zero: %s\n", not_all_zero(a, sizeof a) ? "yes" : "no");

    r = syscall(SYS_getrandom, b, sizeof b, GRND_NONBLOCK);
    show("getrandom 32 GRND_NONBLOCK", r);
    printf("not all zero: %s\n", not_all_zero(b, sizeof b) ? "yes" : "no");
    printf("two draws differ: %s\n", memcmp(a, b, sizeof a) != 0 ? "yes" : "no");

    unsigned char big[4096];
    r = syscall(SYS_getrandom, big, sizeof big, 0);
    show("getrandom 4096", r);

    r = syscall(SYS_getrandom, a, 0, 0);
    show("getrandom len 0", r);

    /* glibc wrapper too */
    memset(a, 0, sizeof a);
    show("glibc getrandom 16", (long)getrandom(a, 16, 0));

    errno = 0;
    r = syscall(SYS_getrandom, a, sizeof a, 0x100);
    show("getrandom flags=0x100", r);

    /* GRND_INSECURE (4) together with GRND_RANDOM (2) is invalid */
    errno = 0;
    r = syscall(SYS_getrandom, a, sizeof a, 0x4 | 0x2);
    show("getrandom INSECURE|RANDOM", r);

    errno = 0;
    r = syscall(SYS_getrandom, NULL, 16, 0);
    show("getrandom NULL 16", r);

    /* NULL with length 0 is fine: nothing is written */
    errno = 0;
    r = syscall(SYS_getrandom, NULL, 0, 0);
    show("getrandom NULL 0", r);
    return 0;
}
