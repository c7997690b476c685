/* Raw IPv4 sockets and AF_PACKET sockets on the loopback, with their errors. Not in cases.txt: under Moat they
   need the netstack and --net-raw (RawSocketTests runs it so; natively it needs root). Prints only what does not
   depend on the host's other loopback traffic: frames and datagrams are picked out by ports, ids and protocol 253.
   "create" only opens one of each (EPERM without --net-raw); "nonroot" does so as uid 65534: EPERM everywhere. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXPERIMENTAL_PROTO 253

/* From linux/icmp.h, which clashes with net/if.h. */
#define ICMP_FILTER 1
struct icmp_filter {
    uint32_t data;
};

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

static uint16_t checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

static struct sockaddr_in loopback(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static void errors(void)
{
    show("raw IPPROTO_IP", socket(AF_INET, SOCK_RAW, 0));
    show("raw protocol 300", socket(AF_INET, SOCK_RAW, 300));
    show("raw protocol -1", socket(AF_INET, SOCK_RAW, -1));
    show("raw bad flags", socket(AF_INET, SOCK_RAW | 0x200000, IPPROTO_ICMP));
    show("packet SOCK_STREAM", socket(AF_PACKET, SOCK_STREAM, htons(ETH_P_ALL)));
}

/* The next ICMP message with our identifier: its type, sequence and the datagram's length. */
static int next_icmp(int fd, int flags, uint16_t id, int *type, int *seq, char *payload)
{
    for (int tries = 0; tries < 1000; tries++) {
        unsigned char buf[2048];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, flags, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return -1;
        struct iphdr *ip = (struct iphdr *)buf;
        struct icmphdr *ic = (struct icmphdr *)(buf + ip->ihl * 4);
        if (n < ip->ihl * 4 + 8 || ntohs(ic->un.echo.id) != id)
            continue;
        *type = ic->type;
        *seq = ntohs(ic->un.echo.sequence);
        memcpy(payload, buf + ip->ihl * 4 + 8, 4);
        payload[4] = 0;
        printf("  from %s port %d len %d: ihl %d proto %d ttl %d tot_len %d src %s\n", inet_ntoa(from.sin_addr),
               ntohs(from.sin_port), fl, ip->ihl, ip->protocol, ip->ttl, ntohs(ip->tot_len),
               inet_ntoa(*(struct in_addr *)&ip->saddr));
        return (int)n;
    }
    return -1;
}

static void echo(int fd, uint16_t id, uint16_t seq)
{
    unsigned char m[12] = {ICMP_ECHO, 0};
    struct icmphdr *ic = (struct icmphdr *)m;
    ic->un.echo.id = htons(id);
    ic->un.echo.sequence = htons(seq);
    memcpy(m + 8, "moat", 4);
    ic->checksum = checksum(m, sizeof m);
    struct sockaddr_in dst = loopback("127.0.0.1", 0);
    show("  sendto echo", sendto(fd, m, sizeof m, 0, (struct sockaddr *)&dst, sizeof dst));
}

static void icmp_socket(void)
{
    printf("raw ICMP:\n");
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    show("  socket", fd >= 0 ? 0 : -1);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    printf("  getsockname %s port %d len %d\n", inet_ntoa(a.sin_addr), ntohs(a.sin_port), al);
    int v = -1;
    socklen_t vl = sizeof v;
    show("  getsockopt IP_HDRINCL", getsockopt(fd, IPPROTO_IP, IP_HDRINCL, &v, &vl));
    printf("  IP_HDRINCL %d\n", v);
    vl = sizeof v;
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl);
    printf("  SO_TYPE %d", v);
    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
    printf(" SO_PROTOCOL %d\n", v);
    show("  getpeername", getpeername(fd, (struct sockaddr *)&a, &al));

    echo(fd, 0x4d4f, 1);
    int type, seq;
    char payload[8];
    /* The request comes back to us too (raw sockets see every ICMP message delivered), then the reply. */
    for (int i = 0; i < 2; i++)
        if (next_icmp(fd, 0, 0x4d4f, &type, &seq, payload) > 0)
            printf("  type %d seq %d payload %s\n", type, seq, payload);

    struct icmp_filter f = {1u << ICMP_ECHO};
    show("  setsockopt ICMP_FILTER", setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof f));
    f.data = 0;
    socklen_t fl = 2;
    show("  getsockopt ICMP_FILTER (2 bytes)", getsockopt(fd, SOL_RAW, ICMP_FILTER, &f, &fl));
    printf("  filter %#x len %d\n", f.data, fl);
    echo(fd, 0x4d4f, 2);
    if (next_icmp(fd, 0, 0x4d4f, &type, &seq, payload) > 0)
        printf("  filtered: type %d seq %d payload %s\n", type, seq, payload);

    /* Peek, FIONREAD, MSG_TRUNC, poll, then an empty queue. */
    echo(fd, 0x4d4f, 3);
    struct pollfd p = {fd, POLLIN, 0};
    show("  poll", poll(&p, 1, 1000));
    printf("  revents %#x\n", p.revents);
    int avail = 0;
    ioctl(fd, FIONREAD, &avail);
    printf("  FIONREAD %d\n", avail);
    char small[10];
    struct iovec iov = {small, sizeof small};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    show("  recvmsg peek small", recvmsg(fd, &mh, MSG_PEEK));
    printf("  msg_flags MSG_TRUNC %d\n", (mh.msg_flags & MSG_TRUNC) != 0);
    show("  recv MSG_TRUNC", recv(fd, small, sizeof small, MSG_TRUNC));
    show("  recv empty", recv(fd, small, sizeof small, MSG_DONTWAIT));
    p.revents = 0;
    show("  poll empty", poll(&p, 1, 0));
    close(fd);

    int udp = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
    show("  ICMP_FILTER on a UDP raw socket", setsockopt(udp, SOL_RAW, ICMP_FILTER, &f, sizeof f));
    close(udp);
}

static void experimental(void)
{
    printf("raw protocol %d:\n", EXPERIMENTAL_PROTO);
    int rx = socket(AF_INET, SOCK_RAW, EXPERIMENTAL_PROTO);
    struct sockaddr_in lo = loopback("127.0.0.1", 0);
    show("  bind 127.0.0.1", bind(rx, (struct sockaddr *)&lo, sizeof lo));
    struct sockaddr_in far = loopback("192.0.2.1", 0);
    int other = socket(AF_INET, SOCK_RAW, EXPERIMENTAL_PROTO);
    show("  bind 192.0.2.1", bind(other, (struct sockaddr *)&far, sizeof far));
    struct sockaddr_in two = loopback("127.0.0.2", 7);
    show("  connect 127.0.0.2", connect(other, (struct sockaddr *)&two, sizeof two));
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    getpeername(other, (struct sockaddr *)&peer, &pl);
    printf("  getpeername %s port %d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));

    int tx = socket(AF_INET, SOCK_RAW, EXPERIMENTAL_PROTO);
    show("  send unconnected", send(tx, "x", 1, 0));
    int ttl = 7;
    setsockopt(tx, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    show("  sendto abc", sendto(tx, "abc", 3, 0, (struct sockaddr *)&lo, sizeof lo));
    static char big[70000];
    show("  sendto 70000", sendto(tx, big, sizeof big, 0, (struct sockaddr *)&lo, sizeof lo));

    unsigned char buf[128];
    ssize_t n = recv(rx, buf, sizeof buf, MSG_DONTWAIT);
    struct iphdr *ip = (struct iphdr *)buf;
    show("  recv", n);
    if (n > 0)
        printf("  ttl %d proto %d tot_len %d payload %.3s checksum ok %d\n", ip->ttl, ip->protocol, ntohs(ip->tot_len),
               buf + 20, checksum(buf, 20) == 0);
    show("  connected elsewhere: recv", recv(other, buf, sizeof buf, MSG_DONTWAIT));

    /* IPPROTO_RAW: the caller writes the header; the kernel fills the length, id, checksum and a zero source. */
    int hdr = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    int v = 0;
    socklen_t vl = sizeof v;
    getsockopt(hdr, IPPROTO_IP, IP_HDRINCL, &v, &vl);
    printf("  IPPROTO_RAW IP_HDRINCL %d\n", v);
    unsigned char d[25] = {0};
    struct iphdr *h = (struct iphdr *)d;
    h->version = 4;
    h->ihl = 5;
    h->tos = 0x10;
    h->tot_len = htons(999);
    h->ttl = 33;
    h->protocol = EXPERIMENTAL_PROTO;
    h->daddr = lo.sin_addr.s_addr;
    memcpy(d + 20, "hello", 5);
    show("  sendto header included", sendto(hdr, d, sizeof d, 0, (struct sockaddr *)&lo, sizeof lo));
    show("  sendto 10 bytes", sendto(hdr, d, 10, 0, (struct sockaddr *)&lo, sizeof lo));
    n = recv(rx, buf, sizeof buf, MSG_DONTWAIT);
    show("  recv", n);
    if (n > 0)
        printf("  tos %#x ttl %d tot_len %d id nonzero %d src %s checksum ok %d payload %.5s\n", ip->tos, ip->ttl,
               ntohs(ip->tot_len), ip->id != 0, inet_ntoa(*(struct in_addr *)&ip->saddr), checksum(buf, 20) == 0,
               buf + 20);

    /* IP_HDRINCL on a socket of another protocol, and off again on IPPROTO_RAW. */
    int one = 1;
    show("  IP_HDRINCL on", setsockopt(tx, IPPROTO_IP, IP_HDRINCL, &one, sizeof one));
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    show("  IP_HDRINCL on UDP", setsockopt(udp, IPPROTO_IP, IP_HDRINCL, &one, sizeof one));
    close(udp);

    /* A small receive buffer drops what does not fit. */
    int rcv = 2304;
    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    vl = sizeof rcv;
    getsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcv, &vl);
    printf("  SO_RCVBUF %d\n", rcv);
    char chunk[1000] = {0};
    int tx2 = socket(AF_INET, SOCK_RAW, EXPERIMENTAL_PROTO);
    for (int i = 0; i < 100; i++)
        sendto(tx2, chunk, sizeof chunk, 0, (struct sockaddr *)&lo, sizeof lo);
    int got = 0;
    while (recv(rx, chunk, sizeof chunk, MSG_DONTWAIT) > 0)
        got++;
    printf("  limited by SO_RCVBUF %d\n", got > 0 && got < 100);
    close(tx2);
    close(hdr);
    close(tx);
    close(other);
    close(rx);
}

/* The next frame of the UDP datagram between our two ports: its direction and what sockaddr_ll says. */
static int next_frame(int fd, int cooked, int port)
{
    for (int tries = 0; tries < 10000; tries++) {
        unsigned char buf[2048];
        struct sockaddr_ll from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return -1;
        unsigned char *ipb = cooked ? buf : buf + 14;
        struct iphdr *ip = (struct iphdr *)ipb;
        if (n < (cooked ? 0 : 14) + 28 || (!cooked && (buf[12] != 8 || buf[13] != 0)) || ip->protocol != IPPROTO_UDP)
            continue;
        struct udphdr *u = (struct udphdr *)(ipb + ip->ihl * 4);
        if (ntohs(u->dest) != port)
            continue;
        int zero = 1;
        for (int i = 0; i < 12 && !cooked; i++)
            zero &= buf[i] == 0;
        printf("  frame %zd bytes, len %d family %d proto %#x hatype %d pkttype %d halen %d lo %d zero header %d "
               "payload %.4s\n",
               n, fl, from.sll_family, ntohs(from.sll_protocol), from.sll_hatype, from.sll_pkttype, from.sll_halen,
               from.sll_ifindex == (int)if_nametoindex("lo"), zero, (char *)u + 8);
        return 0;
    }
    return -1;
}

static void packet(void)
{
    printf("AF_PACKET:\n");
    int lo = (int)if_nametoindex("lo");
    int all = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    int v;
    socklen_t vl = sizeof v;
    getsockopt(all, SOL_SOCKET, SO_TYPE, &v, &vl);
    printf("  SO_TYPE %d", v);
    getsockopt(all, SOL_SOCKET, SO_DOMAIN, &v, &vl);
    printf(" SO_DOMAIN %d", v);
    getsockopt(all, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
    printf(" SO_PROTOCOL %#x\n", v);
    struct sockaddr_ll name;
    socklen_t nl = sizeof name;
    getsockname(all, (struct sockaddr *)&name, &nl);
    printf("  unbound getsockname len %d ifindex %d proto %#x\n", nl, name.sll_ifindex, ntohs(name.sll_protocol));
    show("  send unbound", send(all, "0123456789abcdef", 16, 0));

    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = 0, .sll_ifindex = lo};
    show("  bind short", bind(all, (struct sockaddr *)&ll, 10));
    ll.sll_ifindex = 999;
    show("  bind ifindex 999", bind(all, (struct sockaddr *)&ll, sizeof ll));
    ll.sll_ifindex = lo;
    show("  bind lo", bind(all, (struct sockaddr *)&ll, sizeof ll));
    nl = sizeof name;
    getsockname(all, (struct sockaddr *)&name, &nl);
    printf("  getsockname len %d lo %d proto %#x hatype %d halen %d\n", nl, name.sll_ifindex == lo,
           ntohs(name.sll_protocol), name.sll_hatype, name.sll_halen);
    show("  connect", connect(all, (struct sockaddr *)&ll, sizeof ll));
    show("  listen", listen(all, 1));
    show("  getpeername", getpeername(all, (struct sockaddr *)&name, &nl));
    show("  shutdown", shutdown(all, SHUT_RDWR));
    int ring = 0;
    vl = sizeof ring;
    show("  getsockopt PACKET_VERSION", getsockopt(all, SOL_PACKET, PACKET_VERSION, &ring, &vl));
    printf("  version %d\n", ring);

    int ip = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    struct sockaddr_ll ipl = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = lo};
    bind(ip, (struct sockaddr *)&ipl, sizeof ipl);

    int rx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in rxa = loopback("127.0.0.1", 0);
    bind(rx, (struct sockaddr *)&rxa, sizeof rxa);
    socklen_t rl = sizeof rxa;
    getsockname(rx, (struct sockaddr *)&rxa, &rl);
    int port = ntohs(rxa.sin_port);
    int txs = socket(AF_INET, SOCK_DGRAM, 0);
    show("  udp sendto", sendto(txs, "ping", 4, 0, (struct sockaddr *)&rxa, sizeof rxa));
    printf(" ETH_P_ALL on lo sees it leave, then arrive:\n");
    next_frame(all, 0, port);
    next_frame(all, 0, port);
    show("  no third", next_frame(all, 0, port));
    printf(" ETH_P_IP cooked sees it arrive only:\n");
    next_frame(ip, 1, port);
    show("  no second", next_frame(ip, 1, port));
    char got[8] = {0};
    recv(rx, got, sizeof got, MSG_DONTWAIT);

    /* A frame written on lo: a zero Ethernet header, IPv4 and UDP to our receiver. */
    unsigned char f[14 + 20 + 8 + 4] = {0};
    f[12] = 0x08;
    struct iphdr *h = (struct iphdr *)(f + 14);
    h->version = 4;
    h->ihl = 5;
    h->tot_len = htons(32);
    h->ttl = 64;
    h->protocol = IPPROTO_UDP;
    h->saddr = rxa.sin_addr.s_addr;
    h->daddr = rxa.sin_addr.s_addr;
    h->check = checksum(h, 20);
    struct udphdr *u = (struct udphdr *)(f + 34);
    u->source = htons(port);
    u->dest = htons(port);
    u->len = htons(12);
    memcpy(f + 42, "pong", 4);
    show("  send frame", sendto(all, f, sizeof f, 0, (struct sockaddr *)&ll, sizeof ll));
    show("  send 10 bytes", sendto(all, f, 10, 0, (struct sockaddr *)&ll, sizeof ll));
    printf(" the sender sees it arrive only:\n");
    next_frame(all, 0, port);
    show("  no second", next_frame(all, 0, port));
    memset(got, 0, sizeof got);
    show("  udp recv", recv(rx, got, sizeof got, MSG_DONTWAIT));
    printf("  udp got %s\n", got);
    struct tpacket_stats st;
    socklen_t sl = sizeof st;
    show("  PACKET_STATISTICS", getsockopt(all, SOL_PACKET, PACKET_STATISTICS, &st, &sl));
    printf("  len %d\n", sl);
    close(txs);
    close(rx);
    close(ip);
    close(all);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && (strcmp(argv[1], "nonroot") == 0 || strcmp(argv[1], "create") == 0)) {
        if (strcmp(argv[1], "nonroot") == 0)
            show("setresuid 65534", setresuid(65534, 65534, 65534));
        show("raw ICMP", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) >= 0 ? 0 : -1);
        show("raw IPPROTO_RAW", socket(AF_INET, SOCK_RAW, IPPROTO_RAW) >= 0 ? 0 : -1);
        show("packet ETH_P_ALL", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) >= 0 ? 0 : -1);
        show("packet SOCK_STREAM", socket(AF_PACKET, SOCK_STREAM, htons(ETH_P_ALL)));
        show("raw IPPROTO_IP", socket(AF_INET, SOCK_RAW, 0));
        return 0;
    }

    errors();
    icmp_socket();
    experimental();
    packet();
    return 0;
}
