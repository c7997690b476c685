/* flock(2) and fcntl(2) record locks on a /tmp file: per-description flock, per-process POSIX locks
 * (seen from a forked child, split and merged ranges, released by any close), F_SETLKW blocking,
 * EDEADLK, EINTR, OFD locks, and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EAGAIN: return "EAGAIN";
    case EDEADLK: return "EDEADLK";
    case EINTR: return "EINTR";
    default: return "other";
    }
}

#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); int _e = errno; printf("%s: %ld %s\n", what, _r, _r < 0 ? ename(_e) : "OK"); fflush(stdout); } while (0)

static char path[] = "/tmp/moatlockXXXXXX";

static int lk(int fd, int cmd, int type, long start, long len) {
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    return fcntl(fd, cmd, &fl);
}

/* F_GETLK for a write lock on [start, start+len): prints what blocks it. */
static void probe(const char *what, int fd, int cmd, long start, long len, pid_t expect) {
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    errno = 0;
    int r = fcntl(fd, cmd, &fl);
    int e = errno;
    if (r < 0) { printf("%s: %s\n", what, ename(e)); fflush(stdout); return; }
    if (fl.l_type == F_UNLCK) printf("%s: unlocked\n", what);
    else printf("%s: %s start %ld len %ld pid %s\n", what, fl.l_type == F_WRLCK ? "write" : "read", (long)fl.l_start, (long)fl.l_len,
                fl.l_pid == expect ? "expected" : fl.l_pid == -1 ? "-1" : "other");
    fflush(stdout);
}

static void sync_wait(int fd) { char c; if (read(fd, &c, 1) != 1) exit(3); }
static void sync_post(int fd) { if (write(fd, "x", 1) != 1) exit(3); }
static void on_alarm(int sig) { (void)sig; }

int main(void) {
    int fd1 = mkstemp(path);
    if (fd1 < 0) { perror("mkstemp"); return 1; }
    write(fd1, "0123456789", 10);
    int fd2 = open(path, O_RDWR);
    int fd3 = dup(fd1);

    /* flock: per open file description. */
    SHOW("flock fd1 EX", flock(fd1, LOCK_EX));
    SHOW("flock fd2 EX|NB", flock(fd2, LOCK_EX | LOCK_NB));
    SHOW("flock fd2 SH|NB", flock(fd2, LOCK_SH | LOCK_NB));
    SHOW("flock dup of fd1 EX|NB", flock(fd3, LOCK_EX | LOCK_NB));
    SHOW("flock fd1 SH (convert)", flock(fd1, LOCK_SH));
    SHOW("flock fd2 SH|NB", flock(fd2, LOCK_SH | LOCK_NB));
    SHOW("flock fd1 EX|NB while fd2 shares", flock(fd1, LOCK_EX | LOCK_NB));
    SHOW("flock fd2 EX|NB after fd1's failed convert", flock(fd2, LOCK_EX | LOCK_NB));
    SHOW("flock fd2 UN", flock(fd2, LOCK_UN));
    SHOW("flock fd1 EX|NB", flock(fd1, LOCK_EX | LOCK_NB));
    SHOW("flock bad op", flock(fd1, 0));
    SHOW("flock op 3", flock(fd1, 3));
    SHOW("flock bad op, bad fd", flock(99, 0));
    SHOW("flock bad fd", flock(99, LOCK_SH));
    int ro = open("/etc/passwd", O_RDONLY);
    SHOW("flock /etc/passwd SH|NB", flock(ro, LOCK_SH | LOCK_NB));
    SHOW("F_SETLK read /etc/passwd", lk(ro, F_SETLK, F_RDLCK, 0, 1));

    int tochild[2], toparent[2];
    if (pipe(tochild) || pipe(toparent)) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        int own = open(path, O_RDWR);
        SHOW("child flock inherited description EX|NB", flock(fd1, LOCK_EX | LOCK_NB));
        SHOW("child flock own open EX|NB", flock(own, LOCK_EX | LOCK_NB));
        close(fd1);
        close(fd3);
        sync_post(toparent[1]);
        sync_wait(tochild[0]); /* parent closed fd1 and fd3 */
        SHOW("child flock own open after parent closed", flock(own, LOCK_EX | LOCK_NB));
        flock(own, LOCK_UN);
        sync_post(toparent[1]);

        sync_wait(tochild[0]); /* parent holds write [0,10) */
        pid_t pp = getppid();
        probe("child GETLK [5,6)", own, F_GETLK, 5, 1, pp);
        SHOW("child SETLK write [5,6)", lk(own, F_SETLK, F_WRLCK, 5, 1));
        SHOW("child SETLK read [10,20)", lk(own, F_SETLK, F_RDLCK, 10, 10));
        sync_post(toparent[1]);
        sync_wait(tochild[0]); /* parent probed */
        SHOW("child SETLK unlock [10,20)", lk(own, F_SETLK, F_UNLCK, 10, 10));
        sync_post(toparent[1]);

        sync_wait(tochild[0]); /* parent split [0,100) around [40,60) and merged [100,120) */
        probe("child GETLK 45", own, F_GETLK, 45, 1, pp);
        probe("child GETLK 30", own, F_GETLK, 30, 1, pp);
        probe("child GETLK 70", own, F_GETLK, 70, 1, pp);
        probe("child GETLK 105", own, F_GETLK, 105, 1, pp);
        probe("child GETLK to EOF from 150", own, F_GETLK, 150, 0, pp);
        sync_post(toparent[1]);

        sync_wait(tochild[0]); /* parent closed another fd of the file */
        probe("child GETLK 30 after parent close", own, F_GETLK, 30, 1, pp);
        sync_post(toparent[1]);

        sync_wait(tochild[0]); /* parent holds write [0,1) again */
        SHOW("child SETLKW [0,1) (waits for parent)", lk(own, F_SETLKW, F_WRLCK, 0, 1));
        lk(own, F_SETLK, F_UNLCK, 0, 0);
        sync_post(toparent[1]);

        sync_wait(tochild[0]); /* deadlock: parent holds [0,1); child takes [1,2) then waits for [0,1) */
        lk(own, F_SETLK, F_WRLCK, 1, 1);
        sync_post(toparent[1]);
        /* Whichever side blocks second is told EDEADLK; it then lets go so the other gets its lock. */
        errno = 0;
        int dr = lk(own, F_SETLKW, F_WRLCK, 0, 1);
        char verdict = dr == 0 ? 'L' : errno == EDEADLK ? 'D' : '?';
        lk(own, F_SETLK, F_UNLCK, 0, 0);
        if (write(toparent[1], &verdict, 1) != 1) _exit(3);

        sync_wait(tochild[0]); /* parent holds [0,1): wait with a timer */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = { .it_value = { .tv_sec = 0, .tv_usec = 100000 } };
        setitimer(ITIMER_REAL, &it, NULL);
        SHOW("child SETLKW interrupted", lk(own, F_SETLKW, F_WRLCK, 0, 1));
        sync_post(toparent[1]);

        sync_wait(tochild[0]); /* parent holds an OFD lock on [0,10) */
        probe("child GETLK sees OFD lock", own, F_GETLK, 0, 1, pp);
        probe("child OFD_GETLK sees OFD lock", own, F_OFD_GETLK, 0, 1, pp);
        sync_post(toparent[1]);
        _exit(0);
    }

    sync_wait(toparent[0]);
    close(fd1);
    close(fd3);
    sync_post(tochild[1]);
    sync_wait(toparent[0]);

    fd1 = open(path, O_RDWR);
    SHOW("SETLK write [0,10)", lk(fd1, F_SETLK, F_WRLCK, 0, 10));
    sync_post(tochild[1]);
    sync_wait(toparent[0]);
    probe("parent GETLK [10,11)", fd1, F_GETLK, 10, 1, pid);
    SHOW("parent SETLK write [15,16)", lk(fd1, F_SETLK, F_WRLCK, 15, 1));
    SHOW("parent SETLK read [15,16)", lk(fd1, F_SETLK, F_RDLCK, 15, 1));
    probe("parent GETLK own lock", fd1, F_GETLK, 0, 1, pid);
    sync_post(tochild[1]);
    sync_wait(toparent[0]);

    SHOW("SETLK write [0,100)", lk(fd1, F_SETLK, F_WRLCK, 0, 100));
    SHOW("SETLK unlock [40,60)", lk(fd1, F_SETLK, F_UNLCK, 40, 20));
    SHOW("SETLK write [100,110)", lk(fd1, F_SETLK, F_WRLCK, 100, 10));
    SHOW("SETLK write [110,120)", lk(fd1, F_SETLK, F_WRLCK, 110, 10));
    SHOW("SETLK write [200,EOF)", lk(fd1, F_SETLK, F_WRLCK, 200, 0));
    sync_post(tochild[1]);
    sync_wait(toparent[0]);

    int other = open(path, O_RDONLY);
    close(other);
    sync_post(tochild[1]);
    sync_wait(toparent[0]);

    SHOW("SETLK write [0,1)", lk(fd1, F_SETLK, F_WRLCK, 0, 1));
    sync_post(tochild[1]);
    usleep(300000);
    int ur = lk(fd1, F_SETLK, F_UNLCK, 0, 1);
    sync_wait(toparent[0]);
    printf("SETLK unlock [0,1): %d\n", ur);

    SHOW("SETLK write [0,1) for deadlock", lk(fd1, F_SETLK, F_WRLCK, 0, 1));
    sync_post(tochild[1]);
    sync_wait(toparent[0]);
    usleep(300000);
    errno = 0;
    int pr = lk(fd1, F_SETLKW, F_WRLCK, 1, 1);
    char mine = pr == 0 ? 'L' : errno == EDEADLK ? 'D' : '?';
    lk(fd1, F_SETLK, F_UNLCK, 0, 0);
    char theirs = '?';
    if (read(toparent[0], &theirs, 1) != 1) return 3;
    printf("deadlock: one side EDEADLK, the other locked: %s\n",
           (mine == 'D' && theirs == 'L') || (mine == 'L' && theirs == 'D') ? "yes" : "no");

    SHOW("SETLK write [0,1) for EINTR", lk(fd1, F_SETLK, F_WRLCK, 0, 1));
    sync_post(tochild[1]);
    sync_wait(toparent[0]);
    lk(fd1, F_SETLK, F_UNLCK, 0, 0);

    /* OFD locks belong to the description. */
    fd2 = open(path, O_RDWR);
    SHOW("OFD_SETLK write [0,10) fd1", lk(fd1, F_OFD_SETLK, F_WRLCK, 0, 10));
    SHOW("OFD_SETLK write [5,6) fd2", lk(fd2, F_OFD_SETLK, F_WRLCK, 5, 1));
    SHOW("SETLK (POSIX) write [5,6) fd2", lk(fd2, F_SETLK, F_WRLCK, 5, 1));
    probe("OFD_GETLK fd2", fd2, F_OFD_GETLK, 5, 1, pid);
    probe("OFD_GETLK fd1 (own)", fd1, F_OFD_GETLK, 5, 1, pid);
    struct flock bad = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 1 };
    SHOW("OFD_SETLK l_pid 1", fcntl(fd2, F_OFD_SETLK, &bad));
    sync_post(tochild[1]);
    sync_wait(toparent[0]);
    close(fd1);
    SHOW("OFD_SETLK fd2 after fd1 closed", lk(fd2, F_OFD_SETLK, F_WRLCK, 5, 1));

    /* Errors. */
    SHOW("SETLK type 5", lk(fd2, F_SETLK, 5, 0, 1));
    struct flock w = { .l_type = F_RDLCK, .l_whence = 7, .l_start = 0, .l_len = 1 };
    SHOW("SETLK whence 7", fcntl(fd2, F_SETLK, &w));
    SHOW("SETLK start -1", lk(fd2, F_SETLK, F_RDLCK, -1, 1));
    SHOW("SETLK write on read-only fd", lk(ro, F_SETLK, F_WRLCK, 0, 1));
    SHOW("GETLK F_UNLCK", lk(fd2, F_GETLK, F_UNLCK, 0, 1));
    SHOW("SETLK bad pointer", fcntl(fd2, F_SETLK, (struct flock *)8));
    SHOW("SETLK bad fd", lk(99, F_SETLK, F_RDLCK, 0, 1));
    SHOW("SETLK negative len [5,-5)", lk(fd2, F_SETLK, F_RDLCK, 5, -5));
    SHOW("SETLK negative len past 0", lk(fd2, F_SETLK, F_RDLCK, 5, -6));

    int status;
    waitpid(pid, &status, 0);
    printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    unlink(path);
    return 0;
}
