/* Cancelling a multishot operation (accept, receive, poll) yields exactly one final
 * callback for it, after any number of AR_COMPLETION_MORE ones. */
#include "net.h"

static struct log log_;
static ar_bufgroup *g;

static void recycle_cb(void *userdata, const ar_completion *c) {
    log_cb(userdata, c);
    if (c->flags & AR_COMPLETION_BUFFER) CHECK_EQ(ar_bufgroup_recycle(g, c->buf_id), 0);
}

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    CHECK_EQ(ar_bufgroup_new(r, 8, 256, &g), 0);
    struct sockaddr_in addr;
    int l = listener(&addr);
    int client, server;
    tcp_pair(&client, &server);
    int pfd[2];
    CHECK(pipe(pfd) == 0);

    int64_t acc = ar_op_accept_multishot(r, l, 0, NULL, &log_, log_cb);
    int64_t rx = ar_op_recv_multishot(r, server, g, 0, NULL, &log_, recycle_cb);
    int64_t pl = ar_op_poll_multishot(r, pfd[0], POLLIN, NULL, &log_, log_cb);
    CHECK(acc > 0 && rx > 0 && pl > 0);
    CHECK(ar_ring_submit(r) >= 0);
    /* Make each produce intermediate completions first. */
    int c1 = dial(&addr);
    CHECK(write(client, "abc", 3) == 3);
    CHECK(write(pfd[1], "x", 1) == 1);
    double t0 = now_s();
    while (log_.n < 3) {
        CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
        CHECK(now_s() - t0 < 10);
    }
    CHECK_EQ(log_finals(&log_, acc) + log_finals(&log_, rx) + log_finals(&log_, pl), 0);
    int64_t cancels[3] = {
        ar_op_cancel(r, acc, NULL, &log_, log_cb),
        ar_op_cancel(r, rx, NULL, &log_, log_cb),
        ar_op_cancel(r, pl, NULL, &log_, log_cb),
    };
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 6);
    int64_t ids[3] = {acc, rx, pl};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(log_finals(&log_, ids[i]), 1);
        CHECK_EQ(log_res(&log_, ids[i]), -ECANCELED);
        CHECK_EQ(log_res(&log_, cancels[i]), 0);
    }
    for (int i = 0; i < log_.n; i++)
        if (log_.e[i].op == acc && log_.e[i].res >= 0) close(log_.e[i].res);
    CHECK_EQ(ar_ring_inflight(r), 0);
    close(c1);
    close(client);
    close(server);
    close(l);
    close(pfd[0]);
    close(pfd[1]);
    ar_bufgroup_free(g);
    ar_ring_free(r);
    return 0;
}
