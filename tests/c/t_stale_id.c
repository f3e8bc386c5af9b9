/* Stale ids are harmless (docs/DESIGN.md, guarantee 4): cancelling a finished id returns -ENOENT and never
 * touches the operation that now uses its slot. */
#include "harness.h"

static struct log log_;

int main(void) {
    ar_ring *ring = ring_or_skip(NULL);
    int64_t old = ar_op_nop(ring, NULL, &log_, log_cb);
    CHECK(old > 0);
    CHECK_EQ(ar_ring_run(ring, AR_RUN_UNTIL_DONE), 1);
    int64_t timer = ar_op_timeout(ring, 20 * 1000000ull, NULL, &log_, log_cb);
    CHECK(timer > 0 && timer != old);
    CHECK_EQ(ar_op_cancel(ring, old, NULL, &log_, log_cb), -ENOENT);
    CHECK_EQ(ar_op_cancel(ring, 0, NULL, &log_, log_cb), -ENOENT);
    CHECK_EQ(ar_op_cancel(ring, -5, NULL, &log_, log_cb), -ENOENT);
    CHECK_EQ(ar_op_cancel(ring, INT64_MAX, NULL, &log_, log_cb), -ENOENT);
    CHECK_EQ(ar_op_cancel(ring, timer + 1, NULL, &log_, log_cb), -ENOENT);
    CHECK_EQ(ar_ring_run(ring, AR_RUN_UNTIL_DONE), 1);
    CHECK_EQ(log_res(&log_, timer), 0); /* fired normally */
    /* Cancelling the live timer's successor id after it finished is stale again. */
    CHECK_EQ(ar_op_cancel(ring, timer, NULL, &log_, log_cb), -ENOENT);
    /* Cancelling from inside its own final callback: the op is finished there. */
    ar_ring_free(ring);
    return 0;
}
