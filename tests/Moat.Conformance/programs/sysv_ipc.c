/* SysV IPC: shm segments (errors, attach/detach, nattch across fork and exit, SHM_RDONLY, fixed addresses,
 * SHM_RND, SHM_REMAP, IPC_RMID while attached), semaphores (errors, atomic semop, IPC_NOWAIT, timeouts, ERANGE,
 * GETVAL/SETVAL/GETALL/SETALL/GETPID/GETNCNT/GETZCNT, a blocked semop woken by another process, EINTR, EIDRM,
 * SEM_UNDO at exit), message queues (type selection, MSG_EXCEPT, MSG_NOERROR, E2BIG, MSG_COPY, msg_qbytes and
 * a blocked sender), and EACCES/EPERM for an unprivileged user. Uses IPC_PRIVATE or keys made from the pid, and
 * removes everything it made. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static const char *ename(int e) {
    switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EIDRM: return "EIDRM";
    case EINTR: return "EINTR";
    case E2BIG: return "E2BIG";
    case ERANGE: return "ERANGE";
    case EFBIG: return "EFBIG";
    case ENOMSG: return "ENOMSG";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

#define ERR(label, expr) do { errno = 0; long r_ = (long)(expr); printf("%s: %s\n", label, r_ < 0 ? ename(errno) : "ok"); } while (0)

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int wait_child(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static unsigned long nattch(int id) {
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) < 0) return 999;
    return ds.shm_nattch;
}

static void test_shm(void) {
    int key = 0x4d000000 | (getpid() & 0xffffff);
    ERR("shmget size 0", shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
    ERR("shmget absent key", shmget(key, 4096, 0600));
    int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0640);
    printf("shmget create: %s\n", id >= 0 ? "ok" : ename(errno));
    ERR("shmget excl again", shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600));
    printf("shmget same key same id: %d\n", shmget(key, 5000, 0600) == id);
    ERR("shmget larger", shmget(key, 20000, 0600));
    printf("shmget size 0 existing same id: %d\n", shmget(key, 0, 0) == id);

    struct shmid_ds ds;
    ERR("IPC_STAT", shmctl(id, IPC_STAT, &ds));
    printf("segsz %lu nattch %lu mode %o cpid self %d lpid %d atime %d key ok %d\n", (unsigned long)ds.shm_segsz,
           (unsigned long)ds.shm_nattch, ds.shm_perm.mode, ds.shm_cpid == getpid(), ds.shm_lpid, ds.shm_atime == 0,
           ds.shm_perm.__key == key);
    printf("uid %u gid %u cuid %u cgid %u\n", ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.cuid, ds.shm_perm.cgid);

    ERR("shmat bad id", shmat(id + 1, NULL, 0) == (void *)-1 ? -1 : 0);
    ERR("shmat negative id", shmat(-1, NULL, 0) == (void *)-1 ? -1 : 0);
    ERR("shmctl bad cmd", shmctl(id, 99, &ds));
    ERR("shmctl negative id", shmctl(-1, IPC_STAT, &ds));
    ERR("shmctl IPC_STAT EFAULT", shmctl(id, IPC_STAT, (struct shmid_ds *)8));
    ERR("shmdt nothing", shmdt((void *)0x10000));
    ERR("shmdt unaligned", shmdt((void *)0x10001));

    char *p = shmat(id, NULL, 0);
    printf("shmat: %s\n", p == (void *)-1 ? ename(errno) : "ok");
    shmctl(id, IPC_STAT, &ds);
    printf("after shmat nattch %lu lpid self %d atime set %d\n", (unsigned long)ds.shm_nattch, ds.shm_lpid == getpid(),
           ds.shm_atime != 0);
    printf("zero filled %d\n", p[0] == 0 && p[9999] == 0 && p[12287] == 0);
    strcpy(p, "parent");

    pid_t c = fork();
    if (c == 0) {
        int ok = strcmp(p, "parent") == 0 && nattch(id) == 2;
        strcpy(p + 100, "child");
        _exit(ok ? 0 : 1);
    }
    printf("fork child saw segment: %d\n", wait_child(c));
    shmctl(id, IPC_STAT, &ds);
    printf("lpid is the child that exited: %d\n", ds.shm_lpid == c);
    printf("after child exit nattch %lu, child wrote: %s\n", nattch(id), p + 100);

    /* A second attachment, read-only. */
    char *q = shmat(id, NULL, SHM_RDONLY);
    printf("shmat rdonly: %s, sees data %d, nattch %lu\n", q == (void *)-1 ? ename(errno) : "ok",
           q != (void *)-1 && strcmp(q + 100, "child") == 0, nattch(id));
    ERR("mprotect rdonly attachment writable", mprotect(q, 4096, PROT_READ | PROT_WRITE));
    ERR("shmdt rdonly", shmdt(q));
    shmctl(id, IPC_STAT, &ds);
    printf("lpid self after shmdt %d dtime set %d\n", ds.shm_lpid == getpid(), ds.shm_dtime != 0);
    printf("nattch %lu\n", nattch(id));

    /* Fixed addresses. */
    char *hole = mmap(NULL, 8 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, 8 * 4096);
    ERR("shmat unaligned", shmat(id, hole + 1, 0) == (void *)-1 ? -1 : 0);
    char *f = shmat(id, hole + 1, SHM_RND);
    printf("shmat SHM_RND at hole: %d\n", f == hole);
    ERR("shmat overlapping", shmat(id, hole, 0) == (void *)-1 ? -1 : 0);
    ERR("SHM_REMAP without address", shmat(id, NULL, SHM_REMAP) == (void *)-1 ? -1 : 0);
    char *g = shmat(id, hole, SHM_REMAP);
    printf("shmat SHM_REMAP: %d data %d nattch %lu\n", g == hole, g == hole && strcmp(g, "parent") == 0, nattch(id));
    ERR("shmdt SHM_REMAP one", shmdt(g));
    ERR("shmdt again", shmdt(g));
    printf("nattch %lu\n", nattch(id));

    /* A split attachment counts twice, as Linux counts VMAs. */
    char *s = shmat(id, NULL, 0);
    mprotect(s, 4096, PROT_READ);
    printf("split nattch %lu\n", nattch(id));
    ERR("shmdt split", shmdt(s));
    printf("nattch %lu\n", nattch(id));

    /* IPC_RMID while attached: the segment lives on, without its key, until the last detach. */
    ERR("IPC_RMID attached", shmctl(id, IPC_RMID, NULL));
    shmctl(id, IPC_STAT, &ds);
    printf("after RMID mode %o key %d nattch %lu\n", ds.shm_perm.mode, ds.shm_perm.__key, (unsigned long)ds.shm_nattch);
    ERR("shmget key after RMID", shmget(key, 4096, 0600));
    printf("still readable %d\n", strcmp(p, "parent") == 0);
    ERR("shmdt last", shmdt(p));
    ERR("IPC_STAT after destroy", shmctl(id, IPC_STAT, &ds));

    /* A segment attached by a child that exits, then removed: destroyed when the child's mapping goes. */
    id = shmget(IPC_PRIVATE, 4096, 0600);
    c = fork();
    if (c == 0) {
        char *cp = shmat(id, NULL, 0);
        cp[0] = 'x';
        shmctl(id, IPC_RMID, NULL);
        _exit(nattch(id) == 1 ? 0 : 1);
    }
    printf("child attached and removed: %d\n", wait_child(c));
    ERR("IPC_STAT after child exit", shmctl(id, IPC_STAT, &ds));

    /* An attachment inherited by fork and dropped by exec-less exit, segment removed while the child holds it. */
    id = shmget(IPC_PRIVATE, 4096, 0600);
    p = shmat(id, NULL, 0);
    int pfd[2];
    pipe(pfd);
    c = fork();
    if (c == 0) {
        char b;
        close(pfd[1]);
        read(pfd[0], &b, 1);
        _exit(p[0] == 'y' ? 0 : 1);
    }
    close(pfd[0]);
    p[0] = 'y';
    printf("inherited nattch %lu\n", nattch(id));
    shmdt(p);
    shmctl(id, IPC_RMID, NULL);
    printf("child holds removed segment, nattch %lu\n", nattch(id));
    write(pfd[1], "g", 1);
    close(pfd[1]);
    printf("child read it: %d\n", wait_child(c));
    ERR("IPC_STAT after last holder exit", shmctl(id, IPC_STAT, &ds));

    struct shminfo info;
    int maxidx = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
    printf("IPC_INFO: %s shmmin %lu shmmni %lu\n", maxidx >= 0 ? "ok" : ename(errno), info.shmmin, info.shmmni);
    struct shm_info usage;
    printf("SHM_INFO: %s\n", shmctl(0, SHM_INFO, (struct shmid_ds *)&usage) >= 0 ? "ok" : ename(errno));
}

static int semval(int id, int n) { return semctl(id, n, GETVAL); }

static void on_usr1(int sig) { (void)sig; }

static void test_sem(void) {
    ERR("semget nsems 0", semget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
    ERR("semget nsems -1", semget(IPC_PRIVATE, -1, IPC_CREAT | 0600));
    ERR("semget nsems 32001", semget(IPC_PRIVATE, 32001, IPC_CREAT | 0600));
    int key = 0x53000000 | (getpid() & 0xffffff);
    int id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
    printf("semget: %s\n", id >= 0 ? "ok" : ename(errno));
    ERR("semget more sems", semget(key, 4, 0600));
    printf("semget fewer same id: %d\n", semget(key, 2, 0600) == id);

    struct semid_ds ds;
    union semun arg = {.buf = &ds};
    ERR("IPC_STAT", semctl(id, 0, IPC_STAT, arg));
    printf("nsems %lu mode %o otime %ld\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode, (long)ds.sem_otime);

    struct sembuf op = {0, 1, 0};
    ERR("semop nsops 0", semop(id, &op, 0));
    ERR("semop nsops 501", semop(id, &op, 501));
    ERR("semop negative id", semop(-1, &op, 1));
    ERR("semop bad id", semop(id + 1, &op, 1));
    ERR("semop EFAULT", semop(id, (struct sembuf *)8, 1));
    struct sembuf big = {3, 1, 0};
    ERR("semop sem_num 3", semop(id, &big, 1));
    ERR("SETVAL -1", semctl(id, 0, SETVAL, (union semun){.val = -1}));
    ERR("SETVAL 32768", semctl(id, 0, SETVAL, (union semun){.val = 32768}));
    ERR("SETVAL semnum 5", semctl(id, 5, SETVAL, (union semun){.val = 1}));
    ERR("GETVAL semnum 3", semctl(id, 3, GETVAL));
    ERR("semctl bad cmd", semctl(id, 0, 99));
    ERR("SETVAL 32767", semctl(id, 0, SETVAL, (union semun){.val = 32767}));
    ERR("semop over SEMVMX", semop(id, &op, 1));
    semctl(id, 0, SETVAL, (union semun){.val = 0});

    unsigned short all[3] = {1, 2, 3};
    ERR("SETALL", semctl(id, 0, SETALL, (union semun){.array = all}));
    memset(all, 0, sizeof all);
    ERR("GETALL", semctl(id, 0, GETALL, (union semun){.array = all}));
    printf("values %d %d %d\n", all[0], all[1], all[2]);
    unsigned short bad[3] = {1, 40000, 3};
    ERR("SETALL 40000", semctl(id, 0, SETALL, (union semun){.array = bad}));
    ERR("GETALL EFAULT", semctl(id, 0, GETALL, (union semun){.array = (unsigned short *)8}));

    /* All or nothing. */
    struct sembuf two[2] = {{0, -1, 0}, {1, -5, IPC_NOWAIT}};
    ERR("semop partly blocking NOWAIT", semop(id, two, 2));
    printf("values %d %d\n", semval(id, 0), semval(id, 1));
    struct sembuf same[2] = {{2, -2, 0}, {2, -1, 0}};
    ERR("semop same sem twice", semop(id, same, 2));
    printf("sem2 %d pid self %d\n", semval(id, 2), semctl(id, 2, GETPID) == getpid());
    struct sembuf zero = {2, 0, 0};
    ERR("wait for zero", semop(id, &zero, 1));
    struct sembuf dec = {2, -1, IPC_NOWAIT};
    ERR("NOWAIT decrement of 0", semop(id, &dec, 1));
    dec.sem_flg = 0;
    struct timespec ts = {0, 20 * 1000000};
    ERR("semtimedop timeout", semtimedop(id, &dec, 1, &ts));
    struct timespec badts = {0, 1000000000};
    ERR("semtimedop bad timeout", semtimedop(id, &dec, 1, &badts));
    ERR("semtimedop timeout EFAULT", semtimedop(id, &dec, 1, (struct timespec *)8));
    ERR("semtimedop zero timeout", semtimedop(id, &dec, 1, &(struct timespec){0, 0}));
    semctl(id, 0, IPC_STAT, arg);
    printf("otime set %d\n", ds.sem_otime != 0);

    /* A blocked semop woken by another process. */
    semctl(id, 0, SETVAL, (union semun){.val = 0});
    pid_t c = fork();
    if (c == 0) {
        struct sembuf w = {0, -2, 0};
        int r = semop(id, &w, 1);
        _exit(r == 0 ? 0 : 10 + errno);
    }
    for (int i = 0; i < 500 && semctl(id, 0, GETNCNT) != 1; i++) sleep_ms(5);
    printf("GETNCNT %d GETZCNT %d\n", semctl(id, 0, GETNCNT), semctl(id, 0, GETZCNT));
    struct sembuf one = {0, 1, 0};
    semop(id, &one, 1);
    sleep_ms(20);
    printf("after +1 value %d ncnt %d\n", semval(id, 0), semctl(id, 0, GETNCNT));
    semop(id, &one, 1);
    int st = wait_child(c);
    printf("woken child: %d, value %d, pid is child %d\n", st, semval(id, 0), semctl(id, 0, GETPID) == c);

    /* Waiting for zero. */
    semctl(id, 1, SETVAL, (union semun){.val = 1});
    c = fork();
    if (c == 0) {
        struct sembuf z = {1, 0, 0};
        _exit(semop(id, &z, 1) == 0 ? 0 : 1);
    }
    for (int i = 0; i < 500 && semctl(id, 1, GETZCNT) != 1; i++) sleep_ms(5);
    printf("GETZCNT %d\n", semctl(id, 1, GETZCNT));
    semctl(id, 1, SETVAL, (union semun){.val = 0});
    printf("zero waiter: %d\n", wait_child(c));

    /* A signal interrupts a blocked semop with EINTR. */
    c = fork();
    if (c == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        struct sembuf w = {0, -1, 0};
        int r = semop(id, &w, 1);
        _exit(r < 0 && errno == EINTR ? 0 : 1);
    }
    for (int i = 0; i < 500 && semctl(id, 0, GETNCNT) != 1; i++) sleep_ms(5);
    kill(c, SIGUSR1);
    st = wait_child(c);
    printf("signalled semop EINTR: %d, ncnt %d\n", st, semctl(id, 0, GETNCNT));

    /* SEM_UNDO at exit. */
    semctl(id, 0, SETVAL, (union semun){.val = 3});
    c = fork();
    if (c == 0) {
        struct sembuf u[2] = {{0, -1, SEM_UNDO}, {1, 4, SEM_UNDO}};
        semop(id, u, 2);
        _exit(semval(id, 0) == 2 && semval(id, 1) == 4 ? 0 : 1);
    }
    st = wait_child(c);
    printf("undo child: %d, after exit %d %d\n", st, semval(id, 0), semval(id, 1));
    c = fork();
    if (c == 0) {
        struct sembuf u = {0, 2, SEM_UNDO};
        semop(id, &u, 1);
        semctl(id, 0, SETVAL, (union semun){.val = 1}); /* forgets the adjustment */
        _exit(0);
    }
    wait_child(c);
    printf("SETVAL cleared undo: %d\n", semval(id, 0));
    c = fork();
    if (c == 0) {
        struct sembuf u = {0, 5, SEM_UNDO};
        semop(id, &u, 1);
        semctl(id, 0, SETVAL, (union semun){.val = 2});
        struct sembuf v = {0, 0, SEM_UNDO};
        semop(id, &v, 1); /* waits for zero */
        _exit(0);
    }
    for (int i = 0; i < 500 && semctl(id, 0, GETZCNT) != 1; i++) sleep_ms(5);
    semctl(id, 0, SETVAL, (union semun){.val = 0});
    wait_child(c);
    printf("value %d\n", semval(id, 0));
    c = fork();
    if (c == 0) {
        struct sembuf u = {0, 1, SEM_UNDO};
        semop(id, &u, 1);
        semctl(id, 0, SETVAL, (union semun){.val = 0});
        _exit(0);
    }
    wait_child(c);
    printf("undo clamps at 0: %d\n", semval(id, 0));

    /* IPC_RMID wakes a sleeper with EIDRM. */
    c = fork();
    if (c == 0) {
        struct sembuf w = {0, -1, 0};
        int r = semop(id, &w, 1);
        _exit(r < 0 && errno == EIDRM ? 0 : 1);
    }
    for (int i = 0; i < 500 && semctl(id, 0, GETNCNT) != 1; i++) sleep_ms(5);
    ERR("IPC_RMID", semctl(id, 0, IPC_RMID));
    printf("sleeper got EIDRM: %d\n", wait_child(c));
    ERR("GETVAL after RMID", semctl(id, 0, GETVAL));
    ERR("semop after RMID", semop(id, &one, 1));

    struct seminfo si;
    int r = semctl(0, 0, IPC_INFO, (union semun){.buf = (struct semid_ds *)&si});
    printf("IPC_INFO: %s semmsl %d semopm %d semvmx %d semaem %d\n", r >= 0 ? "ok" : ename(errno), si.semmsl, si.semopm,
           si.semvmx, si.semaem);
}

struct msgbuf_ {
    long mtype;
    char mtext[64];
};

static long snd(int id, long type, const char *text, int flags) {
    struct msgbuf_ m;
    m.mtype = type;
    strcpy(m.mtext, text);
    return msgsnd(id, &m, strlen(text) + 1, flags);
}

static void rcv(const char *label, int id, long type, size_t size, int flags) {
    struct msgbuf_ m;
    memset(&m, 0, sizeof m);
    errno = 0;
    long n = msgrcv(id, &m, size, type, flags);
    if (n < 0)
        printf("%s: %s\n", label, ename(errno));
    else
        printf("%s: %ld bytes type %ld '%.*s'\n", label, n, m.mtype, (int)n, m.mtext);
}

static void test_msg(void) {
    int key = 0x51000000 | (getpid() & 0xffffff);
    ERR("msgget absent", msgget(key, 0600));
    int id = msgget(key, IPC_CREAT | 0600);
    printf("msgget: %s\n", id >= 0 ? "ok" : ename(errno));
    ERR("msgget excl", msgget(key, IPC_CREAT | IPC_EXCL | 0600));
    ERR("msgsnd type 0", snd(id, 0, "x", 0));
    struct msgbuf_ m = {1, "x"};
    ERR("msgsnd 8193 bytes", msgsnd(id, &m, 8193, 0));
    ERR("msgsnd EFAULT", msgsnd(id, (void *)8, 1, 0));
    ERR("msgsnd bad id", msgsnd(id + 1, &m, 1, 0));
    rcv("msgrcv empty NOWAIT", id, 0, 64, IPC_NOWAIT);
    ERR("msgrcv negative size", msgrcv(id, &m, (size_t)-1, 0, IPC_NOWAIT));

    snd(id, 3, "three", 0);
    snd(id, 1, "one-a", 0);
    snd(id, 2, "two", 0);
    snd(id, 1, "one-b", 0);
    snd(id, 5, "five", 0);
    struct msqid_ds ds;
    msgctl(id, IPC_STAT, &ds);
    printf("qnum %lu cbytes %lu qbytes %lu lspid self %d\n", (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
           (unsigned long)ds.msg_qbytes, ds.msg_lspid == getpid());
    rcv("MSG_COPY 2", id, 2, 64, MSG_COPY | IPC_NOWAIT);
    rcv("MSG_COPY 9", id, 9, 64, MSG_COPY | IPC_NOWAIT);
    rcv("MSG_COPY without NOWAIT", id, 0, 64, MSG_COPY);
    rcv("type 0", id, 0, 64, 0);
    rcv("type 2", id, 2, 64, 0);
    rcv("type -4", id, -4, 64, 0);
    rcv("E2BIG", id, 0, 2, 0);
    rcv("MSG_EXCEPT 1", id, 1, 64, MSG_EXCEPT);
    rcv("MSG_NOERROR", id, 0, 3, MSG_NOERROR);
    rcv("type 7 NOWAIT", id, 7, 64, IPC_NOWAIT);
    msgctl(id, IPC_STAT, &ds);
    printf("qnum %lu cbytes %lu lrpid self %d\n", (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
           ds.msg_lrpid == getpid());

    /* A blocked receiver, woken by a send of the type it wants. */
    pid_t c = fork();
    if (c == 0) {
        struct msgbuf_ r;
        long n = msgrcv(id, &r, 64, 9, 0);
        _exit(n == 5 && strcmp(r.mtext, "nine") == 0 ? 0 : 1);
    }
    sleep_ms(50);
    snd(id, 8, "eight", 0);
    snd(id, 9, "nine", 0);
    printf("blocked receiver: %d\n", wait_child(c));
    rcv("left", id, 0, 64, IPC_NOWAIT);

    /* msg_qbytes bounds the queue; a blocked sender goes on after a receive. */
    ds.msg_qbytes = 100;
    ERR("IPC_SET qbytes 100", msgctl(id, IPC_SET, &ds));
    char big[60];
    memset(big, 'b', sizeof big);
    struct {
        long mtype;
        char t[60];
    } bm = {4, {0}};
    memcpy(bm.t, big, sizeof big);
    ERR("send 60", msgsnd(id, &bm, 60, 0));
    ERR("send 60 NOWAIT full", msgsnd(id, &bm, 60, IPC_NOWAIT));
    c = fork();
    if (c == 0) _exit(msgsnd(id, &bm, 60, 0) == 0 ? 0 : 1);
    sleep_ms(50);
    msgctl(id, IPC_STAT, &ds);
    printf("sender blocked, qnum %lu\n", (unsigned long)ds.msg_qnum);
    rcv("drain 1", id, 0, 2, MSG_NOERROR);
    printf("blocked sender: %d\n", wait_child(c));
    rcv("drain 2", id, 0, 2, MSG_NOERROR);

    /* A blocked receiver sees the queue go away. */
    c = fork();
    if (c == 0) {
        struct msgbuf_ r;
        long n = msgrcv(id, &r, 64, 0, 0);
        _exit(n < 0 && errno == EIDRM ? 0 : 1);
    }
    sleep_ms(50);
    ERR("IPC_RMID", msgctl(id, IPC_RMID, NULL));
    printf("receiver got EIDRM: %d\n", wait_child(c));
    ERR("msgsnd after RMID", snd(id, 1, "x", 0));
    ERR("IPC_STAT after RMID", msgctl(id, IPC_STAT, &ds));

    struct msginfo mi;
    int r = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
    printf("IPC_INFO: %s msgmax %d msgmnb %d msgmni %d\n", r >= 0 ? "ok" : ename(errno), mi.msgmax, mi.msgmnb, mi.msgmni);
}

/* An unprivileged user against objects of mode 0600 and 0644 owned by root. */
static void test_access(void) {
    int shm = shmget(IPC_PRIVATE, 4096, 0600);
    int shm2 = shmget(IPC_PRIVATE, 4096, 0644);
    int sem = semget(IPC_PRIVATE, 1, 0600);
    int msg = msgget(IPC_PRIVATE, 0600);
    int pfd[2];
    pipe(pfd);
    pid_t c = fork();
    if (c == 0) {
        close(pfd[0]);
        if (setgid(65534) < 0 || setuid(65534) < 0) _exit(2);
        char out[1024];
        int n = 0;
        struct shmid_ds ds;
        errno = 0;
        n += snprintf(out + n, sizeof out - n, "shmat 0600: %s\n", shmat(shm, NULL, 0) == (void *)-1 ? ename(errno) : "ok");
        n += snprintf(out + n, sizeof out - n, "shmat 0644: %s\n", shmat(shm2, NULL, 0) == (void *)-1 ? ename(errno) : "ok");
        void *ro = shmat(shm2, NULL, SHM_RDONLY);
        n += snprintf(out + n, sizeof out - n, "shmat 0644 rdonly: %s\n", ro == (void *)-1 ? ename(errno) : "ok");
        n += snprintf(out + n, sizeof out - n, "shm IPC_STAT: %s\n", shmctl(shm, IPC_STAT, &ds) < 0 ? ename(errno) : "ok");
        n += snprintf(out + n, sizeof out - n, "shm IPC_RMID: %s\n", shmctl(shm, IPC_RMID, NULL) < 0 ? ename(errno) : "ok");
        struct sembuf op = {0, 1, 0};
        n += snprintf(out + n, sizeof out - n, "semop: %s\n", semop(sem, &op, 1) < 0 ? ename(errno) : "ok");
        n += snprintf(out + n, sizeof out - n, "GETVAL: %s\n", semctl(sem, 0, GETVAL) < 0 ? ename(errno) : "ok");
        n += snprintf(out + n, sizeof out - n, "sem IPC_RMID: %s\n", semctl(sem, 0, IPC_RMID) < 0 ? ename(errno) : "ok");
        n += snprintf(out + n, sizeof out - n, "msgsnd: %s\n", snd(msg, 1, "x", IPC_NOWAIT) < 0 ? ename(errno) : "ok");
        write(pfd[1], out, n);
        _exit(0);
    }
    close(pfd[1]);
    char buf[1024];
    int n = read(pfd[0], buf, sizeof buf - 1);
    close(pfd[0]);
    if (n > 0) fwrite(buf, 1, n, stdout);
    printf("unprivileged child: %d\n", wait_child(c));

    /* IPC_SET gives a segment away; the new owner may then remove it. */
    struct shmid_ds ds;
    shmctl(shm, IPC_STAT, &ds);
    ds.shm_perm.uid = 65534;
    ds.shm_perm.mode = 0601;
    ERR("shm IPC_SET", shmctl(shm, IPC_SET, &ds));
    shmctl(shm, IPC_STAT, &ds);
    printf("after IPC_SET uid %u cuid %u mode %o\n", ds.shm_perm.uid, ds.shm_perm.cuid, ds.shm_perm.mode);
    ds.shm_perm.uid = (unsigned)-1;
    ERR("shm IPC_SET uid -1", shmctl(shm, IPC_SET, &ds));
    c = fork();
    if (c == 0) {
        if (setuid(65534) < 0) _exit(2);
        _exit(shmctl(shm, IPC_RMID, NULL) == 0 ? 0 : 1);
    }
    printf("new owner removed it: %d\n", wait_child(c));
    shmctl(shm2, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
    msgctl(msg, IPC_RMID, NULL);
}

/* Four processes increment a counter in a segment under a SEM_UNDO mutex: no increment may be lost. */
static void test_mutex(void) {
    int shm = shmget(IPC_PRIVATE, 4096, 0600);
    int sem = semget(IPC_PRIVATE, 1, 0600);
    volatile long *counter = shmat(shm, NULL, 0);
    semctl(sem, 0, SETVAL, (union semun){.val = 1});
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            struct sembuf p = {0, -1, SEM_UNDO}, v = {0, 1, SEM_UNDO};
            for (int i = 0; i < 300; i++) {
                if (semop(sem, &p, 1) < 0) _exit(1);
                long c = *counter;
                if (i % 50 == 0) sched_yield();
                *counter = c + 1;
                if (semop(sem, &v, 1) < 0) _exit(1);
            }
            _exit(0);
        }
    }
    int bad = 0;
    for (int k = 0; k < 4; k++) bad += wait_child(kids[k]) != 0;
    printf("mutex: failures %d counter %ld value %d nattch %lu\n", bad, *counter, semctl(sem, 0, GETVAL), nattch(shm));
    shmdt((void *)counter);
    shmctl(shm, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("== shm\n");
    test_shm();
    printf("== sem\n");
    test_sem();
    printf("== msg\n");
    test_msg();
    printf("== mutex\n");
    test_mutex();
    printf("== access\n");
    test_access();
    return 0;
}
