/* Files: open+close, stat, 4 KiB reads and writes, sequential read and write, create+unlink.
 * usage: files open|stat|read4k|write4k N FILE    -> ns per operation
 *        files seqwrite|seqread MIB FILE          -> ns per MiB
 *        files create N DIR                       -> ns per create+unlink */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include "bench.h"

static char buf[1 << 20];

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    const char *mode = argv[1], *path = argv[3];
    long n = atol(argv[2]);
    double t0;
    if ((strcmp(mode, "open") == 0 || strcmp(mode, "stat") == 0) && access(path, F_OK) != 0) {
        int fd = open(path, O_WRONLY | O_CREAT, 0644); /* a tmpfs file the run starts without */
        if (fd < 0) return bench_fail("create");
        close(fd);
    }
    if (strcmp(mode, "open") == 0) {
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            int fd = open(path, O_RDONLY);
            if (fd < 0) return bench_fail("open");
            close(fd);
        }
    } else if (strcmp(mode, "stat") == 0) {
        struct stat st;
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++)
            if (stat(path, &st) != 0) return bench_fail("stat");
    } else if (strcmp(mode, "read4k") == 0 || strcmp(mode, "write4k") == 0) {
        int writing = mode[0] == 'w';
        int fd = open(path, writing ? O_RDWR | O_CREAT : O_RDONLY, 0644);
        if (fd < 0) return bench_fail("open");
        if (writing && pwrite(fd, buf, 64 * 4096, 0) < 0) return bench_fail("pwrite");
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            off_t off = (i % 64) * 4096;
            ssize_t r = writing ? pwrite(fd, buf, 4096, off) : pread(fd, buf, 4096, off);
            if (r != 4096) return bench_fail(writing ? "pwrite" : "pread");
        }
    } else if (strcmp(mode, "seqwrite") == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) return bench_fail("open");
        memset(buf, 'x', sizeof buf);
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++)
            if (write(fd, buf, sizeof buf) != sizeof buf) return bench_fail("write");
        close(fd);
    } else if (strcmp(mode, "seqread") == 0) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) return bench_fail("open");
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++)
            if (read(fd, buf, sizeof buf) != sizeof buf) return bench_fail("read");
    } else if (strcmp(mode, "create") == 0) {
        char name[4096];
        t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            snprintf(name, sizeof name, "%s/moat-bench-%ld", path, i);
            int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
            if (fd < 0) return bench_fail("create");
            if (write(fd, "x", 1) != 1) return bench_fail("write");
            close(fd);
            if (unlink(name) != 0) return bench_fail("unlink");
        }
    } else {
        return 2;
    }
    return bench_report(t0, n);
}
