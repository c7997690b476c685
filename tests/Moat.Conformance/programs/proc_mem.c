/* /proc/PID/mem, smaps and smaps_rollup: reads and writes at addresses (protection ignored as FOLL_FORCE
   does, EIO past the mapped memory, a copy-on-write page of a child copied), lseek's answers, who may open
   them, and the counts smaps gives anonymous, locked and file memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static void show(const char *what, long r) {
    printf("%s: %ld %s\n", what, r < 0 ? -1L : r, r < 0 ? strerrorname_np(errno) : "");
}

static int mem_fd(pid_t pid, int flags) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    return open(path, flags);
}

static void self_memory(void) {
    int fd = mem_fd(getpid(), O_RDWR);
    show("open self mem rdwr", fd < 0 ? -1 : 0);
    char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(p, "hello");
    char buf[16] = {0};
    show("pread at an address", pread(fd, buf, 5, (off_t)(uintptr_t)p));
    printf("  read [%s]\n", buf);
    show("pwrite at an address", pwrite(fd, "HELLO", 5, (off_t)(uintptr_t)p));
    printf("  memory [%s]\n", p);

    /* Protection is ignored: a read-only page is written, an inaccessible one read. */
    mprotect(p, PAGE, PROT_READ);
    show("pwrite to a read-only page", pwrite(fd, "ro", 2, (off_t)(uintptr_t)p));
    printf("  memory [%s]\n", p);
    mprotect(p, PAGE, PROT_NONE);
    memset(buf, 0, sizeof buf);
    show("pread of a PROT_NONE page", pread(fd, buf, 5, (off_t)(uintptr_t)p));
    printf("  read [%s]\n", buf);
    mprotect(p, PAGE, PROT_READ | PROT_WRITE);

    /* A transfer stops at a hole: EIO if nothing moved, else the count so far. */
    munmap(p + 2 * PAGE, PAGE);
    memset(p + PAGE, 'x', PAGE);
    char big[2 * PAGE];
    show("pread across the end of the mapping", pread(fd, big, sizeof big, (off_t)(uintptr_t)(p + PAGE + 100)));
    show("pread of an unmapped address", pread(fd, big, 16, (off_t)(uintptr_t)(p + 2 * PAGE)));
    show("pwrite to an unmapped address", pwrite(fd, "z", 1, (off_t)(uintptr_t)(p + 2 * PAGE)));
    show("pread of address 0", pread(fd, big, 16, 0));
    show("pread of length 0 at a hole", pread(fd, big, 0, (off_t)(uintptr_t)(p + 2 * PAGE)));
    show("pread into a bad buffer", syscall(SYS_pread64, fd, (void *)8, 16, (off_t)(uintptr_t)p));

    /* The position is an address: SEEK_SET and SEEK_CUR move it, SEEK_END is refused. */
    off_t at = lseek(fd, (off_t)(uintptr_t)p, SEEK_SET);
    printf("lseek SEEK_SET to the address: %s\n", at == (off_t)(uintptr_t)p ? "same" : "other");
    memset(buf, 0, sizeof buf);
    show("read at the position", read(fd, buf, 5));
    printf("  read [%s]\n", buf);
    printf("position advanced by 5: %s\n", lseek(fd, 0, SEEK_CUR) == (off_t)(uintptr_t)p + 5 ? "yes" : "no");
    show("lseek SEEK_END", lseek(fd, 0, SEEK_END));
    struct stat st;
    fstat(fd, &st);
    printf("stat: mode %o size %lld\n", st.st_mode & 07777, (long long)st.st_size);
    show("mmap of mem", mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0);
    close(fd);

    /* A private mapping of a file takes a write (its page is copied); the file keeps its bytes. */
    char tmpl[] = "/tmp/proc_mem.XXXXXX";
    int file = mkstemp(tmpl);
    unlink(tmpl);
    if (write(file, "file-data", 9) != 9) printf("write failed\n");
    char *fp = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, file, 0);
    fd = mem_fd(getpid(), O_RDWR);
    show("pwrite to a private read-only file mapping", pwrite(fd, "FILE", 4, (off_t)(uintptr_t)fp));
    memset(buf, 0, sizeof buf);
    if (pread(file, buf, 9, 0) != 9) printf("pread failed\n");
    printf("  mapping [%.9s] file [%s]\n", fp, buf);

    /* A shared mapping of a file open read-only may never be written: refused. */
    int rdonly = open("/proc/self/exe", O_RDONLY);
    char *sp = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, rdonly, 0);
    show("pwrite to a shared mapping of a read-only file", pwrite(fd, "x", 1, (off_t)(uintptr_t)sp));
    show("pread of it", pread(fd, buf, 4, (off_t)(uintptr_t)sp));
    printf("  elf magic [%.3s]\n", buf + 1);
    close(fd);
    close(rdonly);
    close(file);
}

/* The parent writes into a stopped child's copy-on-write page: the child sees it, the parent's stays. */
static void child_memory(void) {
    static char word[16] = "parent";
    int go[2], back[2];
    if (pipe(go) || pipe(back)) return;
    pid_t c = fork();
    if (c == 0) {
        char b;
        if (read(go[0], &b, 1) != 1) _exit(1);
        if (write(back[1], word, 6) != 6) _exit(1);
        _exit(0);
    }
    int fd = mem_fd(c, O_RDWR);
    show("open child's mem", fd < 0 ? -1 : 0);
    show("pwrite into the child", pwrite(fd, "CHILD!", 6, (off_t)(uintptr_t)word));
    char buf[8] = {0};
    show("pread from the child", pread(fd, buf, 6, (off_t)(uintptr_t)word));
    printf("  child's [%s] parent's [%s]\n", buf, word);
    if (write(go[1], "g", 1) != 1) return;
    memset(buf, 0, sizeof buf);
    if (read(back[0], buf, 6) != 6) printf("short read\n");
    printf("  the child saw [%s]\n", buf);
    int st;
    waitpid(c, &st, 0);
    show("pread after the child was reaped", pread(fd, buf, 6, (off_t)(uintptr_t)word));
    close(fd);
    close(go[0]); close(go[1]); close(back[0]); close(back[1]);
}

/* smaps of one region: the fields whose values the Sentry knows as Linux does. Rss depends on how much memory a
   fault gives (one page in Linux, a larger block in the Sentry), so it is shown against the pages written and the
   size; the counts that follow Rss are shown relative to it. */
static void smaps_of(const char *file, void *addr, const char *label, long written_kb) {
    FILE *f = fopen(file, "r");
    if (!f) { printf("%s: %s\n", file, strerrorname_np(errno)); return; }
    char line[512];
    int in = 0;
    long size = -1, rss = -1, pss = -1, dirty = -1, anon = -1, locked = -1;
    unsigned long start = (unsigned long)(uintptr_t)addr;
    printf("%s:\n", label);
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
            in = a == start;
            if (in) printf("  perms %.4s\n", line + strcspn(line, " ") + 1);
            continue;
        }
        if (!in) continue;
        sscanf(line, "Size: %ld", &size);
        sscanf(line, "Rss: %ld", &rss);
        sscanf(line, "Pss: %ld", &pss);
        sscanf(line, "Private_Dirty: %ld", &dirty);
        sscanf(line, "Anonymous: %ld", &anon);
        sscanf(line, "Locked: %ld", &locked);
        if (!strncmp(line, "Swap:", 5) || !strncmp(line, "KernelPageSize:", 15) || !strncmp(line, "VmFlags:", 8) ||
            !strncmp(line, "Size:", 5))
            printf("  %s", line);
    }
    fclose(f);
    if (written_kb < 0) return;
    printf("  Rss holds the written pages and fits the size: %s\n", rss >= written_kb && rss <= size ? "yes" : "no");
    printf("  Pss %s Rss, Private_Dirty %s, Anonymous %s, Locked %s\n", pss == rss ? "=" : "!=", dirty == rss ? "= Rss" : "!= Rss",
           anon == rss ? "= Rss" : "!= Rss", locked == rss ? "= Rss" : locked == 0 ? "0" : "other");
}

static void smaps(void) {
    /* Guard pages of another protection keep the region from merging with its neighbours. */
    char *g = mmap(NULL, 18 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(g, PAGE, PROT_NONE);
    mprotect(g + 17 * PAGE, PAGE, PROT_NONE);
    char *p = g + PAGE;
    for (int i = 0; i < 5; i++) p[i * PAGE] = 1;
    smaps_of("/proc/self/smaps", p, "anonymous, 5 of 16 pages written", 20);
    char *l = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mlock(l, 4 * PAGE) != 0) printf("mlock: %s\n", strerrorname_np(errno));
    smaps_of("/proc/self/smaps", l, "locked (mlock faults it in)", 16);
    char *s = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    smaps_of("/proc/self/smaps", s, "shared anonymous, untouched", 0);
    int exe = open("/proc/self/exe", O_RDONLY);
    char *r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, exe, 0);
    smaps_of("/proc/self/smaps", r, "shared, of a file open read-only", -1);
    close(exe);

    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (n++ == 0) {
            printf("rollup header: %s", strstr(line, "[rollup]") ? "[rollup]\n" : line);
            continue;
        }
        *strchr(line, ':') = 0;
        printf("  %s", line);
    }
    printf("\n");
    if (f) fclose(f);
}

/* Who may open another process's files: ptrace access, as for ptrace itself. */
static void access_rules(void) {
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        if (setresuid(65534, 65534, 65534) != 0) _exit(1);
        char path[64];
        const char *names[] = {"mem", "smaps", "smaps_rollup", "maps"};
        for (int i = 0; i < 4; i++) {
            snprintf(path, sizeof path, "/proc/%d/%s", (int)parent, names[i]);
            int fd = open(path, O_RDONLY);
            printf("as 65534, open root's %s: %s\n", names[i], fd < 0 ? strerrorname_np(errno) : "ok");
            if (fd >= 0) close(fd);
        }
        int fd = mem_fd(getpid(), O_RDWR);
        printf("as 65534, open own mem: %s\n", fd < 0 ? strerrorname_np(errno) : "ok");
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
}

/* Populating: mlock, MAP_POPULATE and MADV_POPULATE_* give memory at once (mincore sees it). */
static int resident(char *p, int pages) {
    unsigned char vec[64];
    if (mincore(p, (size_t)pages * PAGE, vec) != 0) return -1;
    int n = 0;
    for (int i = 0; i < pages; i++) n += vec[i] & 1;
    return n;
}

static void populate(void) {
    char *a = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    printf("MAP_POPULATE: %d of 8 resident\n", resident(a, 8));
    char *b = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    printf("MAP_LOCKED: %d of 8 resident\n", resident(b, 8));
    char *c = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("MADV_POPULATE_WRITE", madvise(c, 8 * PAGE, MADV_POPULATE_WRITE));
    printf("  %d of 8 resident\n", resident(c, 8));
    mprotect(c, PAGE, PROT_READ);
    show("MADV_POPULATE_WRITE of a read-only page", madvise(c, 2 * PAGE, MADV_POPULATE_WRITE));
    show("MADV_POPULATE_READ of it", madvise(c, 2 * PAGE, MADV_POPULATE_READ));
    mprotect(c, PAGE, PROT_NONE);
    show("MADV_POPULATE_READ of a PROT_NONE page", madvise(c, 2 * PAGE, MADV_POPULATE_READ));
    munmap(c + 4 * PAGE, PAGE);
    show("MADV_POPULATE_READ across a hole", madvise(c + PAGE, 6 * PAGE, MADV_POPULATE_READ));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    self_memory();
    child_memory();
    smaps();
    populate();
    if (getuid() == 0) access_rules();
    return 0;
}
