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

    /* ar_ring_submit ends an open chain on every kind of ring: operations queued after it
     * never join it (a thread-safe ring's submitter enters later than the submit call). */
    uint32_t modes[] = {0, AR_RING_THREADSAFE, AR_RING_THREADSAFE | AR_RING_SQPOLL, AR_RING_SQPOLL};
    for (int m = 0; m < 4; m++) {
        cfg.flags = modes[m];
        r = ring_or_skip(&cfg);
        log.n = 0;
        int64_t head = ar_op_nop(r, &link, &log, log_cb);
        CHECK(head > 0);
        CHECK(ar_ring_submit(r) >= 0);
        int64_t later[6];
        for (int i = 0; i < 6; i++) later[i] = ar_op_nop(r, NULL, &log, log_cb);
        CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 7);
        CHECK_EQ(log_res(&log, head), 0);
        for (int i = 0; i < 6; i++) CHECK_EQ(log_res(&log, later[i]), 0);
        ar_ring_free(r);
    }
    return 0;
}
