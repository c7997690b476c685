/* execve of set-user-id and set-group-id programs as Linux runs them: a uid-1000 process running a setuid-root
 * copy of this program gets effective and saved uid 0 (and reads a 0600 root file), AT_SECURE 1; the
 * set-group-id bit counts only with group execute; no elevation on a nosuid mount, under no_new_privs, or from
 * a #! script's own bits; exec always makes the saved ids the effective ones. Works in ./setid_scratch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void copy_self(const char *to, int mode) {
    int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    long n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) break;
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    if (chmod(to, mode) != 0) printf("chmod %s: %s\n", to, strerrorname_np(errno));
}

static void probe(const char *label) {
    uid_t r, e, s;
    gid_t rg, eg, sg;
    getresuid(&r, &e, &s);
    getresgid(&rg, &eg, &sg);
    int fd = open("secret", O_RDONLY);
    printf("%s: uid %u/%u/%u gid %u/%u/%u secure %lu secret %s\n", label, r, e, s, rg, eg, sg, getauxval(AT_SECURE),
           fd >= 0 ? "readable" : strerrorname_np(errno));
    if (fd >= 0) close(fd);
}

/* Runs path as uid 1000 (gid 1000), after prepare() in the child. */
static void run_as_user(const char *path, const char *label, void (*prepare)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) _exit(9);
        if (prepare) prepare();
        char *argv[] = {(char *)path, "probe", (char *)label, NULL};
        execv(path, argv);
        printf("%s: exec %s\n", label, strerrorname_np(errno));
        _exit(99);
    }
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) printf("%s: status %d\n", label, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void no_new_privs(void) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) printf("prctl: %s\n", strerrorname_np(errno));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "probe") == 0) {
        probe(argv[2]);
        if (strcmp(argv[2], "saved") == 0) {
            /* The saved uid is the effective one after exec: the old saved root is gone. */
            printf("saved: regain root: %s\n", setresuid(-1, 0, -1) == 0 ? "ok" : strerrorname_np(errno));
        }
        return 0;
    }
    if (system("rm -rf setid_scratch") != 0) printf("cleanup failed\n");
    mkdir("setid_scratch", 0755);
    if (chdir("setid_scratch") != 0) return 1;
    int fd = open("secret", O_CREAT | O_WRONLY, 0600);
    close(fd);

    copy_self("suid", 04755);
    copy_self("sgid", 02755);
    copy_self("sgid_noexec", 02745); /* set-group-id without group execute: not a set-group-id program */
    copy_self("plain", 0755);
    /* chown clears set-group-id of a group-executable file: the bits go on after it. */
    if (chown("sgid", 0, 42) != 0 || chown("sgid_noexec", 0, 42) != 0) printf("chown failed\n");
    chmod("sgid", 02755);
    chmod("sgid_noexec", 02745);
    FILE *f = fopen("script", "w");
    fprintf(f, "#!%s/plain probe\n", getcwd((char[512]){0}, 512));
    fclose(f);
    chmod("script", 04755);

    run_as_user("./plain", "plain", NULL);
    run_as_user("./suid", "suid", NULL);
    run_as_user("./sgid", "sgid", NULL);
    run_as_user("./sgid_noexec", "sgid without group exec", NULL);
    run_as_user("./suid", "suid under no_new_privs", no_new_privs);
    run_as_user("./script", "setuid script", NULL);

    /* Exec makes the saved ids the effective ones: a saved root is gone after it. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setresuid(1000, 1000, 0) != 0) _exit(9);
        char *args[] = {"./plain", "probe", "saved", NULL};
        execv("./plain", args);
        _exit(99);
    }
    waitpid(pid, NULL, 0);

    /* A nosuid mount: the bits stay, the program runs with the caller's ids. */
    pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) _exit(8);
        mkdir("ns", 0755);
        if (mount("tmpfs", "ns", "tmpfs", MS_NOSUID, "mode=755") != 0) _exit(7);
        copy_self("ns/suid", 04755);
        if (chdir("ns") != 0) _exit(6);
        int s = open("secret", O_CREAT | O_WRONLY, 0600);
        close(s);
        run_as_user("./suid", "suid on nosuid mount", NULL);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("nosuid child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    if (chdir("..") != 0) return 1;
    if (system("rm -rf setid_scratch") != 0) printf("cleanup failed\n");
    return 0;
}
