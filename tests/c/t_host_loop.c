/* A host loop (epoll) watches the notification fd and drives the ring with AR_RUN_NOWAIT,
 * which never blocks; for the default ring and an AR_RING_SINGLE_THREAD ring; and a host that
 * asks for the fd only after completions happened is still woken for them. */
#include "harness.h"
#include <poll.h>
#include <sys/epoll.h>

static struct log log_;
static const char *mode_name = "default";

static void host_loop(ar_ring *ring) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK(ep >= 0);
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ar_ring_notify_fd(ring), &ev) == 0);
    int start = log_.n;
    int64_t timers[3];
    for (int i = 0; i < 3; i++) CHECK((timers[i] = ar_op_timeout(ring, (uint64_t)(i + 1) * 10000000ull, NULL, &log_, log_cb)) > 0);
    /* NOWAIT with nothing ready returns at once (and submits). */
    double t0 = now_s();
    CHECK_EQ(ar_ring_run(ring, AR_RUN_NOWAIT), 0);
    CHECK(now_s() - t0 < 0.5);
    int wakeups = 0;
    while (ar_ring_inflight(ring) > 0) {
        /* Completions arrive as task work, which interrupts the host's wait (EINTR) before
         * the CQE is posted; like every robust loop, retry. */
        int n;
        do n = epoll_wait(ep, &ev, 1, 5000);
        while (n < 0 && errno == EINTR);
        if (n != 1) fprintf(stderr, "%s ring: no wake-up\n", mode_name);
        CHECK(n == 1); /* the timers must wake the loop through the notification fd */
        CHECK(ar_ring_run(ring, AR_RUN_NOWAIT) >= 0);
        wakeups++;
        CHECK(wakeups < 100);
    }
    CHECK_EQ(log_.n - start, 3);
    for (int i = 0; i < 3; i++) CHECK_EQ(log_res(&log_, timers[i]), 0);
    /* Drained: the fd is not readable any more. */
    int n;
    do n = epoll_wait(ep, &ev, 1, 50);
    while (n < 0 && errno == EINTR);
    if (n != 0) fprintf(stderr, "%s ring: readable after drain, NOWAIT delivers %d\n", mode_name, ar_ring_run(ring, AR_RUN_NOWAIT));
    CHECK_EQ(n, 0);
    close(ep);
}

static int posted_ran;
static void on_post(void *userdata) {
    (void)userdata;
    posted_ran++;
}

static int readable_within(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do n = poll(&p, 1, ms);
    while (n < 0 && errno == EINTR);
    return n;
}

/* The notification fd is registered with the kernel when first asked for. A host that asks
 * only after completions (and posts) happened must still be woken for them. */
static void late_watcher(void) {
    ar_ring *ring = ring_or_skip(NULL);
    int start = log_.n;
    int64_t id = ar_op_nop(ring, NULL, &log_, log_cb);
    CHECK(id > 0);
    CHECK_EQ(ar_ring_submit(ring), 1); /* the NOP completes inside this enter */
    CHECK_EQ(ar_ring_post(ring, NULL, on_post), 0);
    int fd = ar_ring_notify_fd(ring);
    CHECK(fd >= 0);
    CHECK_EQ(ar_ring_notify_fd(ring), fd); /* stable */
    CHECK_EQ(readable_within(fd, 2000), 1);
    CHECK_EQ(ar_ring_run(ring, AR_RUN_NOWAIT), 2);
    CHECK_EQ(log_.n - start, 1);
    CHECK_EQ(log_res(&log_, id), 0);
    CHECK_EQ(posted_ran, 1);
    CHECK_EQ(readable_within(fd, 50), 0); /* drained */
    ar_ring_free(ring);
}

int main(void) {
    late_watcher();
    ar_ring *ring = ring_or_skip(NULL);
    host_loop(ring);
    ar_ring_free(ring);

    ar_ring_config config;
    ar_ring_config_default(&config);
    config.flags = AR_RING_SINGLE_THREAD;
    ring = ring_or_skip(&config);
    mode_name = "single-thread";
    host_loop(ring);
    ar_ring_free(ring);
    return 0;
}
