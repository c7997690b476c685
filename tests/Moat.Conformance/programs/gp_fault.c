/* A general-protection fault is not a page fault: hlt, a load from a non-canonical address and `int $0x81`
   (no gate for the vector) give a SIGSEGV with si_code SI_KERNEL, address 0, trapno 13 and the #GP's error
   code in the frame (for int N the IDT selector, (N << 3) | 2); a page fault beside them keeps SEGV_MAPERR,
   its address and trapno 14. Each handler skips the faulting instruction. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile int which;
static const int lengths[] = {1, 3, 2, 3};

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *u = ctx;
    printf("%d: %s code %d addr %s trapno %lld err %#llx\n", which, sig == SIGSEGV ? "SIGSEGV" : "other", si->si_code,
           si->si_addr == NULL ? "0" : si->si_addr == (void *)16 ? "16" : "other",
           (long long)u->uc_mcontext.gregs[REG_TRAPNO], (long long)u->uc_mcontext.gregs[REG_ERR] & (which == 3 ? 0 : -1));
    u->uc_mcontext.gregs[REG_RIP] += lengths[which];
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    which = 0;
    __asm__ volatile("hlt");
    which = 1;
    __asm__ volatile("mov (%%rax), %%rax" ::"a"(0x8000000000000000UL)); /* 48 8b 00 */
    which = 2;
    __asm__ volatile("int $0x81");
    which = 3;
    __asm__ volatile("mov (%%rax), %%rax" ::"a"(16UL)); /* a page fault: 48 8b 00 */
    printf("done\n");
    return 0;
}
