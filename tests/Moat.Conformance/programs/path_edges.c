/* The last component as written decides before any lookup: "." and ".." are never removed (rmdir EINVAL
 * and ENOTEMPTY, unlink EISDIR), a trailing slash asks for a directory (ENOTDIR, EISDIR for unlink and for
 * open with O_CREAT) and follows a final symlink; /proc/self/exe names the file, with every symlink on the
 * way resolved; linkat with AT_SYMLINK_FOLLOW links a symlink's target; RENAME_EXCHANGE swaps names. In a fresh directory under /tmp and one in the current directory (the overlay). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static void cases(void) {
    mkdir("dir", 0755);
    close(open("file", O_CREAT | O_WRONLY, 0644));
    symlink("dir", "ldir");
    symlink("file", "lfile");
    struct stat st;
    printf("rmdir dir/.: %s\n", e(rmdir("dir/.")));
    printf("rmdir dir/..: %s\n", e(rmdir("dir/..")));
    printf("rmdir none/.: %s\n", e(rmdir("none/.")));
    printf("rmdir file/.: %s\n", e(rmdir("file/.")));
    printf("unlink dir/.: %s\n", e(unlink("dir/.")));
    printf("unlink file/: %s\n", e(unlink("file/")));
    printf("unlink dir/: %s\n", e(unlink("dir/")));
    printf("unlink none/: %s\n", e(unlink("none/")));
    printf("unlink lfile/: %s\n", e(unlink("lfile/")));
    printf("rmdir ldir/: %s\n", e(rmdir("ldir/")));
    long r = fstatat(AT_FDCWD, "ldir/", &st, AT_SYMLINK_NOFOLLOW);
    printf("lstat ldir/: %s %s\n", e(r), r == 0 && S_ISDIR(st.st_mode) ? "dir" : "not dir");
    r = fstatat(AT_FDCWD, "ldir", &st, AT_SYMLINK_NOFOLLOW);
    printf("lstat ldir: %s %s\n", e(r), r == 0 && S_ISLNK(st.st_mode) ? "link" : "not link");
    printf("lstat lfile/: %s\n", e(fstatat(AT_FDCWD, "lfile/", &st, AT_SYMLINK_NOFOLLOW)));
    printf("stat file/: %s\n", e(stat("file/", &st)));
    printf("stat file/.: %s\n", e(stat("file/.", &st)));
    int fd = open("file/", O_RDONLY);
    printf("open file/: %s\n", e(fd));
    fd = open("new/", O_RDONLY | O_CREAT, 0644);
    printf("open new/ with O_CREAT: %s\n", e(fd));
    fd = open("dir/", O_RDONLY);
    printf("open dir/: %s\n", e(fd));
    if (fd >= 0) close(fd);
    fd = open("ldir/", O_RDONLY | O_NOFOLLOW);
    printf("open ldir/ O_NOFOLLOW: %s\n", e(fd));
    if (fd >= 0) close(fd);
    printf("rmdir dir: %s\n", e(rmdir("dir")));
    printf("linkat AT_SYMLINK_FOLLOW: %s\n", e(linkat(AT_FDCWD, "lfile", AT_FDCWD, "hard1", AT_SYMLINK_FOLLOW)));
    printf("linkat without: %s\n", e(linkat(AT_FDCWD, "lfile", AT_FDCWD, "hard2", 0)));
    struct stat f1, h1, h2;
    lstat("file", &f1);
    lstat("hard1", &h1);
    lstat("hard2", &h2);
    printf("hard1 is the file: %d, hard2 is a link: %d, links %ld\n", f1.st_ino == h1.st_ino, S_ISLNK(h2.st_mode), (long)f1.st_nlink);
    symlink("none", "dangling");
    printf("linkat AT_SYMLINK_FOLLOW dangling: %s\n", e(linkat(AT_FDCWD, "dangling", AT_FDCWD, "hard3", AT_SYMLINK_FOLLOW)));
    unlink("hard1");
    unlink("hard2");
    unlink("dangling");

    /* renameat2(RENAME_EXCHANGE): a file and a directory trade names. */
    mkdir("xd", 0755);
    close(open("xd/inner", O_CREAT | O_WRONLY, 0644));
    close(open("xf", O_CREAT | O_WRONLY, 0600));
    printf("exchange: %s\n", e(renameat2(AT_FDCWD, "xf", AT_FDCWD, "xd", RENAME_EXCHANGE)));
    printf("xf is now a dir: %d, xd a file: %d, inner moved: %d\n", stat("xf", &st) == 0 && S_ISDIR(st.st_mode),
           stat("xd", &st) == 0 && S_ISREG(st.st_mode), access("xf/inner", F_OK) == 0);
    printf("exchange with missing: %s\n", e(renameat2(AT_FDCWD, "xf", AT_FDCWD, "none", RENAME_EXCHANGE)));
    printf("exchange and noreplace: %s\n", e(renameat2(AT_FDCWD, "xf", AT_FDCWD, "xd", RENAME_EXCHANGE | RENAME_NOREPLACE)));
    printf("exchange into itself: %s\n", e(renameat2(AT_FDCWD, "xf", AT_FDCWD, "xf/inner", RENAME_EXCHANGE)));
    unlink("xf/inner");
    rmdir("xf");
    unlink("xd");
    unlink("file");
    unlink("ldir");
    unlink("lfile");
}

int main(int argc, char **argv) {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    char *real = realpath(argv[0], NULL);
    printf("exe is the resolved path: %s\n", real && strcmp(real, buf) == 0 ? "yes" : "no");
    free(real);
    if (argc > 1) return 0;

    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return 1;
    char tmp[] = "/tmp/edgesXXXXXX";
    if (!mkdtemp(tmp) || chdir(tmp) != 0) return 1;
    printf("== tmpfs\n");
    cases();
    chdir("/");
    rmdir(tmp);
    char here[4200];
    snprintf(here, sizeof here, "%s/edgesXXXXXX", cwd);
    if (!mkdtemp(here) || chdir(here) != 0) return 1;
    printf("== overlay\n");
    cases();
    chdir("/");
    rmdir(here);

    /* Run through a symlink: /proc/self/exe still names the file. */
    char link[4200];
    snprintf(link, sizeof link, "%s/edges_link", cwd);
    unlink(link);
    if (symlink("path_edges", link) != 0) return 1;
    fflush(stdout);
    char *args[] = {link, "again", NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execv(link, args);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    unlink(link);
    return 0;
}
