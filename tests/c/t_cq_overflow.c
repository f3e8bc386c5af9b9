/* A completion queue that overflows loses nothing (docs/DESIGN.md, guarantee 2): 2000 completions are
 * produced into an 8-entry completion queue before anything is reaped. */
#include "harness.h"

#define N 2000
static struct log log_;
static int64_t ids[N];

int main(void) {
    ar_ring_config config;
    ar_ring_config_default(&config);
    config.sq_entries = 8;
    config.cq_entries = 8;
    ar_ring *ring = ring_or_skip(&config);
    for (int i = 0; i < N; i++) CHECK((ids[i] = ar_op_nop(ring, NULL, &log_, log_cb)) > 0);
    /* Submitting hands all of them over: nops complete inline, so the kernel now holds far
     * more completions than the queue has room for (in its overflow list). */
    int handed = 0;
    for (int tries = 0; handed < N && tries < 10000; tries++) {
        int rc = ar_ring_submit(ring);
        CHECK(rc >= 0);
        handed += rc;
    }
    CHECK_EQ(handed, N);
    CHECK_EQ(log_.n, 0);
    CHECK_EQ(ar_ring_run(ring, AR_RUN_UNTIL_DONE), N);
    for (int i = 0; i < N; i++) CHECK_EQ(log_finals(&log_, ids[i]), 1);
    ar_ring_free(ring);
    return 0;
}
