// ioprio_set/ioprio_get (classes, levels and hints, EINVAL/EPERM/ESRCH, a process group's best value, inheritance
// over fork, uid 65534 against root) and reboot's refusals (EINVAL for wrong magic numbers or an unknown command,
// EPERM without CAP_SYS_BOOT). It never asks for a real restart: natively that would reboot the host.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/reboot.h>

#define CLASS(c, level) (((c) << 13) | (level))
#define SHOW(label, call) do { errno = 0; long r_ = (long)(call); int e_ = errno; printf("%s: %ld %s\n", label, r_, r_ < 0 ? strerrorname_np(e_) : "-"); } while (0)

static long ioset(int which, int who, int prio) { return syscall(SYS_ioprio_set, which, who, prio); }
static long ioget(int which, int who) { return syscall(SYS_ioprio_get, which, who); }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    setpgid(0, 0); // a process group of its own: its value does not depend on the launcher's
    SHOW("clear what the launcher passed on", ioset(1, 0, 0));
    SHOW("nice 0, whatever the launcher's (root)", setpriority(PRIO_PROCESS, 0, 0));
    SHOW("get process without a class", ioget(1, 0));
    SHOW("get own pid", ioget(1, getpid()));
    SHOW("get pgrp without a class (best effort 4)", ioget(2, 0));
    SHOW("get user: not an error", ioget(3, 0) >= 0 ? 0 : -1);
    SHOW("get which 0", ioget(0, 0));
    SHOW("get which 4", ioget(4, 0));
    SHOW("get absent pid", ioget(1, 999999));
    SHOW("get absent pgrp", ioget(2, 999999));
    SHOW("get uid without tasks", ioget(3, 12345));

    SHOW("set BE 4", ioset(1, 0, CLASS(2, 4)));
    SHOW("get", ioget(1, 0));
    SHOW("set BE 7", ioset(1, 0, CLASS(2, 7)));
    SHOW("set BE level 0 with a hint", ioset(1, 0, CLASS(2, 8)));
    SHOW("get", ioget(1, 0));
    SHOW("set RT 0 as root", ioset(1, 0, CLASS(1, 0)));
    SHOW("set IDLE", ioset(1, 0, CLASS(3, 0)));
    SHOW("set IDLE 5", ioset(1, 0, CLASS(3, 5)));
    SHOW("get", ioget(1, 0));
    SHOW("set NONE 3", ioset(1, 0, CLASS(0, 3)));
    SHOW("set class 4", ioset(1, 0, CLASS(4, 0)));
    SHOW("set class 7", ioset(1, 0, CLASS(7, 0)));
    SHOW("set -1", ioset(1, 0, -1));
    SHOW("set which 9", ioset(9, 0, CLASS(2, 0)));
    SHOW("set absent pid", ioset(1, 999999, CLASS(2, 0)));
    SHOW("set NONE 0", ioset(1, 0, 0));
    SHOW("get", ioget(1, 0));

    SHOW("set BE 6 for the process", ioset(1, 0, CLASS(2, 6)));
    pid_t child = fork();
    if (child == 0) {
        printf("child inherits: %ld\n", ioget(1, 0));
        pause();
        _exit(0);
    }
    usleep(100000);
    SHOW("set child BE 1", ioset(1, child, CLASS(2, 1)));
    SHOW("get child", ioget(1, child));
    SHOW("get pgrp: the best of both", ioget(2, 0));
    SHOW("set pgrp IDLE", ioset(2, 0, CLASS(3, 0)));
    SHOW("get child after pgrp set", ioget(1, child));
    SHOW("set pgrp NONE", ioset(2, 0, 0));
    SHOW("get pgrp: none counts as BE 4", ioget(2, 0));

    pid_t nobody = fork();
    if (nobody == 0) {
        if (setresuid(65534, 65534, 65534) != 0) _exit(1);
        SHOW("uid 65534: get root's process", ioget(1, getppid()));
        SHOW("uid 65534: set root's process", ioset(1, getppid(), CLASS(2, 3)));
        SHOW("uid 65534: set RT for itself", ioset(1, 0, CLASS(1, 3)));
        SHOW("uid 65534: set BE for itself", ioset(1, 0, CLASS(2, 3)));
        SHOW("uid 65534: reboot", reboot(LINUX_REBOOT_CMD_RESTART));
        SHOW("uid 65534: reboot wrong magic", syscall(SYS_reboot, 0, 0, LINUX_REBOOT_CMD_RESTART, 0));
        _exit(0);
    }
    waitpid(nobody, NULL, 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    SHOW("reboot wrong magic1", syscall(SYS_reboot, 0, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_RESTART, 0));
    SHOW("reboot wrong magic2", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 1, LINUX_REBOOT_CMD_RESTART, 0));
    SHOW("reboot unknown command", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x12345678, 0));
    SHOW("reboot unknown command, magic 2C", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2C, 0x1, 0));
    return 0;
}
