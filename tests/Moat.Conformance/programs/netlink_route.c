/* The sandbox's interfaces, addresses and routes as NETLINK_ROUTE dumps (RTM_GETLINK, RTM_GETADDR,
 * RTM_GETROUTE), RTM_GETLINK by index and by name, getifaddrs, if_nameindex, the SIOCGIF* ioctls and
 * /proc/net/{route,dev} report them, and whether they agree with each other. Link-layer addresses are printed by
 * their first three bytes only (the sandbox makes the rest from its pid), and whether the ioctl's and the
 * dump's agree. Counters are not printed. Last, as uid 65534, changes answer EPERM. Run natively in a network namespace set up like the sandbox's. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char macs[16][6];

static const char *ip(int family, const void *a) {
    static char buf[4][64];
    static int n;
    char *b = buf[n++ % 4];
    inet_ntop(family, a, b, 64);
    return b;
}

static int request(int s, int type, int flags, int family, int index, const char *name) {
    struct {
        struct nlmsghdr h;
        union {
            struct ifinfomsg ifi;
            struct ifaddrmsg ifa;
            struct rtmsg rt;
        } u;
        char attrs[64];
    } req;
    memset(&req, 0, sizeof req);
    int body = type == RTM_GETLINK ? sizeof(struct ifinfomsg) : type == RTM_GETADDR ? sizeof(struct ifaddrmsg) : sizeof(struct rtmsg);
    req.h.nlmsg_len = NLMSG_LENGTH(body);
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = NLM_F_REQUEST | flags;
    req.h.nlmsg_seq = 7;
    req.u.ifi.ifi_family = family;
    if (type == RTM_GETLINK) req.u.ifi.ifi_index = index;
    if (name) {
        struct rtattr *a = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.h.nlmsg_len));
        a->rta_type = IFLA_IFNAME;
        a->rta_len = RTA_LENGTH(strlen(name) + 1);
        strcpy(RTA_DATA(a), name);
        req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
    }
    return send(s, &req, req.h.nlmsg_len, 0) == (ssize_t)req.h.nlmsg_len ? 0 : -1;
}

static void link_msg(struct nlmsghdr *h) {
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    int len = IFLA_PAYLOAD(h);
    printf("link %d type %d flags %#x family %d", ifi->ifi_index, ifi->ifi_type, ifi->ifi_flags, ifi->ifi_family);
    for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        unsigned char *d = RTA_DATA(a);
        switch (a->rta_type) {
        case IFLA_IFNAME: printf(" name %s", (char *)d); break;
        case IFLA_MTU: printf(" mtu %u", *(unsigned *)d); break;
        case IFLA_TXQLEN: printf(" txqlen %u", *(unsigned *)d); break;
        case IFLA_OPERSTATE: printf(" operstate %u", *d); break;
        case IFLA_QDISC: printf(" qdisc %s", (char *)d); break;
        case IFLA_CARRIER: printf(" carrier %u", *d); break;
        case IFLA_ADDRESS:
            printf(" address %02x:%02x:%02x", d[0], d[1], d[2]);
            if (ifi->ifi_index > 0 && ifi->ifi_index < 16) memcpy(macs[ifi->ifi_index], d, 6);
            break;
        case IFLA_BROADCAST: printf(" broadcast %02x:%02x:%02x:%02x:%02x:%02x", d[0], d[1], d[2], d[3], d[4], d[5]); break;
        case IFLA_STATS64: printf(" stats64 %d", RTA_PAYLOAD(a) >= sizeof(struct rtnl_link_stats64)); break;
        case IFLA_STATS: printf(" stats %d", RTA_PAYLOAD(a) >= sizeof(struct rtnl_link_stats)); break;
        }
    }
    printf("\n");
}

static void addr_msg(struct nlmsghdr *h) {
    struct ifaddrmsg *ifa = NLMSG_DATA(h);
    int len = IFA_PAYLOAD(h);
    printf("addr family %d prefix %d flags %#x scope %d index %d", ifa->ifa_family, ifa->ifa_prefixlen, ifa->ifa_flags, ifa->ifa_scope, ifa->ifa_index);
    for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        switch (a->rta_type) {
        case IFA_ADDRESS: printf(" address %s", ip(ifa->ifa_family, RTA_DATA(a))); break;
        case IFA_LOCAL: printf(" local %s", ip(ifa->ifa_family, RTA_DATA(a))); break;
        case IFA_BROADCAST: printf(" broadcast %s", ip(ifa->ifa_family, RTA_DATA(a))); break;
        case IFA_LABEL: printf(" label %s", (char *)RTA_DATA(a)); break;
        case IFA_FLAGS: printf(" aflags %#x", *(unsigned *)RTA_DATA(a)); break;
        case IFA_CACHEINFO: {
            struct ifa_cacheinfo *c = RTA_DATA(a);
            printf(" valid %#x preferred %#x", c->ifa_valid, c->ifa_prefered);
            break;
        }
        }
    }
    printf("\n");
}

static void route_msg(struct nlmsghdr *h) {
    struct rtmsg *rt = NLMSG_DATA(h);
    int len = RTM_PAYLOAD(h);
    printf("route family %d dst_len %d table %d proto %d scope %d type %d", rt->rtm_family, rt->rtm_dst_len, rt->rtm_table, rt->rtm_protocol, rt->rtm_scope, rt->rtm_type);
    for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        switch (a->rta_type) {
        case RTA_TABLE: printf(" rtable %u", *(unsigned *)RTA_DATA(a)); break;
        case RTA_DST: printf(" dst %s", ip(rt->rtm_family, RTA_DATA(a))); break;
        case RTA_GATEWAY: printf(" gateway %s", ip(rt->rtm_family, RTA_DATA(a))); break;
        case RTA_PREFSRC: printf(" prefsrc %s", ip(rt->rtm_family, RTA_DATA(a))); break;
        case RTA_OIF: printf(" oif %u", *(unsigned *)RTA_DATA(a)); break;
        case RTA_PRIORITY: printf(" metric %u", *(unsigned *)RTA_DATA(a)); break;
        }
    }
    printf("\n");
}

/* Reads answers until NLMSG_DONE (a dump) or one message or error (a get). */
static void answers(int s, int dump) {
    static char buf[32768];
    for (;;) {
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n <= 0) {
            printf("recv failed\n");
            return;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != 7) printf("seq %u\n", h->nlmsg_seq);
            if (dump && !(h->nlmsg_flags & NLM_F_MULTI)) printf("not multi\n");
            if (h->nlmsg_type == NLMSG_DONE) return;
            if (h->nlmsg_type == NLMSG_ERROR) {
                int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
                printf("error %s\n", e == 0 ? "0" : strerrorname_np(-e));
                return;
            }
            if (h->nlmsg_type == RTM_NEWLINK) link_msg(h);
            else if (h->nlmsg_type == RTM_NEWADDR) addr_msg(h);
            else if (h->nlmsg_type == RTM_NEWROUTE) route_msg(h);
            else printf("type %d\n", h->nlmsg_type);
            if (!dump) return;
        }
    }
}

static void ioctls(int s, const char *name, int index) {
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, name);
    printf("ioctl %s index %d", name, ioctl(s, SIOCGIFINDEX, &r) == 0 && r.ifr_ifindex == index);
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = index;
    printf(" name %s", ioctl(s, SIOCGIFNAME, &r) == 0 ? r.ifr_name : strerrorname_np(errno));
    strcpy(r.ifr_name, name);
    if (ioctl(s, SIOCGIFFLAGS, &r) == 0) printf(" flags %#x", (unsigned short)r.ifr_flags);
    if (ioctl(s, SIOCGIFADDR, &r) == 0) printf(" addr %s", inet_ntoa(((struct sockaddr_in *)&r.ifr_addr)->sin_addr));
    if (ioctl(s, SIOCGIFNETMASK, &r) == 0) printf(" netmask %s", inet_ntoa(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr));
    if (ioctl(s, SIOCGIFBRDADDR, &r) == 0) printf(" brd %s", inet_ntoa(((struct sockaddr_in *)&r.ifr_broadaddr)->sin_addr));
    if (ioctl(s, SIOCGIFMTU, &r) == 0) printf(" mtu %d", r.ifr_mtu);
    if (ioctl(s, SIOCGIFTXQLEN, &r) == 0) printf(" txqlen %d", r.ifr_qlen);
    if (ioctl(s, SIOCGIFHWADDR, &r) == 0)
        printf(" hwtype %d hwaddr-agrees %d", r.ifr_hwaddr.sa_family, memcmp(r.ifr_hwaddr.sa_data, macs[index], 6) == 0);
    printf("\n");
}

static void file(const char *path, int skip_counters) {
    FILE *f = fopen(path, "r");
    char line[512];
    printf("%s:\n", path);
    while (f && fgets(line, sizeof line, f)) {
        if (skip_counters) {
            char *colon = strchr(line, ':');
            if (colon && strchr(line, '|') == NULL) colon[1] = '\n', colon[2] = 0;
        }
        printf("  %s", line);
    }
    if (f) fclose(f);
}

int main(void) {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    printf("-- links\n");
    request(s, RTM_GETLINK, NLM_F_DUMP, AF_UNSPEC, 0, NULL);
    answers(s, 1);
    printf("-- link 2\n");
    request(s, RTM_GETLINK, 0, AF_UNSPEC, 2, NULL);
    answers(s, 0);
    printf("-- link lo\n");
    request(s, RTM_GETLINK, 0, AF_UNSPEC, 0, "lo");
    answers(s, 0);
    printf("-- link 99\n");
    request(s, RTM_GETLINK, 0, AF_UNSPEC, 99, NULL);
    answers(s, 0);
    printf("-- link nosuch0\n");
    request(s, RTM_GETLINK, 0, AF_UNSPEC, 0, "nosuch0");
    answers(s, 0);
    printf("-- addresses\n");
    request(s, RTM_GETADDR, NLM_F_DUMP, AF_UNSPEC, 0, NULL);
    answers(s, 1);
    printf("-- addresses inet6\n");
    request(s, RTM_GETADDR, NLM_F_DUMP, AF_INET6, 0, NULL);
    answers(s, 1);
    printf("-- routes\n");
    request(s, RTM_GETROUTE, NLM_F_DUMP, AF_INET, 0, NULL);
    answers(s, 1);
    printf("-- routes inet6\n");
    request(s, RTM_GETROUTE, NLM_F_DUMP, AF_INET6, 0, NULL);
    answers(s, 1);

    printf("-- getifaddrs\n");
    struct ifaddrs *ifa;
    if (getifaddrs(&ifa) != 0) printf("getifaddrs failed\n");
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        printf("%s flags %#x", i->ifa_name, i->ifa_flags);
        if (!i->ifa_addr) {
            printf(" no address\n");
            continue;
        }
        int fam = i->ifa_addr->sa_family;
        if (fam == AF_PACKET) {
            struct sockaddr_ll *l = (struct sockaddr_ll *)i->ifa_addr;
            printf(" packet index %d hatype %d halen %d", l->sll_ifindex, l->sll_hatype, l->sll_halen);
        } else if (fam == AF_INET) {
            printf(" inet %s", ip(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr));
            printf(" mask %s", ip(AF_INET, &((struct sockaddr_in *)i->ifa_netmask)->sin_addr));
            if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr) printf(" brd %s", ip(AF_INET, &((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr));
        } else if (fam == AF_INET6) {
            printf(" inet6 %s", ip(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr));
            printf(" mask %s", ip(AF_INET6, &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr));
        }
        printf("\n");
    }
    freeifaddrs(ifa);

    printf("-- if_nameindex\n");
    struct if_nameindex *ni = if_nameindex();
    for (struct if_nameindex *p = ni; p && p->if_index; p++) printf("%u %s\n", p->if_index, p->if_name);
    if (ni) if_freenameindex(ni);

    printf("-- ioctls\n");
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    ioctls(u, "lo", 1);
    char name[IF_NAMESIZE];
    if (if_indextoname(2, name)) ioctls(u, name, 2);
    struct ifconf c = {0};
    ioctl(u, SIOCGIFCONF, &c);
    printf("ifconf needs %d\n", c.ifc_len / (int)sizeof(struct ifreq));
    struct ifreq reqs[16];
    c.ifc_len = sizeof reqs;
    c.ifc_req = reqs;
    ioctl(u, SIOCGIFCONF, &c);
    for (int i = 0; i < c.ifc_len / (int)sizeof(struct ifreq); i++)
        printf("ifconf %s %s\n", reqs[i].ifr_name, inet_ntoa(((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr));
    c.ifc_len = sizeof(struct ifreq);
    ioctl(u, SIOCGIFCONF, &c);
    printf("ifconf one slot %d\n", c.ifc_len / (int)sizeof(struct ifreq));

    file("/proc/net/route", 0);
    file("/proc/net/dev", 1);

    /* Changes need CAP_NET_ADMIN: checked before the request is looked at, so without it they are EPERM. */
    printf("-- as uid 65534\n");
    if (setgid(65534) != 0 || setuid(65534) != 0) printf("setuid failed\n");
    request(s, RTM_NEWADDR, NLM_F_CREATE | NLM_F_ACK, AF_INET, 0, NULL);
    answers(s, 0);
    request(s, RTM_DELROUTE, NLM_F_ACK, AF_INET, 0, NULL);
    answers(s, 0);
    request(s, RTM_SETLINK, NLM_F_ACK, AF_UNSPEC, 1, NULL);
    answers(s, 0);
    request(s, RTM_GETLINK, 0, AF_UNSPEC, 1, NULL);
    answers(s, 0);
    return 0;
}
