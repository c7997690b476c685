/* Linux strings are bytes: non-UTF-8 bytes in argv, the environment, file names and symlink targets must
 * cross execve, getdents64, stat and readlink unchanged. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char odd[] = "abc\xff\xfe\xc3\x28\xed\xb2\x80-\xe2\x82\xac";

static void hex(const char *label, const char *s) {
    printf("%s:", label);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) printf(" %02x", *p);
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "child") == 0) {
        hex("argv after execve", argv[2]);
        const char *v = getenv("MOAT_ODD");
        hex("env after execve", v ? v : "");
        return 0;
    }
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        char *args[] = {argv[0], "child", (char *)odd, NULL};
        char env[64];
        snprintf(env, sizeof env, "MOAT_ODD=%s", odd);
        char *envp[] = {env, NULL};
        execve("/proc/self/exe", args, envp);
        _exit(127);
    }
    waitpid(p, NULL, 0);

    char dir[] = "/tmp/moat-bytes-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[256], link[256];
    snprintf(path, sizeof path, "%s/%s", dir, odd);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    printf("create: %s\n", fd >= 0 ? "ok" : "failed");
    close(fd);
    struct stat st;
    printf("stat by name: %s\n", stat(path, &st) == 0 ? "ok" : "failed");
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') hex("readdir", e->d_name);
    closedir(d);
    snprintf(link, sizeof link, "%s/link", dir);
    symlink(odd, link);
    char target[256];
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    hex("readlink", target);
    unlink(link);
    unlink(path);
    rmdir(dir);
    return 0;
}
