/* fallocate(2) as posix_fallocate and databases use it: growing a file (size, zeros), FALLOC_FL_KEEP_SIZE,
 * FALLOC_FL_PUNCH_HOLE|KEEP_SIZE (zeros in the middle, size kept, a partial page), PUNCH_HOLE alone
 * (EOPNOTSUPP), bad arguments (EINVAL), a read-only fd (EBADF), a directory (EISDIR), a pipe (ESPIPE),
 * /dev/null (ENODEV); on a memfd: ZERO_RANGE (EOPNOTSUPP, as shmem), F_SEAL_GROW (EPERM beyond the size,
 * KEEP_SIZE allowed), F_SEAL_WRITE (EPERM for a hole), a shared mapping that sees a punched hole. In /tmp,
 * the current directory (the overlay) and a memfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static long size(int fd) { struct stat st; return fstat(fd, &st) == 0 ? (long)st.st_size : -1; }

static void on_file(int fd) {
    char buf[8192];
    long r = fallocate(fd, 0, 0, 10000);
    printf("grow: %s size %ld\n", e(r), size(fd));
    memset(buf, 0x55, sizeof buf);
    int n = pread(fd, buf, sizeof buf, 100);
    int zeros = 1;
    for (int i = 0; i < n; i++) zeros &= buf[i] == 0;
    printf("reads zeros: %d %d\n", n, zeros);
    r = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 50000);
    printf("keep size: %s size %ld\n", e(r), size(fd));
    memset(buf, 'x', sizeof buf);
    pwrite(fd, buf, sizeof buf, 0);
    r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 5000);
    printf("punch: %s size %ld\n", e(r), size(fd));
    pread(fd, buf, sizeof buf, 0);
    printf("after punch: %c %d %d %c\n", buf[999], buf[1000], buf[5999], buf[6000]);
    printf("punch without keep size: %s\n", e(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10)));
    printf("zero length: %s\n", e(fallocate(fd, 0, 0, 0)));
    printf("negative offset: %s\n", e(fallocate(fd, 0, -1, 10)));
    printf("bad mode: %s\n", e(fallocate(fd, 0x100, 0, 10)));
    printf("too big: %s\n", e(fallocate(fd, 0, 0x7fffffffffffffffL, 10)));
}

static void in_dir(void) {
    int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    on_file(fd);
    close(fd);
    fd = open("f", O_RDONLY);
    printf("read-only fd: %s\n", e(fallocate(fd, 0, 0, 10)));
    close(fd);
    fd = open(".", O_RDONLY | O_DIRECTORY);
    printf("directory: %s\n", e(fallocate(fd, 0, 0, 10)));
    close(fd);
    unlink("f");
}

int main(void) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return 1;
    char tmp[] = "/tmp/fallocXXXXXX";
    if (!mkdtemp(tmp) || chdir(tmp)) return 1;
    printf("== tmp\n");
    in_dir();
    chdir("/");
    rmdir(tmp);
    char here[4200];
    snprintf(here, sizeof here, "%s/fallocXXXXXX", cwd);
    if (!mkdtemp(here) || chdir(here)) return 1;
    printf("== overlay\n");
    in_dir();
    chdir("/");
    rmdir(here);

    printf("== other files\n");
    int p[2];
    pipe(p);
    printf("pipe: %s\n", e(fallocate(p[1], 0, 0, 10)));
    int null = open("/dev/null", O_WRONLY);
    printf("/dev/null: %s\n", e(fallocate(null, 0, 0, 10)));

    printf("== memfd\n");
    int m = memfd_create("m", MFD_ALLOW_SEALING);
    on_file(m);
    printf("zero range: %s\n", e(fallocate(m, FALLOC_FL_ZERO_RANGE, 0, 10)));
    char *map = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    map[8192] = 'm';
    long pr = fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 4096);
    printf("punch mapped page: %s, mapping reads %d\n", e(pr), map[8192]);
    munmap(map, 16384);
    printf("seal grow: %s\n", e(fcntl(m, F_ADD_SEALS, F_SEAL_GROW)));
    printf("grow past size: %s\n", e(fallocate(m, 0, 0, 100000)));
    printf("keep size past size: %s\n", e(fallocate(m, FALLOC_FL_KEEP_SIZE, 0, 100000)));
    printf("within size: %s\n", e(fallocate(m, 0, 0, 1000)));
    printf("seal write: %s\n", e(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE)));
    printf("punch sealed: %s\n", e(fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10)));
    return 0;
}
