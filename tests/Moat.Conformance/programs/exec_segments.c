/* The program's own ELF segments are private file mappings, as execve makes them: MADV_DONTNEED of a page of
 * initialized data (.data) that was written reads the file's bytes again, of a page of .bss zeros, of a page
 * of read-only data the same bytes; /proc/self/maps shows the text and data segments with the executable's
 * device, inode and their offsets in it (the offset equals the page's place in the file, checked by reading
 * the file), and the bss beyond the data's file pages as an anonymous mapping. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PAGE 4096

/* Page-aligned, so each holds whole pages of its own. */
static char data_pages[2 * PAGE] __attribute__((aligned(PAGE))) = "initial value of a data page";
static char bss_pages[2 * PAGE] __attribute__((aligned(PAGE)));
static const char ro_pages[2 * PAGE] __attribute__((aligned(PAGE))) = "read-only data";

struct line {
    unsigned long lo, hi, off, ino;
    unsigned ma, mi;
    char perms[8], name[512];
};

static int find_line(const void *addr, struct line *out) {
    FILE *f = fopen("/proc/self/maps", "r");
    char buf[1024];
    int found = 0;
    while (f && !found && fgets(buf, sizeof buf, f)) {
        struct line l = {0};
        int n = sscanf(buf, "%lx-%lx %7s %lx %x:%x %lu %511s", &l.lo, &l.hi, l.perms, &l.off, &l.ma, &l.mi, &l.ino, l.name);
        if (n >= 7 && (unsigned long)addr >= l.lo && (unsigned long)addr < l.hi) {
            *out = l;
            found = 1;
        }
    }
    if (f) fclose(f);
    return found;
}

/* What maps says of the mapping holding addr, checked against the executable itself. */
static void describe(const char *what, const void *addr, const struct stat *exe, int fd) {
    struct line l;
    if (!find_line(addr, &l)) {
        printf("%s: no line\n", what);
        return;
    }
    int named = strcmp(l.name, "") != 0 && strstr(l.name, "exec_segments") != NULL;
    int same_file = l.ino == exe->st_ino && makedev(l.ma, l.mi) == exe->st_dev;
    int anon = l.ino == 0 && l.ma == 0 && l.mi == 0 && l.off == 0 && l.name[0] == 0;
    /* The page at addr is the file's page at off + (page - lo) (compare its first bytes with the file's). */
    int offset_right = 0;
    if (same_file) {
        char from_file[64], *page = (char *)((unsigned long)addr & ~(unsigned long)(PAGE - 1));
        long got = pread(fd, from_file, sizeof from_file, (off_t)(l.off + ((unsigned long)page - l.lo)));
        offset_right = got == (long)sizeof from_file && memcmp(from_file, page, sizeof from_file) == 0;
    }
    printf("%s: %s named %d same file %d offset matches the file %d anonymous %d\n", what, l.perms, named, same_file, offset_right, anon);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat exe;
    if (fd < 0 || fstat(fd, &exe) != 0) return 1;

    describe("text", (const void *)main, &exe, fd);
    describe("rodata", ro_pages, &exe, fd);
    describe("data", data_pages, &exe, fd);
    describe("bss", bss_pages + PAGE, &exe, fd);

    /* Written data, then dropped: the file's bytes come back. */
    strcpy(data_pages, "changed");
    data_pages[PAGE] = 'x';
    printf("data before: %s\n", data_pages);
    printf("madvise data: %d\n", madvise(data_pages, PAGE, MADV_DONTNEED));
    printf("data after: %s\n", data_pages);
    printf("second data page kept: %c\n", data_pages[PAGE]);
    printf("madvise second data page: %d\n", madvise(data_pages + PAGE, PAGE, MADV_DONTNEED));
    printf("second data page after: %d\n", data_pages[PAGE]);

    /* bss pages come back as zeros. */
    memset(bss_pages, 7, sizeof bss_pages);
    printf("madvise bss: %d\n", madvise(bss_pages, sizeof bss_pages, MADV_DONTNEED));
    int zero = 1;
    for (int i = 0; i < (int)sizeof bss_pages; i++) zero &= bss_pages[i] == 0;
    printf("bss after: zero %d\n", zero);

    /* Read-only data: the same bytes. */
    printf("madvise rodata: %d\n", madvise((void *)ro_pages, PAGE, MADV_DONTNEED));
    printf("rodata after: %s\n", ro_pages);
    close(fd);
    return 0;
}
