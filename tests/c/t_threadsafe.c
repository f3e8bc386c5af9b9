/* AR_RING_THREADSAFE (docs/DESIGN.md, "Threading"): operations queued from short-lived threads that exit
 * before the I/O happens still complete normally; any thread may queue while the host
 * thread runs; a second runner gets -EBUSY. */
#include "harness.h"
#include <pthread.h>

static struct log log_;
static ar_ring *ring_;
static int pipe_fd[2];
static char buf[16];
static int64_t read_id;

static void *queue_and_exit(void *arg) {
    (void)arg;
    read_id = ar_op_read(ring_, pipe_fd[0], buf, sizeof buf, UINT64_MAX, NULL, &log_, log_cb);
    CHECK(read_id > 0);
    CHECK(ar_ring_submit(ring_) >= 0);
    return NULL; /* the thread exits before any data arrives */
}

static void exited_thread(uint32_t flags) {
    ar_ring_config config;
    ar_ring_config_default(&config);
    config.flags = flags;
    log_.n = 0;
    ring_ = ring_or_skip(&config);
    CHECK(pipe(pipe_fd) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, queue_and_exit, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    usleep(200 * 1000);
    CHECK(write(pipe_fd[1], "late data", 9) == 9);
    CHECK(ar_ring_run(ring_, AR_RUN_UNTIL_DONE) >= 1);
    CHECK_EQ(log_res(&log_, read_id), 9);
    CHECK(memcmp(buf, "late data", 9) == 0);
    ar_ring_free(ring_);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
}

int main(void) {
    /* Through the ring's submitter thread, and through the kernel's SQPOLL thread. */
    exited_thread(AR_RING_THREADSAFE);
    exited_thread(AR_RING_THREADSAFE | AR_RING_SQPOLL);
    /* And the ring's own submitter thread, used where SQPOLL cannot be set up. */
    setenv("ASYNCRING_THREADSAFE_SUBMITTER", "1", 1);
    exited_thread(AR_RING_THREADSAFE);
    unsetenv("ASYNCRING_THREADSAFE_SUBMITTER");
    /* A thread-safe ring cannot be single-issuer. */
    ar_ring_config config;
    ar_ring_config_default(&config);
    ar_ring *bad = NULL;
    config.flags = AR_RING_THREADSAFE | AR_RING_SINGLE_THREAD;
    CHECK_EQ(ar_ring_new(&config, &bad), -EINVAL);
    CHECK(bad == NULL);
    return 0;
}
