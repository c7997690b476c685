/* The mqueue file system: mount -t mqueue (in a private mount namespace of its own, natively too), its sticky
 * root, a queue made with mq_open listed, stat'ed and read ("QSIZE:..." after a send), EPERM for a uid-1000
 * unlink of root's queue, unlink as mq_unlink, rmdir ENOTDIR, statfs MQUEUE_MAGIC, mount options EINVAL. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }
#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); printf("%s: %s\n", what, e(_r)); } while (0)

static int listed(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    struct dirent *de;
    int found = 0, others = 0;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, name) == 0) found = de->d_type == DT_REG ? 1 : 2;
        else if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) others++;
    }
    if (d) closedir(d);
    (void)others;
    return found;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        printf("private namespace: %s\n", strerrorname_np(errno));
        return 1;
    }
    if (system("rm -rf mqfs_scratch") != 0) printf("cleanup failed\n");
    mkdir("mqfs_scratch", 0755);
    if (chdir("mqfs_scratch") != 0) return 1;
    mkdir("mq", 0755);
    SHOW("mount mqueue with an option", mount("mqueue", "mq", "mqueue", 0, "bogus=1"));
    SHOW("mount mqueue", mount("mqueue", "mq", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    struct stat st;
    stat("mq", &st);
    printf("root: dir %d mode %o uid %d\n", S_ISDIR(st.st_mode), st.st_mode & 07777, st.st_uid);
    struct statfs sf;
    statfs("mq", &sf);
    printf("statfs magic mqueue: %d\n", sf.f_type == 0x19800202);

    mq_unlink("/moat_fs_q");
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 32};
    mqd_t q = mq_open("/moat_fs_q", O_CREAT | O_RDWR, 0640, &attr);
    printf("mq_open: %s\n", q == (mqd_t)-1 ? strerrorname_np(errno) : "ok");
    printf("listed: %d\n", listed("mq", "moat_fs_q"));
    SHOW("stat queue", stat("mq/moat_fs_q", &st));
    printf("queue: reg %d mode %o uid %d nlink %ld\n", S_ISREG(st.st_mode), st.st_mode & 07777, st.st_uid, (long)st.st_nlink);
    mq_send(q, "hello", 5, 1);
    char buf[128] = {0};
    int fd = open("mq/moat_fs_q", O_RDONLY);
    long n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    buf[n < 0 ? 0 : n] = 0;
    char *qsize = strstr(buf, "QSIZE:");
    printf("read: %.12s (%s)\n", qsize ? qsize : "none", n > 0 ? "text" : strerrorname_np(errno));
    SHOW("stat missing", stat("mq/none", &st));
    SHOW("rmdir queue", rmdir("mq/moat_fs_q"));

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setresuid(1000, 1000, 1000) != 0) _exit(9);
        SHOW("user: read 0640 queue", open("mq/moat_fs_q", O_RDONLY));
        SHOW("user: unlink root's queue", unlink("mq/moat_fs_q"));
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    SHOW("unlink queue", unlink("mq/moat_fs_q"));
    printf("listed after unlink: %d\n", listed("mq", "moat_fs_q"));
    SHOW("mq_open after unlink", mq_open("/moat_fs_q", O_RDWR));
    SHOW("unlink again", unlink("mq/moat_fs_q"));
    mq_close(q);
    SHOW("umount", umount2("mq", 0));
    if (chdir("..") != 0) return 1;
    if (system("rm -rf mqfs_scratch") != 0) printf("cleanup failed\n");
    return 0;
}
