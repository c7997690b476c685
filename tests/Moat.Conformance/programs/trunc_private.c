/* Truncating a file takes the pages past its new end out of its private mappings, as Linux's
 * truncate_pagecache does (unmap_mapping_range with even_cows): a page read before, and one the mapping wrote
 * (its own copy), are SIGBUS once the file is shorter (in the process that truncated, through another
 * descriptor of the file, by truncate(2), and in a forked child); growing the file back shows its zeros, not
 * the old copy. Works in the directory given as its argument (VolumeTests runs it natively in a plain host
 * directory and under Moat on a volume, whose files are the host's). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
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

static void fill(const char *path) {
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    char page[PAGE];
    for (int i = 0; i < 4; i++) {
        memset(page, 'a' + i, sizeof page);
        if (write(fd, page, sizeof page) != PAGE) printf("write failed\n");
    }
    close(fd);
}

/* Maps the 4-page file privately, reads every page, writes page 3, then shrinks the file to one page by
 * `how`, and shows what each page reads. */
static void run(const char *how) {
    fill("f");
    int fd = open("f", O_RDWR);
    char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        printf("%s: mmap failed\n", how);
        return;
    }
    int sum = 0;
    for (int i = 0; i < 4; i++) sum += m[i * PAGE];
    m[3 * PAGE] = 'W';
    printf("%s: before: %c %c %c %c (sum %d)\n", how, m[0], m[PAGE], m[2 * PAGE], m[3 * PAGE], sum);
    int r;
    if (strcmp(how, "ftruncate") == 0) r = ftruncate(fd, PAGE);
    else if (strcmp(how, "other fd") == 0) {
        int fd2 = open("f", O_WRONLY);
        r = ftruncate(fd2, PAGE);
        close(fd2);
    } else if (strcmp(how, "truncate") == 0) r = truncate("f", PAGE);
    else {
        /* A child forked before the truncate: its mapping loses the pages too. */
        pid_t pid = fork();
        if (pid == 0) {
            usleep(1000);
            while (access("ready", F_OK) != 0) usleep(1000);
            printf("%s: child after: %d %d %d %d\n", how, probe(m), probe(m + PAGE), probe(m + 2 * PAGE), probe(m + 3 * PAGE));
            _exit(0);
        }
        r = ftruncate(fd, PAGE);
        close(open("ready", O_CREAT | O_WRONLY, 0644));
        waitpid(pid, NULL, 0);
        unlink("ready");
    }
    printf("%s: truncated: %d\n", how, r);
    printf("%s: after: %d %d %d %d\n", how, probe(m), probe(m + PAGE), probe(m + 2 * PAGE), probe(m + 3 * PAGE));
    r = ftruncate(fd, 4 * PAGE);
    printf("%s: grown back: %d, reads: %d %d %d %d\n", how, r, probe(m), probe(m + PAGE), probe(m + 2 * PAGE), probe(m + 3 * PAGE));
    munmap(m, 4 * PAGE);
    close(fd);
    unlink("f");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2 || chdir(argv[1]) != 0) return 1;
    struct sigaction sa = {0};
    sa.sa_handler = on_bus;
    sigaction(SIGBUS, &sa, NULL);
    run("ftruncate");
    run("other fd");
    run("truncate");
    run("forked child");
    return 0;
}
