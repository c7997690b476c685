/* File permissions as Linux checks them, for root and for unprivileged users: read/write/execute on open
 * and exec, search on every directory walked, write+search on the parent for creating and removing names,
 * the sticky bit, owner-only chmod/chown/utimes, set-id bits dropped by write, truncate and chown,
 * set-group-id directories, access(2) with real ids, O_PATH descriptors, and a non-root user's attempts on
 * /etc/shadow. The same cases run in a fresh directory under /tmp (tmpfs in the sandbox) and in one in
 * the current directory (the overlay's upper layer over the host in the sandbox). Argument "child"-free:
 * runs as root and forks children that drop to uids 1000 and 1001. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case ENOTEMPTY: return "ENOTEMPTY";
    default: return "other";
    }
}

#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); printf("  %s: %s\n", what, _r < 0 ? ename(errno) : "ok"); } while (0)
#define OPEN(what, path, flags) do { errno = 0; int _fd = open(path, flags, 0644); printf("  %s: %s\n", what, _fd < 0 ? ename(errno) : "ok"); if (_fd >= 0) close(_fd); } while (0)

static void put(const char *path, unsigned mode, uid_t uid, gid_t gid) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) { printf("setup %s: %s\n", path, ename(errno)); return; }
    if (write(fd, "#!/bin/sh\nexit 0\n", 17) != 17) printf("setup write failed\n");
    close(fd);
    if (chown(path, uid, gid) != 0) printf("setup chown %s: %s\n", path, ename(errno));
    if (chmod(path, mode) != 0) printf("setup chmod %s: %s\n", path, ename(errno));
}

static void dir(const char *path, unsigned mode, uid_t uid, gid_t gid) {
    if (mkdir(path, 0700) != 0) printf("setup mkdir %s: %s\n", path, ename(errno));
    if (chown(path, uid, gid) != 0) printf("setup chown %s: %s\n", path, ename(errno));
    if (chmod(path, mode) != 0) printf("setup chmod %s: %s\n", path, ename(errno));
}

static unsigned modeof(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_mode & 07777 : 0xffff;
}

static void owners(const char *what, const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) { printf("  %s: %s\n", what, ename(errno)); return; }
    printf("  %s: uid %u gid %u mode %o\n", what, st.st_uid, st.st_gid, st.st_mode & 07777);
}

static int become(uid_t uid, gid_t gid, int ngroups, gid_t *groups) {
    if (setgroups(ngroups, groups) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
        printf("drop failed: %s\n", ename(errno));
        return -1;
    }
    return 0;
}

/* Runs fn in a child as uid/gid, waits, so that each section's output comes in order. */
static void as(uid_t uid, gid_t gid, void (*fn)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        gid_t g[1] = {gid};
        if (become(uid, gid, 1, g) == 0) fn();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
}

static void user1000(void) {
    printf("as uid 1000:\n");
    OPEN("open 0600 root file for read", "f600", O_RDONLY);
    OPEN("open 0644 for read", "f644", O_RDONLY);
    OPEN("open 0644 for write", "f644", O_WRONLY);
    OPEN("open 0644 with O_TRUNC", "f644", O_RDONLY | O_TRUNC);
    OPEN("open 0666 read-write", "f666", O_RDWR);
    OPEN("open 0600 with O_PATH", "f600", O_PATH);
    OPEN("open 0700 dir for listing", "d700", O_RDONLY | O_DIRECTORY);
    OPEN("open file below 0700 dir", "d700/inner", O_RDONLY);
    OPEN("open file below 0711 dir", "d711/inner", O_RDONLY);
    struct stat st;
    SHOW("stat below 0700 dir", stat("d700/inner", &st));
    SHOW("stat below 0711 dir", stat("d711/inner", &st));
    SHOW("stat of the 0700 dir itself", stat("d700", &st));
    /* ".." below an unsearchable directory tells nothing of what is inside it. */
    SHOW("stat file/.. below 0700 dir", stat("d700/inner/..", &st));
    SHOW("stat missing/.. below 0700 dir", stat("d700/missing/..", &st));
    /* A symlink does not lead around a directory's search permission: its target is walked too. */
    OPEN("open through a link into a 0700 dir", "into700", O_RDONLY);
    SHOW("stat through a link into a 0700 dir", stat("into700", &st));
    SHOW("lstat of that link", lstat("into700", &st));
    OPEN("open through a link to the 0700 dir, then below", "to700/inner", O_RDONLY);
    OPEN("open through a link into a 0711 dir", "into711", O_RDONLY);
    OPEN("open O_NOFOLLOW|O_PATH of a link into a 0700 dir", "into700", O_NOFOLLOW | O_PATH);
    OPEN("create in 0755 root dir", "d755/new", O_CREAT | O_WRONLY);
    OPEN("create in 0700 root dir", "d700/new", O_CREAT | O_WRONLY);
    OPEN("create existing 0644 with O_CREAT|O_EXCL", "f644", O_CREAT | O_EXCL | O_WRONLY);
    SHOW("mkdir in 0755 root dir", mkdir("d755/sub", 0755));
    SHOW("mkdir existing name in 0755 root dir", mkdir("d755/file", 0755));
    SHOW("symlink in 0755 root dir", symlink("x", "d755/link"));
    SHOW("unlink in 0755 root dir", unlink("d755/file"));
    SHOW("unlink missing in 0755 root dir", unlink("d755/none"));
    SHOW("rmdir in 0755 root dir", rmdir("d755/subdir"));
    SHOW("rename out of 0755 root dir", rename("d755/file", "d777/moved"));
    SHOW("rename into 0755 root dir", rename("d777/own", "d755/own"));
    SHOW("link into 0755 root dir", link("f666", "d755/hard"));
    SHOW("link of another's 0666 file", link("f666", "d777/hard666"));
    SHOW("link of another's 0644 file", link("f644", "d777/hard644"));
    SHOW("link of another's setuid 0666 file", link("suid666", "d777/hardsuid"));
    SHOW("chmod another's file", chmod("f644", 0777));
    SHOW("chown another's file to me", chown("f644", 1000, 1000));
    SHOW("chown another's file, no change", chown("f644", -1, -1));
    SHOW("truncate 0644", truncate("f644", 0));
    SHOW("truncate 0666", truncate("f666", 5));
    struct timespec ts[2] = {{1, 0}, {2, 0}};
    SHOW("utimensat explicit on another's 0666", utimensat(AT_FDCWD, "f666", ts, 0));
    SHOW("utimensat now on another's 0666", utimensat(AT_FDCWD, "f666", NULL, 0));
    SHOW("utimensat now on another's 0644", utimensat(AT_FDCWD, "f644", NULL, 0));
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    SHOW("utimensat omit both on another's 0644", utimensat(AT_FDCWD, "f644", omit, 0));
    SHOW("access R_OK 0600", access("f600", R_OK));
    SHOW("access R_OK 0644", access("f644", R_OK));
    SHOW("access W_OK 0644", access("f644", W_OK));
    SHOW("access X_OK 0755", access("x755", X_OK));
    SHOW("access X_OK 0744", access("x744", X_OK));
    SHOW("access F_OK below 0700 dir", access("d700/inner", F_OK));

    /* Own files: chmod, chown to own groups, the set-group-id bit. */
    SHOW("chmod own file", chmod("d777/own", 0640));
    printf("  own file mode: %o\n", modeof("d777/own"));
    SHOW("chown own file to own group", chown("d777/own", -1, 1000));
    SHOW("chown own file to a foreign group", chown("d777/own", -1, 50));
    SHOW("chown own file to another user", chown("d777/own", 1001, -1));
    SHOW("chmod g+s of own file in a foreign group", chmod("ownforeign", 02755));
    printf("  own file in a foreign group: %o\n", modeof("ownforeign"));
    SHOW("chmod g+s of own file in my group", chmod("d777/own", 02750));
    printf("  own file in my group: %o\n", modeof("d777/own"));

    /* A write by another user drops set-user-id; set-group-id with group execute too. */
    int fd = open("suid666", O_WRONLY);
    printf("  open setuid 0666: %s\n", fd < 0 ? ename(errno) : "ok");
    if (fd >= 0) {
        SHOW("write it", write(fd, "x", 1));
        close(fd);
    }
    printf("  setuid 0666 after write: %o\n", modeof("suid666"));
    fd = open("sgid676", O_WRONLY);
    if (fd >= 0) {
        SHOW("write setgid g+x", write(fd, "x", 1));
        close(fd);
    }
    printf("  setgid 0676 after write: %o\n", modeof("sgid676"));
    SHOW("truncate setuid 0666 again", truncate("suid666b", 1));
    printf("  setuid 0666 after truncate: %o\n", modeof("suid666b"));

    /* Sticky directory: only owners remove names. */
    OPEN("create mine in sticky dir", "sticky/mine", O_CREAT | O_WRONLY);
    OPEN("create keep in sticky dir", "sticky/keep", O_CREAT | O_WRONLY);
    SHOW("unlink theirs in sticky dir", unlink("sticky/theirs"));
    SHOW("rename theirs in sticky dir", rename("sticky/theirs", "sticky/stolen"));
    SHOW("rename over theirs in sticky dir", rename("sticky/mine", "sticky/theirs"));
    SHOW("unlink mine in sticky dir", unlink("sticky/mine"));
    SHOW("rmdir their dir in sticky dir", rmdir("sticky/theirdir"));
    SHOW("unlink own file in root's sticky dir", unlink("sticky/own1000"));

    /* Set-group-id directory: new names take its group, directories its bit. */
    OPEN("create in setgid dir", "sgid/file", O_CREAT | O_WRONLY);
    owners("file in setgid dir", "sgid/file");
    SHOW("mkdir in setgid dir", mkdir("sgid/sub", 0755));
    owners("dir in setgid dir", "sgid/sub");
    OPEN("create elsewhere", "d777/plain", O_CREAT | O_WRONLY);
    owners("file elsewhere", "d777/plain");

    /* Exec needs execute permission. */
    char *argv[] = {"x", NULL};
    SHOW("exec 0644 file", execve("f644", argv, NULL));
    SHOW("exec 0700 root file", execve("x700", argv, NULL));
    SHOW("exec below 0700 dir", execve("d700/inner", argv, NULL));

    /* The host's secrets. */
    OPEN("open /etc/shadow", "/etc/shadow", O_RDONLY);
    SHOW("access /etc/shadow R_OK", access("/etc/shadow", R_OK));
    OPEN("open /etc/passwd for write", "/etc/passwd", O_WRONLY);
    SHOW("unlink /etc/passwd", unlink("/etc/passwd"));
    SHOW("chmod /etc/passwd", chmod("/etc/passwd", 0666));
    SHOW("rename /etc/hostname", rename("/etc/hostname", "/etc/hostname2"));
}

static void user1001(void) {
    printf("as uid 1001:\n");
    SHOW("unlink uid 1000's file in sticky dir", unlink("sticky/keep"));
    SHOW("unlink own file in sticky dir", unlink("sticky/by1001"));
}

static void root(void) {
    printf("as root:\n");
    OPEN("open 0000 file for read", "f000", O_RDONLY);
    OPEN("open 0000 file for write", "f000", O_WRONLY);
    OPEN("open 0700 dir's file", "d700/inner", O_RDONLY);
    SHOW("access X_OK on 0644 file", access("f644", X_OK));
    SHOW("access X_OK on 0744 file", access("x744", X_OK));
    char *argv[] = {"x", NULL};
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execve("f644", argv, NULL);
        printf("  exec 0644 as root: %s\n", ename(errno));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    // access(2) walks the whole path as the real user: with real uid 1000 and effective uid 0 the 0700
    // directory cannot be searched, though open would pass; AT_EACCESS asks as the effective user.
    pid = fork();
    if (pid == 0) {
        if (setresuid(1000, 0, 0) != 0) _exit(1);
        SHOW("access F_OK below 0700 dir, real uid 1000", access("d700/inner", F_OK));
        SHOW("access R_OK of 0600 file, real uid 1000", access("f600", R_OK));
        SHOW("faccessat AT_EACCESS below 0700 dir, real uid 1000", faccessat(AT_FDCWD, "d700/inner", F_OK, AT_EACCESS));
        OPEN("open below 0700 dir, real uid 1000", "d700/inner", O_RDONLY);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    put("chownme", 04755, 0, 0);
    SHOW("chown setuid file", chown("chownme", 1000, -1));
    printf("  setuid file after root's chown: %o\n", modeof("chownme"));
    put("chownme2", 02755, 0, 0);
    SHOW("chown setgid g+x file, no change", chown("chownme2", -1, -1));
    printf("  setgid g+x file after chown: %o\n", modeof("chownme2"));
    put("chownme3", 02745, 0, 0);
    SHOW("chown setgid g-x file", chown("chownme3", 0, 0));
    printf("  setgid g-x file after chown: %o\n", modeof("chownme3"));
    SHOW("chmod 4755 as root", chmod("x744", 04755));
    printf("  after chmod: %o\n", modeof("x744"));
    int fd = open("f644", O_PATH);
    char c;
    SHOW("read O_PATH fd", read(fd, &c, 1));
    SHOW("write O_PATH fd", write(fd, "x", 1));
    close(fd);
    OPEN("O_CREAT|O_EXCL new", "excl", O_CREAT | O_EXCL | O_WRONLY);
    OPEN("O_CREAT|O_EXCL again", "excl", O_CREAT | O_EXCL | O_WRONLY);
}

static void section(const char *base) {
    if (chdir(base) != 0) { printf("chdir: %s\n", ename(errno)); return; }
    put("f600", 0600, 0, 0);
    put("f644", 0644, 0, 0);
    put("f666", 0666, 0, 0);
    put("f000", 0000, 0, 0);
    put("x755", 0755, 0, 0);
    put("x744", 0744, 0, 0);
    put("x700", 0700, 0, 0);
    put("suid666", 04666, 0, 0);
    put("suid666b", 04666, 0, 0);
    put("sgid676", 02676, 0, 0);
    put("ownforeign", 0755, 1000, 50);
    dir("d700", 0700, 0, 0);
    put("d700/inner", 0755, 0, 0);
    dir("d711", 0711, 0, 0);
    put("d711/inner", 0644, 0, 0);
    if (symlink("d700/inner", "into700") != 0 || symlink("d700", "to700") != 0 || symlink("d711/inner", "into711") != 0) printf("symlink failed\n");
    dir("d755", 0755, 0, 0);
    put("d755/file", 0644, 0, 0);
    dir("d755/subdir", 0755, 0, 0);
    dir("d777", 0777, 0, 0);
    put("d777/own", 0644, 1000, 0);
    dir("sticky", 01777, 0, 0);
    put("sticky/theirs", 0644, 1001, 1001);
    put("sticky/by1001", 0644, 1001, 1001);
    put("sticky/own1000", 0644, 1000, 1000);
    dir("sticky/theirdir", 0755, 1001, 1001);
    dir("sgid", 02777, 0, 50);
    as(1000, 1000, user1000);
    as(1001, 1001, user1001);
    root();
}

static void cleanup(const char *base) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
}

int main(void) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return 1;
    char tmp[] = "/tmp/permXXXXXX";
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    chmod(tmp, 0755);
    printf("== tmpfs\n");
    section(tmp);
    chdir("/");
    cleanup(tmp);

    char here[4200];
    snprintf(here, sizeof here, "%s/permXXXXXX", cwd);
    if (!mkdtemp(here)) { perror("mkdtemp"); return 1; }
    chmod(here, 0755);
    printf("== overlay\n");
    section(here);
    chdir("/");
    cleanup(here);
    return 0;
}
