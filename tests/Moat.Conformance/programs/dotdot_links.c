/* ".." after a symlink climbs from where the link leads, as Linux walks a path component by component:
 * with l -> a/b, "l/.." is "a"; with cur -> ".", "cur/.." is the parent. In /tmp and in a directory of the
 * current one (the overlay's upper layer in the sandbox), for stat, open, creation and links whose own
 * targets hold "..", and through an absolute link. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EEXIST: return "EEXIST";
    case ELOOP: return "ELOOP";
    default: return "other";
    }
}

static ino_t ino(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

// Which of the known directories a path names (by inode), or its errno.
static void where(const char *what, const char *path, const char *names[], int n) {
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("%s: %s\n", what, ename(errno));
        return;
    }
    for (int i = 0; i < n; i++) {
        if (ino(names[i]) == st.st_ino) {
            printf("%s: %s\n", what, names[i]);
            return;
        }
    }
    printf("%s: elsewhere\n", what);
}

static void run(const char *base) {
    char top[256];
    snprintf(top, sizeof top, "%s/moat-dotdot-%d", base, (int)getpid());
    printf("in %s:\n", strncmp(base, "/tmp", 4) == 0 ? "/tmp" : "cwd");
    if (mkdir(top, 0755) != 0 || chdir(top) != 0) {
        printf("setup: %s\n", ename(errno));
        return;
    }
    mkdir("a", 0755);
    mkdir("a/b", 0755);
    mkdir("a/b/c", 0755);
    close(open("a/f", O_CREAT | O_WRONLY, 0644));
    symlink("a/b", "l");
    symlink("l/..", "m");
    symlink(".", "a/b/cur");
    symlink("cur/..", "a/b/par");
    symlink("c/../..", "a/b/up2");
    char abs[512];
    snprintf(abs, sizeof abs, "%s/a/b/c", top);
    symlink(abs, "absc");
    const char *names[] = {".", "a", "a/b", "a/b/c"};
    int n = 4;

    where("l/..", "l/..", names, n);
    where("l/../b", "l/../b", names, n);
    where("l/c/..", "l/c/..", names, n);
    where("m (l/..)", "m", names, n);
    where("m/b", "m/b", names, n);
    where("a/b/par (cur/..)", "a/b/par", names, n);
    where("a/b/up2 (c/../..)", "a/b/up2", names, n);
    where("absc/..", "absc/..", names, n);
    where("absc/../..", "absc/../..", names, n);
    where("l/../../l/..", "l/../../l/..", names, n);
    where("a/b/cur/../b/cur/..", "a/b/cur/../b/cur/..", names, n);

    int fd = open("l/../f", O_RDONLY);
    printf("open l/../f: %s\n", fd >= 0 ? "OK" : ename(errno));
    if (fd >= 0) close(fd);
    fd = open("a/b/par/made", O_CREAT | O_WRONLY | O_EXCL, 0644);
    printf("create a/b/par/made: %s\n", fd >= 0 ? "OK" : ename(errno));
    printf("made in a: %s\n", access("a/made", F_OK) == 0 ? "yes" : "no");
    if (fd >= 0) close(fd);
    printf("mkdir l/../newdir: %s\n", mkdir("l/../newdir", 0755) == 0 ? "OK" : ename(errno));
    printf("newdir in a: %s\n", access("a/newdir", F_OK) == 0 ? "yes" : "no");
    printf("rename via m: %s\n", rename("m/made", "l/../renamed") == 0 ? "OK" : ename(errno));
    printf("renamed in a: %s\n", access("a/renamed", F_OK) == 0 ? "yes" : "no");
    printf("unlink via l/..: %s\n", unlink("l/../renamed") == 0 ? "OK" : ename(errno));
    printf("rmdir via l/..: %s\n", rmdir("l/../newdir") == 0 ? "OK" : ename(errno));
    printf("stat l/../f/..: %s\n", ino("l/../f/..") ? "OK" : ename(errno));
    printf("stat l/../missing/..: %s\n", ino("l/../missing/..") ? "OK" : ename(errno));
    printf("stat a/missing/../b: %s\n", ino("a/missing/../b") ? "OK" : ename(errno));
    printf("lstat of link after ..: %s\n", ({ struct stat st; lstat("a/b/../../l", &st) == 0 && S_ISLNK(st.st_mode) ? "link" : "other"; }));

    unlink("absc");
    unlink("a/b/up2");
    unlink("a/b/par");
    unlink("a/b/cur");
    unlink("m");
    unlink("l");
    unlink("a/f");
    rmdir("a/b/c");
    rmdir("a/b");
    rmdir("a");
    chdir("..");
    printf("cleaned: %s\n", rmdir(top) == 0 ? "yes" : ename(errno));
}

int main(void) {
    char cwd[256];
    if (!getcwd(cwd, sizeof cwd)) return 1;
    run("/tmp");
    run(cwd);
    return 0;
}
