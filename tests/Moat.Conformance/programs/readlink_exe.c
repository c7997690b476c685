/* readlink_exe.c - readlink("/proc/self/exe"). Assumes the binary is named
 * "readlink_exe". Exit status 0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static const char *errname(int e)
{
    switch (e) {
    case ENOENT: return "ENOENT";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case ENAMETOOLONG: return "ENAMETOOLONG";
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

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    char buf[4096];
    memset(buf, 'Z', sizeof buf);
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    printf("readlink /proc/self/exe: %s\n", n > 0 ? "ok" : errname(errno));
    if (n > 0) {
        /* readlink does not NUL-terminate: the byte after the result is untouched */
        printf("not NUL-terminated: %s\n", yesno(buf[n] == 'Z'));
        buf[n] = 0;
        printf("absolute: %s\n", yesno(buf[0] == '/'));
        printf("ends with /readlink_exe: %s\n", yesno(ends_with(buf, "/readlink_exe")));
        const char *b0 = strrchr(argv[0], '/');
        b0 = b0 ? b0 + 1 : argv[0];
        const char *b1 = strrchr(buf, '/');
        printf("basename matches argv[0]: %s\n", yesno(b1 && strcmp(b1 + 1, b0) == 0));
        printf("length matches strlen: %s\n", yesno((size_t)n == strlen(buf)));
    }

    /* a short buffer truncates silently and returns the buffer size */
    char small[4];
    n = readlink("/proc/self/exe", small, sizeof small);
    printf("readlink bufsiz 4: %ld%s\n", (long)n, n == 4 && small[0] == '/' ? " starts with /" : "");

    errno = 0;
    n = syscall(SYS_readlink, "/proc/self/exe", buf, 0);
    show("readlink bufsiz 0", (long)n, errno);

    errno = 0;
    n = syscall(SYS_readlink, "/proc/self/exe", NULL, 16);
    show("readlink NULL buf", (long)n, errno);

    errno = 0;
    n = syscall(SYS_readlink, NULL, buf, 16);
    show("readlink NULL path", (long)n, errno);
    return 0;
}
