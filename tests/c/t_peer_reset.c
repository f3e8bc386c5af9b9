/* Peers that reset or half-close mid-stream: a reset ends a multishot receive with exactly
 * one final callback (-ECONNRESET); a half-close delivers the data, then EOF (res 0), and
 * the server can still answer on its half before shutting down. */
#include "net.h"

static struct log log_;
static ar_bufgroup *g;

static void recycling_log(void *userdata, const ar_completion *c) {
    log_cb(userdata, c); /* the byte count is res; the bytes themselves are not needed */
    if (c->flags & AR_COMPLETION_BUFFER) CHECK_EQ(ar_bufgroup_recycle(g, c->buf_id), 0);
}

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    CHECK_EQ(ar_bufgroup_new(r, 16, 1024, &g), 0);

    /* Reset mid-stream. */
    int client, server;
    tcp_pair(&client, &server);
    int64_t rx = ar_op_recv_multishot(r, server, g, 0, NULL, &log_, recycling_log);
    CHECK(rx > 0);
    CHECK(write(client, "some data", 9) == 9);
    while (log_.n == 0) CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
    CHECK_EQ(log_.e[0].res, 9);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    CHECK(setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    close(client); /* sends RST */
    while (log_finals(&log_, rx) == 0) CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
    CHECK_EQ(log_finals(&log_, rx), 1);
    CHECK(log_res(&log_, rx) == -ECONNRESET || log_res(&log_, rx) == 0);
    /* A single-shot recv on the reset socket fails cleanly too. */
    char buf[16];
    int64_t one = ar_op_recv(r, server, buf, sizeof buf, 0, NULL, &log_, log_cb);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 1);
    CHECK(log_res(&log_, one) == -ECONNRESET || log_res(&log_, one) == 0);
    close(server);

    /* Half-close: data, then EOF; the server still sends on its half, then shuts down. */
    tcp_pair(&client, &server);
    int start = log_.n;
    rx = ar_op_recv_multishot(r, server, g, 0, NULL, &log_, recycling_log);
    CHECK(write(client, "hello", 5) == 5);
    CHECK(shutdown(client, SHUT_WR) == 0);
    while (log_finals(&log_, rx) == 0) CHECK(ar_ring_run(r, AR_RUN_ONCE) >= 0);
    int bytes = 0;
    for (int i = start; i < log_.n; i++)
        if (log_.e[i].op == rx && log_.e[i].res > 0) bytes += log_.e[i].res;
    CHECK_EQ(bytes, 5);
    CHECK_EQ(log_res(&log_, rx), 0); /* EOF */
    int64_t tx = ar_op_send(r, server, "bye", 3, MSG_NOSIGNAL, NULL, &log_, log_cb);
    int64_t sh = ar_op_shutdown(r, server, SHUT_WR, NULL, &log_, log_cb);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 2);
    CHECK_EQ(log_res(&log_, tx), 3);
    CHECK_EQ(log_res(&log_, sh), 0);
    char back[8];
    read_exact(client, back, 3);
    CHECK(memcmp(back, "bye", 3) == 0);
    CHECK_EQ(read(client, back, sizeof back), 0); /* and then EOF */
    close(client);
    close(server);
    ar_bufgroup_free(g);
    ar_ring_free(r);
    return 0;
}
