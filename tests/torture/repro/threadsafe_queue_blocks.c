/* AR_RING_THREADSAFE: "other threads may queue operations meanwhile" (ar_ring_run), but an
 * ar_op_* call from another thread waits until the running thread has left its callbacks.
 * A program that holds its own lock around ar_op_* and takes the same lock in a callback
 * (a common pattern) deadlocks: the callback waits for the lock, the queueing thread waits
 * for the ring. Exit 0 = no deadlock; exit 3 = deadlocked (reported after 3 s). */
#define _GNU_SOURCE
#include <asyncring.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t app = PTHREAD_MUTEX_INITIALIZER;
static ar_ring *ring;
static volatile int in_callback;

static void cb(void *ud, const ar_completion *c) {
    (void)ud; (void)c;
    in_callback = 1;
    usleep(100 * 1000); /* the other thread takes the app lock and queues meanwhile */
    pthread_mutex_lock(&app);
    pthread_mutex_unlock(&app);
}
static void nop_cb(void *ud, const ar_completion *c) { (void)ud; (void)c; }

static void *queuer(void *arg) {
    (void)arg;
    while (!in_callback) usleep(1000);
    pthread_mutex_lock(&app);
    int64_t id = ar_op_nop(ring, NULL, NULL, nop_cb); /* blocks while the runner is in cb */
    pthread_mutex_unlock(&app);
    printf("queued %lld from another thread\n", (long long)id);
    return NULL;
}
static void *watchdog(void *arg) {
    (void)arg;
    sleep(3);
    printf("deadlock: ar_op_nop on a THREADSAFE ring waits for the runner's callback, which waits for the caller's lock\n");
    fflush(stdout);
    _exit(3);
}
int main(void) {
    ar_ring_config cfg;
    ar_ring_config_default(&cfg);
    cfg.flags = AR_RING_THREADSAFE;
    if (ar_ring_new(&cfg, &ring)) return 1;
    pthread_t q, w;
    pthread_create(&q, NULL, queuer, NULL);
    pthread_create(&w, NULL, watchdog, NULL);
    ar_op_nop(ring, NULL, NULL, cb);
    ar_ring_run(ring, AR_RUN_UNTIL_DONE);
    pthread_join(q, NULL);
    ar_ring_run(ring, AR_RUN_UNTIL_DONE);
    ar_ring_free(ring);
    printf("no deadlock\n");
    return 0;
}
