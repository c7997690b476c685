/* Unix sockets bound to paths are file-system nodes: bind creates a socket file (mode from the umask,
 * DT_SOCK in readdir, ENXIO on open), an existing name is EADDRINUSE, the node outlives the socket
 * (connect then answers ECONNREFUSED), unlink frees the name while connections keep working, relative
 * paths and symlinks, connecting to a non-socket, and getsockname reporting the path as given. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case ENOENT: return "ENOENT";
    case EADDRINUSE: return "EADDRINUSE";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENXIO: return "ENXIO";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

static socklen_t addr_of(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

int main(void) {
    char dir[64], path[96], other[96], link[96];
    snprintf(dir, sizeof dir, "/tmp/moat-path-%d", getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/sock", dir);
    snprintf(other, sizeof other, "%s/file", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    umask(022);

    struct sockaddr_un a;
    socklen_t alen = addr_of(&a, path);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind: %d\n", bind(srv, (struct sockaddr *)&a, alen));
    struct stat st;
    int r = stat(path, &st);
    printf("stat: %d sock %d mode %o\n", r, S_ISSOCK(st.st_mode), (unsigned)(st.st_mode & 0777));
    int fd = open(path, O_RDONLY);
    int e = errno;
    printf("open: %d %s\n", fd, ename(e));
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, "sock") == 0) printf("readdir: %s DT_SOCK %d\n", de->d_name, de->d_type == DT_SOCK);
    closedir(d);
    printf("chmod: %d\n", chmod(path, 0600));
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    r = bind(s2, (struct sockaddr *)&a, alen);
    e = errno;
    printf("bind existing: %d %s\n", r, ename(e));
    close(creat(other, 0644));
    struct sockaddr_un o;
    socklen_t olen = addr_of(&o, other);
    r = bind(s2, (struct sockaddr *)&o, olen);
    e = errno;
    printf("bind over file: %d %s\n", r, ename(e));
    r = connect(s2, (struct sockaddr *)&o, olen);
    e = errno;
    printf("connect to file: %d %s\n", r, ename(e));
    close(s2);

    listen(srv, 4);
    symlink(path, link);
    struct sockaddr_un l;
    socklen_t llen = addr_of(&l, link);
    int c1 = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect via symlink: %d\n", connect(c1, (struct sockaddr *)&l, llen));
    int a1 = accept(srv, NULL, NULL);
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    getpeername(c1, (struct sockaddr *)&got, &gl);
    printf("peer name is the bound path: %d\n", strcmp(got.sun_path, path) == 0);

    /* unlink frees the name; the connection keeps working. */
    printf("unlink: %d\n", unlink(path));
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    r = connect(c2, (struct sockaddr *)&a, alen);
    e = errno;
    printf("connect after unlink: %d %s\n", r, ename(e));
    close(c2);
    write(c1, "still", 5);
    char b[16] = {0};
    printf("old connection: %zd %s\n", read(a1, b, sizeof b), b);
    int srv2 = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("rebind after unlink: %d\n", bind(srv2, (struct sockaddr *)&a, alen));
    listen(srv2, 1);
    c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect reaches the new socket: %d\n", connect(c2, (struct sockaddr *)&a, alen) == 0 && accept(srv2, NULL, NULL) >= 0);
    close(srv2);
    close(c2);

    /* The node outlives its socket. */
    r = stat(path, &st);
    printf("node after close: %d\n", r);
    c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    r = connect(c2, (struct sockaddr *)&a, alen);
    e = errno;
    printf("connect to dead node: %d %s\n", r, ename(e));
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    r = sendto(dg, "x", 1, 0, (struct sockaddr *)&a, alen);
    e = errno;
    printf("sendto dead node: %d %s\n", r, ename(e));
    srv2 = socket(AF_UNIX, SOCK_STREAM, 0);
    r = bind(srv2, (struct sockaddr *)&a, alen);
    e = errno;
    printf("rebind without unlink: %d %s\n", r, ename(e));
    close(srv2);

    /* A relative path: getsockname reports it as given. */
    chdir(dir);
    int rel = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un ra;
    socklen_t rlen = addr_of(&ra, "rel");
    printf("bind relative: %d\n", bind(rel, (struct sockaddr *)&ra, rlen));
    gl = sizeof got;
    getsockname(rel, (struct sockaddr *)&got, &gl);
    printf("getsockname: %s len %u\n", got.sun_path, gl);
    r = bind(rel, (struct sockaddr *)&o, olen);
    e = errno;
    printf("bind twice: %d %s\n", r, ename(e));
    printf("sendto relative: %zd\n", sendto(dg, "hey", 3, 0, (struct sockaddr *)&ra, rlen));
    printf("recv: %zd\n", recv(rel, b, sizeof b, 0));
    chdir("/");

    unlink(path);
    unlink(link);
    unlink(other);
    char relp[96];
    snprintf(relp, sizeof relp, "%s/rel", dir);
    unlink(relp);
    printf("rmdir: %d\n", rmdir(dir));
    return 0;
}
