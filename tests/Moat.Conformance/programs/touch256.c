/* touch256.c - demand paging of a large anonymous mapping.
 * Maps 256 MiB, writes one byte per 4 KiB page (page index & 0xff), sums
 * them back. Expected sum = 256 * (0+1+...+255) = 8355840. Exit status 0. */
#include <stdio.h>
#include <sys/mman.h>

#define PAGE 4096UL
#define SIZE (256UL * 1024 * 1024)

int main(void)
{
    unsigned char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        printf("mmap 256MiB: failed\n");
        return 1;
    }
    printf("mmap 256MiB: ok\n");
    unsigned long pages = SIZE / PAGE;
    for (unsigned long i = 0; i < pages; i++)
        p[i * PAGE] = (unsigned char)(i & 0xff);
    unsigned long sum = 0;
    for (unsigned long i = 0; i < pages; i++)
        sum += p[i * PAGE];
    printf("pages=%lu sum=%lu\n", pages, sum);
    printf("munmap: %s\n", munmap(p, SIZE) == 0 ? "ok" : "failed");
    return 0;
}
