/* A file truncated by another process while this one maps it privately (VolumeTests: natively by a host shell
 * beside the program, under Moat by the host behind the sandbox's back, on a volume). The program fills ./f with
 * four pages, maps it privately, reads every page and writes page 3, says "ready" (the file ./ready) and waits
 * for ./go, made after the file was cut to one page. Then: fstat sees the new size; page 0 keeps its bytes; a
 * page dropped with MADV_DONTNEED (page 2) and a page of a fresh mapping past the new end are SIGBUS, as Linux's
 * fault past the end; what pages 1 and 3, which the mapping held, read is printed last: Linux unmaps them too
 * (SIGBUS), Moat is not told of the host's truncate and keeps them (its staleness policy). Works in the
 * directory given as its argument. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static sigjmp_buf back;

static void on_bus(int sig) {
    (void)sig;
    siglongjmp(back, 1);
}

/* What reading the byte at p gives: its value, or -1 for SIGBUS. */
static int probe(volatile char *p) {
    if (sigsetjmp(back, 1)) return -1;
    return *p;
}

static void show(const char *what, int v) {
    if (v < 0) printf("%s: SIGBUS\n", what);
    else printf("%s: %c\n", what, v);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 2 || chdir(argv[1]) != 0) return 2;
    struct sigaction sa = {0};
    sa.sa_handler = on_bus;
    sigaction(SIGBUS, &sa, NULL);
    unlink("ready");
    unlink("go");

    int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char page[PAGE];
    for (int i = 0; i < 4; i++) {
        memset(page, 'a' + i, sizeof page);
        if (write(fd, page, sizeof page) != PAGE) printf("write failed\n");
    }
    char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) return 1;
    int sum = 0;
    for (int i = 0; i < 4; i++) sum += m[i * PAGE];
    m[3 * PAGE] = 'W';
    printf("before: %c %c %c %c (sum %d)\n", m[0], m[PAGE], m[2 * PAGE], m[3 * PAGE], sum);

    close(open("ready", O_CREAT | O_WRONLY, 0644));
    struct timespec tick = {0, 20 * 1000 * 1000};
    int waited = 0;
    while (access("go", F_OK) != 0 && waited++ < 1000) nanosleep(&tick, NULL);
    printf("go: %s\n", access("go", F_OK) == 0 ? "yes" : "timed out");

    struct stat st;
    printf("fstat size: %ld\n", fstat(fd, &st) == 0 ? (long)st.st_size : -1L);
    show("page 0", probe(m));
    printf("madvise page 2: %d\n", madvise(m + 2 * PAGE, PAGE, MADV_DONTNEED));
    show("page 2 after MADV_DONTNEED", probe(m + 2 * PAGE));
    char *fresh = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    show("fresh mapping page 0", probe(fresh));
    show("fresh mapping page 1", probe(fresh + PAGE));
    show("held page 1", probe(m + PAGE));
    show("held page 3", probe(m + 3 * PAGE));
    munmap(fresh, 4 * PAGE);
    munmap(m, 4 * PAGE);
    close(fd);
    unlink("ready");
    unlink("go");
    unlink("f");
    return 0;
}
