/* /proc/net and /proc/sys/net as ss, netstat and python read them: the headers of tcp, tcp6, udp, udp6 and
 * unix (with Linux's padding), the rows of this program's own listening, connected and bound sockets (state,
 * addresses, line width), the lo lines of dev and if_inet6, the labels of snmp with a value for each, and
 * somaxconn, tcp_rmem, tcp_wmem and ip_local_port_range. Other sockets on the host are never printed. Ports
 * are below the ephemeral range, in the first block free on the host, printed relative to it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int BASE;

static int pick_base(int start) {
    for (int base = start; base < start + 1600; base += 16) {
        int ok = 1;
        for (int p = base; p < base + 16 && ok; p++) {
            for (int type = SOCK_STREAM; type <= SOCK_DGRAM && ok; type++) {
                int s = socket(AF_INET6, type, 0);
                struct sockaddr_in6 a = {0};
                a.sin6_family = AF_INET6;
                a.sin6_port = htons(p);
                ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
                close(s);
            }
        }
        if (ok) return base;
    }
    return start;
}

static void header(const char *path) {
    FILE *f = fopen(path, "r");
    char line[512];
    if (!f || !fgets(line, sizeof line, f)) {
        printf("%s: cannot read\n", path);
        if (f) fclose(f);
        return;
    }
    printf("%s header (%zu chars): %s", path, strlen(line), line);
    fclose(f);
}

/* The rows whose local address is `local` (the /proc form, e.g. 0100007F:1F90). */
static void rows(const char *path, const char *local) {
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char sl[16], loc[64], rem[64], st[8];
        if (sscanf(line, "%15s %63s %63s %7s", sl, loc, rem, st) != 4 || strcmp(loc, local) != 0) continue;
        const char *peer = strcmp(rem + strlen(rem) - 4, "0000") == 0 ? "none" : "some";
        /* The IPv4 files pad every line to one width; the IPv6 ones end after the inode, whose digits vary. */
        if (path[strlen(path) - 1] == '6') printf("%s row %d: state %s remote %s\n", path, n++, st, peer);
        else printf("%s row %d: state %s remote %s, %zu chars\n", path, n++, st, peer, strlen(line));
    }
    printf("%s: %d rows at our address\n", path, n);
    fclose(f);
}

static void grep_line(const char *path, const char *prefix, int exact) {
    FILE *f = fopen(path, "r");
    char line[512];
    int found = 0;
    if (!f) {
        printf("%s: cannot open\n", path);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            found = 1;
            if (exact) printf("%s: %s", path, line);
        }
    }
    if (!exact || !found) printf("%s: line starting '%s' %s\n", path, prefix, found ? "found" : "missing");
    fclose(f);
}

static int words(const char *s) {
    int n = 0, in = 0;
    for (; *s; s++) {
        if (*s == ' ' || *s == '\n') in = 0;
        else if (!in) in = 1, n++;
    }
    return n;
}

static void snmp(void) {
    FILE *f = fopen("/proc/net/snmp", "r");
    char head[2048], vals[2048];
    if (!f) {
        printf("snmp: cannot open\n");
        return;
    }
    while (fgets(head, sizeof head, f) && fgets(vals, sizeof vals, f)) {
        if (strncmp(head, "IcmpMsg:", 8) == 0) continue; /* only there once ICMP messages were counted */
        printf("snmp %s", head);
        printf("snmp values: %d for %d labels\n", words(vals), words(head));
        if (strncmp(vals, "Tcp:", 4) == 0) {
            int algo, min, max, conn;
            sscanf(vals, "Tcp: %d %d %d %d", &algo, &min, &max, &conn);
            printf("snmp Tcp: RtoAlgorithm %d RtoMin %d RtoMax %d MaxConn %d\n", algo, min, max, conn);
        }
        if (strncmp(vals, "Ip:", 3) == 0) {
            int fwd, ttl;
            sscanf(vals, "Ip: %d %d", &fwd, &ttl);
            printf("snmp Ip: Forwarding %d DefaultTTL %d\n", fwd, ttl);
        }
    }
    fclose(f);
}

static void sysctl(const char *path, int fields) {
    FILE *f = fopen(path, "r");
    char line[256];
    if (!f || !fgets(line, sizeof line, f)) {
        printf("%s: cannot read\n", path);
        if (f) fclose(f);
        return;
    }
    fclose(f);
    /* Print the first `fields` tab-separated values (the host may raise a maximum). */
    char *save = NULL, *tok = strtok_r(line, "\t\n", &save);
    printf("%s:", path);
    for (int i = 0; tok && i < fields; i++, tok = strtok_r(NULL, "\t\n", &save)) printf(" %s", tok);
    printf("\n");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    BASE = pick_base(30610);
    int one = 1;
    char local[64];

    int l = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(BASE);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 16);
    snprintf(local, sizeof local, "0100007F:%04X", BASE);
    header("/proc/net/tcp");
    rows("/proc/net/tcp", local);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int s = accept(l, NULL, NULL);
    rows("/proc/net/tcp", local);
    close(c);
    close(s);

    int l6 = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(l6, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in6 a6 = {0};
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(BASE + 1);
    a6.sin6_addr = in6addr_loopback;
    bind(l6, (struct sockaddr *)&a6, sizeof a6);
    listen(l6, 16);
    header("/proc/net/tcp6");
    snprintf(local, sizeof local, "00000000000000000000000001000000:%04X", BASE + 1);
    rows("/proc/net/tcp6", local);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_port = htons(BASE + 2);
    bind(u, (struct sockaddr *)&a, sizeof a);
    header("/proc/net/udp");
    snprintf(local, sizeof local, "0100007F:%04X", BASE + 2);
    rows("/proc/net/udp", local);
    int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
    a6.sin6_port = htons(BASE + 3);
    bind(u6, (struct sockaddr *)&a6, sizeof a6);
    header("/proc/net/udp6");
    snprintf(local, sizeof local, "00000000000000000000000001000000:%04X", BASE + 3);
    rows("/proc/net/udp6", local);
    header("/proc/net/unix");

    header("/proc/net/dev");
    grep_line("/proc/net/dev", " face |", 1);
    grep_line("/proc/net/dev", "    lo:", 0);
    grep_line("/proc/net/if_inet6", "00000000000000000000000000000001 01 80 10 80       lo", 1);
    snmp();

    sysctl("/proc/sys/net/core/somaxconn", 1);
    sysctl("/proc/sys/net/ipv4/tcp_rmem", 2);
    sysctl("/proc/sys/net/ipv4/tcp_wmem", 3);
    sysctl("/proc/sys/net/ipv4/ip_local_port_range", 2);
    close(l);
    close(l6);
    close(u);
    close(u6);
    return 0;
}
