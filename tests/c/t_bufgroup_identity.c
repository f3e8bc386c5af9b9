/* Defect 6 (issue 11): a buffer group belongs to its ring by identity, not by address. A
 * group whose ring was freed is refused by every new ring, including one the allocator
 * places at the freed ring's address. */
#include "net.h"

static void never(void *userdata, const ar_completion *c) {
    (void)userdata;
    (void)c;
    fprintf(stderr, "a refused operation got a callback\n");
    abort();
}

int main(void) {
    ar_ring *old = ring_or_skip(NULL);
    ar_bufgroup *orphan;
    CHECK_EQ(ar_bufgroup_new(old, 4, 64, &orphan), 0);
    void *old_address = old;
    ar_ring_free(old);
    int fds[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    int same_address = 0;
    for (int i = 0; i < 16; i++) {
        ar_ring *r = ring_or_skip(NULL);
        if ((void *)r == old_address) same_address++;
        CHECK_EQ(ar_op_recv_multishot(r, fds[0], orphan, 0, NULL, NULL, never), -EINVAL);
        ar_op_opts opts = {.flags = AR_OP_REARM};
        CHECK_EQ(ar_op_recv_multishot(r, fds[0], orphan, 0, &opts, NULL, never), -EINVAL);
        CHECK_EQ(ar_ring_run(r, AR_RUN_NOWAIT), 0);
        CHECK_EQ(ar_ring_inflight(r), 0);
        ar_ring_free(r);
    }
    /* An orphan's buffers can still be handed back (it holds none lent), and freed. */
    CHECK_EQ(ar_bufgroup_recycle(orphan, 0), -EINVAL);
    ar_bufgroup_free(orphan);
    fprintf(stderr, "rings at the freed ring's address: %d of 16\n", same_address);
    close(fds[0]);
    close(fds[1]);
    return 0;
}
