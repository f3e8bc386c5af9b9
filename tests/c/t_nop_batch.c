/* Exactly one final completion per id (SPEC §3.1); batching: many ar_op_* calls, one submit. */
#include "harness.h"

static struct log log_;

int main(void) {
    ar_ring *ring = ring_or_skip(NULL);
    int64_t ids[256];
    for (int i = 0; i < 256; i++) {
        ids[i] = ar_op_nop(ring, NULL, &log_, log_cb);
        CHECK(ids[i] > 0);
    }
    CHECK_EQ(ar_ring_inflight(ring), 256);
    /* No callback runs inside ar_op_* or ar_ring_submit. */
    CHECK_EQ(ar_ring_submit(ring), 256);
    CHECK_EQ(log_.n, 0);
    CHECK_EQ(ar_ring_run(ring, AR_RUN_UNTIL_DONE), 256);
    for (int i = 0; i < 256; i++) {
        CHECK_EQ(log_finals(&log_, ids[i]), 1);
        CHECK_EQ(log_res(&log_, ids[i]), 0);
        for (int j = 0; j < i; j++) CHECK(ids[i] != ids[j]);
    }
    CHECK_EQ(ar_ring_inflight(ring), 0);
    CHECK_EQ(ar_ring_run(ring, AR_RUN_NOWAIT), 0);
    ar_ring_free(ring);
    ar_ring_free(NULL); /* a no-op */
    return 0;
}
