/* AR_OP_DRAIN (issue 11, defect 3): a drained operation starts only after every operation
 * queued before it has completed, and what follows waits for it; it can be cancelled while
 * it waits, and ar_ring_free with a drain pending returns, with every final callback. */
#include "harness.h"

static struct log log;

static int done(int64_t id) { return log_finals(&log, id) > 0; }

int main(void) {
    alarm(20);
    ar_ring *r = ring_or_skip(NULL);
    int p1[2], p2[2];
    CHECK(pipe(p1) == 0 && pipe(p2) == 0);
    char a[8], b[8];

    /* Order: A (blocks on an empty pipe), then drained B, then C. */
    int64_t A = ar_op_read(r, p1[0], a, sizeof a, UINT64_MAX, NULL, &log, log_cb);
    ar_op_opts drain = {.flags = AR_OP_DRAIN};
    int64_t B = ar_op_write(r, p2[1], "drained", 7, UINT64_MAX, &drain, &log, log_cb);
    int64_t C = ar_op_nop(r, NULL, &log, log_cb);
    CHECK(A > 0 && B > 0 && C > 0);
    for (int i = 0; i < 5; i++) {
        CHECK(ar_ring_run(r, AR_RUN_NOWAIT) >= 0);
        usleep(2000);
    }
    CHECK(!done(A) && !done(B) && !done(C));
    CHECK_EQ(ar_ring_inflight(r), 3);
    CHECK_EQ(write(p1[1], "go", 2), 2);
    while (!done(C)) CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
    CHECK_EQ(log_res(&log, A), 2);
    CHECK_EQ(log_res(&log, B), 7);
    CHECK_EQ(log_res(&log, C), 0);
    /* Completion order: A before B before C. */
    int ia = -1, ib = -1, ic = -1;
    for (int i = 0; i < log.n; i++) {
        if (log.e[i].op == A) ia = i;
        if (log.e[i].op == B) ib = i;
        if (log.e[i].op == C) ic = i;
    }
    CHECK(ia < ib && ib < ic);
    CHECK_EQ(read(p2[0], b, sizeof b), 7);

    /* A drained operation held behind a pending read can be cancelled. */
    int64_t D = ar_op_read(r, p1[0], a, sizeof a, UINT64_MAX, NULL, &log, log_cb);
    int64_t E = ar_op_nop(r, &drain, &log, log_cb);
    int64_t F = ar_op_nop(r, NULL, &log, log_cb);
    CHECK(ar_ring_run(r, AR_RUN_NOWAIT) >= 0);
    int64_t cancel_e = ar_op_cancel(r, E, NULL, &log, log_cb);
    CHECK(cancel_e > 0);
    while (!done(E) || !done(cancel_e)) CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
    CHECK_EQ(log_res(&log, E), -ECANCELED);
    CHECK_EQ(log_res(&log, cancel_e), 0);
    CHECK(!done(D));
    /* And the pending read itself, ahead of the drain. */
    int64_t cancel_d = ar_op_cancel(r, D, NULL, &log, log_cb);
    CHECK(cancel_d > 0);
    while (!done(D) || !done(F)) CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
    CHECK_EQ(log_res(&log, D), -ECANCELED);
    CHECK_EQ(log_res(&log, F), 0);

    /* A linked operation held behind a drain can be cancelled: it and the rest of its
     * chain end at once, and the drain, once what preceded it completes, goes through
     * (the pending cancel does not hold it). Found by the torture test. */
    int64_t r1 = ar_op_read(r, p1[0], a, 1, UINT64_MAX, NULL, &log, log_cb);
    int64_t dn = ar_op_nop(r, &drain, &log, log_cb);
    ar_op_opts link = {.flags = AR_OP_LINK};
    int64_t r2 = ar_op_read(r, p1[0], b, 1, UINT64_MAX, &link, &log, log_cb);
    int64_t after_r2 = ar_op_nop(r, NULL, &log, log_cb);
    CHECK(ar_ring_submit(r) >= 0);
    int64_t c2 = ar_op_cancel(r, r2, NULL, &log, log_cb);
    CHECK(c2 > 0);
    CHECK(ar_ring_run(r, AR_RUN_NOWAIT) >= 0);
    int64_t c1 = ar_op_cancel(r, r1, NULL, &log, log_cb);
    CHECK(c1 > 0);
    double t_link = now_s();
    while (ar_ring_inflight(r) > 0) {
        CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
        CHECK(now_s() - t_link < 2);
    }
    CHECK_EQ(log_res(&log, r2), -ECANCELED);
    CHECK_EQ(log_res(&log, after_r2), -ECANCELED);
    CHECK_EQ(log_res(&log, c2), 0);
    CHECK_EQ(log_res(&log, r1), -ECANCELED);
    CHECK_EQ(log_res(&log, c1), 0);
    CHECK_EQ(log_res(&log, dn), 0);

    /* Teardown with a drain held behind a pending read: no hang, every final delivered. */
    int64_t G = ar_op_read(r, p1[0], a, sizeof a, UINT64_MAX, NULL, &log, log_cb);
    ar_op_opts drain_deadline = {.flags = AR_OP_DRAIN, .timeout_ns = 5000000000ull};
    int64_t H = ar_op_read(r, p2[0], b, sizeof b, UINT64_MAX, &drain_deadline, &log, log_cb);
    int64_t I = ar_op_nop(r, NULL, &log, log_cb);
    CHECK(ar_ring_run(r, AR_RUN_NOWAIT) >= 0);
    double t0 = now_s();
    ar_ring_free(r);
    CHECK(now_s() - t0 < 2);
    CHECK_EQ(log_finals(&log, G), 1);
    CHECK_EQ(log_finals(&log, H), 1);
    CHECK_EQ(log_finals(&log, I), 1);
    CHECK_EQ(log_res(&log, G), -ECANCELED);
    CHECK_EQ(log_res(&log, H), -ECANCELED);
    CHECK_EQ(log_res(&log, I), -ECANCELED);
    return 0;
}
