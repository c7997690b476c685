/* Extended attributes on files the sandbox makes, in /tmp and in the current directory (the overlay; the
 * host's own file system natively): set with XATTR_CREATE/XATTR_REPLACE (EEXIST, ENODATA), get (size query,
 * ERANGE), list (size query, ERANGE, sorted here), remove, the l* variants on a symlink (user. on a symlink
 * is EPERM), the f* variants (EBADF for O_PATH), name and size limits (ERANGE, E2BIG), unknown namespaces
 * (EOPNOTSUPP), trusted. as root, and as uid 1000: EACCES without write permission, EPERM in another's
 * sticky directory, trusted. hidden (ENODATA, EPERM). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *e(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *what, const char *path) {
    char buf[1024];
    ssize_t n = listxattr(path, buf, sizeof buf);
    if (n < 0) { printf("%s: %s\n", what, e(n)); return; }
    char *names[64];
    int count = 0;
    for (char *p = buf; p < buf + n && count < 64; p += strlen(p) + 1) names[count++] = p;
    qsort(names, count, sizeof names[0], cmp);
    printf("%s:", what);
    for (int i = 0; i < count; i++) {
        if (strncmp(names[i], "security.", 9) != 0) printf(" %s", names[i]); /* an LSM may add its own natively */
    }
    printf("\n");
}

static void as_user(void) {
    printf("as uid 1000:\n");
    char v[16] = {0};
    printf("  get user. of 0644: %s\n", e(getxattr("file", "user.a", v, sizeof v)));
    printf("  set user. of 0644: %s\n", e(setxattr("file", "user.x", "1", 1, 0)));
    printf("  set user. of 0666: %s\n", e(setxattr("open", "user.x", "1", 1, 0)));
    printf("  remove user. of 0644: %s\n", e(removexattr("file", "user.a")));
    printf("  get trusted.: %s\n", e(getxattr("file", "trusted.t", v, sizeof v)));
    printf("  set trusted. of 0666: %s\n", e(setxattr("open", "trusted.t", "1", 1, 0)));
    printf("  set user. of root's sticky dir 1777: %s\n", e(setxattr("sticky", "user.x", "1", 1, 0)));
    list("  list as user", "file");
}

static void cases(void) {
    int fd = open("file", O_CREAT | O_RDWR, 0644);
    close(open("open", O_CREAT | O_RDWR, 0666));
    chmod("open", 0666);
    mkdir("sticky", 01777);
    chmod("sticky", 01777);
    symlink("file", "link");
    char v[64];
    printf("get missing: %s\n", e(getxattr("file", "user.a", v, sizeof v)));
    printf("set: %s\n", e(setxattr("file", "user.a", "alpha", 5, 0)));
    printf("set create existing: %s\n", e(setxattr("file", "user.a", "x", 1, XATTR_CREATE)));
    printf("set replace missing: %s\n", e(setxattr("file", "user.b", "x", 1, XATTR_REPLACE)));
    printf("set replace: %s\n", e(setxattr("file", "user.a", "beta", 4, XATTR_REPLACE)));
    printf("set bad flags: %s\n", e(setxattr("file", "user.a", "x", 1, 4)));
    printf("set empty value: %s\n", e(setxattr("file", "user.empty", "", 0, 0)));
    printf("size query: %ld\n", (long)getxattr("file", "user.a", NULL, 0));
    memset(v, 0, sizeof v);
    printf("get: %ld %s\n", (long)getxattr("file", "user.a", v, sizeof v), v);
    printf("get too small: %s\n", e(getxattr("file", "user.a", v, 2)));
    printf("get empty: %ld\n", (long)getxattr("file", "user.empty", v, sizeof v));
    printf("set trusted. as root: %s\n", e(setxattr("file", "trusted.t", "t", 1, 0)));
    printf("set unknown namespace: %s\n", e(setxattr("file", "bogus.a", "x", 1, 0)));
    printf("set empty name: %s\n", e(setxattr("file", "", "x", 1, 0)));
    char longname[300];
    memset(longname, 'n', sizeof longname);
    memcpy(longname, "user.", 5);
    longname[299] = 0;
    printf("set long name: %s\n", e(setxattr("file", longname, "x", 1, 0)));
    static char big[70000];
    printf("set too big: %s\n", e(setxattr("file", "user.big", big, sizeof big, 0)));
    list("list", "file");
    printf("list size query: %ld\n", (long)listxattr("file", NULL, 0) - (long)listxattr("file", NULL, 0));
    printf("list too small: %s\n", e(listxattr("file", v, 3)));
    printf("through symlink: %ld\n", (long)getxattr("link", "user.a", v, sizeof v));
    printf("l* on symlink get: %s\n", e(lgetxattr("link", "user.a", v, sizeof v)));
    printf("l* on symlink set user.: %s\n", e(lsetxattr("link", "user.a", "x", 1, 0)));
    printf("f* get: %ld\n", (long)fgetxattr(fd, "user.a", v, sizeof v));
    printf("f* set: %s\n", e(fsetxattr(fd, "user.f", "f", 1, 0)));
    int pfd = open("file", O_PATH);
    printf("f* on O_PATH: %s\n", e(fgetxattr(pfd, "user.a", v, sizeof v)));
    close(pfd);
    printf("remove: %s\n", e(removexattr("file", "user.f")));
    printf("remove missing: %s\n", e(removexattr("file", "user.f")));
    printf("dir: %s\n", e(setxattr("sticky", "user.d", "d", 1, 0)));
    list("list after", "file");
    printf("missing file: %s\n", e(getxattr("nope", "user.a", v, sizeof v)));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        gid_t g = 1000;
        if (setgroups(1, &g) || setgid(1000) || setuid(1000)) _exit(3);
        as_user();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    close(fd);
    unlink("file"); unlink("open"); unlink("link"); rmdir("sticky");
}

int main(void) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return 1;
    char tmp[] = "/tmp/xattrXXXXXX";
    if (!mkdtemp(tmp) || chmod(tmp, 0755) || chdir(tmp)) return 1;
    printf("== tmpfs\n");
    cases();
    chdir("/");
    rmdir(tmp);
    char here[4200];
    snprintf(here, sizeof here, "%s/xattrXXXXXX", cwd);
    if (!mkdtemp(here) || chmod(here, 0755) || chdir(here)) return 1;
    printf("== overlay\n");
    cases();
    chdir("/");
    rmdir(here);
    return 0;
}
