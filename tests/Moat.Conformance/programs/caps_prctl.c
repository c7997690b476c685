/* prctl's capability options: PR_CAPBSET_READ/PR_CAPBSET_DROP and PR_CAP_AMBIENT (argument errors, the
   permitted-and-inheritable rule, trimming by capset and by a uid change), and what execve does with the
   bounding and ambient sets: a non-root program keeps CAP_CHOWN only through the ambient set and can chown.
   Only the capabilities named below are printed. Changes happen in children. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, long r) {
    int e = errno;
    printf("%s: %ld %s\n", what, r, r < 0 ? strerrorname_np(e) : "OK");
    errno = 0;
}

static int set_inheritable(uint64_t inh) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0) return -1;
    d[0].inheritable = (uint32_t)inh;
    d[1].inheritable = (uint32_t)(inh >> 32);
    return syscall(SYS_capset, &h, d);
}

/* The named capabilities of one /proc/self/status line. */
static void status_line(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) != 0) continue;
        uint64_t v = strtoull(line + strlen(key) + 1, NULL, 16);
        printf("  %s chown %d net_bind %d sys_admin %d setpcap %d\n", key, !!(v & (1ull << CAP_CHOWN)),
               !!(v & (1ull << CAP_NET_BIND_SERVICE)), !!(v & (1ull << CAP_SYS_ADMIN)), !!(v & (1ull << CAP_SETPCAP)));
    }
    if (f) fclose(f);
}

static void after_exec(const char *what) {
    printf("%s: uid %d euid %d\n", what, (int)getuid(), (int)geteuid());
    status_line("CapInh:");
    status_line("CapPrm:");
    status_line("CapEff:");
    status_line("CapBnd:");
    status_line("CapAmb:");
    char path[64];
    snprintf(path, sizeof path, "/tmp/caps_prctl.%d", (int)getpid());
    int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
    int given = fd < 0 ? fd : fchown(fd, 4243, -1);
    show("  chown own file to another uid", given);
    /* Back to its creator, who may then unlink it from the sticky /tmp: a file left behind would make a later
       run with the same pid (pids wrap at 32768) fail its O_EXCL open. */
    if (given == 0 && fchown(fd, geteuid(), -1) != 0) printf("  chown back: %s\n", strerror(errno));
    if (fd >= 0) close(fd);
    unlink(path);
}

static int wait_child(pid_t c) {
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void errors(void) {
    show("capbset_read 99", prctl(PR_CAPBSET_READ, 99, 0, 0, 0));
    show("capbset_read chown", prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0));
    show("capbset_drop 99", prctl(PR_CAPBSET_DROP, 99, 0, 0, 0));
    show("ambient bad op", prctl(PR_CAP_AMBIENT, 9, CAP_CHOWN, 0, 0));
    show("ambient is_set 99", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 99, 0, 0));
    show("ambient is_set arg4", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 1, 0));
    show("ambient clear_all arg3", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0));
    show("ambient is_set chown", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
}

/* Root raises and lowers ambient capabilities, drops CAP_SYS_ADMIN from the bounding set, keeps its permitted
   set across setresuid to 4242 (which empties the ambient set), raises CAP_CHOWN again as 4242 and execs
   itself: the program keeps CAP_CHOWN only through the ambient set (setpriv --ambient-caps does this). */
static void keep_through_ambient(const char *self) {
    show("raise chown, not inheritable", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    show("capset inheritable chown+net_bind", set_inheritable((1ull << CAP_CHOWN) | (1ull << CAP_NET_BIND_SERVICE)));
    show("raise chown", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    show("is_set chown", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    show("capset inheritable net_bind only", set_inheritable(1ull << CAP_NET_BIND_SERVICE));
    show("is_set chown after capset", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    set_inheritable((1ull << CAP_CHOWN) | (1ull << CAP_NET_BIND_SERVICE));
    show("raise chown again", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    show("raise net_bind", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
    show("lower net_bind", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_BIND_SERVICE, 0, 0));
    show("is_set net_bind", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0));
    show("capbset_drop sys_admin", prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0));
    show("capbset_read sys_admin", prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0));
    show("keepcaps", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    show("setresuid 4242", setresuid(4242, 4242, 4242));
    show("is_set chown as 4242 (leaving root clears it)", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    show("capbset_drop as 4242", prctl(PR_CAPBSET_DROP, CAP_CHOWN, 0, 0, 0));
    show("raise chown as 4242, kept permitted", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    show("raise sys_admin as 4242", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0));
    execl(self, self, "ambient", (char *)NULL);
    show("execl", -1);
}

/* Without KEEPCAPS the uid change takes the ambient set too. */
static void lose_without_keepcaps(const char *self) {
    set_inheritable(1ull << CAP_CHOWN);
    show("raise chown", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    show("setresuid 4242", setresuid(4242, 4242, 4242));
    show("is_set chown as 4242", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    execl(self, self, "plain", (char *)NULL);
    show("execl", -1);
}

/* An execve by a process whose effective uid already differs from its real one (setresuid 4242/4243) changes
   no ids: it is not set-id, and the ambient set stays. */
static void setid_exec(const char *self) {
    set_inheritable(1ull << CAP_CHOWN);
    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
    show("setresuid 4242/4243", setresuid(4242, 4243, 4242));
    show("raise chown as euid 4243", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    execl(self, self, "setid", (char *)NULL);
    show("execl", -1);
}

/* Root that dropped CAP_CHOWN from its bounding set does not get it back from execve; clear_all empties. */
static void bounded_root(const char *self) {
    set_inheritable(1ull << CAP_NET_BIND_SERVICE);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0);
    show("clear_all", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
    show("is_set net_bind", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0));
    set_inheritable(0);
    show("capbset_drop chown", prctl(PR_CAPBSET_DROP, CAP_CHOWN, 0, 0, 0));
    execl(self, self, "root", (char *)NULL);
    show("execl", -1);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {
        after_exec(argv[1]);
        return 0;
    }
    if (getuid() != 0) {
        printf("needs root\n");
        return 0;
    }
    errors();
    pid_t c = fork();
    if (c == 0) { keep_through_ambient(argv[0]); _exit(1); }
    printf("ambient child: %d\n", wait_child(c));
    c = fork();
    if (c == 0) { lose_without_keepcaps(argv[0]); _exit(1); }
    printf("plain child: %d\n", wait_child(c));
    c = fork();
    if (c == 0) { bounded_root(argv[0]); _exit(1); }
    printf("root child: %d\n", wait_child(c));
    c = fork();
    if (c == 0) { setid_exec(argv[0]); _exit(1); }
    printf("setid child: %d\n", wait_child(c));
    return 0;
}
