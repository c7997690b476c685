/* exit_code.c - process exit status.
 *   (no args)     prints "exiting with 42", exit(42)
 *   N             prints "exiting with N", exit(N)  (status is N & 0xff)
 *   group         prints a line, then raw exit_group(7)  -> status 7
 *   thread        prints a line, then raw exit(5) on the only thread -> status 5
 * stdout is flushed explicitly before the raw syscalls, which bypass stdio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "group") == 0) {
        printf("exiting via exit_group with 7\n");
        fflush(stdout);
        syscall(SYS_exit_group, 7);
        printf("unreachable\n");
        return 99;
    }
    if (argc > 1 && strcmp(argv[1], "thread") == 0) {
        printf("exiting via exit with 5\n");
        fflush(stdout);
        syscall(SYS_exit, 5);
        printf("unreachable\n");
        return 99;
    }
    int n = argc > 1 ? atoi(argv[1]) : 42;
    printf("exiting with %d\n", n);
    exit(n);
}
