/* Networking against a peer on the host.
 * net download ADDR PORT N: connects to the bench's download server at ADDR:PORT, asks for N MiB, reads them in
 *   64 KiB reads until the server closes, and prints ns per MiB from before the connect to the last byte.
 * net addr-to ADDR: prints the local address this host's routing gives a datagram to ADDR (a connected UDP
 *   socket's name; nothing is sent): where a server here is reached from the host. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include "bench.h"

static char buf[65536];

static int download(const char *addr, int port, long mib) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) return bench_fail("address");
    char ask[32];
    int len = snprintf(ask, sizeof ask, "%ld\n", mib);
    double t0 = bench_now_ns();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a)) return bench_fail("connect");
    if (write(s, ask, len) != len) return bench_fail("write");
    long got = 0;
    for (;;) {
        ssize_t r = read(s, buf, sizeof buf);
        if (r < 0) return bench_fail("read");
        if (r == 0) break;
        got += r;
    }
    double end = bench_now_ns();
    close(s);
    if (got != mib << 20) {
        fprintf(stderr, "download: %ld bytes instead of %ld\n", got, mib << 20);
        return 1;
    }
    printf("%.1f\n", (end - t0) / mib);
    return 0;
}

static int addr_to(const char *addr) {
    struct sockaddr_in a = {0}, me;
    socklen_t len = sizeof me;
    a.sin_family = AF_INET;
    a.sin_port = htons(9);
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) return bench_fail("address");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (struct sockaddr *)&me, &len)) return bench_fail("route");
    char text[INET_ADDRSTRLEN];
    printf("%s\n", inet_ntop(AF_INET, &me.sin_addr, text, sizeof text));
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "addr-to") == 0) return addr_to(argv[2]);
    if (argc == 5 && strcmp(argv[1], "download") == 0) return download(argv[2], atoi(argv[3]), atol(argv[4]));
    fprintf(stderr, "usage: net download ADDR PORT MIB | net addr-to ADDR\n");
    return 2;
}
