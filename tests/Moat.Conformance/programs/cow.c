#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include <stdlib.h>
int main(void) {
    char *big = malloc(1<<20);
    for (int i = 0; i < (1<<20); i += 4096) big[i] = 1;
    for (int k = 0; k < 3; k++) {
        pid_t p = fork();
        if (p == 0) { big[0] = 2; _exit(big[4096]); }
        int st; waitpid(p, &st, 0);
        big[8192] = 3;
        printf("round %d child %d\n", k, WEXITSTATUS(st));
    }
    return 0;
}
