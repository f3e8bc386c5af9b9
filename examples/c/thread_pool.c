/* thread_pool: a thread-pool host, as libdispatch, GLib's worker pool or a Swift executor
 * are. Short-lived worker threads queue I/O on one AR_RING_THREADSAFE ring and exit long
 * before it completes; one loop thread runs the ring and delivers every completion.
 *
 *   thread_pool [sqpoll]    (sqpoll: AR_RING_THREADSAFE | AR_RING_SQPOLL, where the kernel's
 *                            polling thread submits instead of the ring's own thread)
 *
 * Each job writes a message into its own pipe and queues a read of it; the pipe's reader
 * sees the data only after the job's thread has exited (a second wave of workers writes
 * it), which on a default ring would fail the read with -ECANCELED: the kernel cancels a
 * request when the thread that submitted it exits. Prints one line per completed job and
 * a summary; exits 0 when every read got its bytes. */
#define _GNU_SOURCE
#include <asyncring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { JOBS = 64 };

struct job {
    int id;
    int pipe[2];
    char buf[32];
    char want[32];
};

static ar_ring *ring;
static struct job jobs[JOBS];
static atomic_int completed, good;

static void on_read(void *userdata, const ar_completion *c) {
    struct job *job = userdata;
    int ok = c->res == (int)strlen(job->want) && memcmp(job->buf, job->want, (size_t)c->res) == 0;
    if (ok) atomic_fetch_add(&good, 1);
    if (job->id % 16 == 0) printf("job %d: read %d bytes%s\n", job->id, c->res, ok ? "" : " (wrong)");
    atomic_fetch_add(&completed, 1);
}

/* A worker thread of the pool: queues its read and exits at once. */
static void *queue_read(void *arg) {
    struct job *job = arg;
    int64_t id = ar_op_read(ring, job->pipe[0], job->buf, sizeof job->buf, UINT64_MAX, NULL, job, on_read);
    if (id < 0) fprintf(stderr, "job %d: %s\n", job->id, ar_strerror((int)id));
    ar_ring_submit(ring);
    return NULL;
}

/* A later worker: provides the data the first one is waiting for. */
static void *write_data(void *arg) {
    struct job *job = arg;
    if (write(job->pipe[1], job->want, strlen(job->want)) < 0) perror("write");
    return NULL;
}

static void wave(void *(*fn)(void *)) {
    pthread_t t[JOBS];
    for (int i = 0; i < JOBS; i++) pthread_create(&t[i], NULL, fn, &jobs[i]);
    for (int i = 0; i < JOBS; i++) pthread_join(t[i], NULL); /* the pool retires them */
}

int main(int argc, char **argv) {
    ar_ring_config config;
    ar_ring_config_default(&config);
    config.flags = AR_RING_THREADSAFE;
    if (argc > 1 && strcmp(argv[1], "sqpoll") == 0) config.flags |= AR_RING_SQPOLL;
    int rc = ar_ring_new(&config, &ring);
    if (rc < 0) {
        fprintf(stderr, "thread_pool: %s\n", ar_strerror(rc));
        return 1;
    }
    for (int i = 0; i < JOBS; i++) {
        jobs[i].id = i;
        snprintf(jobs[i].want, sizeof jobs[i].want, "job %d done", i);
        if (pipe(jobs[i].pipe) < 0) return 1;
    }
    wave(queue_read);  /* every read is queued by a thread that is gone now */
    usleep(50 * 1000); /* long after those threads exited */
    wave(write_data);
    while (atomic_load(&completed) < JOBS) {
        rc = ar_ring_run(ring, AR_RUN_ONCE); /* the host's loop thread delivers */
        if (rc < 0) {
            fprintf(stderr, "ar_ring_run: %s\n", ar_strerror(rc));
            break;
        }
    }
    printf("%d of %d reads queued by exited threads completed with their data\n", atomic_load(&good), JOBS);
    ar_ring_free(ring);
    for (int i = 0; i < JOBS; i++) {
        close(jobs[i].pipe[0]);
        close(jobs[i].pipe[1]);
    }
    return atomic_load(&good) == JOBS ? 0 : 1;
}
