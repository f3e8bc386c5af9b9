/* A burst into a tiny buffer group: without AR_OP_REARM the kernel ends the multishot
 * receive with -ENOBUFS; with it, the stream survives under the same id, nothing is lost,
 * and bytes arrive in order. */
#include "net.h"

enum { BURST = 256 * 1024, COUNT = 4, SIZE = 512 };
static unsigned char sent[BURST], got[BURST];
static size_t got_n;
static int finals, saw_enobufs, max_lent;
static int32_t final_res;
static uint16_t lent[COUNT];
static int nlent;

static void on_data(void *userdata, const ar_completion *c) {
    (void)userdata;
    if (c->flags & AR_COMPLETION_BUFFER) {
        CHECK(got_n + (size_t)c->res <= BURST);
        memcpy(got + got_n, c->buf, (size_t)c->res);
        got_n += (size_t)c->res;
        CHECK(nlent < COUNT);
        lent[nlent++] = c->buf_id; /* hold it: recycle later, so the group runs dry */
        if (nlent > max_lent) max_lent = nlent;
    }
    if (!(c->flags & AR_COMPLETION_MORE)) {
        finals++;
        final_res = c->res;
        if (c->res == -ENOBUFS) saw_enobufs = 1;
    }
}

static void burst(int rearm) {
    ar_ring *r = ring_or_skip(NULL);
    ar_bufgroup *g;
    CHECK_EQ(ar_bufgroup_new(r, COUNT, SIZE, &g), 0);
    int client, server;
    tcp_pair(&client, &server);
    got_n = 0;
    finals = nlent = max_lent = saw_enobufs = 0;
    ar_op_opts opts = {.flags = rearm ? AR_OP_REARM : 0};
    int64_t id = ar_op_recv_multishot(r, server, g, 0, &opts, NULL, on_data);
    CHECK(id > 0);
    CHECK(ar_ring_submit(r) >= 0);
    /* The whole burst lands in the socket before the ring reads any of it. */
    for (size_t i = 0; i < BURST; i++) sent[i] = pattern(1, i);
    size_t off = 0;
    while (off < BURST) {
        ssize_t w = write(client, sent + off, BURST - off);
        CHECK(w > 0);
        off += (size_t)w;
        /* Keep the reader going so the writer never blocks for long. */
        if (off < BURST) {
            ar_ring_run(r, AR_RUN_NOWAIT);
            for (int i = 0; i < nlent; i++) CHECK_EQ(ar_bufgroup_recycle(g, lent[i]), 0);
            nlent = 0;
        }
    }
    double t0 = now_s();
    while (got_n < BURST && finals == 0) {
        CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
        /* The main loop recycles only after the callbacks ran: the group is empty in between. */
        for (int i = 0; i < nlent; i++) CHECK_EQ(ar_bufgroup_recycle(g, lent[i]), 0);
        nlent = 0;
        CHECK(now_s() - t0 < 20);
    }
    CHECK_EQ(max_lent, COUNT); /* the group did run dry */
    if (rearm) {
        CHECK_EQ(finals, 0);
        CHECK_EQ(got_n, BURST);
        CHECK(memcmp(got, sent, BURST) == 0);
        CHECK_EQ(ar_ring_inflight(r), 1); /* still the same live receive */
        close(client);                    /* EOF ends it: one final completion, res 0 */
        while (finals == 0) {
            CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
            for (int i = 0; i < nlent; i++) ar_bufgroup_recycle(g, lent[i]);
            nlent = 0;
        }
        CHECK_EQ(finals, 1);
        CHECK_EQ(final_res, 0);
    } else {
        CHECK_EQ(finals, 1);
        CHECK(saw_enobufs); /* the stream ended early: what AR_OP_REARM exists for */
        CHECK(got_n < BURST);
        close(client);
    }
    /* Double recycle and bogus ids are refused. */
    CHECK_EQ(ar_bufgroup_recycle(g, 0), -EINVAL);
    CHECK_EQ(ar_bufgroup_recycle(g, COUNT + 5), -EINVAL);
    close(server);
    ar_bufgroup_free(g);
    ar_ring_free(r);
}

int main(void) {
    burst(0);
    burst(1);
    return 0;
}
