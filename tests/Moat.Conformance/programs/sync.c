/* fsync, fdatasync, sync, syncfs, sync_file_range: success on files and directories, and Linux's errors
 * for pipes, sockets, /dev/null, O_PATH, bad fds and bad ranges. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void show(const char *what, int r) {
    int e = errno;
    printf("%s: %s\n", what, r == 0 ? "0" : e == EINVAL ? "EINVAL" : e == EBADF ? "EBADF" : e == ESPIPE ? "ESPIPE" : strerror(e));
}

int main(void) {
    int f = open("/tmp/moat-sync", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(f, "data", 4);
    int d = open("/tmp", O_RDONLY | O_DIRECTORY);
    int ro = open("/etc/passwd", O_RDONLY);
    int path = open("/etc/passwd", O_PATH);
    int null = open("/dev/null", O_WRONLY);
    int p[2], s[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);

    show("fsync file", fsync(f));
    show("fdatasync file", fdatasync(f));
    show("fsync dir", fsync(d));
    show("fsync read-only host file", fsync(ro));
    show("fsync O_PATH", fsync(path));
    show("fsync pipe", fsync(p[1]));
    show("fsync socket", fsync(s[0]));
    show("fsync /dev/null", fsync(null));
    show("fsync bad fd", fsync(99));
    sync();
    printf("sync: done\n");
    show("syncfs file", syncfs(f));
    show("syncfs pipe", syncfs(p[0]));
    show("syncfs bad fd", syncfs(99));
    show("sync_file_range file", sync_file_range(f, 0, 4, SYNC_FILE_RANGE_WRITE));
    show("sync_file_range bad flags", sync_file_range(f, 0, 4, 8));
    show("sync_file_range negative offset", sync_file_range(f, -1, 4, 0));
    show("sync_file_range pipe", sync_file_range(p[1], 0, 4, 0));
    show("sync_file_range bad fd", sync_file_range(99, 0, 4, 0));
    unlink("/tmp/moat-sync");
    return 0;
}
