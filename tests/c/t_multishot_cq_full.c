/* Defect 5 (issue 11, guarantee 8): under completion-queue pressure the kernel stops a
 * multishot accept with a final CQE that still holds a new connection, and a multishot
 * receive with a final CQE that still holds data. The library delivers what such a CQE
 * carries as an AR_COMPLETION_MORE callback and re-arms under the same id: the stream ends
 * only on cancel, error, end of stream or teardown, and nothing is lost. */
#include "net.h"

enum { CONNS = 24, BYTES = 4096, BUF = 16 };
static struct log log;
static int accepted[CONNS * 2], naccepted;
static unsigned char got[BYTES];
static size_t got_n;
static ar_bufgroup *group;

static void on_accept(void *userdata, const ar_completion *c) {
    log_cb(userdata, c);
    if (c->flags & AR_COMPLETION_MORE) {
        CHECK(c->res >= 0);
        accepted[naccepted++] = c->res;
    }
}

static void on_data(void *userdata, const ar_completion *c) {
    log_cb(userdata, c);
    if (c->flags & AR_COMPLETION_BUFFER) {
        CHECK(c->flags & AR_COMPLETION_MORE);
        CHECK(got_n + (size_t)c->res <= BYTES);
        memcpy(got + got_n, c->buf, (size_t)c->res);
        got_n += (size_t)c->res;
        CHECK_EQ(ar_bufgroup_recycle(group, c->buf_id), 0);
    }
}

int main(void) {
    alarm(30);
    /* A completion queue of 4 entries: far fewer than the completions each burst makes. */
    ar_ring_config cfg;
    ar_ring_config_default(&cfg);
    cfg.sq_entries = 2;
    cfg.cq_entries = 4;
    ar_ring *r = ring_or_skip(&cfg);

    struct sockaddr_in addr;
    int l = listener(&addr);
    int64_t acc = ar_op_accept_multishot(r, l, SOCK_CLOEXEC, NULL, &log, on_accept);
    CHECK(acc > 0);
    CHECK(ar_ring_submit(r) >= 0);
    int clients[CONNS];
    for (int i = 0; i < CONNS; i++) clients[i] = dial(&addr);
    usleep(50000); /* every connection accepted by the kernel, CQEs unreaped */
    double t0 = now_s();
    while (naccepted < CONNS) {
        CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
        CHECK(now_s() - t0 < 10);
    }
    CHECK_EQ(naccepted, CONNS); /* none lost, none extra */
    CHECK_EQ(log_finals(&log, acc), 0); /* the stream goes on */
    CHECK_EQ(ar_ring_inflight(r), 1);

    /* One receive stream, 256 buffers of 16 bytes: 4 KiB arrives as ~256 completions. */
    CHECK_EQ(ar_bufgroup_new(r, 256, BUF, &group), 0);
    int64_t rcv = ar_op_recv_multishot(r, accepted[0], group, 0, NULL, &log, on_data);
    CHECK(rcv > 0);
    CHECK(ar_ring_submit(r) >= 0);
    unsigned char sent[BYTES];
    for (size_t i = 0; i < BYTES; i++) sent[i] = pattern(3, i);
    for (size_t off = 0; off < BYTES; off += 256) {
        CHECK_EQ(write(clients[0], sent + off, 256), 256);
        usleep(500);
    }
    usleep(20000);
    t0 = now_s();
    while (got_n < BYTES) {
        CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
        CHECK(now_s() - t0 < 10);
    }
    CHECK(memcmp(got, sent, BYTES) == 0);
    CHECK_EQ(log_finals(&log, rcv), 0);

    /* End of stream still ends it: one final callback, res 0. */
    close(clients[0]);
    while (log_finals(&log, rcv) == 0) CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
    CHECK_EQ(log_res(&log, rcv), 0);
    /* And a cancel ends the accept stream. */
    int64_t c = ar_op_cancel(r, acc, NULL, &log, log_cb);
    CHECK(c > 0);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 1);
    CHECK_EQ(log_finals(&log, acc), 1);
    CHECK_EQ(log_res(&log, acc), -ECANCELED);
    for (int i = 0; i < naccepted; i++) close(accepted[i]);
    for (int i = 1; i < CONNS; i++) close(clients[i]);
    close(l);
    ar_bufgroup_free(group);
    ar_ring_free(r);
    return 0;
}
