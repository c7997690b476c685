/* capget/capset: header and argument errors, capset's subset rules, what dropping CAP_SETUID does to
   setuid, how uid changes and execve change the sets. Only relations between sets are printed: the suite's
   root may lack some capabilities (CAP_SYS_RESOURCE in some containers). Changes happen in children. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct caps { uint64_t eff, prm, inh; };

static const char *name(int e) {
    switch (e) {
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ESRCH: return "ESRCH";
    case EPERM: return "EPERM";
    default: return "OTHER";
    }
}

static void show(const char *what, long r) {
    int e = errno;
    printf("%s: %ld %s\n", what, r, r < 0 ? name(e) : "OK");
    errno = 0;
}

static struct caps get(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    struct caps c = {0, 0, 0};
    if (syscall(SYS_capget, &h, d) == 0) {
        c.eff = d[0].effective | (uint64_t)d[1].effective << 32;
        c.prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
        c.inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
    }
    return c;
}

static long set(struct caps c) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {
        {(uint32_t)c.eff, (uint32_t)c.prm, (uint32_t)c.inh},
        {(uint32_t)(c.eff >> 32), (uint32_t)(c.prm >> 32), (uint32_t)(c.inh >> 32)},
    };
    return syscall(SYS_capset, &h, d);
}

static void describe(const char *what) {
    struct caps c = get();
    printf("%s: effective==permitted %d, effective empty %d, permitted empty %d, setuid %d/%d, inheritable %#llx\n",
           what, c.eff == c.prm, c.eff == 0, c.prm == 0, !!(c.eff & (1ull << CAP_SETUID)), !!(c.prm & (1ull << CAP_SETUID)),
           (unsigned long long)c.inh);
}

static int wait_child(pid_t c) {
    int status;
    waitpid(c, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void errors(void) {
    struct __user_cap_header_struct h = {0x12345678, 0};
    struct __user_cap_data_struct d[2];
    show("capget bad version", syscall(SYS_capget, &h, d));
    printf("version written back: %#x\n", h.version);
    h.version = 1;
    show("capget bad version, no data", syscall(SYS_capget, &h, NULL));
    printf("version written back: %#x\n", h.version);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    show("capget no data", syscall(SYS_capget, &h, NULL));
    show("capget bad header", syscall(SYS_capget, (void *)8, d));
    show("capget bad data", syscall(SYS_capget, &h, (void *)8));
    h.pid = -1;
    show("capget pid -1", syscall(SYS_capget, &h, d));
    h.pid = 999999;
    show("capget no such pid", syscall(SYS_capget, &h, d));
    h.pid = getpid();
    show("capget own pid", syscall(SYS_capget, &h, d));
    h.version = _LINUX_CAPABILITY_VERSION_1;
    h.pid = 0;
    uint32_t v1[4] = {0, 0, 0, 0xdeadbeef};
    show("capget v1", syscall(SYS_capget, &h, v1));
    printf("v1 writes one set of words only: %d\n", v1[3] == 0xdeadbeef);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = 999999;
    show("capset another pid", syscall(SYS_capset, &h, d));
    h.pid = 0;
    show("capset bad data", syscall(SYS_capset, &h, (void *)8));
    h.version = 7;
    show("capset bad version", syscall(SYS_capset, &h, d));
    show("capset bad version, no data", syscall(SYS_capset, &h, NULL));
}

static void rules(void) {
    struct caps all = get();
    struct caps c = all;
    c.eff &= ~(1ull << CAP_SETUID);
    show("drop CAP_SETUID from effective", set(c));
    describe("  now");
    show("  setuid(1000)", syscall(SYS_setuid, 1000));
    c.eff = all.eff;
    show("raise it again", set(c));
    c.prm &= ~(1ull << CAP_SETUID);
    show("effective beyond permitted", set(c));
    c.eff &= ~(1ull << CAP_SETUID);
    show("drop CAP_SETUID from both", set(c));
    c.eff = all.eff;
    c.prm = all.prm;
    show("permitted back", set(c));
    c = get();
    c.inh = 1ull << CAP_KILL;
    show("inheritable with CAP_SETPCAP", set(c));
    describe("  now");
    c.eff &= ~(1ull << CAP_SETPCAP | 1ull << CAP_NET_RAW);
    c.prm &= ~(1ull << CAP_NET_RAW);
    c.inh = 1ull << CAP_KILL;
    show("drop CAP_SETPCAP and CAP_NET_RAW", set(c));
    c.inh |= 1ull << CAP_NET_RAW;
    show("inheritable beyond permitted without CAP_SETPCAP", set(c));
    c.inh = 1ull << CAP_CHOWN;
    show("inheritable within permitted without CAP_SETPCAP", set(c));
    describe("  now");
    show("setuid(1000) without CAP_SETUID", syscall(SYS_setuid, 1000));
}

static void non_root(void) {
    show("setresuid(1000, 1000, 1000)", syscall(SYS_setresuid, 1000, 1000, 1000));
    describe("  uid 1000");
    struct caps none = {0, 0, 0};
    show("capset nothing as 1000", set(none));
    show("capset CAP_KILL as 1000", set((struct caps){1ull << CAP_KILL, 1ull << CAP_KILL, 0}));
    show("setresuid(0, 0, 0) as 1000", syscall(SYS_setresuid, 0, 0, 0));
}

static void uid_changes(const char *self) {
    show("seteuid(1000)", syscall(SYS_setresuid, -1, 1000, -1));
    describe("  euid 1000");
    show("seteuid(0)", syscall(SYS_setresuid, -1, 0, -1));
    describe("  euid 0 again");
    struct caps c = get();
    c.eff = 0;
    c.prm &= ~(1ull << CAP_SETUID);
    show("drop everything effective", set(c));
    describe("  dropped");
    fflush(stdout);
    execl(self, self, "after-exec", (char *)NULL);
    printf("exec failed\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {
        describe("after execve as root");
        return 0;
    }
    errors();
    describe("start");
    pid_t c = fork();
    if (c == 0) {
        rules();
        _exit(0);
    }
    printf("rules child: %d\n", wait_child(c));
    c = fork();
    if (c == 0) {
        uid_changes(argv[0]);
        _exit(1);
    }
    printf("uid child: %d\n", wait_child(c));
    c = fork();
    if (c == 0) {
        non_root();
        _exit(0);
    }
    printf("non-root child: %d\n", wait_child(c));
    return 0;
}
