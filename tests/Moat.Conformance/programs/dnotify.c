/* Directory notification (fcntl F_NOTIFY) on a /tmp directory: DN_CREATE/MODIFY/DELETE/RENAME/ATTRIB/ACCESS
 * each signalled with the F_SETSIG signal (si_code POLL_MSG, si_fd, si_band) or plain SIGIO (SI_KERNEL),
 * DN_MULTISHOT against one-shot, events added by a second F_NOTIFY, nothing for a subdirectory's entries,
 * the directory's own attributes, removal by F_NOTIFY 0 or DN_MULTISHOT alone and by closing a dup, a
 * forked child's change signalling the owner, ENOTDIR/EBADF. Signals are blocked and taken with a zero
 * sigtimedwait after each change, so what is pending is exactly what the change sent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIR_ "/tmp/moat-dnotify"
#define RTSIG (SIGRTMIN + 1)

static sigset_t set;
static int dirfd_main;

/* Prints every signal the last change left pending. */
static void check(const char *what) {
    struct timespec zero = { 0, 0 };
    siginfo_t si;
    int n = 0;
    printf("%s:", what);
    for (;;) {
        int s = sigtimedwait(&set, &si, &zero);
        if (s < 0) break;
        n++;
        if (s == SIGIO)
            printf(" SIGIO code %d", si.si_code);
        else
            printf(" RT+%d code %d fd %s band %#lx", s - SIGRTMIN, si.si_code, si.si_fd == dirfd_main ? "dir" : "other", si.si_band);
    }
    printf("%s\n", n ? "" : " none");
}

static const char *err(int r) {
    if (r >= 0) return "ok";
    return errno == EINVAL ? "EINVAL" : errno == EBADF ? "EBADF" : errno == ENOTDIR ? "ENOTDIR" : strerror(errno);
}

static void touch(const char *path) {
    int f = open(path, O_CREAT | O_WRONLY, 0644);
    close(f);
}

int main(void) {
    system("rm -rf " DIR_);
    mkdir(DIR_, 0755);
    mkdir(DIR_ "/sub", 0755);
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigaddset(&set, RTSIG);
    sigprocmask(SIG_BLOCK, &set, NULL);

    int fd = open(DIR_, O_RDONLY | O_DIRECTORY);
    dirfd_main = fd;
    printf("F_SETSIG: %s\n", err(fcntl(fd, F_SETSIG, RTSIG)));
    printf("F_NOTIFY create multishot: %s\n", err(fcntl(fd, F_NOTIFY, DN_CREATE | DN_MULTISHOT)));
    check("nothing yet");
    touch(DIR_ "/a");
    check("create a");
    touch(DIR_ "/b");
    check("create b");
    int f = open(DIR_ "/a", O_WRONLY);
    write(f, "x", 1);
    check("write without DN_MODIFY");
    printf("F_NOTIFY add modify: %s\n", err(fcntl(fd, F_NOTIFY, DN_MODIFY)));
    write(f, "y", 1);
    close(f);
    check("write with DN_MODIFY");
    touch(DIR_ "/c");
    check("create c still multishot");
    touch(DIR_ "/sub/inner");
    check("create in subdirectory");
    mkdir(DIR_ "/d", 0755);
    check("mkdir d");

    printf("F_NOTIFY all: %s\n", err(fcntl(fd, F_NOTIFY, DN_DELETE | DN_RENAME | DN_ATTRIB | DN_ACCESS | DN_MULTISHOT)));
    unlink(DIR_ "/c");
    check("unlink c");
    rmdir(DIR_ "/d");
    check("rmdir d");
    rename(DIR_ "/b", DIR_ "/b2");
    check("rename b");
    rename(DIR_ "/b2", "/tmp/moat-dnotify-out");
    check("rename out of the directory");
    rename("/tmp/moat-dnotify-out", DIR_ "/b");
    check("rename back in");
    chmod(DIR_ "/a", 0600);
    check("chmod a");
    chmod(DIR_, 0750);
    check("chmod the directory");
    char buf[8];
    f = open(DIR_ "/a", O_RDONLY);
    check("open a for reading");
    read(f, buf, sizeof buf);
    check("read a");
    read(f, buf, sizeof buf);
    check("read at end of a");
    close(f);
    check("close a");

    printf("F_NOTIFY multishot alone: %s\n", err(fcntl(fd, F_NOTIFY, DN_MULTISHOT)));
    touch(DIR_ "/e");
    check("create after removal");

    /* One shot, plain SIGIO. */
    int fd2 = open(DIR_, O_RDONLY | O_DIRECTORY);
    printf("F_NOTIFY one-shot: %s\n", err(fcntl(fd2, F_NOTIFY, DN_CREATE)));
    touch(DIR_ "/f");
    check("one-shot create f");
    touch(DIR_ "/g");
    check("one-shot create g");
    printf("F_GETOWN is the process: %s\n", fcntl(fd2, F_GETOWN) == getpid() ? "yes" : "no");

    /* Closing any fd of the description in this table removes it. */
    printf("F_NOTIFY again: %s\n", err(fcntl(fd2, F_NOTIFY, DN_CREATE | DN_MULTISHOT)));
    int dup2fd = dup(fd2);
    close(dup2fd);
    touch(DIR_ "/h");
    check("create after closing a dup");
    printf("F_NOTIFY zero: %s\n", err(fcntl(fd2, F_NOTIFY, 0)));

    /* A child's change signals the owner. */
    printf("F_NOTIFY for the child: %s\n", err(fcntl(fd, F_NOTIFY, DN_CREATE | DN_MULTISHOT)));
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        touch(DIR_ "/from-child");
        _exit(0);
    }
    waitpid(kid, NULL, 0);
    check("child creates");
    printf("F_NOTIFY 0: %s\n", err(fcntl(fd, F_NOTIFY, 0)));
    touch(DIR_ "/i");
    check("create after F_NOTIFY 0");

    /* Errors. */
    int reg = open(DIR_ "/a", O_RDONLY);
    printf("regular file: %s\n", err(fcntl(reg, F_NOTIFY, DN_CREATE)));
    printf("regular file, remove: %s\n", err(fcntl(reg, F_NOTIFY, 0)));
    printf("bad fd: %s\n", err(fcntl(99, F_NOTIFY, DN_CREATE)));
    int path = open(DIR_, O_PATH);
    printf("O_PATH: %s\n", err(fcntl(path, F_NOTIFY, DN_CREATE)));
    printf("64-bit argument: %s\n", err(fcntl(fd, F_NOTIFY, 0x100000000UL | DN_MULTISHOT)));
    close(reg);
    close(path);
    close(fd);
    close(fd2);
    system("rm -rf " DIR_);
    check("after cleanup");
    return 0;
}
