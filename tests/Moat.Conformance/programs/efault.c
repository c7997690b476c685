/* efault.c - bad user pointers passed to syscalls must yield EFAULT, never a
 * crash. Uses raw syscall(2). Assumes stdout is a pipe, regular file or tty
 * (not /dev/null, which never looks at the buffer). Exit status 0. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case EBADF: return "EBADF";
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

int main(void)
{
    long r;
    int e;

    /* make sure nothing is pending in the stdio buffer before raw writes */
    fflush(stdout);

    errno = 0;
    r = syscall(SYS_write, 1, NULL, 10);
    e = errno;
    show("write(1, NULL, 10)", r, e);

    errno = 0;
    r = syscall(SYS_write, 1, (void *)1, 10);
    e = errno;
    show("write(1, (void*)1, 10)", r, e);

    errno = 0; /* kernel addresses are never accessible */
    r = syscall(SYS_write, 1, (void *)0xffffffff81000000UL, 10);
    e = errno;
    show("write(1, kernel addr, 10)", r, e);

    errno = 0; /* above the 47-bit user address space (non-canonical without LA57) */
    r = syscall(SYS_write, 1, (void *)0x0000900000000000UL, 10);
    e = errno;
    show("write(1, high addr, 10)", r, e);

    errno = 0;
    r = syscall(SYS_write, 1, NULL, 0);
    e = errno;
    show("write(1, NULL, 0)", r, e);

    errno = 0;
    r = syscall(SYS_uname, NULL);
    e = errno;
    show("uname(NULL)", r, e);

    errno = 0;
    r = syscall(SYS_uname, (void *)8);
    e = errno;
    show("uname((void*)8)", r, e);

    errno = 0;
    r = syscall(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, (void *)16);
    e = errno;
    show("clock_gettime(MONOTONIC, (void*)16)", r, e);

    errno = 0;
    r = syscall(SYS_fstat, 1, NULL);
    e = errno;
    show("fstat(1, NULL)", r, e);

    errno = 0;
    r = syscall(SYS_getrandom, (void *)4096, 8, 0);
    e = errno;
    show("getrandom((void*)4096, 8)", r, e);

    /* the process is still alive and stdout still works */
    printf("still alive: yes\n");
    return 0;
}
