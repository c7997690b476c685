/* /proc/net/snmp's counters move with the traffic that Linux counts: a TCP connection made and accepted on
 * 127.0.0.1 (ActiveOpens, PassiveOpens, CurrEstab while it is up, InSegs, OutSegs), reset by a close with
 * SO_LINGER 0 (EstabResets, OutRsts), a connect to a closed port (AttemptFails), a UDP datagram received
 * (InDatagrams, OutDatagrams) and one to a port nobody bound (NoPorts, and the ICMP port unreachable: Icmp
 * OutMsgs, InMsgs, OutDestUnreachs, InDestUnreachs), all IP (InReceives, InDelivers, OutRequests). Natively the
 * host's other traffic moves them too, so only "grew" and "at least" are printed, never amounts. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCOUNTERS 64

struct row {
    char name[16];
    int n;
    char labels[MAXCOUNTERS][32];
    long long values[MAXCOUNTERS];
};

static int read_rows(struct row *rows, int max) {
    FILE *f = fopen("/proc/net/snmp", "r");
    char head[4096], vals[4096];
    int n = 0;
    if (!f) return -1;
    while (n < max && fgets(head, sizeof head, f) && fgets(vals, sizeof vals, f)) {
        struct row *r = &rows[n++];
        char *save1, *save2;
        char *h = strtok_r(head, " \n", &save1);
        char *v = strtok_r(vals, " \n", &save2);
        snprintf(r->name, sizeof r->name, "%s", h ? h : "");
        r->n = 0;
        while ((h = strtok_r(NULL, " \n", &save1)) && (v = strtok_r(NULL, " \n", &save2)) && r->n < MAXCOUNTERS) {
            snprintf(r->labels[r->n], sizeof r->labels[0], "%s", h);
            r->values[r->n++] = atoll(v);
        }
    }
    fclose(f);
    return n;
}

static long long get(struct row *rows, int n, const char *name, const char *label) {
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].name, name) != 0) continue;
        for (int j = 0; j < rows[i].n; j++)
            if (strcmp(rows[i].labels[j], label) == 0) return rows[i].values[j];
    }
    return -1;
}

static struct row before[16], after[16];
static int nb, na;

static void grew(const char *name, const char *label) {
    long long b = get(before, nb, name, label), a = get(after, na, name, label);
    printf("%s %s grew: %s\n", name, label, b >= 0 && a > b ? "yes" : "no");
}

static int tcp_socket(void) { return socket(AF_INET, SOCK_STREAM, 0); }

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return a;
}

int main(void) {
    nb = read_rows(before, 16);
    if (nb < 0) {
        printf("snmp: cannot open\n");
        return 1;
    }

    /* TCP: connect and accept; CurrEstab counts both ends while they are up. */
    int l = tcp_socket();
    struct sockaddr_in addr = loopback(0);
    socklen_t len = sizeof addr;
    if (bind(l, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(l, 4) < 0 || getsockname(l, (struct sockaddr *)&addr, &len) < 0) {
        printf("listen: %s\n", strerror(errno));
        return 1;
    }
    int c = tcp_socket();
    if (connect(c, (struct sockaddr *)&addr, sizeof addr) < 0) {
        printf("connect: %s\n", strerror(errno));
        return 1;
    }
    int s = accept(l, NULL, NULL);
    char byte = 'x';
    if (s < 0 || write(c, &byte, 1) != 1 || read(s, &byte, 1) != 1) {
        printf("accept/transfer failed\n");
        return 1;
    }
    struct row during[16];
    int nd = read_rows(during, 16);
    printf("Tcp CurrEstab at least 2: %s\n", get(during, nd, "Tcp:", "CurrEstab") >= 2 ? "yes" : "no");

    /* Close with SO_LINGER 0: a RST, and both ends leave ESTABLISHED for CLOSED. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c);
    char buf[4];
    int r = (int)read(s, buf, sizeof buf);
    printf("read after reset: %s\n", r < 0 ? strerrorname_np(errno) : "data");
    close(s);

    /* A connect to the listener's port once it is closed: refused, a failed attempt. */
    close(l);
    int refused = tcp_socket();
    int rc = connect(refused, (struct sockaddr *)&addr, sizeof addr);
    printf("connect to a closed port: %s\n", rc < 0 ? strerrorname_np(errno) : "connected");
    close(refused);

    /* UDP: one datagram received, one to a port nobody bound (its ICMP port unreachable comes back to us). */
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = loopback(0);
    len = sizeof ua;
    bind(rx, (struct sockaddr *)&ua, sizeof ua);
    getsockname(rx, (struct sockaddr *)&ua, &len);
    sendto(tx, "d", 1, 0, (struct sockaddr *)&ua, sizeof ua);
    printf("udp received: %zd\n", recv(rx, buf, sizeof buf, 0));
    close(rx);
    sendto(tx, "d", 1, 0, (struct sockaddr *)&ua, sizeof ua);
    close(tx);

    usleep(20000); /* natively the loopback's softirq may still be delivering the last datagrams */
    na = read_rows(after, 16);
    grew("Ip:", "InReceives");
    grew("Ip:", "InDelivers");
    grew("Ip:", "OutRequests");
    grew("Icmp:", "InMsgs");
    grew("Icmp:", "OutMsgs");
    grew("Icmp:", "InDestUnreachs");
    grew("Icmp:", "OutDestUnreachs");
    grew("Tcp:", "ActiveOpens");
    grew("Tcp:", "PassiveOpens");
    grew("Tcp:", "AttemptFails");
    grew("Tcp:", "EstabResets");
    grew("Tcp:", "InSegs");
    grew("Tcp:", "OutSegs");
    grew("Tcp:", "OutRsts");
    grew("Udp:", "InDatagrams");
    grew("Udp:", "OutDatagrams");
    grew("Udp:", "NoPorts");
    return 0;
}
