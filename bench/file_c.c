/* 4 KiB random reads from a page-cached file through the C API, DEPTH reads in flight,
 * each completion queueing the next read. Prints ns per read.
 *   file_c FILE DEPTH READS */
#define _GNU_SOURCE
#include <asyncring.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { BLOCK = 4096, MAX_DEPTH = 256 };
static ar_ring *ring;
static int fd;
static uint64_t blocks, issued, target, done, rng = 88172645463325252ull;
static unsigned char bufs[MAX_DEPTH][BLOCK];

static uint64_t next_block(void) { /* xorshift64: the same sequence as the raw baseline */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % blocks;
}

static void on_read(void *userdata, const ar_completion *c);

static void issue(unsigned char *buf) {
    issued++;
    if (ar_op_read(ring, fd, buf, BLOCK, next_block() * BLOCK, NULL, buf, on_read) < 0) exit(1);
}

static void on_read(void *userdata, const ar_completion *c) {
    if (c->res != BLOCK) exit(1);
    done++;
    if (issued < target) issue(userdata);
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int depth = atoi(argv[2]);
    target = strtoull(argv[3], NULL, 10);
    fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || depth < 1 || depth > MAX_DEPTH) return 1;
    blocks = (uint64_t)st.st_size / BLOCK;
    ar_ring_config config;
    ar_ring_config_default(&config);
    if (ar_ring_new(&config, &ring) < 0) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < depth; i++) issue(bufs[i]);
    if (ar_ring_run(ring, AR_RUN_UNTIL_DONE) < 0) return 1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    printf("RESULT ns_per_op=%.2f ops=%lu\n", ns / (double)done, (unsigned long)done);
    ar_ring_free(ring);
    return 0;
}
