/* abort(3) raises SIGABRT at the calling thread (tgkill); the process dies by it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

int main(void) {
    struct rlimit core = {1, 1}; /* no core file, so the status has no core flag on any host */
    setrlimit(RLIMIT_CORE, &core);
    printf("before abort\n");
    fflush(stdout);
    abort();
}
