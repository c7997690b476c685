/* A program stored on tmpfs (/tmp, /dev/shm) runs from file mappings of it, as execve makes them on any file
 * system: the program copies itself to each place and runs the copy, which finds its data segment in
 * /proc/self/maps named by that path with the copy's device and inode, writes a page of initialized data and
 * drops it with MADV_DONTNEED: the file's bytes come back; read-only data the same. A copy that removes its own
 * file first still reads them back (its mappings hold the file), and maps names it " (deleted)". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static char data_pages[2 * PAGE] __attribute__((aligned(PAGE))) = "initial value of a data page";
static const char ro_pages[2 * PAGE] __attribute__((aligned(PAGE))) = "read-only data";

/* The maps line of the mapping holding addr: its path, and whether its device and inode are st's. */
static void describe(const char *what, const void *addr, const struct stat *st) {
    FILE *f = fopen("/proc/self/maps", "r");
    char buf[1024];
    while (f && fgets(buf, sizeof buf, f)) {
        unsigned long lo, hi, off, ino;
        unsigned ma, mi;
        char perms[8];
        int at = 0;
        if (sscanf(buf, "%lx-%lx %7s %lx %x:%x %lu %n", &lo, &hi, perms, &off, &ma, &mi, &ino, &at) < 7) continue;
        if ((unsigned long)addr < lo || (unsigned long)addr >= hi) continue;
        buf[strcspn(buf, "\n")] = 0;
        printf("%s: %s %s, the file's device and inode %d\n", what, perms, buf + at, ino == st->st_ino && makedev(ma, mi) == st->st_dev);
    }
    if (f) fclose(f);
}

static int run(const char *self, int unlinked) {
    struct stat st;
    if (stat(self, &st) != 0) return 1;
    if (unlinked && unlink(self) != 0) return 1;
    describe("data", data_pages, &st);
    describe("rodata", ro_pages, &st);
    strcpy(data_pages, "changed");
    printf("data before: %s\n", data_pages);
    printf("madvise data: %d\n", madvise(data_pages, PAGE, MADV_DONTNEED));
    printf("data after: %s\n", data_pages);
    printf("madvise rodata: %d\n", madvise((void *)ro_pages, PAGE, MADV_DONTNEED));
    printf("rodata after: %s\n", ro_pages);
    return 0;
}

/* Copies the running program to path and runs the copy with mode. */
static void copy_and_run(const char *path, const char *mode) {
    int in = open("/proc/self/exe", O_RDONLY), out = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    long n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, n) != n) break;
    }
    close(in);
    close(out);
    printf("%s %s:\n", path, mode);
    pid_t pid = fork();
    if (pid == 0) {
        execl(path, path, mode, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    unlink(path);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2) return run(argv[0], strcmp(argv[1], "unlinked") == 0);
    copy_and_run("/tmp/exec_tmpfs.copy", "run");
    copy_and_run("/dev/shm/exec_tmpfs.copy", "run");
    copy_and_run("/tmp/exec_tmpfs.copy", "unlinked");
    return 0;
}
