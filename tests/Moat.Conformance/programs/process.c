#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <signal.h>
#include <string.h>
static volatile int got;
static void h(int s) { got = s; }
int main(void) {
    int x = 5;
    pid_t p = fork();
    if (p == 0) { x = 7; printf("child x=%d\n", x); fflush(stdout); _exit(3); }
    int st; pid_t w = waitpid(p, &st, 0);
    printf("parent x=%d waited=%d exited=%d code=%d\n", x, w == p, WIFEXITED(st), WEXITSTATUS(st));
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = h; sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("got=%d\n", got);
    p = fork();
    if (p == 0) { execl("/bin/busybox", "busybox", "echo", "exec works", NULL); _exit(127); }
    waitpid(p, &st, 0);
    printf("exec child code=%d\n", WEXITSTATUS(st));
    p = fork();
    if (p == 0) { pause(); _exit(0); }
    kill(p, SIGTERM);
    waitpid(p, &st, 0);
    printf("killed=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
    printf("no child: %d\n", waitpid(-1, &st, WNOHANG));
    return 0;
}
