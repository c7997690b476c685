/* A process that unmaps its whole address space (munmap(0, (1 << 47) - 4096), the whole user range, as stress-ng --vm-segv does) and
 * then returns into the unmapped code dies of SIGSEGV. The parent reports how its child ended. */
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void unmap_everything(void) {
    /* A raw syscall: nothing after it may touch memory (the stack and the code are gone). */
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_munmap), "D"(0L), "S"((1L << 47) - 4096) : "rcx", "r11", "memory");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 0; i < 2; i++) {
        pid_t c = fork();
        if (c == 0) {
            if (i == 1) {
                /* A handler cannot run either: its code and the stack are gone too. */
                signal(SIGSEGV, (void (*)(int))unmap_everything);
            }
            unmap_everything();
            _exit(0); /* not reached */
        }
        int st = 0;
        waitpid(c, &st, 0);
        printf("child %d: signaled %d, signal %d, exited %d\n", i, WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0, WIFEXITED(st));
    }
    return 0;
}
