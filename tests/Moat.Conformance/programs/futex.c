/* futex(2) on one thread: value mismatch, timeouts, wakes with no waiter, bad arguments. */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *name(int e) {
    switch (e) {
    case 0: return "OK";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    default: return "OTHER";
    }
}

static void show(const char *what, long r) {
    printf("%s: %ld %s\n", what, r, r < 0 ? name(errno) : "OK");
}

int main(void) {
    static uint32_t word = 5;
    struct timespec ts = {0, 20 * 1000 * 1000};
    errno = 0;
    show("wait mismatch", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));
    show("wait timeout", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0));
    show("wake none", syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    show("wake bitset 0", syscall(SYS_futex, &word, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0));
    show("wait unaligned", syscall(SYS_futex, (char *)&word + 1, FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
    show("wait bad address", syscall(SYS_futex, (uint32_t *)8, FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
    struct timespec bad = {0, 2000000000L};
    show("wait bad timeout", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 5, &bad, NULL, 0));
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 10 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000L) { now.tv_sec++; now.tv_nsec -= 1000000000L; }
    show("wait_bitset absolute timeout", syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 5, &now, NULL, FUTEX_BITSET_MATCH_ANY));
    return 0;
}
