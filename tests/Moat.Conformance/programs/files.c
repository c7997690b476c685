/* File-system calls in a fresh directory under /tmp (a tmpfs in the sandbox): create, read, write,
 * seek, append, truncate, stat, rename, link, symlink, readdir, chmod, access, and their errors. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int main(void) {
    char dir[] = "/tmp/moatXXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    if (chdir(dir) != 0) { perror("chdir"); return 1; }

    int fd = open("a.txt", O_CREAT | O_RDWR | O_EXCL, 0644);
    printf("create: %s\n", fd >= 0 ? "ok" : ename(errno));
    SHOW("write", write(fd, "hello world\n", 12));
    SHOW("lseek set", lseek(fd, 6, SEEK_SET));
    char buf[64] = {0};
    SHOW("read", read(fd, buf, 5));
    printf("data: %s\n", buf);
    SHOW("pwrite", pwrite(fd, "W", 1, 0));
    memset(buf, 0, sizeof buf);
    SHOW("pread", pread(fd, buf, sizeof buf, 0));
    printf("data: %s", buf);
    SHOW("lseek end", lseek(fd, 0, SEEK_END));
    SHOW("ftruncate", ftruncate(fd, 5));
    struct stat st;
    fstat(fd, &st);
    printf("size %lld mode %o nlink %lu regular %d\n", (long long)st.st_size, st.st_mode & 07777, (unsigned long)st.st_nlink, S_ISREG(st.st_mode));
    SHOW("ftruncate grow", ftruncate(fd, 8192));
    memset(buf, 'x', sizeof buf);
    SHOW("pread hole", pread(fd, buf, 4, 4096));
    printf("hole zero: %d\n", buf[0] == 0 && buf[3] == 0);
    close(fd);

    SHOW("open excl again", open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
    fd = open("a.txt", O_WRONLY | O_APPEND);
    SHOW("append", write(fd, "++", 2));
    close(fd);
    stat("a.txt", &st);
    printf("after append size %lld\n", (long long)st.st_size);
    fd = open("a.txt", O_WRONLY | O_TRUNC);
    close(fd);
    stat("a.txt", &st);
    printf("after trunc size %lld\n", (long long)st.st_size);

    SHOW("open missing", open("missing", O_RDONLY));
    SHOW("open dir as file for write", open(".", O_WRONLY));
    SHOW("open file as dir", open("a.txt", O_RDONLY | O_DIRECTORY));
    SHOW("mkdir", mkdir("sub", 0755));
    SHOW("mkdir again", mkdir("sub", 0755));
    SHOW("mkdir under file", mkdir("a.txt/x", 0755));
    SHOW("link", link("a.txt", "sub/b.txt"));
    stat("a.txt", &st);
    printf("nlink after link: %lu\n", (unsigned long)st.st_nlink);
    SHOW("symlink", symlink("a.txt", "l"));
    memset(buf, 0, sizeof buf);
    SHOW("readlink", readlink("l", buf, sizeof buf));
    printf("target: %s\n", buf);
    lstat("l", &st);
    printf("lstat is link: %d\n", S_ISLNK(st.st_mode));
    SHOW("open via symlink", close(open("l", O_RDONLY)));
    SHOW("open nofollow", open("l", O_RDONLY | O_NOFOLLOW));
    SHOW("rename", rename("a.txt", "sub/c.txt"));
    SHOW("stat old name", stat("a.txt", &st));
    SHOW("dangling symlink", open("l", O_RDONLY));
    SHOW("rmdir nonempty", rmdir("sub"));
    SHOW("unlink dir", unlink("sub"));
    SHOW("rename dir into itself", rename("sub", "sub/inner"));
    SHOW("chmod", chmod("sub/c.txt", 0600));
    stat("sub/c.txt", &st);
    printf("mode after chmod: %o\n", st.st_mode & 07777);
    SHOW("access R", access("sub/c.txt", R_OK));
    SHOW("access missing", access("nope", F_OK));

    DIR *d = opendir("sub");
    int n = 0;
    struct dirent *e;
    char names[256] = "";
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        n++;
    }
    closedir(d);
    printf("entries in sub: %d%s\n", n, names);

    SHOW("unlink b", unlink("sub/b.txt"));
    SHOW("unlink c", unlink("sub/c.txt"));
    SHOW("unlink l", unlink("l"));
    SHOW("rmdir sub", rmdir("sub"));
    SHOW("chdir out", chdir("/"));
    SHOW("rmdir dir", rmdir(dir));
    return 0;
}
