/* A submission queue far smaller than the operations queued loses nothing (docs/DESIGN.md, guarantee 2). */
#include "harness.h"

#define N 10000
static struct log log_;
static int64_t ids[N];

int main(void) {
    ar_ring_config config;
    ar_ring_config_default(&config);
    config.sq_entries = 4;
    config.cq_entries = 8;
    ar_ring *ring = ring_or_skip(&config);
    for (int i = 0; i < N; i++) {
        ids[i] = (i % 3 == 0) ? ar_op_timeout(ring, 1000, NULL, &log_, log_cb) : ar_op_nop(ring, NULL, &log_, log_cb);
        CHECK(ids[i] > 0); /* never fails for a full queue */
    }
    CHECK_EQ(ar_ring_inflight(ring), N);
    CHECK_EQ(ar_ring_run(ring, AR_RUN_UNTIL_DONE), N);
    CHECK_EQ(log_.n, N);
    for (int i = 0; i < N; i += 97) CHECK_EQ(log_finals(&log_, ids[i]), 1);
    for (int i = 0; i < log_.n; i++) CHECK_EQ(log_.e[i].res, 0);
    ar_ring_free(ring);
    return 0;
}
