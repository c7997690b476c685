// MAP_SHARED mappings of tmpfs files and memfds: the mapping and the file are the same memory.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(void)
{
    switch (errno) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

static void check(const char *what, int fd)
{
    char buf[16] = {0};
    if (ftruncate(fd, 3 * 4096) != 0) { printf("%s: ftruncate failed\n", what); return; }
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) { int e = errno; errno = e; printf("%s: mmap %s\n", what, err()); return; }
    strcpy(m + 4096, "store");
    pread(fd, buf, 5, 4096);
    printf("%s: read sees the store: %s\n", what, buf);
    pwrite(fd, "write", 5, 8192);
    printf("%s: mapping sees the write: %.5s\n", what, m + 8192);

    char *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
    m[4096] = 'S';
    printf("%s: second mapping sees later stores: %c\n", what, ro[0]);

    pid_t pid = fork();
    if (pid == 0) { m[100] = 'c'; _exit(0); }
    waitpid(pid, NULL, 0);
    printf("%s: parent sees the child's store: %c\n", what, m[100]);

    madvise(m, 3 * 4096, MADV_DONTNEED);
    printf("%s: data kept after MADV_DONTNEED: %.5s\n", what, m + 4096);
    printf("%s: msync: %d\n", what, msync(m, 3 * 4096, MS_SYNC));
    munmap(ro, 4096);
    munmap(m, 3 * 4096);
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 5, 4096);
    printf("%s: file keeps the data after munmap: %s\n", what, buf);
}

int main(void)
{
    int fd = open("/dev/shm/moat-shared-map", O_RDWR | O_CREAT | O_TRUNC, 0600);
    check("shm file", fd);
    close(fd);

    fd = open("/dev/shm/moat-shared-map", O_RDONLY);
    errno = 0;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("read-only fd, shared writable: %s\n", p == MAP_FAILED ? err() : "mapped");
    p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("read-only fd, shared read-only: %s\n", p == MAP_FAILED ? err() : "mapped");
    close(fd);
    unlink("/dev/shm/moat-shared-map");

    fd = memfd_create("shared", MFD_ALLOW_SEALING);
    check("memfd", fd);
    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("sealed memfd, shared writable: %s\n", p == MAP_FAILED ? err() : "mapped");
    p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("sealed memfd, shared read-only: %s\n", p == MAP_FAILED ? err() : "mapped");
    return 0;
}
