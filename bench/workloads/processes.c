/* Processes and threads: fork+exit+wait, fork+exec+wait (of this program with "exit"), thread
 * create+join. usage: processes fork|exec|thread N -> ns per iteration; processes exit -> exits 0 */
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include "bench.h"

static void *thread_main(void *arg) { return arg; }

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exit") == 0) return 0;
    if (argc < 3) return 2;
    const char *mode = argv[1];
    long n = atol(argv[2]);
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        if (strcmp(mode, "thread") == 0) {
            pthread_t t;
            if (pthread_create(&t, NULL, thread_main, NULL) != 0) return bench_fail("pthread_create");
            pthread_join(t, NULL);
            continue;
        }
        pid_t pid = fork();
        if (pid < 0) return bench_fail("fork");
        if (pid == 0) {
            if (strcmp(mode, "exec") == 0) {
                char *args[] = {argv[0], "exit", NULL};
                execv("/proc/self/exe", args);
                _exit(127);
            }
            _exit(0);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || status != 0) return bench_fail("waitpid");
    }
    return bench_report(t0, n);
}
