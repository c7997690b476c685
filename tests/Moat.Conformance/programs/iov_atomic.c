/* readv and writev on a pipe are one operation each (Linux holds the pipe's mutex for the whole call): two
 * writers writev records of PIPE_BUF bytes or less in three pieces, two readers readv exactly one record's
 * size in two pieces; every record read is whole and of one writer. A loop of read(2)s per iovec would let
 * the other reader take the middle of a record. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECORD 512
#define RECORDS 400

struct shared {
    int records;
    int torn;
    int short_reads;
    int per_writer[2];
};

static void writer(int fd, int id) {
    char rec[RECORD];
    for (int i = 0; i < RECORDS; i++) {
        memset(rec, 'a' + id * 10 + i % 10, sizeof rec);
        struct iovec v[3] = { { rec, 100 }, { rec + 100, 300 }, { rec + 400, RECORD - 400 } };
        if (writev(fd, v, 3) != RECORD) _exit(2);
    }
    _exit(0);
}

static void reader(int fd, struct shared *sh) {
    char rec[RECORD];
    for (;;) {
        struct iovec v[2] = { { rec, 7 }, { rec + 7, RECORD - 7 } };
        ssize_t n = readv(fd, v, 2);
        if (n == 0) break;
        if (n != RECORD) { __atomic_add_fetch(&sh->short_reads, 1, __ATOMIC_SEQ_CST); if (n < 0) break; continue; }
        int same = 1;
        for (int i = 1; i < RECORD; i++) if (rec[i] != rec[0]) { same = 0; break; }
        if (!same) __atomic_add_fetch(&sh->torn, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&sh->records, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&sh->per_writer[rec[0] >= 'k'], 1, __ATOMIC_SEQ_CST);
    }
    _exit(0);
}

int main(void) {
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) { perror("mmap"); return 1; }
    int p[2];
    if (pipe(p) < 0) { perror("pipe"); return 1; }
    fflush(stdout);

    pid_t kids[4];
    for (int i = 0; i < 2; i++) {
        if ((kids[i] = fork()) == 0) { close(p[1]); reader(p[0], sh); }
    }
    for (int i = 0; i < 2; i++) {
        if ((kids[2 + i] = fork()) == 0) { close(p[0]); writer(p[1], i); }
    }
    close(p[0]);
    close(p[1]);

    int bad = 0;
    for (int i = 0; i < 4; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bad++;
    }

    printf("children failed: %d\n", bad);
    printf("records read: %d of %d\n", sh->records, 2 * RECORDS);
    printf("per writer: %d %d\n", sh->per_writer[0], sh->per_writer[1]);
    printf("torn records: %d\n", sh->torn);
    printf("short reads: %d\n", sh->short_reads);
    return 0;
}
