/* Memory: mmap+touch+munmap of SIZE bytes until TOTAL bytes were mapped (ns per mapping), a page-fault
 * sweep over fresh anonymous memory (ns per page), and malloc/free churn (ns per operation).
 * usage: memory mmap SIZE TOTAL | faults BYTES | malloc N */
#include <string.h>
#include <sys/mman.h>
#include "bench.h"

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    long page = sysconf(_SC_PAGESIZE);
    if (strcmp(mode, "mmap") == 0 && argc > 3) {
        long size = atol(argv[2]), total = atol(argv[3]), n = total / size;
        double t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) return bench_fail("mmap");
            for (long off = 0; off < size; off += page) p[off] = 1;
            munmap(p, size);
        }
        return bench_report(t0, n);
    }
    if (strcmp(mode, "faults") == 0) {
        long bytes = atol(argv[2]);
        char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return bench_fail("mmap");
        double t0 = bench_now_ns();
        for (long off = 0; off < bytes; off += page) p[off] = 1;
        return bench_report(t0, bytes / page);
    }
    if (strcmp(mode, "malloc") == 0) {
        long n = atol(argv[2]);
        enum { SLOTS = 1024 };
        static void *slot[SLOTS];
        unsigned x = 12345;
        double t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            unsigned s = (x >> 8) % SLOTS;
            free(slot[s]);
            size_t size = 16 + (x >> 16) % (x & 1 ? 256 : 65536);
            slot[s] = malloc(size);
            if (!slot[s]) return bench_fail("malloc");
            *(char *)slot[s] = 1;
        }
        return bench_report(t0, n);
    }
    return 2;
}
