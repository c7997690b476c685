/* stdio_fstat.c - fstat and TCGETS on stdout. Prints nothing that depends
 * on whether stdout is a terminal, a pipe or a file. Exit status 0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>

static const char *yesno(int c) { return c ? "yes" : "no"; }

int main(void)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    if (fstat(1, &st) == 0)
        printf("fstat stdout: ok\n");
    else
        printf("fstat stdout: failed\n");
    /* sockets included: some launchers hand out socketpairs for stdio */
    printf("stdout is chr/fifo/reg/sock: %s\n",
           yesno(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode)));
    printf("st_nlink > 0 or fifo/sock: %s\n",
           yesno(st.st_nlink > 0 || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)));

    /* raw fstat agrees with glibc */
    struct stat st2;
    memset(&st2, 0, sizeof st2);
    long r = syscall(SYS_fstat, 1, &st2);
    printf("raw fstat stdout: %s\n", r == 0 ? "ok" : "failed");
    printf("raw fstat same mode/ino: %s\n", yesno(st2.st_mode == st.st_mode && st2.st_ino == st.st_ino));

    struct termios t;
    errno = 0;
    int tr = ioctl(1, TCGETS, &t);
    if (tr == 0 || errno == ENOTTY)
        printf("tcgets: ok\n");
    else
        printf("tcgets: unexpected errno %d\n", errno);

    /* isatty must agree with TCGETS */
    errno = 0;
    int tty = isatty(1);
    printf("isatty agrees with tcgets: %s\n", yesno((tty == 1) == (tr == 0)));
    return 0;
}
