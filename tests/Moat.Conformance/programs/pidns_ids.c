/* Process ids that cross a pid namespace are shown in the reader's namespace, 0 where the process cannot be
 * seen: SysV IPC (shm_cpid/shm_lpid, GETPID's sempid, msg_lspid/msg_lrpid), F_GETLK's l_pid, mq_notify's
 * si_pid, SCM_CREDENTIALS, and PTRACE_GETEVENTMSG of a fork inside a namespace. setns(CLONE_NEWPID) on a
 * /proc/PID/ns/pid fd: the caller's next children are born in that namespace (pid_for_children), an
 * ancestor's namespace or another kind is EINVAL, and uid 65534 gets EPERM. Runs as root (CAP_SYS_ADMIN). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/ptrace.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int shmid, semid, msqid, lockfd, sv[2], to_child[2], to_parent[2], outer_ns;
static mqd_t mq_in, mq_out;
static char lockpath[64], mq_in_name[64], mq_out_name[64];

struct msgbuf1 { long type; char text[8]; };

static const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static void wait_byte(int fd) { char c; while (read(fd, &c, 1) < 0 && errno == EINTR) {} }
static void send_byte(int fd) { write(fd, "x", 1); }

static pid_t lock_holder(off_t start) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = 10};
    fcntl(lockfd, F_GETLK, &fl);
    return fl.l_type == F_UNLCK ? -1 : fl.l_pid;
}

static int scm_pid(void) {
    char data[16], ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    if (recvmsg(sv[0], &m, 0) < 0)
        return -2;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_CREDENTIALS)
        return -3;
    struct ucred u;
    memcpy(&u, CMSG_DATA(c), sizeof u);
    return u.pid;
}

/* NOTIFY_PID of a queue descriptor's read(2): the registered process in the reader's namespace. */
static int notify_pid(mqd_t q) {
    char line[128] = "";
    ssize_t n = pread(q, line, sizeof line - 1, 0);
    line[n > 0 ? n : 0] = 0;
    char *p = strstr(line, "NOTIFY_PID:");
    return p ? atoi(p + 11) : -1;
}

static volatile int notified_pid = -1;
static void on_notify(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; notified_pid = si->si_pid; }

/* The ptrace event message of a fork, inside the new namespace: the grandchild's id there. */
static void traced_fork(void) {
    pid_t t = fork();
    if (t == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        pid_t g = fork();
        if (g == 0)
            _exit(0);
        waitpid(g, NULL, 0);
        _exit(0);
    }
    int st;
    waitpid(t, &st, 0);
    ptrace(PTRACE_SETOPTIONS, t, 0, PTRACE_O_TRACEFORK);
    ptrace(PTRACE_CONT, t, 0, 0);
    waitpid(t, &st, 0);
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, t, 0, &msg);
    printf("inside: tracee %d, fork event %d, message %lu\n", t, (st >> 16) == PTRACE_EVENT_FORK, msg);
    ptrace(PTRACE_CONT, t, 0, 0);
    waitpid(msg, &st, __WALL); /* the grandchild's auto-attach stop */
    ptrace(PTRACE_CONT, msg, 0, 0);
    while (waitpid(-1, &st, __WALL) > 0) {
        if (WIFSTOPPED(st))
            ptrace(PTRACE_CONT, t, 0, 0);
    }
}

static int inside(void) {
    struct shmid_ds ds;
    struct msqid_ds mds;
    printf("inside: pid %d\n", getpid());
    shmctl(shmid, IPC_STAT, &ds);
    printf("inside: shm_cpid %d shm_lpid %d\n", ds.shm_cpid, ds.shm_lpid);
    shmdt(shmat(shmid, NULL, 0));
    shmctl(shmid, IPC_STAT, &ds);
    printf("inside after shmat: shm_cpid %d shm_lpid %d\n", ds.shm_cpid, ds.shm_lpid);
    printf("inside: sempid %d\n", semctl(semid, 0, GETPID));
    struct sembuf op = {0, 1, 0};
    semop(semid, &op, 1);
    printf("inside after semop: sempid %d\n", semctl(semid, 0, GETPID));
    msgctl(msqid, IPC_STAT, &mds);
    printf("inside: msg_lspid %d msg_lrpid %d\n", mds.msg_lspid, mds.msg_lrpid);
    struct msgbuf1 mb;
    msgrcv(msqid, &mb, sizeof mb.text, 0, 0);
    mb.type = 1;
    msgsnd(msqid, &mb, sizeof mb.text, 0);
    msgctl(msqid, IPC_STAT, &mds);
    printf("inside after msgrcv and msgsnd: msg_lspid %d msg_lrpid %d\n", mds.msg_lspid, mds.msg_lrpid);
    printf("inside: lock holder %d\n", lock_holder(0));
    printf("inside: SCM_CREDENTIALS pid %d\n", scm_pid());
    send(sv[1], "up", 2, 0);

    /* mq_notify: the parent's send is named by its pid here, 0. */
    struct sigaction sa = {.sa_sigaction = on_notify, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    printf("inside: mq_notify %s\n", err(mq_notify(mq_out, &sev)));
    printf("inside: NOTIFY_PID %d\n", notify_pid(mq_out));

    /* Hold a lock for the parent to see, then let it send. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 10};
    fcntl(lockfd, F_SETLK, &fl);
    send_byte(to_parent[1]);
    wait_byte(to_child[0]);
    while (notified_pid < 0)
        pause();
    printf("inside: notified by pid %d\n", notified_pid);
    mq_send(mq_in, "c", 1, 0);
    wait_byte(to_child[0]);

    traced_fork();

    /* setns to an ancestor's namespace: EINVAL. */
    printf("inside: setns to the parent's namespace %s\n", err(setns(outer_ns, CLONE_NEWPID)));
    send_byte(to_parent[1]);
    wait_byte(to_child[0]); /* the parent's children join us meanwhile */
    return 0;
}

static int report_child(pid_t kid, const char *what) {
    int st;
    waitpid(kid, &st, 0);
    if (!WIFEXITED(st))
        printf("%s: not exited\n", what);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(lockpath, sizeof lockpath, "/tmp/pidns_ids.%d", getpid());
    snprintf(mq_in_name, sizeof mq_in_name, "/pidns_ids_in.%d", getpid());
    snprintf(mq_out_name, sizeof mq_out_name, "/pidns_ids_out.%d", getpid());
    lockfd = open(lockpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink(lockpath);
    ftruncate(lockfd, 100);
    shmid = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    semid = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 8};
    mq_in = mq_open(mq_in_name, O_RDWR | O_CREAT, 0600, &attr);
    mq_out = mq_open(mq_out_name, O_RDWR | O_CREAT, 0600, &attr);
    mq_unlink(mq_in_name);
    mq_unlink(mq_out_name);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int on = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    pipe(to_child);
    pipe(to_parent);
    outer_ns = open("/proc/self/ns/pid", O_RDONLY);

    shmdt(shmat(shmid, NULL, 0));
    struct sembuf op = {0, 1, 0};
    semop(semid, &op, 1);
    struct msgbuf1 mb = {1, "hello"};
    msgsnd(msqid, &mb, sizeof mb.text, 0);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    fcntl(lockfd, F_SETLK, &fl);
    send(sv[1], "hi", 2, 0);

    /* The parent's mq_notify: the child's send names the child by its pid here. */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    mq_notify(mq_in, &sev);

    pid_t kid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (kid < 0) {
        printf("clone: %s\n", strerrorname_np(errno));
        return 1;
    }
    if (kid == 0)
        _exit(inside());

    wait_byte(to_parent[0]);
    struct shmid_ds ds;
    shmctl(shmid, IPC_STAT, &ds);
    printf("outside: shm_cpid is me %d, shm_lpid is the child %d\n", ds.shm_cpid == getpid(), ds.shm_lpid == kid);
    printf("outside: sempid is the child %d\n", semctl(semid, 0, GETPID) == kid);
    struct msqid_ds mds;
    msgctl(msqid, IPC_STAT, &mds);
    printf("outside: msg_lspid and msg_lrpid are the child %d %d\n", mds.msg_lspid == kid, mds.msg_lrpid == kid);
    printf("outside: lock holder is the child %d\n", lock_holder(20) == kid);
    printf("outside: SCM_CREDENTIALS pid is the child %d\n", scm_pid() == kid);
    printf("outside: NOTIFY_PID is the child %d\n", notify_pid(mq_out) == kid);
    mq_send(mq_out, "p", 1, 0);
    send_byte(to_child[1]);
    siginfo_t si;
    sigwaitinfo(&usr2, &si);
    printf("outside: notified by the child %d\n", si.si_pid == kid);
    send_byte(to_child[1]);

    wait_byte(to_parent[0]);
    /* setns: this process's next children are born in the child's namespace. */
    char path[64], mine[64] = "", theirs[64] = "";
    snprintf(path, sizeof path, "/proc/%d/ns/pid", kid);
    int ns = open(path, O_RDONLY);
    readlink(path, theirs, sizeof theirs - 1);
    printf("setns other kind: %s\n", err(setns(ns, CLONE_NEWNET)));
    printf("setns bad fd: %s\n", err(setns(99, CLONE_NEWPID)));
    printf("setns a plain file: %s\n", err(setns(lockfd, 0)));
    pid_t u = fork();
    if (u == 0) {
        setuid(65534);
        printf("uid 65534 setns: %s\n", err(setns(ns, CLONE_NEWPID)));
        _exit(0);
    }
    report_child(u, "uid 65534");
    printf("setns: %s\n", err(setns(ns, CLONE_NEWPID)));
    readlink("/proc/self/ns/pid_for_children", mine, sizeof mine - 1);
    printf("pid_for_children is the child's: %d\n", strcmp(mine, theirs) == 0);
    printf("my own pid unchanged: %d\n", (int)syscall(SYS_getpid) == getpid());
    pid_t x = fork();
    if (x == 0) {
        printf("joined: pid %d ppid %d\n", getpid(), getppid());
        _exit(0);
    }
    report_child(x, "joined");
    printf("setns again with nstype 0: %s\n", err(setns(ns, 0)));
    printf("setns back to my own: %s\n", err(setns(outer_ns, CLONE_NEWPID)));
    pid_t me = getpid();
    x = fork();
    if (x == 0)
        _exit(getppid() == me ? 7 : 8);
    printf("back home: child exit %d\n", report_child(x, "home"));
    send_byte(to_child[1]);
    printf("child: exit %d\n", report_child(kid, "child"));
    shmctl(shmid, IPC_RMID, NULL);
    semctl(semid, 0, IPC_RMID);
    msgctl(msqid, IPC_RMID, NULL);
    return 0;
}
