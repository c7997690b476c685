/* getdents64's d_ino is the inode number lstat reports, for every kind of entry a program makes in /tmp (a
 * directory, a file, a hard link, a symlink) and for ".": programs such as Python's os.scandir rely on it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

int main(void) {
    char dir[] = "/tmp/dirent_ino.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/file", dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    char other[256];
    snprintf(other, sizeof other, "%s/hardlink", dir);
    link(path, other);
    snprintf(path, sizeof path, "%s/symlink", dir);
    symlink("file", path);

    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    char buf[4096];
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    const char *names[] = {".", "file", "hardlink", "sub", "symlink"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            if (strcmp(d->d_name, names[i]) == 0) {
                struct stat st;
                snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
                lstat(path, &st);
                printf("%s: d_ino %s st_ino\n", names[i], d->d_ino == st.st_ino ? "==" : "!=");
            }
            off += d->d_reclen;
        }
    }
    close(fd);
    struct stat a, b;
    snprintf(path, sizeof path, "%s/file", dir);
    stat(path, &a);
    stat(other, &b);
    printf("hard link shares the inode: %s\n", a.st_ino == b.st_ino ? "yes" : "no");

    snprintf(path, sizeof path, "%s/sub", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/file", dir);
    unlink(path);
    unlink(other);
    snprintf(path, sizeof path, "%s/symlink", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
