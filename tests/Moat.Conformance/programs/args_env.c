/* args_env.c - argv and environment passing.
 * Prints argc, every argv[i] (argv[0] only as its basename, since the
 * harness may invoke the binary through different paths), the values of
 * MOAT_TEST_A / MOAT_TEST_B and the number of environ entries starting
 * with "MOAT_TEST_". Exit status 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, i == 0 ? base(argv[i]) : argv[i]);
    printf("argv[argc] is NULL: %s\n", argv[argc] == NULL ? "yes" : "no");

    const char *a = getenv("MOAT_TEST_A");
    const char *b = getenv("MOAT_TEST_B");
    printf("MOAT_TEST_A=%s\n", a ? a : "(unset)");
    printf("MOAT_TEST_B=%s\n", b ? b : "(unset)");

    int n = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "MOAT_TEST_", 10) == 0)
            n++;
    printf("MOAT_TEST_ count=%d\n", n);
    /* environ must directly follow argv's NULL terminator on the stack. */
    printf("environ follows argv: %s\n", environ == argv + argc + 1 ? "yes" : "no");
    return 0;
}
