// RLIMIT_FSIZE against fallocate on a /dev/shm file: growing the file past the limit is EFBIG with a SIGXFSZ
// (caught here, from the process itself), up to the limit and with FALLOC_FL_KEEP_SIZE it works; with SIGXFSZ
// ignored only EFBIG remains.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
    return 0;
}
