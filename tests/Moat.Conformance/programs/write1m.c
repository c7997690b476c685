/* write1m.c - 1 MiB (1048576 bytes) of deterministic text on stdout via
 * write(2), handling partial writes. Lines are
 *   "line %06d abcdefghijklmnopqrstuvwxyz\n"  (39 bytes each)
 * and the last line is truncated so the total is exactly 1048576 bytes.
 * Writes are issued in chunks of varying size (1..65536 bytes) so the
 * sandbox sees many differently sized writes. Exit status 0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TOTAL 1048576

static char buf[TOTAL + 64];

int main(void)
{
    size_t n = 0;
    for (int i = 0; n < TOTAL; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "line %06d abcdefghijklmnopqrstuvwxyz\n", i);

    static const size_t chunks[] = { 1, 4096, 39, 65536, 100, 8191, 3, 16384, 777, 65536 };
    size_t off = 0, k = 0;
    while (off < TOTAL) {
        size_t len = chunks[k++ % (sizeof chunks / sizeof chunks[0])];
        if (len > TOTAL - off)
            len = TOTAL - off;
        size_t end = off + len;
        while (off < end) {
            ssize_t w = write(1, buf + off, end - off);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return 1;
            }
            off += (size_t)w;
        }
    }
    return 0;
}
