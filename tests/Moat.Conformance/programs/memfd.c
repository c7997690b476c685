/* memfd_create: an anonymous file (name, flags, CLOEXEC), its data, and sealing with F_ADD_SEALS and
 * F_GET_SEALS (shrink, grow, write, seal), with the errors Linux gives. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EPERM: return "EPERM";
    case ENODEV: return "ENODEV";
    default: return "other";
    }
}

#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; printf("%s: %ld %s\n", what, _r, _r < 0 ? ename(_e) : "OK"); } while (0)

static int mfd(const char *name, unsigned flags) { return syscall(SYS_memfd_create, name, flags); }

int main(void) {
    int fd = mfd("test", MFD_CLOEXEC);
    printf("created: %d cloexec %d\n", fd >= 0, fcntl(fd, F_GETFD) == FD_CLOEXEC);
    SHOW("write", write(fd, "hello memfd", 11));
    char buf[32] = {0};
    SHOW("pread", pread(fd, buf, sizeof buf - 1, 0));
    printf("data [%s]\n", buf);
    struct stat st;
    fstat(fd, &st);
    printf("regular %d size %ld mode %o\n", S_ISREG(st.st_mode), (long)st.st_size, st.st_mode & 0777);
    char link[64], proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("link [%s]\n", link);
    SHOW("F_GET_SEALS without sealing", fcntl(fd, F_GET_SEALS));
    SHOW("F_ADD_SEALS without sealing", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    SHOW("ftruncate", ftruncate(fd, 4096));
    char *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("private map reads [%.5s]\n", m == MAP_FAILED ? "fail" : m);
    close(fd);

    int s = mfd("sealed", MFD_ALLOW_SEALING);
    SHOW("F_GET_SEALS", fcntl(s, F_GET_SEALS));
    SHOW("F_ADD_SEALS unknown bit", fcntl(s, F_ADD_SEALS, 0x100));
    write(s, "0123456789", 10);
    SHOW("F_ADD_SEALS SHRINK", fcntl(s, F_ADD_SEALS, F_SEAL_SHRINK));
    SHOW("ftruncate smaller", ftruncate(s, 5));
    SHOW("ftruncate larger", ftruncate(s, 20));
    SHOW("F_ADD_SEALS GROW", fcntl(s, F_ADD_SEALS, F_SEAL_GROW));
    SHOW("ftruncate larger still", ftruncate(s, 30));
    SHOW("pwrite past the end", pwrite(s, "x", 1, 20));
    SHOW("pwrite inside", pwrite(s, "ab", 2, 3));
    SHOW("F_ADD_SEALS WRITE", fcntl(s, F_ADD_SEALS, F_SEAL_WRITE));
    SHOW("pwrite after WRITE seal", pwrite(s, "ab", 2, 3));
    SHOW("write after WRITE seal", write(s, "ab", 2));
    SHOW("mmap shared writable", (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0) == -1 ? -1 : 0);
    SHOW("F_GET_SEALS", fcntl(s, F_GET_SEALS));
    SHOW("F_ADD_SEALS SEAL", fcntl(s, F_ADD_SEALS, F_SEAL_SEAL));
    SHOW("F_ADD_SEALS after SEAL", fcntl(s, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    SHOW("F_GET_SEALS", fcntl(s, F_GET_SEALS));
    memset(buf, 0, sizeof buf);
    pread(s, buf, 10, 0);
    printf("sealed data [%s]\n", buf);
    close(s);

    int ne = mfd("noexec", MFD_NOEXEC_SEAL);
    fstat(ne, &st);
    printf("noexec mode %o\n", st.st_mode & 0777);
    SHOW("noexec F_GET_SEALS", fcntl(ne, F_GET_SEALS));
    close(ne);

    int p[2];
    pipe(p);
    SHOW("F_GET_SEALS on a pipe", fcntl(p[0], F_GET_SEALS));
    SHOW("F_GET_SEALS bad fd", fcntl(99, F_GET_SEALS));
    SHOW("memfd_create flags 0x100", mfd("x", 0x100));
    SHOW("memfd_create EXEC|NOEXEC_SEAL", mfd("x", MFD_EXEC | MFD_NOEXEC_SEAL));
    char longname[300];
    memset(longname, 'n', sizeof longname);
    longname[250] = 0;
    SHOW("memfd_create name 250", mfd(longname, 0));
    longname[249] = 0;
    int ok = mfd(longname, 0);
    printf("memfd_create name 249: %s\n", ok >= 0 ? "OK" : ename(errno));
    SHOW("memfd_create bad name", mfd((const char *)8, 0));
    return 0;
}
