/* auxv.c - the ELF auxiliary vector as seen through getauxval(3).
 * Only environment-independent facts are printed (tests run as root, so
 * the uid/gid values are 0). Exit status 0.
 * Note: AT_EXECFN check assumes the binary is named "auxv". */
#include <stdio.h>
#include <string.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

static const char *yesno(int c) { return c ? "yes" : "no"; }

int main(void)
{
    printf("AT_PAGESZ: %lu\n", getauxval(AT_PAGESZ));
    printf("AT_CLKTCK: %lu\n", getauxval(AT_CLKTCK));
    printf("AT_SECURE: %lu\n", getauxval(AT_SECURE));
    printf("AT_UID: %lu\n", getauxval(AT_UID));
    printf("AT_EUID: %lu\n", getauxval(AT_EUID));
    printf("AT_GID: %lu\n", getauxval(AT_GID));
    printf("AT_EGID: %lu\n", getauxval(AT_EGID));
    /* AT_BASE is the interpreter's load address: 0 for static programs, a page-aligned address otherwise. */
    unsigned long base = getauxval(AT_BASE);
    printf("AT_BASE zero or page-aligned: %s\n", yesno(base % 4096 == 0));
    printf("AT_FLAGS: %lu\n", getauxval(AT_FLAGS));

    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    printf("AT_RANDOM nonnull: %s\n", yesno(rnd != NULL));

    unsigned long phdr = getauxval(AT_PHDR);
    unsigned long phnum = getauxval(AT_PHNUM);
    unsigned long phent = getauxval(AT_PHENT);
    int has_load = 0;
    if (phdr && phnum > 0 && phent == sizeof(Elf64_Phdr)) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)phdr;
        for (unsigned long i = 0; i < phnum; i++) {
            if (ph[i].p_type == PT_LOAD)
                has_load = 1;
        }
    }
    printf("AT_PHENT: %lu\n", phent);
    printf("AT_PHDR valid: %s\n", yesno(phdr && phnum > 0 && phent == sizeof(Elf64_Phdr) && has_load));

    printf("AT_ENTRY nonzero: %s\n", yesno(getauxval(AT_ENTRY) != 0));

    const char *execfn = (const char *)getauxval(AT_EXECFN);
    int execfn_ok = 0;
    if (execfn) {
        const char *b = strrchr(execfn, '/');
        b = b ? b + 1 : execfn;
        execfn_ok = strcmp(b, "auxv") == 0;
    }
    printf("AT_EXECFN ends with auxv: %s\n", yesno(execfn_ok));

    const char *plat = (const char *)getauxval(AT_PLATFORM);
    printf("AT_PLATFORM: %s\n", plat ? plat : "(null)");
    printf("AT_HWCAP nonzero: %s\n", yesno(getauxval(AT_HWCAP) != 0));
    return 0;
}
