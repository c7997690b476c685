/* The line discipline as a program on the replica and a terminal emulator on the master see it: canonical
 * editing (VERASE, VWERASE, VKILL, VEOF, VLNEXT), what is echoed for each (ECHO, ECHOE, ECHOK, ECHOKE,
 * ECHONL, ECHOCTL), input maps (ICRNL, IGNCR, INLCR), non-canonical reads, short reads of a line, and
 * output processing (OPOST, ONLCR, OCRNL). The echo is read up to a marker the replica writes after it
 * has read its line, so nothing depends on timing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int m, s;

static void show(const char *what, const char *b, long n) {
    printf("%s(%ld) \"", what, n);
    for (long i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c == '\n') printf("\\n");
        else if (c == '\r') printf("\\r");
        else if (c == '\b') printf("\\b");
        else if (c < 32 || c >= 127) printf("\\x%02x", c);
        else putchar(c);
    }
    printf("\" ");
}

/* Reads the master up to the '#' the replica writes: everything before it is the echo. */
static void echo_up_to_marker(void) {
    write(s, "#", 1);
    char b[512];
    long n = 0;
    while (n == 0 || b[n - 1] != '#') {
        long r = read(m, b + n, sizeof b - n);
        if (r <= 0) { printf("master read failed: %s\n", strerrorname_np(errno)); exit(1); }
        n += r;
    }
    show("echo", b, n - 1);
}

static void set(tcflag_t lon, tcflag_t loff, tcflag_t ion, tcflag_t ioff) {
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag = (t.c_lflag | lon) & ~loff;
    t.c_iflag = (t.c_iflag | ion) & ~ioff;
    tcsetattr(s, TCSANOW, &t);
}

/* Feeds input to the master, reads one line on the replica, then the echo. */
static void line(const char *label, const char *in, size_t len) {
    write(m, in, len);
    char b[256];
    long r = read(s, b, sizeof b);
    printf("%-10s ", label);
    show("read", b, r);
    echo_up_to_marker();
    printf("\n");
}

#define LINE(label, lit) line(label, lit, sizeof(lit) - 1)

int main(void) {
    m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    s = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (s < 0) { printf("open replica: %s\n", strerrorname_np(errno)); return 1; }

    LINE("plain", "hello\n");
    LINE("erase", "abc\177d\n");
    LINE("werase", "hello big world\027there\n");
    LINE("werase2", "a b.. \027\027x\n");
    LINE("kill", "junk\025ok\n");
    LINE("eof-mid", "xy\004");
    LINE("eof", "\004");
    LINE("ctl", "\001\n");
    LINE("ctl-erase", "x\001\177\n");
    LINE("lnext", "a\026\177\n");
    LINE("icrnl", "ab\r");
    LINE("eol-empty", "\n");
    set(0, ECHOE, 0, 0);
    LINE("no-echoe", "ab\177\n");
    set(ECHOE, ECHOKE, 0, 0);
    LINE("echok", "ab\025c\n");
    set(ECHOKE, ECHO, 0, 0);
    LINE("no-echo", "secret\n");
    set(ECHONL, 0, 0, 0);
    LINE("echonl", "x\n");
    set(ECHO, ECHONL, IGNCR, 0);
    LINE("igncr", "a\rb\n");
    set(0, 0, 0, IGNCR);

    /* A line read in pieces. */
    write(m, "abcdef\n", 7);
    char b[64];
    long r = read(s, b, 3);
    show("short", b, r);
    r = read(s, b, sizeof b);
    show("rest", b, r);
    echo_up_to_marker();
    printf("\n");

    /* Non-canonical: bytes as they come, no signals, INLCR. */
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag &= ~(ICANON | ISIG | ECHO);
    t.c_iflag = (t.c_iflag & ~ICRNL) | INLCR;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    write(m, "\003a\n\177", 4);
    long n = 0;
    while (n < 4 && (r = read(s, b + n, sizeof b - n)) > 0) n += r;
    show("raw", b, n);
    echo_up_to_marker();
    printf("\n");
    t.c_cc[VMIN] = 0;
    tcsetattr(s, TCSANOW, &t);
    r = read(s, b, sizeof b);
    printf("vmin0 empty read: %ld\n", r);

    /* Output processing, as the master reads it. */
    write(s, "a\nb\n", 4);
    echo_up_to_marker();
    printf("(onlcr)\n");
    t.c_oflag |= OCRNL;
    tcsetattr(s, TCSANOW, &t);
    write(s, "c\rd", 3);
    echo_up_to_marker();
    printf("(ocrnl)\n");
    t.c_oflag &= ~OPOST;
    tcsetattr(s, TCSANOW, &t);
    write(s, "e\nf\r", 4);
    echo_up_to_marker();
    printf("(no opost)\n");

    /* cfmakeraw, then back to canonical with pending bytes: they become one line. */
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    tcgetattr(s, &t);
    printf("raw: iflag %#x oflag %#x lflag %#x\n", t.c_iflag, t.c_oflag, t.c_lflag);
    write(m, "pq", 2);
    struct pollfd p = {s, POLLIN, 0};
    poll(&p, 1, -1);
    t.c_lflag |= ICANON;
    tcsetattr(s, TCSANOW, &t);
    r = read(s, b, sizeof b);
    show("to canon", b, r);
    printf("\n");
    return 0;
}
