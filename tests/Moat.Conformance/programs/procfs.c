/* /proc as a program sees it: self links, status, cmdline, fds, maps, and system files. Prints only facts
 * that hold on any Linux (no pids or addresses). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *yesno(int c) { return c ? "yes" : "no"; }

static int slurp(const char *path, char *buf, int size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = 0, r;
    while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0) n += r;
    buf[n] = 0;
    close(fd);
    return n;
}

int main(int argc, char **argv) {
    char buf[65536], path[256];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("exe ends with /procfs: %s\n", yesno(n > 0 && strlen(buf) >= 7 && strcmp(buf + strlen(buf) - 7, "/procfs") == 0));

    n = readlink("/proc/self", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("self is my pid: %s\n", yesno(atoi(buf) == getpid()));

    slurp("/proc/self/status", buf, sizeof buf);
    char *pid = strstr(buf, "\nPid:\t");
    printf("status Pid is getpid: %s\n", yesno(pid && atoi(pid + 6) == getpid()));
    char *ppid = strstr(buf, "\nPPid:\t");
    printf("status PPid is getppid: %s\n", yesno(ppid && atoi(ppid + 7) == getppid()));
    printf("status has Name procfs: %s\n", yesno(strncmp(buf, "Name:\tprocfs\n", 13) == 0));

    n = slurp("/proc/self/cmdline", buf, sizeof buf);
    int ok = 1, off = 0;
    for (int i = 0; i < argc; i++) {
        if (off >= n || strcmp(buf + off, argv[i]) != 0) ok = 0;
        off += strlen(argv[i]) + 1;
    }
    printf("cmdline is argv: %s\n", yesno(ok && off == n));

    slurp("/proc/self/comm", buf, sizeof buf);
    printf("comm: %s", buf);

    int fd = open("/proc/self/status", O_RDONLY);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("fd link names the file: %s\n", yesno(strstr(buf, "/status") != NULL));
    int p[2];
    pipe(p);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    n = readlink(path, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("pipe fd link: %.6s\n", buf);
    DIR *d = opendir("/proc/self/fd");
    int count = 0, sawPipe = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        count++;
        if (atoi(e->d_name) == p[1]) sawPipe = 1;
    }
    closedir(d);
    printf("fd dir lists the pipe: %s, at least 6 fds: %s\n", yesno(sawPipe), yesno(count >= 6));

    slurp("/proc/self/maps", buf, sizeof buf);
    printf("maps has [stack]: %s, has [heap] or not: ok\n", yesno(strstr(buf, "[stack]") != NULL));

    slurp("/proc/meminfo", buf, sizeof buf);
    printf("meminfo starts with MemTotal: %s\n", yesno(strncmp(buf, "MemTotal:", 9) == 0));
    slurp("/proc/vmstat", buf, sizeof buf);
    printf("vmstat starts with nr_free_pages: %s, has pswpin: %s\n", yesno(strncmp(buf, "nr_free_pages ", 14) == 0), yesno(strstr(buf, "\npswpin ") != NULL));
    slurp("/proc/sys/kernel/ostype", buf, sizeof buf);
    printf("ostype: %s", buf);
    slurp("/proc/cpuinfo", buf, sizeof buf);
    printf("cpuinfo has processor: %s\n", yesno(strncmp(buf, "processor", 9) == 0));
    d = opendir("/proc");
    int mine = 0;
    while ((e = readdir(d)) != NULL)
        if (atoi(e->d_name) == getpid()) mine = 1;
    closedir(d);
    printf("/proc lists me: %s\n", yesno(mine));
    printf("missing pid: %s\n", yesno(access("/proc/999999/status", F_OK) != 0));
    return 0;
}
