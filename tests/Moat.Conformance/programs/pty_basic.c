/* A pseudo-terminal pair set up as openpty does: posix_openpt, grantpt, unlockpt, ptsname; the lock,
 * /dev/pts/N appearing and vanishing, the replica's default termios, window size, FIONREAD, non-blocking
 * reads, EIO on the master once the replica is closed, and poll's POLLHUP then. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

static const char *en(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

int main(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    printf("posix_openpt: %s\n", m >= 0 ? "ok" : strerrorname_np(errno));
    if (m < 0) return 1;
    printf("isatty(master): %d\n", isatty(m));
    char *name = ptsname(m);
    printf("ptsname under /dev/pts/: %s\n", name && strncmp(name, "/dev/pts/", 9) == 0 ? "yes" : "no");
    char path[64];
    snprintf(path, sizeof path, "%s", name);
    unsigned n = 99;
    const char *e = en(ioctl(m, TIOCGPTN, &n));
    printf("TIOCGPTN: %s, matches name: %s\n", e, atoi(path + 9) == (int)n ? "yes" : "no");
    int lock = -1;
    e = en(ioctl(m, TIOCGPTLCK, &lock));
    printf("TIOCGPTLCK: %s %d\n", e, lock);
    struct stat st;
    e = en(stat(path, &st));
    printf("stat replica: %s chr %s\n", e, S_ISCHR(st.st_mode) ? "yes" : "no");
    printf("open locked replica: %s\n", en(open(path, O_RDWR | O_NOCTTY)));
    printf("TIOCGPTPEER locked: %s\n", en(ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY)));
    printf("grantpt: %s\n", en(grantpt(m)));
    printf("unlockpt: %s\n", en(unlockpt(m)));
    e = en(ioctl(m, TIOCGPTLCK, &lock));
    printf("TIOCGPTLCK: %s %d\n", e, lock);
    int s = open(path, O_RDWR | O_NOCTTY);
    printf("open replica: %s\n", en(s));
    printf("isatty(replica): %d\n", isatty(s));
    char *tn = ttyname(s);
    printf("ttyname matches: %s\n", tn && strcmp(tn, path) == 0 ? "yes" : "no");
    printf("TIOCGPTN on replica: %s\n", en(ioctl(s, TIOCGPTN, &n)));
    printf("TIOCGPTPEER on replica: %s\n", en(ioctl(s, TIOCGPTPEER, O_RDWR | O_NOCTTY)));
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct stat ps;
    fstat(peer, &ps);
    printf("TIOCGPTPEER: %s, lowest fd %s, cloexec %s, same rdev %s\n", peer < 0 ? strerrorname_np(errno) : "ok",
           peer == s + 1 ? "yes" : "no", (fcntl(peer, F_GETFD) & FD_CLOEXEC) ? "yes" : "no", ps.st_rdev == st.st_rdev ? "yes" : "no");
    write(peer, "p", 1);
    close(peer);
    { char pb[8]; struct pollfd pp = {m, POLLIN, 0}; poll(&pp, 1, -1); printf("master got the peer's byte: %s\n", read(m, pb, sizeof pb) == 1 && pb[0] == 'p' ? "yes" : "no"); }
    struct stat ss;
    fstat(s, &ss);
    printf("fstat replica: chr %s major %u same rdev as path %s\n", S_ISCHR(ss.st_mode) ? "yes" : "no",
           major(ss.st_rdev), ss.st_rdev == st.st_rdev ? "yes" : "no");

    struct termios t;
    printf("tcgetattr replica: %s\n", en(tcgetattr(s, &t)));
    printf("iflag %#x oflag %#x cflag %#x lflag %#x\n", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag);
    printf("cc intr %d quit %d erase %d kill %d eof %d time %d min %d susp %d werase %d lnext %d\n",
           t.c_cc[VINTR], t.c_cc[VQUIT], t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF], t.c_cc[VTIME],
           t.c_cc[VMIN], t.c_cc[VSUSP], t.c_cc[VWERASE], t.c_cc[VLNEXT]);
    struct termios tm;
    e = en(tcgetattr(m, &tm));
    printf("tcgetattr master: %s same lflag %s\n", e, tm.c_lflag == t.c_lflag ? "yes" : "no");
    t.c_lflag &= ~ECHO;
    printf("tcsetattr master: %s\n", en(tcsetattr(m, TCSANOW, &t)));
    tcgetattr(s, &t);
    printf("replica sees ECHO off: %s\n", (t.c_lflag & ECHO) ? "no" : "yes");
    t.c_lflag |= ECHO;
    tcsetattr(s, TCSANOW, &t);

    struct winsize w = {0};
    e = en(ioctl(s, TIOCGWINSZ, &w));
    printf("TIOCGWINSZ: %s %d %d\n", e, w.ws_row, w.ws_col);
    w.ws_row = 24; w.ws_col = 80;
    printf("TIOCSWINSZ on master: %s\n", en(ioctl(m, TIOCSWINSZ, &w)));
    memset(&w, 0, sizeof w);
    ioctl(s, TIOCGWINSZ, &w);
    printf("replica winsize: %d %d\n", w.ws_row, w.ws_col);

    int pg = 0;
    printf("TIOCGPGRP not ctty: %s\n", en(ioctl(s, TIOCGPGRP, &pg)));
    printf("TIOCGSID not ctty: %s\n", en(ioctl(s, TIOCGSID, &pg)));
    e = en(ioctl(m, TIOCGPGRP, &pg));
    printf("TIOCGPGRP on master: %s %d\n", e, pg);
    printf("lseek: %s\n", en(lseek(s, 0, SEEK_SET)));
    printf("pread: %s\n", en(pread(s, &n, 1, 0)));

    fcntl(m, F_SETFL, O_NONBLOCK);
    char buf[64];
    printf("master read empty: %s\n", en(read(m, buf, sizeof buf)));
    write(s, "hi\n", 3);
    struct pollfd pw = {m, POLLIN, 0};
    poll(&pw, 1, -1);
    int q = -1;
    e = en(ioctl(m, FIONREAD, &q));
    printf("FIONREAD master: %s %d\n", e, q);
    long r = read(m, buf, sizeof buf);
    printf("master read: %ld %s\n", r, r == 4 && memcmp(buf, "hi\r\n", 4) == 0 ? "hi CR LF" : "other");
    write(m, "abc", 3);
    e = en(ioctl(s, FIONREAD, &q));
    printf("FIONREAD replica partial line: %s %d\n", e, q);
    write(m, "\n", 1);
    pw.fd = s;
    poll(&pw, 1, -1);
    e = en(ioctl(s, FIONREAD, &q));
    printf("FIONREAD replica line: %s %d\n", e, q);
    r = read(s, buf, sizeof buf);
    printf("replica read: %ld\n", r);
    while (read(m, buf, sizeof buf) > 0) {}

    int s2 = dup(s);
    close(s);
    struct pollfd p = {m, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("poll master, replica open: in %d out %d hup %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT), !!(p.revents & POLLHUP));
    close(s2);
    p.revents = 0;
    poll(&p, 1, 0);
    printf("poll master, replica closed: in %d hup %d\n", !!(p.revents & POLLIN), !!(p.revents & POLLHUP));
    printf("master read, replica closed: %s\n", en(read(m, buf, sizeof buf)));
    printf("master write, replica closed: %s\n", en(write(m, "x", 1)));
    s = open(path, O_RDWR | O_NOCTTY);
    printf("reopen replica: %s\n", en(s));
    close(s);
    close(m);
    printf("stat after master close: %s\n", en(stat(path, &st)));
    printf("reopen after master close: %s\n", en(open(path, O_RDWR | O_NOCTTY)));
    int m2 = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
    printf("open /dev/pts/ptmx: %s\n", en(m2));
    return 0;
}
