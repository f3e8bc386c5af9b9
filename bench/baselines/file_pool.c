/*
 * file_pool.c - baseline for the fallback backend's file reads: 4 KiB random reads from a
 * page-cached file through a plain thread pool, the way libuv and most event loops without
 * io_uring do file I/O. Four worker threads (libuv's default) take jobs from a
 * mutex-protected queue, pread, push the result on a done list and write an eventfd; the
 * loop thread waits on the eventfd, takes the results and queues the next reads, keeping
 * DEPTH in flight. The same random sequence as file_c and the raw baseline.
 *
 * Usage: ./file_pool FILE DEPTH READS      prints "RESULT ns_per_op=... ops=..."
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { BLOCK = 4096, MAX_DEPTH = 256, THREADS = 4 };

static int fd, efd;
static uint64_t blocks, rng = 88172645463325252ull;
static unsigned char bufs[MAX_DEPTH][BLOCK];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static struct { int slot; uint64_t off; } jobs[MAX_DEPTH];
static int njobs, stop;
static int done_slots[MAX_DEPTH];
static ssize_t done_res[MAX_DEPTH];
static int ndone;

static uint64_t next_block(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % blocks;
}

static void *worker(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (njobs == 0 && !stop) pthread_cond_wait(&work, &lock);
        if (njobs == 0) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        int slot = jobs[--njobs].slot;
        uint64_t off = jobs[njobs].off;
        pthread_mutex_unlock(&lock);
        ssize_t n = pread(fd, bufs[slot], BLOCK, (off_t)off);
        pthread_mutex_lock(&lock);
        done_slots[ndone] = slot;
        done_res[ndone++] = n;
        pthread_mutex_unlock(&lock);
        uint64_t one = 1;
        if (write(efd, &one, 8) != 8) abort();
    }
}

static void submit(int slot) {
    pthread_mutex_lock(&lock);
    jobs[njobs].slot = slot;
    jobs[njobs++].off = next_block() * BLOCK;
    pthread_mutex_unlock(&lock);
    pthread_cond_signal(&work);
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int depth = atoi(argv[2]);
    uint64_t target = strtoull(argv[3], NULL, 10), issued = 0, completed = 0;
    fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || depth < 1 || depth > MAX_DEPTH) return 1;
    blocks = (uint64_t)st.st_size / BLOCK;
    efd = eventfd(0, EFD_CLOEXEC);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < depth && issued < target; i++, issued++) submit(i);
    int slots[MAX_DEPTH];
    while (completed < target) {
        uint64_t v;
        if (read(efd, &v, 8) != 8) return 1;
        pthread_mutex_lock(&lock);
        int n = ndone;
        for (int i = 0; i < n; i++) {
            if (done_res[i] != BLOCK) return 1;
            slots[i] = done_slots[i];
        }
        ndone = 0;
        pthread_mutex_unlock(&lock);
        completed += (uint64_t)n;
        for (int i = 0; i < n && issued < target; i++, issued++) submit(slots[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&lock);
    stop = 1;
    pthread_mutex_unlock(&lock);
    pthread_cond_broadcast(&work);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    printf("RESULT ns_per_op=%.2f ops=%lu\n", ns / (double)completed, (unsigned long)completed);
    return 0;
}
