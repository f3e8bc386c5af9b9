/* Exactly one final completion per id (docs/DESIGN.md, guarantee 1); batching: many ar_op_* calls, one submit;
 * the same on an SQPOLL ring, whose kernel thread reads the SQ tail as soon as it moves, with
 * more operations than SQ entries (the backlog). */
#include "harness.h"

static struct log log_, log2_;

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

    ar_ring_config config;
    ar_ring_config_default(&config);
    config.flags = AR_RING_SQPOLL;
    config.sq_entries = 32;
    ring = ring_or_skip(&config);
    static int64_t many[1000];
    for (int i = 0; i < 1000; i++) CHECK((many[i] = ar_op_nop(ring, NULL, &log2_, log_cb)) > 0);
    CHECK_EQ(ar_ring_run(ring, AR_RUN_UNTIL_DONE), 1000);
    CHECK_EQ(log2_.n, 1000);
    for (int i = 0; i < 1000; i += 37) {
        CHECK_EQ(log_finals(&log2_, many[i]), 1);
        CHECK_EQ(log_res(&log2_, many[i]), 0);
    }
    CHECK_EQ(ar_ring_inflight(ring), 0);
    ar_ring_free(ring);
    return 0;
}
