/* Generic netlink (NETLINK_GENERIC) as stress-ng's netlink-task and iotop use it: CTRL_CMD_GETFAMILY for
 * TASKSTATS by name and by id (attributes, ops and their flags), ENOENT for unknown names and family ids,
 * EINVAL without a name or id, NLM_F_ACK, TASKSTATS_CMD_GET by pid (the process itself and a child: pid,
 * comm, ids, parent, start time, memory) and by tgid, ESRCH for a reaped child, EINVAL without attributes,
 * EPERM for uid 65534, CGROUPSTATS_CMD_GET's EINVAL/EBADF. Errors echo the whole request. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <linux/cgroupstats.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct msg {
    struct nlmsghdr n;
    struct genlmsghdr g;
    char data[4096];
};

static int sock;
static unsigned seqno;

static int request(unsigned short type, unsigned short flags, unsigned char cmd, unsigned short atype, const void *d, int dl) {
    struct msg m;
    memset(&m, 0, sizeof m);
    m.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
    m.n.nlmsg_type = type;
    m.n.nlmsg_flags = NLM_F_REQUEST | flags;
    m.n.nlmsg_seq = ++seqno;
    m.n.nlmsg_pid = getpid();
    m.g.cmd = cmd;
    m.g.version = 1;
    if (d) {
        struct nlattr *na = (struct nlattr *)m.data;
        na->nla_type = atype;
        na->nla_len = NLA_HDRLEN + dl;
        memcpy((char *)na + NLA_HDRLEN, d, dl);
        m.n.nlmsg_len += NLA_ALIGN(na->nla_len);
    }
    struct sockaddr_nl a = { .nl_family = AF_NETLINK };
    return sendto(sock, &m, m.n.nlmsg_len, 0, (struct sockaddr *)&a, sizeof a);
}

/* Receives one datagram and prints its header; returns the error of an NLMSG_ERROR, 1 otherwise. */
static int receive(struct msg *m, const char *what) {
    int n = recv(sock, m, sizeof *m, 0);
    printf("%s: datagram %d type %s flags %#x seq %s port %s", what, n,
           m->n.nlmsg_type == NLMSG_ERROR ? "ERROR" : m->n.nlmsg_type == GENL_ID_CTRL ? "nlctrl" : "family",
           m->n.nlmsg_flags, m->n.nlmsg_seq == seqno ? "ok" : "other", m->n.nlmsg_pid == (unsigned)getpid() ? "pid" : "other");
    if (m->n.nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(&m->n);
        printf(" error %s echo %s\n", e->error == 0 ? "0" : strerrorname_np(-e->error), e->msg.nlmsg_seq == seqno ? "ok" : "bad");
        return e->error;
    }
    printf(" cmd %u version %u\n", m->g.cmd, m->g.version);
    return 1;
}

static struct nlattr *attr(struct msg *m, int type) {
    int len = m->n.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
    for (struct nlattr *na = (struct nlattr *)m->data; len >= NLA_HDRLEN; ) {
        if (na->nla_type == type) return na;
        len -= NLA_ALIGN(na->nla_len);
        na = (struct nlattr *)((char *)na + NLA_ALIGN(na->nla_len));
    }
    return NULL;
}

static unsigned u32(struct nlattr *na) { return *(unsigned *)((char *)na + NLA_HDRLEN); }

static void show_stats(struct msg *m, int agg_type, int id_type, int id, const char *comm) {
    struct nlattr *agg = attr(m, agg_type);
    if (!agg) { printf("  no aggregate attribute\n"); return; }
    struct nlattr *ida = (struct nlattr *)((char *)agg + NLA_HDRLEN);
    struct nlattr *st = (struct nlattr *)((char *)ida + NLA_ALIGN(ida->nla_len));
    struct taskstats *t = (struct taskstats *)((char *)st + NLA_HDRLEN);
    printf("  id attr %u is %s; stats attr %u, at least v13: %s, version >= 13: %s\n", ida->nla_type, u32(ida) == (unsigned)id ? "id" : "other",
           st->nla_type, st->nla_len >= NLA_HDRLEN + sizeof(struct taskstats) ? "yes" : "no", t->version >= 13 ? "yes" : "no");
    if (agg_type == TASKSTATS_TYPE_AGGR_TGID) {
        printf("  tgid stats: ac_pid %u comm '%s' uid %u\n", t->ac_pid, t->ac_comm, t->ac_uid);
        return;
    }
    time_t now = time(NULL);
    printf("  ac_pid %s comm %s uid %u gid %u ppid %s tgid %s btime recent %s exitcode %u\n",
           t->ac_pid == (unsigned)id ? "ok" : "bad", strcmp(t->ac_comm, comm) == 0 ? "ok" : t->ac_comm, t->ac_uid, t->ac_gid,
           t->ac_ppid == (unsigned)(id == getpid() ? getppid() : getpid()) ? "ok" : "bad", t->ac_tgid == (unsigned)id ? "ok" : "bad",
           t->ac_btime <= (unsigned)now && t->ac_btime + 3600 > (unsigned)now ? "yes" : "no", t->ac_exitcode);
    if (id == getpid())
        printf("  hiwater_rss>0 %s hiwater_vm>=rss %s\n", t->hiwater_rss > 0 ? "yes" : "no", t->hiwater_vm >= t->hiwater_rss ? "yes" : "no");
}

int main(int argc, char **argv) {
    (void)argc;
    const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    char comm[16];
    snprintf(comm, sizeof comm, "%.15s", self);
    sock = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
    printf("socket: %s\n", sock >= 0 ? "ok" : strerrorname_np(errno));
    int proto = 0;
    socklen_t pl = sizeof proto;
    getsockopt(sock, SOL_SOCKET, SO_PROTOCOL, &proto, &pl);
    printf("SO_PROTOCOL: %d\n", proto);
    struct sockaddr_nl a = { .nl_family = AF_NETLINK };
    printf("bind: %d\n", bind(sock, (struct sockaddr *)&a, sizeof a));

    struct msg m;
    request(GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, "TASKSTATS", 10);
    receive(&m, "getfamily TASKSTATS");
    int len = m.n.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
    for (struct nlattr *na = (struct nlattr *)m.data; len >= NLA_HDRLEN; ) {
        printf("  attr %u len %u", na->nla_type, na->nla_len);
        if (na->nla_type == CTRL_ATTR_FAMILY_NAME) printf(" '%s'", (char *)na + NLA_HDRLEN);
        if (na->nla_type == CTRL_ATTR_FAMILY_ID) printf(" %s", *(unsigned short *)((char *)na + NLA_HDRLEN) > GENL_ID_CTRL ? "dynamic" : "fixed");
        if (na->nla_type >= CTRL_ATTR_VERSION && na->nla_type <= CTRL_ATTR_MAXATTR) printf(" %u", u32(na));
        if (na->nla_type == CTRL_ATTR_OPS) {
            int ol = na->nla_len - NLA_HDRLEN;
            for (struct nlattr *op = (struct nlattr *)((char *)na + NLA_HDRLEN); ol >= NLA_HDRLEN; ) {
                struct nlattr *opid = (struct nlattr *)((char *)op + NLA_HDRLEN);
                struct nlattr *opfl = (struct nlattr *)((char *)opid + NLA_ALIGN(opid->nla_len));
                printf(" [op %u flags %#x]", u32(opid), u32(opfl));
                ol -= NLA_ALIGN(op->nla_len);
                op = (struct nlattr *)((char *)op + NLA_ALIGN(op->nla_len));
            }
        }
        printf("\n");
        len -= NLA_ALIGN(na->nla_len);
        na = (struct nlattr *)((char *)na + NLA_ALIGN(na->nla_len));
    }
    unsigned short id = *(unsigned short *)((char *)attr(&m, CTRL_ATTR_FAMILY_ID) + NLA_HDRLEN);

    request(GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, &id, 2);
    receive(&m, "getfamily by id");
    printf("  name '%s'\n", (char *)attr(&m, CTRL_ATTR_FAMILY_NAME) + NLA_HDRLEN);
    request(GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, "NO_SUCH_FAMILY", 15);
    receive(&m, "getfamily unknown");
    printf("  error datagram echoes the request: %s\n", m.n.nlmsg_len == NLMSG_HDRLEN + 4 + NLMSG_LENGTH(GENL_HDRLEN) + NLA_ALIGN(NLA_HDRLEN + 15) ? "yes" : "no");
    request(GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, 0, NULL, 0);
    receive(&m, "getfamily without attributes");
    unsigned short bad = 0x7777;
    request(GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, &bad, 2);
    receive(&m, "getfamily unknown id");
    request(0x7777, 0, 1, 0, NULL, 0);
    receive(&m, "unknown family");
    request(GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, "TASKSTATS", 10);
    receive(&m, "getfamily with ack");
    receive(&m, "  the ack");

    int pid = getpid();
    request(id, 0, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_PID, &pid, 4);
    if (receive(&m, "taskstats pid self") == 1) show_stats(&m, TASKSTATS_TYPE_AGGR_PID, TASKSTATS_TYPE_PID, pid, comm);
    request(id, 0, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_TGID, &pid, 4);
    if (receive(&m, "taskstats tgid self") == 1) show_stats(&m, TASKSTATS_TYPE_AGGR_TGID, TASKSTATS_TYPE_TGID, pid, comm);

    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        char c;
        read(p[0], &c, 1);
        _exit(0);
    }
    request(id, 0, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_PID, &kid, 4);
    if (receive(&m, "taskstats pid child") == 1) show_stats(&m, TASKSTATS_TYPE_AGGR_PID, TASKSTATS_TYPE_PID, kid, comm);
    write(p[1], "x", 1);
    waitpid(kid, NULL, 0);
    request(id, 0, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_PID, &kid, 4);
    receive(&m, "taskstats reaped child");
    request(id, 0, TASKSTATS_CMD_GET, 0, NULL, 0);
    receive(&m, "taskstats without attributes");
    request(id, 0, 9, 0, NULL, 0);
    receive(&m, "taskstats unknown command");
    request(id, 0, CGROUPSTATS_CMD_GET, 0, NULL, 0);
    receive(&m, "cgroupstats without fd");
    int badfd = 99;
    request(id, NLM_F_ACK, CGROUPSTATS_CMD_GET, CGROUPSTATS_CMD_ATTR_FD, &badfd, 4);
    receive(&m, "cgroupstats bad fd (no answer, only the ack)");
    int root = open("/", O_RDONLY | O_DIRECTORY);
    request(id, 0, CGROUPSTATS_CMD_GET, CGROUPSTATS_CMD_ATTR_FD, &root, 4);
    receive(&m, "cgroupstats not a cgroup");

    fflush(stdout);
    kid = fork();
    if (kid == 0) {
        setuid(65534);
        request(id, 0, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_PID, &pid, 4);
        receive(&m, "uid 65534 taskstats");
        request(GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, "TASKSTATS", 10);
        receive(&m, "uid 65534 getfamily");
        fflush(stdout);
        _exit(0);
    }
    waitpid(kid, NULL, 0);
    printf("route protocol still: %s\n", socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) >= 0 ? "ok" : "fails");
    printf("other protocol: %s\n", socket(AF_NETLINK, SOCK_RAW, 31) >= 0 ? "ok" : strerrorname_np(errno));
    return 0;
}
