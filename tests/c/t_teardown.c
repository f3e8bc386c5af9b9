/* ar_ring_free cancels everything in flight, waits, delivers every final callback, then
 * frees (docs/DESIGN.md, guarantee 3). Run under AddressSanitizer: the buffers are freed right after. */
#include "harness.h"

static struct log log_;

int main(void) {
    ar_ring_config config;
    ar_ring_config_default(&config);
    config.sq_entries = 8;
    ar_ring *ring = ring_or_skip(&config);
    int fds[2];
    CHECK(pipe(fds) == 0);
    enum { READS = 40 };
    char *bufs[READS];
    int64_t ids[READS + 3];
    for (int i = 0; i < READS; i++) {
        bufs[i] = malloc(64);
        ids[i] = ar_op_read(ring, fds[0], bufs[i], 64, UINT64_MAX, NULL, &log_, log_cb);
        CHECK(ids[i] > 0);
    }
    ar_op_opts deadline = {.timeout_ns = 60ull * 1000000000ull};
    ids[READS] = ar_op_timeout(ring, 60ull * 1000000000ull, &deadline, &log_, log_cb);
    CHECK(ar_ring_submit(ring) > 0); /* some reach the kernel, the rest stay in the backlog */
    ids[READS + 1] = ar_op_timeout(ring, 60ull * 1000000000ull, NULL, &log_, log_cb);
    ids[READS + 2] = ar_op_nop(ring, NULL, &log_, log_cb);
    CHECK(ids[READS + 1] > 0 && ids[READS + 2] > 0);
    CHECK_EQ(ar_ring_run(ring, AR_RUN_NOWAIT) >= 0, 1);
    int before = log_.n;
    ar_ring_free(ring);
    for (int i = 0; i < READS; i++) free(bufs[i]);
    CHECK_EQ(log_.n, READS + 3);
    for (int i = 0; i < READS + 3; i++) CHECK_EQ(log_finals(&log_, ids[i]), 1);
    for (int i = 0; i < READS + 1; i++) CHECK_EQ(log_res(&log_, ids[i]), -ECANCELED);
    (void)before;
    close(fds[0]);
    close(fds[1]);
    return 0;
}
