/* Named pipes and mknod: mkfifo and mknod(S_IFIFO) make FIFOs; a blocking open of one end waits for the
 * other; O_RDWR never waits; O_WRONLY|O_NONBLOCK without a reader is ENXIO, O_RDONLY|O_NONBLOCK opens at
 * once; data passes between processes; fstat is the node's; unread data goes when every end closes;
 * a signal interrupts a blocking open (EINTR without SA_RESTART); mknod's types and errors (EEXIST, EINVAL,
 * EPERM for directories, socket nodes ENXIO on open, character devices of the sandbox's own kinds); an
 * unprivileged mknod of a device is EPERM. In a fresh directory under /tmp and one in the current directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
static void on_alarm(int sig) { (void)sig; }

static void cases(void) {
    struct stat st;
    printf("mkfifo: %s\n", e(mkfifo("f", 0640)));
    printf("mkfifo again: %s\n", e(mkfifo("f", 0640)));
    long sr = stat("f", &st);
    printf("stat: %s fifo %d mode %o\n", e(sr), S_ISFIFO(st.st_mode), st.st_mode & 0777);
    printf("mknod fifo: %s\n", e(mknod("g", S_IFIFO | 0600, 0)));
    printf("mknod sock: %s\n", e(mknod("s", S_IFSOCK | 0600, 0)));
    printf("open sock: %s\n", e(open("s", O_RDONLY)));
    printf("mknod reg: %s\n", e(mknod("r", S_IFREG | 0600, 0)));
    printf("mknod reg type: %d\n", stat("r", &st) == 0 && S_ISREG(st.st_mode));
    printf("mknod dir: %s\n", e(mknod("d", S_IFDIR | 0700, 0)));
    printf("mknod bad type: %s\n", e(mknod("b", 0170000 | 0600, 0)));
    printf("mknod null: %s\n", e(mknod("null", S_IFCHR | 0666, makedev(1, 3))));
    int fd = open("null", O_WRONLY);
    printf("write to it: %s\n", e(fd < 0 ? -1 : write(fd, "x", 1)));
    if (fd >= 0) close(fd);
    printf("nonblocking writer without reader: %s\n", e(open("f", O_WRONLY | O_NONBLOCK)));
    int r = open("f", O_RDONLY | O_NONBLOCK);
    printf("nonblocking reader: %s\n", e(r));
    int w = open("f", O_WRONLY | O_NONBLOCK);
    printf("nonblocking writer with reader: %s\n", e(w));
    printf("write: %s\n", e(write(w, "hello", 5)));
    char buf[16] = {0};
    printf("read: %s %s\n", e(read(r, buf, sizeof buf - 1)), buf);
    printf("fstat is the node: %d\n", fstat(r, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0640);
    printf("write again: %s\n", e(write(w, "stale", 5)));
    close(r);
    close(w);
    int rw = open("f", O_RDWR);
    printf("O_RDWR: %s\n", e(rw));
    memset(buf, 0, sizeof buf);
    int n = read(rw, buf, 0);
    printf("unread data is gone: %d\n", n == 0 && (fcntl(rw, F_SETFL, O_NONBLOCK), read(rw, buf, 5) < 0 && errno == EAGAIN));
    close(rw);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100000);
        int cw = open("f", O_WRONLY);
        if (write(cw, "from child", 10) != 10) _exit(2);
        close(cw);
        _exit(0);
    }
    r = open("f", O_RDONLY);
    memset(buf, 0, sizeof buf);
    printf("blocking reader met its writer: %s\n", e(r));
    n = read(r, buf, sizeof buf - 1);
    printf("read from child: %d %s\n", n, buf);
    printf("eof: %ld\n", (long)read(r, buf, 1));
    close(r);
    int status;
    waitpid(pid, &status, 0);
    printf("child: %d\n", WEXITSTATUS(status));

    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    printf("blocking open interrupted: %s\n", e(open("f", O_WRONLY)));

    mkdir("pub", 0777);
    chmod("pub", 0777);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        setgroups(0, NULL);
        if (setgid(1000) || setuid(1000)) _exit(3);
        printf("unprivileged mknod of a device: %s\n", e(mknod("pub/dev2", S_IFCHR | 0666, makedev(1, 3))));
        printf("unprivileged mkfifo: %s\n", e(mkfifo("pub/f2", 0600)));
        printf("unprivileged mkfifo in a root dir: %s\n", e(mkfifo("f2", 0600)));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    unlink("pub/f2"); rmdir("pub");
    unlink("f"); unlink("g"); unlink("s"); unlink("r"); unlink("null");
}

int main(void) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return 1;
    char tmp[] = "/tmp/fifoXXXXXX";
    if (!mkdtemp(tmp) || chmod(tmp, 0755) || chdir(tmp)) return 1;
    printf("== tmpfs\n");
    cases();
    chdir("/");
    rmdir(tmp);
    char here[4200];
    snprintf(here, sizeof here, "%s/fifoXXXXXX", cwd);
    if (!mkdtemp(here) || chmod(here, 0755) || chdir(here)) return 1;
    printf("== overlay\n");
    cases();
    chdir("/");
    rmdir(here);
    return 0;
}
