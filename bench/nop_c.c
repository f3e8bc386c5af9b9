/* NOP round trip through the C API: queue BATCH nops, run until they are delivered (one
 * io_uring_enter per batch), count them in the callback. Prints ns per operation.
 *   nop_c BATCH OPS [threadsafe|threadsafe-submitter]
 *     threadsafe: an AR_RING_THREADSAFE ring (the kernel's polling thread submits);
 *     threadsafe-submitter: the same where SQPOLL cannot be set up (a thread the ring owns
 *     enters the kernel; forced with ASYNCRING_THREADSAFE_SUBMITTER) */
#define _GNU_SOURCE
#include <asyncring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static unsigned long delivered;

static void on_nop(void *userdata, const ar_completion *c) {
    (void)userdata;
    delivered += (unsigned long)(c->res == 0);
}

int main(int argc, char **argv) {
    int batch = argc > 1 ? atoi(argv[1]) : 32;
    unsigned long ops = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    ar_ring_config config;
    ar_ring_config_default(&config);
    config.sq_entries = batch < 256 ? 256 : (uint32_t)batch;
    if (argc > 3 && strcmp(argv[3], "threadsafe") == 0) config.flags = AR_RING_THREADSAFE;
    if (argc > 3 && strcmp(argv[3], "threadsafe-submitter") == 0) {
        config.flags = AR_RING_THREADSAFE;
        setenv("ASYNCRING_THREADSAFE_SUBMITTER", "1", 1);
    }
    ar_ring *ring;
    if (ar_ring_new(&config, &ring) < 0) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long done = 0; done < ops; done += (unsigned long)batch) {
        for (int i = 0; i < batch; i++)
            if (ar_op_nop(ring, NULL, NULL, on_nop) < 0) return 1;
        if (ar_ring_run(ring, AR_RUN_UNTIL_DONE) < 0) return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    /* CPU of every thread of the process: a submitter thread's, and the kernel's SQPOLL
     * thread's (an io thread of this process), not just the caller's. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
    printf("RESULT ns_per_op=%.2f cpu_ns_per_op=%.2f ops=%lu\n", ns / (double)delivered, cpu / (double)delivered,
           delivered);
    ar_ring_free(ring);
    return 0;
}
