/* Buffer group misuse gets clear errors: bad geometry, another ring's group, recycling a
 * buffer that is not lent out, AR_OP_REARM without a group. */
#include "net.h"

static struct log log_;

int main(void) {
    ar_ring *a = ring_or_skip(NULL), *b = ring_or_skip(NULL);
    ar_bufgroup *g = NULL, *g2 = NULL;
    CHECK_EQ(ar_bufgroup_new(a, 3, 64, &g), -EINVAL);   /* not a power of two */
    CHECK_EQ(ar_bufgroup_new(a, 0, 64, &g), -EINVAL);
    CHECK_EQ(ar_bufgroup_new(a, 65536, 64, &g), -EINVAL);
    CHECK_EQ(ar_bufgroup_new(a, 8, 0, &g), -EINVAL);
    CHECK_EQ(ar_bufgroup_new(NULL, 8, 64, &g), -EINVAL);
    CHECK_EQ(ar_bufgroup_new(a, 8, 64, NULL), -EINVAL);
    CHECK(g == NULL);
    CHECK_EQ(ar_bufgroup_new(a, 8, 64, &g), 0);
    CHECK_EQ(ar_bufgroup_new(a, 8, 64, &g2), 0); /* several groups per ring */
    int client, server;
    tcp_pair(&client, &server);
    CHECK_EQ(ar_op_recv_multishot(b, server, g, 0, NULL, &log_, log_cb), -EINVAL); /* a's group */
    CHECK_EQ(ar_op_recv_multishot(a, server, NULL, 0, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_recv_multishot(a, -1, g, 0, NULL, &log_, log_cb), -EBADF);
    ar_op_opts rearm = {.flags = AR_OP_REARM};
    char buf[8];
    CHECK_EQ(ar_op_recv(a, server, buf, sizeof buf, 0, &rearm, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_bufgroup_recycle(g, 0), -EINVAL);  /* never lent */
    CHECK_EQ(ar_bufgroup_recycle(g, 8), -EINVAL);  /* out of range */
    CHECK_EQ(ar_bufgroup_recycle(NULL, 0), -EINVAL);
    CHECK_EQ(ar_ring_inflight(a) + ar_ring_inflight(b), 0);
    /* Groups have distinct ids: data goes to the group named. */
    int64_t id = ar_op_recv_multishot(a, server, g2, 0, NULL, &log_, log_cb);
    CHECK(id > 0);
    CHECK(write(client, "zz", 2) == 2);
    while (log_.n == 0) CHECK(ar_ring_run(a, AR_RUN_ONCE) >= 0);
    CHECK(log_.e[0].flags & AR_COMPLETION_BUFFER);
    CHECK_EQ(log_.e[0].res, 2);
    CHECK_EQ(ar_bufgroup_recycle(g, 0), -EINVAL); /* the buffer was lent from g2, not g */
    close(client);
    close(server);
    ar_bufgroup_free(g);
    ar_bufgroup_free(g2);
    ar_ring_free(a);
    ar_ring_free(b);
    return 0;
}
