/* Private file mappings: MADV_DONTNEED drops a private page's own copy and the next read sees the file again
 * (for the program's own binary, a host file, and a file in /tmp), while anonymous private memory reads zeros
 * and shared anonymous memory keeps its data; /proc/self/maps shows a file mapping's offset, device and inode as
 * stat(2) shows them, the real path of a file reached through a symlink, and the vDSO's line; a mapping keeps
 * its open file description (a flock outlives close until munmap, also in a forked child). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* A mapping keeps its open file description: a flock taken through it outlives close(2) until munmap. */
static void held_lock(const char *what, const char *path, int flags) {
    int a = open(path, O_RDONLY);
    flock(a, LOCK_EX);
    void *m = mmap(NULL, 4096, PROT_READ, flags, a, 0);
    close(a);
    int b = open(path, O_RDONLY);
    int r1 = flock(b, LOCK_EX | LOCK_NB);
    int e1 = errno;
    munmap(m, 4096);
    int r2 = flock(b, LOCK_EX | LOCK_NB);
    printf("%s: lock while mapped %s, after munmap %s\n", what, r1 == 0 ? "free" : e1 == EWOULDBLOCK ? "held" : strerror(e1),
           r2 == 0 ? "free" : strerror(errno));
    close(b);
}

/* A forked child's copy of the mapping holds the description too. */
static void held_by_child(const char *what, const char *path) {
    int a = open(path, O_RDONLY);
    flock(a, LOCK_EX);
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, a, 0);
    close(a);
    int go[2];
    pipe(go);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(go[0], &c, 1);
        _exit(0);
    }
    munmap(m, 4096);
    int b = open(path, O_RDONLY);
    int r1 = flock(b, LOCK_EX | LOCK_NB);
    write(go[1], "x", 1);
    waitpid(pid, NULL, 0);
    int r2 = flock(b, LOCK_EX | LOCK_NB);
    printf("%s: lock while the child maps it %s, after it exits %s\n", what, r1 == 0 ? "free" : "held", r2 == 0 ? "free" : "held");
    close(b);
    close(go[0]);
    close(go[1]);
}

static void dontneed_file(const char *what, int fd, off_t off) {
    unsigned char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, off);
    if (p == MAP_FAILED) { printf("%s: mmap %s\n", what, strerror(errno)); return; }
    unsigned char orig[16];
    memcpy(orig, p, sizeof orig);
    memset(p, 0x5a, 8192);
    int r = madvise(p, 4096, MADV_DONTNEED);
    printf("%s: madvise %d, first page %s, second page %s\n", what, r,
           memcmp(p, orig, sizeof orig) == 0 ? "reads the file again" : p[0] == 0 ? "reads zeros" : "keeps the write",
           p[4096] == 0x5a ? "keeps the write" : "changed");
    /* A second drop of the same page, then a write and a drop again. */
    r = madvise(p, 8192, MADV_DONTNEED);
    printf("%s: both pages dropped %d, %s\n", what, r, memcmp(p, orig, sizeof orig) == 0 ? "file again" : "other");
    munmap(p, 8192);
}

/* Finds the maps line of addr and compares its offset, device and inode with st. */
static void maps_line(const char *what, void *addr, off_t off, const struct stat *st, const char *want_path) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi, pgoff, ino;
        unsigned int maj, min;
        char perms[5];
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &lo, &hi, perms, &pgoff, &maj, &min, &ino, &name_at) < 7)
            continue;
        if ((unsigned long)addr < lo || (unsigned long)addr >= hi)
            continue;
        found = 1;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = 0;
        printf("%s: offset %s, device %s, inode %s, name %s, name column %s\n", what,
               pgoff == (unsigned long)off ? "ok" : "wrong",
               maj == major(st->st_dev) && min == minor(st->st_dev) ? "ok" : "wrong",
               ino == st->st_ino ? "ok" : "wrong",
               want_path == NULL || strcmp(name, want_path) == 0 ? "ok" : name,
               name_at == 73 ? "73" : "other");
    }
    if (!found) printf("%s: no maps line\n", what);
    if (f) fclose(f);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int self = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    fstat(self, &st);
    dontneed_file("own binary", self, 0);
    held_lock("own binary, private", "/proc/self/exe", MAP_PRIVATE);
    held_lock("own binary, shared", "/proc/self/exe", MAP_SHARED);
    held_by_child("own binary", "/proc/self/exe");

    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, self, 4096);
    maps_line("own binary at 4096", m, 4096, &st, NULL);
    munmap(m, 4096);

    char dir[64], path[96], link[96];
    snprintf(dir, sizeof dir, "/tmp/file_map.%d", getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char buf[12288];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)('a' + i % 26);
    write(fd, buf, sizeof buf);
    dontneed_file("tmp file", fd, 0);
    dontneed_file("tmp file at 4096", fd, 4096);
    held_lock("tmp file, private", path, MAP_PRIVATE);
    held_lock("tmp file, shared", path, MAP_SHARED);
    held_by_child("tmp file", path);

    struct stat tst;
    fstat(fd, &tst);
    snprintf(link, sizeof link, "%s/link", dir);
    symlink(".", link);
    char via[128];
    snprintf(via, sizeof via, "%s/data", link);
    int fd2 = open(via, O_RDONLY);
    void *t = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, 8192);
    maps_line("tmp file through a link", t, 8192, &tst, path);
    munmap(t, 4096);
    char fdlink[64], target[256];
    snprintf(fdlink, sizeof fdlink, "/proc/self/fd/%d", fd2);
    ssize_t n = readlink(fdlink, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    printf("fd link through a symlinked directory: %s\n", strcmp(target, path) == 0 ? "the real path" : target);
    close(fd2);
    close(fd);
    unlink(path);
    unlink(link);
    rmdir(dir);

    unsigned char *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 7, 8192);
    madvise(a, 4096, MADV_DONTNEED);
    printf("anonymous private: %d %d\n", a[0], a[4096]);
    unsigned char *s = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(s, 9, 8192);
    madvise(s, 4096, MADV_DONTNEED);
    printf("anonymous shared: %d %d\n", s[0], s[4096]);
    struct stat nst = {0};
    maps_line("anonymous", a, 0, &nst, "");

    /* The vDSO's line starts where AT_SYSINFO_EHDR points (none when there is no vDSO). */
    unsigned long vdso = getauxval(AT_SYSINFO_EHDR), at = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "[vdso]")) sscanf(line, "%lx-", &at);
    if (f) fclose(f);
    printf("[vdso] line at AT_SYSINFO_EHDR: %s\n", at == vdso ? "yes" : "no");
    return 0;
}
