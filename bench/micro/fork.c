/* fork+exit+wait (argv[2] = "exec": fork+exec(/bin/true)+wait), N times (argv[1]): ns per iteration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200;
    int exec = argc > 2 && strcmp(argv[2], "exec") == 0;
    struct timespec a, b;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            if (exec) execl("/bin/true", "true", (char *)NULL);
            _exit(0);
        }
        waitpid(p, NULL, 0);
    }
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
    printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
    return 0;
}
