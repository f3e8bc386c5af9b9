/* A host loop runs the ring with AR_RUN_NOWAIT, then waits on the notification fd. An
 * operation a callback queued must be in the kernel by then, or nothing would ever wake
 * the loop: AR_RUN_NOWAIT hands what its callbacks queued to the kernel before returning. */
#include "harness.h"
#include <poll.h>

static int fds[2];
static char buf[16];
static int reads;
static ar_ring *ring;

static void on_read(void *userdata, const ar_completion *c) {
    (void)userdata;
    if (c->res == -ECANCELED) return; /* ar_ring_free */
    CHECK(c->res > 0);
    reads++;
    CHECK(ar_op_read(ring, fds[0], buf, sizeof buf, UINT64_MAX, NULL, NULL, on_read) > 0);
}

int main(void) {
    ring = ring_or_skip(NULL);
    CHECK(pipe(fds) == 0);
    int nfd = ar_ring_notify_fd(ring);
    CHECK(nfd >= 0);
    CHECK(ar_op_read(ring, fds[0], buf, sizeof buf, UINT64_MAX, NULL, NULL, on_read) > 0);
    CHECK(ar_ring_submit(ring) >= 0);
    for (int i = 0; i < 50; i++) {
        CHECK_EQ(write(fds[1], "ping", 4), 4);
        struct pollfd p = {.fd = nfd, .events = POLLIN};
        int n;
        do n = poll(&p, 1, 2000);
        while (n < 0 && errno == EINTR);
        CHECK_EQ(n, 1); /* the re-queued read was submitted: its completion woke us */
        CHECK(ar_ring_run(ring, AR_RUN_NOWAIT) >= 0);
    }
    CHECK(reads >= 50);
    ar_ring_free(ring);
    return 0;
}
