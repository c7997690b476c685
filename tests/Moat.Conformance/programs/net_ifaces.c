/* The loopback interface as ioctls report it: if_nametoindex/if_indextoname (SIOCGIFINDEX/SIOCGIFNAME),
 * SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFMTU and SIOCGIFCONF (lo with 127.0.0.1 among the
 * entries), ENODEV for unknown names, on internet and unix sockets alike; and as NETLINK_ROUTE dumps report
 * it: getifaddrs (lo's link, 127.0.0.1/8 and ::1) and if_nameindex (1, lo). Other interfaces of the host
 * are not printed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void query(int s, const char *kind) {
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    int ok = ioctl(s, SIOCGIFINDEX, &r) == 0;
    printf("%s index %s %d\n", kind, ok ? "ok" : "fail", r.ifr_ifindex);
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    ioctl(s, SIOCGIFFLAGS, &r);
    printf("%s flags up %d loopback %d running %d\n", kind, !!(r.ifr_flags & IFF_UP), !!(r.ifr_flags & IFF_LOOPBACK), !!(r.ifr_flags & IFF_RUNNING));
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = 1;
    ok = ioctl(s, SIOCGIFNAME, &r) == 0;
    printf("%s name %s %s\n", kind, ok ? "ok" : "fail", r.ifr_name);
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "nosuch0");
    errno = 0;
    ioctl(s, SIOCGIFINDEX, &r);
    printf("%s unknown %s\n", kind, errno == ENODEV ? "ENODEV" : "other");
}

int main(void) {
    printf("if_nametoindex lo %u\n", if_nametoindex("lo"));
    char name[IF_NAMESIZE];
    printf("if_indextoname 1 %s\n", if_indextoname(1, name) ? name : "null");
    printf("if_nametoindex bogus %u\n", if_nametoindex("bogus9"));

    int s = socket(AF_INET, SOCK_DGRAM, 0);
    query(s, "inet");
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    query(u, "unix");

    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    ioctl(s, SIOCGIFADDR, &r);
    printf("addr %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_addr)->sin_addr));
    ioctl(s, SIOCGIFNETMASK, &r);
    printf("netmask %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr));
    ioctl(s, SIOCGIFMTU, &r);
    printf("mtu %d\n", r.ifr_mtu);

    struct ifconf c = {0};
    ioctl(s, SIOCGIFCONF, &c);
    printf("ifconf size multiple %s\n", c.ifc_len > 0 && c.ifc_len % (int)sizeof(struct ifreq) == 0 ? "yes" : "no");
    struct ifreq reqs[16];
    c.ifc_len = sizeof reqs;
    c.ifc_req = reqs;
    ioctl(s, SIOCGIFCONF, &c);
    int found = 0;
    for (int i = 0; i < c.ifc_len / (int)sizeof(struct ifreq); i++)
        if (strcmp(reqs[i].ifr_name, "lo") == 0 && ((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK)) found = 1;
    printf("ifconf lo %s\n", found ? "yes" : "no");

    struct ifaddrs *ifa;
    printf("getifaddrs %s\n", getifaddrs(&ifa) == 0 ? "ok" : "fail");
    int packet = 0, inet = 0, inet6 = 0;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo") != 0 || !i->ifa_addr) continue;
        char txt[64];
        if (i->ifa_addr->sa_family == AF_PACKET) packet++;
        if (i->ifa_addr->sa_family == AF_INET) {
            inet++;
            printf("lo inet %s", inet_ntoa(((struct sockaddr_in *)i->ifa_addr)->sin_addr));
            printf(" mask %s flags up %d loopback %d\n", inet_ntoa(((struct sockaddr_in *)i->ifa_netmask)->sin_addr), !!(i->ifa_flags & IFF_UP), !!(i->ifa_flags & IFF_LOOPBACK));
        }
        if (i->ifa_addr->sa_family == AF_INET6) {
            inet6++;
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, txt, sizeof txt);
            printf("lo inet6 %s\n", txt);
        }
    }
    printf("lo entries: packet %d inet %d inet6 %d\n", packet, inet, inet6);
    freeifaddrs(ifa);
    struct if_nameindex *ni = if_nameindex();
    int lo = 0;
    for (struct if_nameindex *p = ni; p && p->if_index; p++)
        if (p->if_index == 1 && strcmp(p->if_name, "lo") == 0) lo = 1;
    printf("if_nameindex lo %s\n", lo ? "yes" : "no");
    if (ni) if_freenameindex(ni);
    return 0;
}
