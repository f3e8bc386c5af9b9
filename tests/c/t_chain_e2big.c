/* A linked chain longer than the submission queue cannot be handed to the kernel in one
 * batch: every operation in it completes with -E2BIG (a kernel rule the API documents),
 * exactly once, and operations around it are unaffected. */
#include "harness.h"

static struct log log;

int main(void) {
    ar_ring_config cfg;
    ar_ring_config_default(&cfg);
    cfg.sq_entries = 4;
    ar_ring *r = ring_or_skip(&cfg);
    int64_t before = ar_op_nop(r, NULL, &log, log_cb);
    ar_op_opts link = {.flags = AR_OP_LINK};
    int64_t chain[6];
    for (int i = 0; i < 6; i++) chain[i] = ar_op_nop(r, i < 5 ? &link : NULL, &log, log_cb);
    int64_t after = ar_op_nop(r, NULL, &log, log_cb);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 8);
    CHECK_EQ(log_res(&log, before), 0);
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(log_finals(&log, chain[i]), 1);
        CHECK_EQ(log_res(&log, chain[i]), -E2BIG);
    }
    CHECK_EQ(log_res(&log, after), 0);
    /* A chain that fits still runs. */
    int64_t fits[4];
    for (int i = 0; i < 4; i++) fits[i] = ar_op_nop(r, i < 3 ? &link : NULL, &log, log_cb);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 4);
    for (int i = 0; i < 4; i++) CHECK_EQ(log_res(&log, fits[i]), 0);
    CHECK_EQ(ar_ring_inflight(r), 0);
    ar_ring_free(r);
    return 0;
}
