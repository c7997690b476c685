// RLIMIT_FSIZE against fallocate on a /dev/shm file: growing the file past the limit is EFBIG with a SIGXFSZ
// (caught here, from the process itself), up to the limit and with FALLOC_FL_KEEP_SIZE it works; with SIGXFSZ
// ignored only EFBIG remains. Then write, pwrite, writev (trimmed to the limit as a whole, no signal for a
// partial write), O_APPEND, ftruncate and truncate (only growth past the limit fails), on /dev/shm and /tmp.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SHOW(label, call) do { errno = 0; long r_ = (long)(call); int e_ = errno; printf("%s: %ld %s\n", label, r_, r_ < 0 ? strerrorname_np(e_) : "-"); } while (0)

static volatile int signals, code, from_self;

static void on_xfsz(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    signals++;
    code = si->si_code;
    from_self = si->si_pid == getpid();
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_xfsz;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGXFSZ, &sa, NULL);
    struct rlimit rl = {65536, RLIM_INFINITY};
    SHOW("setrlimit FSIZE 64 KiB", setrlimit(RLIMIT_FSIZE, &rl));

    char name[64];
    snprintf(name, sizeof name, "/dev/shm/fsize.%d", getpid());
    int fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    unlink(name);
    struct stat st;
    SHOW("fallocate up to the limit", fallocate(fd, 0, 0, 65536));
    SHOW("fallocate past the limit", fallocate(fd, 0, 65536, 4096));
    printf("SIGXFSZ: %d, si_code SI_USER %s, from itself %s\n", signals, code == SI_USER ? "yes" : "no", from_self ? "yes" : "no");
    fstat(fd, &st);
    printf("size: %lld\n", (long long)st.st_size);
    SHOW("fallocate straddling the limit", fallocate(fd, 0, 60000, 8192));
    SHOW("fallocate KEEP_SIZE past the limit", fallocate(fd, FALLOC_FL_KEEP_SIZE, 65536, 4096));
    SHOW("fallocate inside the size", fallocate(fd, 0, 4096, 4096));
    printf("SIGXFSZ: %d\n", signals);
    fstat(fd, &st);
    printf("size: %lld\n", (long long)st.st_size);
    signal(SIGXFSZ, SIG_IGN);
    SHOW("fallocate past the limit, SIGXFSZ ignored", fallocate(fd, 0, 70000, 4096));
    printf("SIGXFSZ: %d\n", signals);
    rl.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &rl);
    SHOW("fallocate without a limit", fallocate(fd, 0, 70000, 4096));
    fstat(fd, &st);
    printf("size: %lld\n", (long long)st.st_size);

    sa.sa_sigaction = on_xfsz;
    sigaction(SIGXFSZ, &sa, NULL);
    static char buf[12000];
    memset(buf, 'x', sizeof buf);
    const char *dirs[] = {"/dev/shm", "/tmp"};
    for (int d = 0; d < 2; d++) {
        printf("-- %s\n", dirs[d]);
        signals = 0;
        rl.rlim_cur = 10000;
        setrlimit(RLIMIT_FSIZE, &rl);
        snprintf(name, sizeof name, "%s/fsize_write.%d", dirs[d], getpid());
        int w = open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        SHOW("write 8000", write(w, buf, 8000));
        SHOW("write 4000 crossing the limit", write(w, buf, 4000));
        printf("SIGXFSZ: %d\n", signals);
        SHOW("write 0 at the limit", write(w, buf, 0));
        printf("SIGXFSZ: %d\n", signals);
        SHOW("write 1 at the limit", write(w, buf, 1));
        printf("SIGXFSZ: %d\n", signals);
        SHOW("pwrite 10 at 9999", pwrite(w, buf, 10, 9999));
        SHOW("pwrite 1 at 20000", pwrite(w, buf, 1, 20000));
        printf("SIGXFSZ: %d\n", signals);
        struct iovec iov[3] = {{buf, 4000}, {buf, 4000}, {buf, 4000}};
        lseek(w, 0, SEEK_SET);
        SHOW("writev 3x4000 from 0", writev(w, iov, 3));
        printf("SIGXFSZ: %d\n", signals);
        SHOW("offset after writev", lseek(w, 0, SEEK_CUR));
        SHOW("writev at the limit", writev(w, iov, 3));
        SHOW("pwritev 3x4000 at 5000", pwritev(w, iov, 3, 5000));
        printf("SIGXFSZ: %d\n", signals);
        SHOW("ftruncate to 10000", ftruncate(w, 10000));
        SHOW("ftruncate to 10001", ftruncate(w, 10001));
        printf("SIGXFSZ: %d\n", signals);
        SHOW("ftruncate down to 5000", ftruncate(w, 5000));
        SHOW("ftruncate up to 9000", ftruncate(w, 9000));
        SHOW("truncate path to 20000", truncate(name, 20000));
        printf("SIGXFSZ: %d\n", signals);
        fstat(w, &st);
        printf("size: %lld\n", (long long)st.st_size);
        int a = open(name, O_WRONLY | O_APPEND);
        SHOW("append 2000 at 9000", write(a, buf, 2000));
        SHOW("append 1 at the limit", write(a, buf, 1));
        printf("SIGXFSZ: %d\n", signals);
        close(a);
        rl.rlim_cur = RLIM_INFINITY;
        setrlimit(RLIMIT_FSIZE, &rl);
        SHOW("write without a limit", write(w, buf, 1));
        SHOW("ftruncate to 20000 without a limit", ftruncate(w, 20000));
        printf("SIGXFSZ: %d\n", signals);
        close(w);
        unlink(name);
    }
    return 0;
}
