/* A deadline reaches an AR_OP_REARM receive while it is parked for buffers (guarantee 5):
 * it ends with -ETIMEDOUT and AR_COMPLETION_DEADLINE although no request is in the kernel;
 * and a multishot stream keeps its deadline across the re-arms the library makes. */
#include "net.h"

static struct log log;
static uint16_t held[4];
static int nheld;

static void on_data(void *userdata, const ar_completion *c) {
    log_cb(userdata, c);
    if (c->flags & AR_COMPLETION_BUFFER) held[nheld++] = c->buf_id;
}

int main(void) {
    alarm(20);
    ar_ring *r = ring_or_skip(NULL);
    ar_bufgroup *g;
    CHECK_EQ(ar_bufgroup_new(r, 1, 16, &g), 0);
    int client, server;
    tcp_pair(&client, &server);
    ar_op_opts opts = {.flags = AR_OP_REARM, .timeout_ns = 200000000}; /* 200 ms */
    double t0 = now_s();
    int64_t id = ar_op_recv_multishot(r, server, g, 0, &opts, &log, on_data);
    CHECK(id > 0);
    CHECK(ar_ring_submit(r) >= 0);
    /* Fill the one buffer, then more: it parks on -ENOBUFS, holding no buffer back. */
    CHECK_EQ(write(client, "0123456789abcdef", 16), 16);
    usleep(5000);
    CHECK_EQ(write(client, "tail", 4), 4);
    while (log_finals(&log, id) == 0) {
        CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
        CHECK(now_s() - t0 < 5);
    }
    double took = now_s() - t0;
    CHECK(took >= 0.19 && took < 2);
    CHECK_EQ(nheld, 1);
    int last = log.n - 1;
    CHECK_EQ(log.e[last].op, id);
    CHECK_EQ(log.e[last].res, -ETIMEDOUT);
    CHECK(log.e[last].flags & AR_COMPLETION_DEADLINE);
    CHECK_EQ(ar_bufgroup_recycle(g, held[0]), 0);

    /* A cancel gives -ECANCELED without the deadline flag. */
    log.n = 0;
    nheld = 0;
    ar_op_opts long_deadline = {.timeout_ns = 10000000000ull};
    int64_t id2 = ar_op_recv_multishot(r, server, g, 0, &long_deadline, &log, on_data);
    CHECK(id2 > 0);
    CHECK(ar_ring_submit(r) >= 0);
    int64_t c = ar_op_cancel(r, id2, NULL, &log, log_cb);
    CHECK(c > 0);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 1);
    for (int i = 0; i < log.n; i++)
        if (log.e[i].op == id2 && !(log.e[i].flags & AR_COMPLETION_MORE)) {
            CHECK(log.e[i].res == -ECANCELED || log.e[i].res > 0 || log.e[i].res == 0);
            CHECK(!(log.e[i].flags & AR_COMPLETION_DEADLINE));
        }
    CHECK_EQ(log_finals(&log, id2), 1);
    for (int i = 0; i < nheld; i++) ar_bufgroup_recycle(g, held[i]);
    ar_bufgroup_free(g);
    ar_ring_free(r);
    close(client);
    close(server);
    return 0;
}
