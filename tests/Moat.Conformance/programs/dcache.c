/* Repeated stat/open/readlink of the same host and tmpfs paths (what the Sentry's dentry cache serves),
 * before and after names are created, removed and renamed over them. Runs in its own (host) directory;
 * natively it leaves that directory as it found it, apart from the fixture files it creates once. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_TEXT "host contents\n"

static const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ELOOP: return "ELOOP";
    default: return "other";
    }
}

#define SHOW(what, expr) do { errno = 0; long _r = (long)(expr); printf("%s: %ld %s\n", what, _r, _r < 0 ? ename(errno) : "OK"); } while (0)

static const char *kind(mode_t m) {
    return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "link" : "other";
}

static void show_stat(const char *path, int follow) {
    struct stat st;
    int r = follow ? stat(path, &st) : lstat(path, &st);
    if (r != 0) {
        printf("%s %s: %s\n", follow ? "stat" : "lstat", path, ename(errno));
    } else if (S_ISREG(st.st_mode)) {
        printf("%s %s: file size %lld mode %o\n", follow ? "stat" : "lstat", path, (long long)st.st_size, st.st_mode & 07777);
    } else {
        printf("%s %s: %s\n", follow ? "stat" : "lstat", path, kind(st.st_mode));
    }
}

static void show_content(const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("open %s: %s\n", path, ename(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("read %s: %zd [%s]\n", path, n, n > 0 ? strtok(buf, "\n") : "");
}

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0) perror("write");
        close(fd);
    }
}

static int count_entries(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The host files the sandbox finds below its upper layer. Natively made on the first run only. */
static void fixtures(void) {
    if (access("dc_host.txt", F_OK) != 0) write_file("dc_host.txt", HOST_TEXT);
    if (access("dc_dir", F_OK) != 0) mkdir("dc_dir", 0755);
    if (access("dc_dir/f", F_OK) != 0) write_file("dc_dir/f", "inner\n");
    if (access("dc_link", F_OK) != 0 && symlink("dc_host.txt", "dc_link") != 0) perror("symlink");
    unlink("dc_new");
    unlink("dc_moved");
}

static void repeated(void) {
    struct stat first, st;
    stat("dc_host.txt", &first);
    for (int i = 0; i < 3; i++) {
        show_stat("dc_host.txt", 1);
        show_stat("dc_link", 0);
        show_stat("dc_link", 1);
        show_stat("dc_dir", 1);
        show_stat("dc_missing", 1);
        show_stat("dc_missing/x", 1);
        show_stat("dc_host.txt/x", 1);
        show_stat("/etc/passwd", 1);
        show_stat("/tmp", 1);
        char target[64] = {0};
        SHOW("readlink dc_link", readlink("dc_link", target, sizeof target - 1));
        printf("target: %s\n", target);
        SHOW("readlink dc_host.txt", readlink("dc_host.txt", target, sizeof target));
        SHOW("readlink dc_missing", readlink("dc_missing", target, sizeof target));
        SHOW("access dc_host.txt", access("dc_host.txt", R_OK));
        SHOW("access dc_missing", access("dc_missing", F_OK));
        SHOW("open dc_dir O_RDONLY|O_DIRECTORY", close(open("dc_dir", O_RDONLY | O_DIRECTORY)));
        SHOW("open dc_host.txt O_DIRECTORY", open("dc_host.txt", O_RDONLY | O_DIRECTORY));
        SHOW("open dc_link O_NOFOLLOW", open("dc_link", O_RDONLY | O_NOFOLLOW));
        SHOW("open dc_link O_PATH|O_NOFOLLOW", close(open("dc_link", O_PATH | O_NOFOLLOW)));
        show_content("dc_host.txt");
        show_content("dc_link");
        stat("dc_host.txt", &st);
        printf("same inode: %d\n", st.st_ino == first.st_ino && st.st_dev == first.st_dev);
    }
}

static void offsets(void) {
    char buf[32] = {0};
    int a = open("dc_host.txt", O_RDONLY), b = open("dc_host.txt", O_RDONLY);
    SHOW("read a 4", read(a, buf, 4));
    SHOW("read b 6", read(b, buf, 6));
    printf("b got: %.6s\n", buf);
    int c = dup(a);
    SHOW("read dup of a 3", read(c, buf, 3));
    printf("dup got: %.3s\n", buf);
    SHOW("lseek a cur", lseek(a, 0, SEEK_CUR));
    SHOW("lseek b cur", lseek(b, 0, SEEK_CUR));
    SHOW("pread b 5 at 1", pread(b, buf, 5, 1));
    printf("pread got: %.5s\n", buf);
    SHOW("lseek b cur after pread", lseek(b, 0, SEEK_CUR));
    SHOW("lseek a end", lseek(a, 0, SEEK_END));
    SHOW("read a at end", read(a, buf, 4));
    SHOW("lseek a negative", lseek(a, -100, SEEK_CUR));
    SHOW("lseek a past end", lseek(a, 100, SEEK_SET));
    SHOW("read a past end", read(a, buf, 4));
    SHOW("lseek a bad whence", lseek(a, 0, 42));
    SHOW("write a", write(a, "x", 1));
    close(a);
    close(b);
    close(c);
    int p = open("dc_host.txt", O_PATH);
    SHOW("read O_PATH", read(p, buf, 4));
    SHOW("lseek O_PATH", lseek(p, 0, SEEK_SET));
    struct stat st;
    SHOW("fstat O_PATH", fstat(p, &st));
    printf("O_PATH size %lld\n", (long long)st.st_size);
    close(p);
}

static void shadowing(void) {
    /* A name created where a negative lookup was. */
    show_stat("dc_new", 1);
    int fd = open("dc_new", O_CREAT | O_EXCL | O_WRONLY, 0600);
    SHOW("write dc_new", write(fd, "abc", 3));
    close(fd);
    show_stat("dc_new", 1);
    show_content("dc_new");
    SHOW("unlink dc_new", unlink("dc_new"));
    show_stat("dc_new", 1);
    show_content("dc_new");

    /* A host file written to (copied up), then put back as it was. */
    fd = open("dc_host.txt", O_WRONLY | O_APPEND);
    SHOW("append", write(fd, "more\n", 5));
    close(fd);
    show_stat("dc_host.txt", 1);
    show_content("dc_host.txt");
    SHOW("truncate back", truncate("dc_host.txt", strlen(HOST_TEXT)));
    show_stat("dc_host.txt", 1);

    /* Renamed away and back. */
    SHOW("rename to dc_moved", rename("dc_host.txt", "dc_moved"));
    show_stat("dc_host.txt", 1);
    show_stat("dc_moved", 1);
    show_content("dc_host.txt");
    show_content("dc_moved");
    SHOW("rename back", rename("dc_moved", "dc_host.txt"));
    show_stat("dc_host.txt", 1);
    show_stat("dc_moved", 1);

    /* Removed (a whiteout over the host name), then made again. */
    SHOW("unlink dc_host.txt", unlink("dc_host.txt"));
    for (int i = 0; i < 2; i++) {
        show_stat("dc_host.txt", 1);
        show_content("dc_host.txt");
        SHOW("access", access("dc_host.txt", F_OK));
    }
    write_file("dc_host.txt", HOST_TEXT);
    show_stat("dc_host.txt", 1);
    show_content("dc_host.txt");

    /* A host directory emptied, removed, made again (opaque), removed again, restored. */
    SHOW("rmdir full", rmdir("dc_dir"));
    SHOW("unlink dc_dir/f", unlink("dc_dir/f"));
    show_stat("dc_dir/f", 1);
    SHOW("rmdir", rmdir("dc_dir"));
    show_stat("dc_dir", 1);
    show_stat("dc_dir/f", 1);
    SHOW("mkdir", mkdir("dc_dir", 0755));
    show_stat("dc_dir/f", 1);
    printf("entries: %d\n", count_entries("dc_dir"));
    SHOW("rmdir again", rmdir("dc_dir"));
    show_stat("dc_dir", 1);
    SHOW("mkdir again", mkdir("dc_dir", 0755));
    write_file("dc_dir/f", "inner\n");
    show_stat("dc_dir/f", 1);
    printf("entries: %d\n", count_entries("dc_dir"));
}

static void tmpfs(void) {
    const char *p = "/tmp/dc_tmp";
    unlink(p);
    for (int i = 0; i < 2; i++) {
        show_stat(p, 1);
        write_file(p, "tmp\n");
        show_stat(p, 1);
        show_content(p);
        SHOW("unlink tmp", unlink(p));
    }
    show_stat(p, 1);
}

int main(void) {
    fixtures();
    repeated();
    offsets();
    shadowing();
    tmpfs();
    repeated();
    return 0;
}
