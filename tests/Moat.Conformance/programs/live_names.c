/* Names held by live objects follow renames and removals made through the sandbox, as Linux's dentries do:
 * /proc/self/fd links, the working directory (getcwd, relative creates), openat on a descriptor of a
 * renamed directory, another process's cwd, RENAME_EXCHANGE, a rename over an open file, " (deleted)" after
 * unlink and rmdir, and a removed directory that stays removed when its name is reused; names made, written,
 * changed and removed through a symlinked directory (one made here, and one of the host's: it lives in a
 * fixture directory made once, and the native run puts back what it changes). Runs under /tmp and under the
 * working directory (the host's file system). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[1024];

static const char *rel(const char *p) {
    size_t n = strlen(base);
    return strncmp(p, base, n) == 0 ? p + n : p;
}

static void link_of(const char *what, const char *proc) {
    char buf[1024];
    ssize_t n = readlink(proc, buf, sizeof buf - 1);
    if (n < 0) { printf("  %s: readlink %s\n", what, strerrorname_np(errno)); return; }
    buf[n] = 0;
    printf("  %s: %s\n", what, rel(buf));
}

static void fd_link(const char *what, int fd) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    link_of(what, p);
}

static void cwd(const char *what) {
    char buf[1024];
    if (getcwd(buf, sizeof buf)) printf("  %s: cwd %s\n", what, rel(buf));
    else printf("  %s: getcwd %s\n", what, strerrorname_np(errno));
}

/* The name /proc/self/maps gives the mapping that starts at addr. */
static void map_name(const char *what, void *addr) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1400];
    unsigned long start = (unsigned long)addr;
    while (f && fgets(line, sizeof line, f)) {
        if (strtoul(line, NULL, 16) != start) continue;
        line[strcspn(line, "\n")] = 0;
        char *name = strchr(line, '/');
        printf("  %s: %s\n", what, name ? rel(name) : "(none)");
        fclose(f);
        return;
    }
    printf("  %s: not mapped\n", what);
    if (f) fclose(f);
}

static const char *res(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static char *at(const char *name) {
    static char bufs[8][1100];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 1100, "%s/%s", base, name);
    return b;
}

static int exists(const char *name) {
    struct stat st;
    return lstat(at(name), &st) == 0;
}

static void run(const char *where) {
    char real[512];
    if (!realpath(where, real)) { printf("realpath %s\n", strerrorname_np(errno)); return; }
    snprintf(base, sizeof base, "%s/live_names.%d", strcmp(real, "/") ? real : "", 0);
    printf("%s:\n", strcmp(where, "/tmp") == 0 ? "tmpfs" : "host");
    mkdir(base, 0755);

    /* A directory renamed under an open descriptor, a file opened through a link, and the cwd. */
    mkdir(at("a"), 0755);
    symlink("a", at("lnk"));
    int file = open(at("lnk/file"), O_CREAT | O_RDWR, 0644);
    int dir = open(at("a"), O_RDONLY | O_DIRECTORY);
    fd_link("file via link", file);
    chdir(at("a"));
    printf("  rename a b: %s\n", res(rename(at("a"), at("b"))));
    fd_link("dir", dir);
    fd_link("file", file);
    cwd("after rename");
    int g = openat(dir, "g", O_CREAT | O_RDWR, 0644);
    printf("  openat(dir, g): %s, b/g exists %d\n", res(g), exists("b/g"));
    int h = open("h", O_CREAT | O_RDWR, 0644);
    printf("  open(h) relative: %s, b/h exists %d, a exists %d\n", res(h), exists("b/h"), exists("a"));
    fd_link("h", h);

    /* Another process's working directory. */
    int ready[2], done[2];
    pipe(ready); pipe(done);
    pid_t child = fork();
    if (child == 0) {
        char c;
        chdir(at("b"));
        write(ready[1], "r", 1);
        read(done[0], &c, 1);
        cwd("child after parent's rename");
        int k = open("k", O_CREAT | O_RDWR, 0644);
        printf("  child open(k): %s, c/k exists %d\n", res(k), exists("c/k"));
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    printf("  rename b c: %s\n", res(rename(at("b"), at("c"))));
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d/cwd", child);
    link_of("child's cwd", proc);
    write(done[1], "d", 1);
    waitpid(child, NULL, 0);
    cwd("parent after rename");

    /* A rename through a symlinked parent, and across directories. */
    unlink(at("lnk"));
    symlink("c", at("lnk"));
    mkdir(at("c/sub"), 0755);
    int sub = open(at("c/sub"), O_RDONLY | O_DIRECTORY);
    printf("  rename lnk/sub lnk/sub2: %s\n", res(rename(at("lnk/sub"), at("lnk/sub2"))));
    fd_link("sub", sub);
    mkdir(at("other"), 0755);
    printf("  rename c/g other/moved: %s\n", res(rename(at("c/g"), at("other/moved"))));
    fd_link("g", g);
    int subf = openat(sub, "inner", O_CREAT | O_RDWR, 0644);
    printf("  rename c/sub2 other/sub3: %s\n", res(rename(at("c/sub2"), at("other/sub3"))));
    fd_link("sub", sub);
    fd_link("sub/inner", subf);

    /* A rename over an open file: the replaced one is deleted. */
    int victim = open(at("other/victim"), O_CREAT | O_RDWR, 0644);
    printf("  rename other/moved other/victim: %s\n", res(rename(at("other/moved"), at("other/victim"))));
    fd_link("victim", victim);
    fd_link("g", g);

    /* RENAME_EXCHANGE swaps the names of two directories held open. */
    mkdir(at("x"), 0755);
    mkdir(at("y"), 0755);
    int x = open(at("x"), O_RDONLY | O_DIRECTORY), y = open(at("y"), O_RDONLY | O_DIRECTORY);
    long r = syscall(SYS_renameat2, AT_FDCWD, at("x"), AT_FDCWD, at("y"), 2 /* RENAME_EXCHANGE */);
    printf("  exchange x y: %s\n", res(r));
    fd_link("x", x);
    fd_link("y", y);

    /* Removal: " (deleted)", and a removed directory stays removed when its name is reused. */
    link(at("c/h"), at("c/h2"));
    printf("  unlink c/h: %s\n", res(unlink(at("c/h"))));
    fd_link("h", h);
    chdir(base);
    unlink(at("c/h2")); unlink(at("c/k")); unlink(at("c/file"));
    fd_link("file", file);
    printf("  rmdir c: %s\n", res(rmdir(at("c"))));
    fd_link("dir", dir);
    mkdir(at("c"), 0755);
    int e = openat(dir, "again", O_CREAT | O_RDWR, 0644);
    printf("  openat(removed dir, again): %s, new c/again exists %d\n", res(e), exists("c/again"));
    int dot = openat(dir, ".", O_RDONLY | O_DIRECTORY);
    printf("  openat(removed dir, .): %s\n", res(dot));

    /* Through a directory symlink made here. */
    mkdir(at("t"), 0755);
    symlink("t", at("tl"));
    long md = mkdir(at("tl/d"), 0755);
    printf("  mkdir tl/d: %s, t/d exists %d\n", res(md), exists("t/d"));
    int tf = open(at("tl/f"), O_CREAT | O_RDWR, 0644);
    printf("  create tl/f: %s, t/f exists %d\n", res(tf), exists("t/f"));
    long rn = rename(at("tl/f"), at("tl/g"));
    printf("  rename tl/f tl/g: %s, t/g exists %d\n", res(rn), exists("t/g"));
    fd_link("tl/f", tf);
    long ul = unlink(at("tl/g"));
    printf("  unlink tl/g: %s", res(ul));
    printf(", rmdir tl/d: %s\n", res(rmdir(at("tl/d"))));
    struct stat lst;
    printf("  tl still a link: %d\n", lstat(at("tl"), &lst) == 0 && S_ISLNK(lst.st_mode));
    unlink(at("tl"));
    rmdir(at("t"));

    /* A mapped file keeps following its name after its descriptor is closed (/proc/self/maps). */
    int mf = open(at("mapped"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (mf >= 0) write(mf, "mapped\n", 7);
    void *m = mf >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, mf, 0) : MAP_FAILED;
    close(mf);
    if (m != MAP_FAILED) {
        map_name("mapped", m);
        rename(at("mapped"), at("mapped2"));
        map_name("renamed", m);
        unlink(at("mapped2"));
        map_name("unlinked", m);
        munmap(m, 4096);
    }
    mkdir(at("md"), 0755);
    mf = open(at("md/lib"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (mf >= 0) write(mf, "lib\n", 4);
    m = mf >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_SHARED, mf, 0) : MAP_FAILED;
    close(mf);
    if (m != MAP_FAILED) {
        rename(at("md"), at("md2"));
        map_name("directory renamed", m);
        munmap(m, 4096);
    }
    unlink(at("md2/lib"));
    rmdir(at("md2"));

    /* Clean up. */
    unlink(at("other/victim")); unlink(at("other/sub3/inner"));
    rmdir(at("other/sub3")); rmdir(at("other")); rmdir(at("x")); rmdir(at("y")); rmdir(at("c"));
    unlink(at("lnk"));
    printf("  base removed: %s\n", res(rmdir(base)));
    for (int fd = 3; fd < 64; fd++) close(fd);
}

/* A directory symlink of the host (in the program's directory): writes and new names go to its target, and
 * the link stays a link. */
static void host_link(void) {
    struct stat st;
    mkdir("live_names.fixture", 0755);
    mkdir("live_names.fixture/real", 0755);
    symlink("real", "live_names.fixture/lnk");
    int fd = open("live_names.fixture/real/existing", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd >= 0) { write(fd, "abc\n", 4); fchmod(fd, 0644); close(fd); }
    printf("host link:\n");
    fd = open("live_names.fixture/lnk/existing", O_WRONLY | O_APPEND);
    printf("  append through link: %s\n", res(fd < 0 ? fd : write(fd, "x", 1)));
    stat("live_names.fixture/real/existing", &st);
    printf("  target size %ld\n", (long)st.st_size);
    printf("  chmod through link: %s\n", res(chmod("live_names.fixture/lnk/existing", 0600)));
    stat("live_names.fixture/real/existing", &st);
    printf("  target mode %o\n", st.st_mode & 0777);
    printf("  mkdir through link: %s\n", res(mkdir("live_names.fixture/lnk/made", 0755)));
    printf("  target has it: %d\n", stat("live_names.fixture/real/made", &st) == 0 && S_ISDIR(st.st_mode));
    printf("  rmdir through link: %s\n", res(rmdir("live_names.fixture/lnk/made")));
    printf("  link still a link: %d\n", lstat("live_names.fixture/lnk", &st) == 0 && S_ISLNK(st.st_mode));
    /* Put back what the native run changed. */
    if (fd >= 0) { ftruncate(fd, 4); close(fd); }
    chmod("live_names.fixture/real/existing", 0644);
}

int main(void) {
    char here[512];
    if (!getcwd(here, sizeof here)) return 1;
    run("/tmp");
    chdir(here);
    run(here);
    chdir(here);
    host_link();
    return 0;
}
