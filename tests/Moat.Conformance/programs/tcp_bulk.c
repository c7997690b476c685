/* Large TCP transfers on the loopback network where Linux's buffer autotuning decides the outcome: a client
 * that writes 512 KiB and then 4 MiB to an echo server before it reads anything (the server echoes as it
 * reads) finishes instead of deadlocking; SO_SNDBUF/SO_RCVBUF report Linux's defaults and double what is
 * set; explicitly small buffers bound what a non-blocking writer can queue. A watchdog alarm turns a
 * deadlock into a printed failure. Ports are below the ephemeral range, in the first block free on the host. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int BASE;

static int pick_base(int start) {
    for (int base = start; base < start + 1600; base += 16) {
        int ok = 1;
        for (int p = base; p < base + 16 && ok; p++) {
            int s = socket(AF_INET6, SOCK_STREAM, 0);
            struct sockaddr_in6 a = {0};
            a.sin6_family = AF_INET6;
            a.sin6_port = htons(p);
            ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
            close(s);
        }
        if (ok) return base;
    }
    return start;
}

static void on_alarm(int s) {
    (void)s;
    static const char m[] = "deadlock: watchdog fired\n";
    write(1, m, sizeof m - 1);
    _exit(3);
}

static struct sockaddr_in v4(int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int listener(int port) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = v4(port);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 8) < 0) {
        printf("listener %d: errno %d\n", port - BASE, errno);
        exit(1);
    }
    return l;
}

static int geti(int s, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    getsockopt(s, level, name, &v, &len);
    return v;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + (i >> 12)); }

/* A forked echo server, as python's simplest one: read up to 4096 bytes, write them all back, until EOF. */
static pid_t echo_server(int l) {
    pid_t pid = fork();
    if (pid == 0) {
        int s = accept(l, NULL, NULL);
        char buf[4096];
        for (;;) {
            ssize_t n = read(s, buf, sizeof buf);
            if (n <= 0) break;
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(s, buf + off, n - off);
                if (w <= 0) _exit(2);
                off += w;
            }
        }
        close(s);
        _exit(0);
    }
    return pid;
}

/* sendall(size) and only then read the echo back: the bytes in flight must fit the two connections' buffers. */
static void send_then_read(int port, size_t size) {
    int l = listener(port);
    pid_t pid = echo_server(l);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4(port);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("connect: errno %d\n", errno);
        exit(1);
    }
    unsigned char *out = malloc(size), *in = malloc(size);
    for (size_t i = 0; i < size; i++) out[i] = pattern(i);
    alarm(60);
    size_t sent = 0;
    while (sent < size) {
        ssize_t w = write(c, out + sent, size - sent);
        if (w <= 0) {
            printf("write: errno %d\n", errno);
            exit(1);
        }
        sent += w;
    }
    shutdown(c, SHUT_WR);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(c, in + got, size - got < 65536 ? size - got + 1 : 65536);
        if (n <= 0) break;
        got += n;
    }
    alarm(0);
    int status;
    waitpid(pid, &status, 0);
    printf("send %zu KiB then read: echoed %zu KiB, %s, server status %d\n", size / 1024, got / 1024,
           got == size && memcmp(in, out, size) == 0 ? "same bytes" : "DIFFERENT", WEXITSTATUS(status));
    free(out);
    free(in);
    close(c);
    close(l);
}

/* The default sizes and Linux's doubling of what is set, with its floors. */
static void sizes(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    { int v1_ = geti(s, SOL_SOCKET, SO_SNDBUF); int v2_ = geti(s, SOL_SOCKET, SO_RCVBUF); printf("default sndbuf %d rcvbuf %d\n", v1_, v2_); }
    int v = 10000;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    { int v1_ = geti(s, SOL_SOCKET, SO_SNDBUF); int v2_ = geti(s, SOL_SOCKET, SO_RCVBUF); printf("set 10000: sndbuf %d rcvbuf %d\n", v1_, v2_); }
    v = 1;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    { int v1_ = geti(s, SOL_SOCKET, SO_SNDBUF); int v2_ = geti(s, SOL_SOCKET, SO_RCVBUF); printf("set 1: sndbuf %d rcvbuf %d\n", v1_, v2_); }
    close(s);
}

/* A non-blocking writer to a reader that never reads: with small explicit buffers far less is queued
 * than with autotuned ones, and some always is. */
static size_t fill(int port, int small) {
    int l = listener(port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (small) {
        int v = 4096;
        setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
        setsockopt(l, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    }
    struct sockaddr_in a = v4(port);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int s = accept(l, NULL, NULL);
    fcntl(c, F_SETFL, O_NONBLOCK);
    static char buf[65536];
    size_t total = 0;
    int eagains = 0;
    /* Loopback delivery may lag the write: a few EAGAINs in a row mean the buffers are full. */
    while (eagains < 50 && total < (64u << 20)) {
        ssize_t w = write(c, buf, sizeof buf);
        if (w > 0) {
            total += w;
            eagains = 0;
        } else if (errno == EAGAIN) {
            eagains++;
            usleep(2000);
        } else {
            break;
        }
    }
    int rcv = geti(s, SOL_SOCKET, SO_RCVBUF);
    if (small) printf("small buffers: accepted socket rcvbuf %d\n", rcv);
    close(s);
    close(c);
    close(l);
    return total;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    BASE = pick_base(29810);
    sizes();
    send_then_read(BASE + 1, 512 * 1024);
    send_then_read(BASE + 2, 4 * 1024 * 1024);
    size_t small = fill(BASE + 3, 1);
    size_t big = fill(BASE + 4, 0);
    printf("small buffers queue something: %s, under 512 KiB: %s\n", small > 0 ? "yes" : "no", small < 512 * 1024 ? "yes" : "no");
    printf("autotuned buffers queue more than 512 KiB: %s, at most 64 MiB: %s\n", big > 512 * 1024 ? "yes" : "no",
           big < (64u << 20) ? "yes" : "no");
    return 0;
}
