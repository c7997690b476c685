/* Sleeps for SECONDS (default 3): the program whose memory cost the runner measures. */
#include "bench.h"

int main(int argc, char **argv) {
    struct timespec t = {argc > 1 ? atol(argv[1]) : 3, 0};
    nanosleep(&t, NULL);
    return 0;
}
