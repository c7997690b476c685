/* The legacy calls utime, utimes, futimesat (times set and read back with stat, NULL for now, EINVAL for bad
   microseconds, EFAULT, ENOENT) and getdents (linux_dirent records: names, d_type in the last byte, d_off
   resuming a listing, a buffer too small for one record) on a directory the program fills in /tmp. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

struct linux_dirent {
    unsigned long d_ino;
    unsigned long d_off;
    unsigned short d_reclen;
    char d_name[];
};

static const char *name(int e) {
    switch (e) {
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case ENOTDIR: return "ENOTDIR";
    default: return "OTHER";
    }
}

static void show(const char *what, long r) {
    if (r < 0) printf("%s: %s\n", what, name(errno));
    else printf("%s: %ld\n", what, r);
}

static void times_of(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) { printf("  stat failed\n"); return; }
    printf("  atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(int fd, size_t bufsize) {
    char *buf = malloc(bufsize);
    char *names[64];
    int n = 0, calls = 0;
    long r;
    while ((r = syscall(SYS_getdents, fd, buf, bufsize)) > 0) {
        calls++;
        for (long off = 0; off < r;) {
            struct linux_dirent *d = (struct linux_dirent *)(buf + off);
            char type = buf[off + d->d_reclen - 1];
            char *e = malloc(300);
            snprintf(e, 300, "%s type %d reclen ok %d", d->d_name, type, d->d_reclen % 8 == 0 && d->d_reclen >= 20 + strlen(d->d_name));
            if (n < 64) names[n++] = e;
            off += d->d_reclen;
        }
    }
    if (r < 0) show("getdents", r);
    qsort(names, n, sizeof names[0], cmp);
    for (int i = 0; i < n; i++) printf("  %s\n", names[i]);
    printf("  calls > 1: %d\n", calls > 1);
    free(buf);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/utime_getdents.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char file[128], sub[128], link[128];
    snprintf(file, sizeof file, "%s/file", dir);
    snprintf(sub, sizeof sub, "%s/a-directory-with-a-longer-name", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    mkdir(sub, 0755);
    symlink("file", link);

    struct utimbuf ub = {1000000000, 1200000000};
    show("utime", utime(file, &ub));
    times_of(file);
    show("utime missing", utime("/tmp/utime_getdents-missing", &ub));
    show("utime bad times", syscall(SYS_utime, file, (void *)16));
    show("utime bad path", syscall(SYS_utime, (void *)16, &ub));
    struct timeval tv[2] = {{1300000000, 123456}, {1400000000, 654321}};
    show("utimes", utimes(file, tv));
    times_of(file);
    struct timeval bad[2] = {{1, 1000000}, {1, 0}};
    show("utimes usec 1000000", utimes(file, bad));
    bad[0].tv_usec = -1;
    show("utimes usec -1", utimes(file, bad));
    show("utimes bad times", syscall(SYS_utimes, file, (void *)16));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    tv[0].tv_sec = 1500000000;
    show("futimesat relative", syscall(SYS_futimesat, dfd, "file", tv));
    times_of(file);
    show("futimesat through a symlink", syscall(SYS_futimesat, dfd, "link", tv));
    show("futimesat bad dirfd", syscall(SYS_futimesat, 999, "file", tv));
    show("utime now", utime(file, NULL));
    struct stat st;
    stat(file, &st);
    printf("  now: mtime recent %d\n", time(NULL) - st.st_mtime < 100);
    show("utimes now", utimes(file, NULL));

    list(dfd, 4096);
    lseek(dfd, 0, SEEK_SET);
    printf("small buffer:\n");
    list(dfd, 64);
    lseek(dfd, 0, SEEK_SET);
    char tiny[16];
    show("getdents buffer too small", syscall(SYS_getdents, dfd, tiny, sizeof tiny));
    show("getdents bad fd", syscall(SYS_getdents, 999, tiny, sizeof tiny));
    int ffd = open(file, O_RDONLY);
    show("getdents on a file", syscall(SYS_getdents, ffd, tiny, sizeof tiny));
    close(ffd);
    char big[4096];
    show("getdents bad buffer", syscall(SYS_getdents, dfd, (void *)16, sizeof big));
    close(dfd);
    unlink(link);
    unlink(file);
    rmdir(sub);
    rmdir(dir);
    dfd = open("/", O_RDONLY | O_DIRECTORY);
    long r = syscall(SYS_getdents, dfd, big, sizeof big);
    long r64 = (lseek(dfd, 0, SEEK_SET), syscall(SYS_getdents64, dfd, big, sizeof big));
    printf("root: getdents and getdents64 return the same length: %d\n", r == r64 && r > 0);
    return 0;
}
