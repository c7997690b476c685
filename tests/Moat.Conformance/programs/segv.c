/* segv.c - a write to an unmapped low address must kill the process with
 * SIGSEGV. Prints "before crash" (flushed, since stdout may be a pipe) and
 * nothing afterwards. Expected: terminated by signal 11.
 *
 * RLIMIT_CORE is set to 1 byte first so that no core dump is produced on
 * any host configuration: a file core_pattern needs at least one page and
 * a pipe core_pattern treats a limit of exactly 1 as "do not dump". This
 * keeps the native wait status at plain SIGSEGV (no WCOREDUMP bit). */
#include <stdio.h>
#include <sys/resource.h>

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) == 0) {
        rl.rlim_cur = 1;
        setrlimit(RLIMIT_CORE, &rl);
    }
    printf("before crash\n");
    fflush(stdout);
    /* volatile so the compiler can neither prove the address nor drop the store */
    int *volatile bad = (int *)16;
    *bad = 1;
    printf("after crash\n");
    return 0;
}
