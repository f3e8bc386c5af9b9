/* checksum: reads a file through the ring with many reads in flight and prints its
 * checksum and throughput; verifies the result against plain read(2).
 *
 *   checksum [FILE]      (without FILE: a 256 MiB scratch file is written first, through
 *                         the ring as well, and removed afterwards)
 */
#define _GNU_SOURCE
#include <asyncring.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { CHUNK = 128 * 1024, DEPTH = 32 };

struct job {
    ar_ring *ring;
    int fd;
    uint64_t size, next_offset, done_bytes;
    int failed;
    /* Chunks finish out of order; a position-dependent checksum keeps the result
     * independent of completion order: sum over bytes of (byte * (offset + 1)). */
    uint64_t sum;
    struct slot {
        struct job *job;
        uint64_t offset;
        unsigned char buf[CHUNK];
    } slots[DEPTH];
};

static uint64_t weigh(const unsigned char *p, size_t n, uint64_t offset) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += (uint64_t)p[i] * (offset + i + 1);
    return s;
}

static void on_read(void *userdata, const ar_completion *c);

/* Queues the next chunk into `slot`, if any is left. */
static void queue_read(struct slot *slot) {
    struct job *job = slot->job;
    if (job->next_offset >= job->size) return;
    slot->offset = job->next_offset;
    job->next_offset += CHUNK;
    int64_t id = ar_op_read(job->ring, job->fd, slot->buf, CHUNK, slot->offset, NULL, slot, on_read);
    if (id < 0) {
        fprintf(stderr, "ar_op_read: %s\n", ar_strerror((int)id));
        job->failed = 1;
    }
}

static void on_read(void *userdata, const ar_completion *c) {
    struct slot *slot = userdata;
    struct job *job = slot->job;
    if (c->res < 0) {
        fprintf(stderr, "read at %llu: %s\n", (unsigned long long)slot->offset, ar_strerror(c->res));
        job->failed = 1;
        return;
    }
    job->sum += weigh(slot->buf, (size_t)c->res, slot->offset);
    job->done_bytes += (uint64_t)c->res;
    queue_read(slot); /* keep DEPTH reads in flight, from inside the callback */
}

static void on_write(void *userdata, const ar_completion *c) {
    int *failed = userdata;
    if (c->res != CHUNK) *failed = 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes `size` bytes of a pattern through the ring, DEPTH chunks at a time. */
static int make_scratch(ar_ring *ring, int fd, uint64_t size) {
    static unsigned char pattern[CHUNK];
    for (size_t i = 0; i < CHUNK; i++) pattern[i] = (unsigned char)(i * 131 + (i >> 9));
    int failed = 0;
    for (uint64_t off = 0; off < size && !failed; off += CHUNK) {
        if (ar_op_write(ring, fd, pattern, CHUNK, off, NULL, &failed, on_write) < 0) return -1;
        if ((off / CHUNK) % DEPTH == DEPTH - 1 && ar_ring_run(ring, AR_RUN_UNTIL_DONE) < 0) return -1;
    }
    if (ar_ring_run(ring, AR_RUN_UNTIL_DONE) < 0 || failed) return -1;
    return 0;
}

int main(int argc, char **argv) {
    ar_ring *ring;
    int rc = ar_ring_new(NULL, &ring);
    if (rc < 0) {
        ar_probe probe;
        ar_ring_probe(&probe);
        fprintf(stderr, "ar_ring_new: %s\n%s\n", ar_strerror(rc), probe.message);
        return 1;
    }
    char scratch[] = "/tmp/asyncring-demo-XXXXXX";
    const char *path = argc > 1 ? argv[1] : scratch;
    int fd;
    if (argc > 1) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } else {
        fd = mkstemp(scratch);
        if (fd >= 0 && make_scratch(ring, fd, 256ull << 20) < 0) {
            fprintf(stderr, "writing the scratch file failed\n");
            return 1;
        }
    }
    if (fd < 0) {
        perror(path);
        return 1;
    }
    struct stat st;
    fstat(fd, &st);

    struct job *job = calloc(1, sizeof *job);
    job->ring = ring;
    job->fd = fd;
    job->size = (uint64_t)st.st_size;
    for (int i = 0; i < DEPTH; i++) {
        job->slots[i].job = job;
        queue_read(&job->slots[i]);
    }
    double t0 = now_s();
    rc = ar_ring_run(ring, AR_RUN_UNTIL_DONE);
    double secs = now_s() - t0;
    if (rc < 0 || job->failed || job->done_bytes != job->size) {
        fprintf(stderr, "checksum through the ring failed (%s)\n", rc < 0 ? ar_strerror(rc) : "short");
        return 1;
    }

    /* The same checksum with plain read(2), one chunk at a time, as a cross-check. */
    uint64_t ref = 0, off = 0;
    static unsigned char buf[CHUNK];
    ssize_t n;
    double t1 = now_s();
    while ((n = pread(fd, buf, CHUNK, (off_t)off)) > 0) {
        ref += weigh(buf, (size_t)n, off);
        off += (uint64_t)n;
    }
    double ref_secs = now_s() - t1;
    double mib = (double)job->size / (1 << 20);
    printf("checksum %016llx of %s (%.0f MiB)\n", (unsigned long long)job->sum, path, mib);
    printf("  libasyncring, %d reads of %d KiB in flight: %8.1f MiB/s\n", DEPTH, CHUNK / 1024, mib / secs);
    printf("  pread(2), one at a time:                 %8.1f MiB/s\n", mib / ref_secs);
    int ok = ref == job->sum;
    printf("  cross-check against pread(2): %s\n", ok ? "match" : "MISMATCH");
    close(fd);
    if (argc <= 1) unlink(scratch);
    free(job);
    ar_ring_free(ring);
    return ok ? 0 : 1;
}
