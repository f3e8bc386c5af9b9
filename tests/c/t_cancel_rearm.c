/* Defect 2 (issue 11, guarantee 5): a cancel reaches an AR_OP_REARM receive in every state
 * the library keeps it in: in the kernel, between its -ENOBUFS completion and the re-arm,
 * and parked for buffers. Each time the receive ends with one final -ECANCELED, the cancel
 * succeeds, and nothing is delivered after the final callback. */
#include "net.h"

static struct log log;
static int64_t target;
static int after_final;

static void on_recv(void *userdata, const ar_completion *c) {
    if (c->op == target && log_finals(&log, target) > 0) after_final++;
    log_cb(userdata, c);
}

/* state 0: fresh in the kernel; 1: -ENOBUFS posted, not reaped; 2: parked. */
static void scenario(int state) {
    ar_ring *r = ring_or_skip(NULL);
    ar_bufgroup *g;
    CHECK_EQ(ar_bufgroup_new(r, 1, 32, &g), 0);
    int client, server;
    tcp_pair(&client, &server);
    log.n = 0;
    after_final = 0;
    ar_op_opts opts = {.flags = AR_OP_REARM};
    target = ar_op_recv_multishot(r, server, g, 0, &opts, &log, on_recv);
    CHECK(target > 0);
    CHECK(ar_ring_submit(r) >= 0);
    if (state >= 1) {
        /* Two segments for one buffer: the first is delivered, the second runs the group dry. */
        CHECK_EQ(write(client, "0123456789abcdef0123456789abcdef", 32), 32);
        usleep(5000);
        CHECK_EQ(write(client, "more", 4), 4);
        usleep(20000);
    }
    if (state == 2) {
        /* Reap: the receive gets its buffer (MORE) and parks on -ENOBUFS. */
        ar_ring_run(r, AR_RUN_NOWAIT);
        CHECK(log.n >= 1);
        CHECK_EQ(log_finals(&log, target), 0);
    }
    CHECK_EQ(ar_ring_inflight(r), 1);
    int64_t cancel = ar_op_cancel(r, target, NULL, &log, log_cb);
    CHECK(cancel > 0); /* never -ENOENT while the target lives */
    double t0 = now_s();
    while (log_finals(&log, target) == 0 || log_finals(&log, cancel) == 0) {
        CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
        CHECK(now_s() - t0 < 10);
    }
    CHECK_EQ(log_finals(&log, target), 1);
    CHECK_EQ(log_res(&log, target), -ECANCELED);
    if (log_res(&log, cancel) != 0) {
        fprintf(stderr, "state %d target %lld cancel %lld\n", state, (long long)target, (long long)cancel);
        for (int i = 0; i < log.n; i++) fprintf(stderr, "  op %lld res %d flags %#x\n", (long long)log.e[i].op, log.e[i].res, log.e[i].flags);
    }
    CHECK_EQ(log_res(&log, cancel), 0);
    /* The data still waiting in the socket is not delivered to a cancelled stream. */
    usleep(10000);
    ar_ring_run(r, AR_RUN_NOWAIT);
    CHECK_EQ(after_final, 0);
    CHECK_EQ(ar_ring_inflight(r), 0);
    ar_bufgroup_free(g);
    ar_ring_free(r);
    close(client);
    close(server);
}

int main(void) {
    for (int round = 0; round < 20; round++)
        for (int state = 0; state < 3; state++) scenario(state);
    return 0;
}
