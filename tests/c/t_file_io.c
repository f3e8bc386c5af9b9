/* File operations through the ring: openat, write, writev, fsync, fallocate, read, readv,
 * statx, renameat, mkdirat, unlinkat, close; linked chains; offsets. */
#include "harness.h"
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

static struct log log_;

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    char dir[] = "/tmp/asyncring-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int dfd = open(dir, O_DIRECTORY | O_RDONLY);
    CHECK(dfd >= 0);

    /* The path buffer is overwritten right after the call: it must have been copied. */
    char path[64];
    strcpy(path, "data.bin");
    int64_t open_id = ar_op_openat(r, dfd, path, O_CREAT | O_RDWR | O_CLOEXEC, 0600, NULL, &log_, log_cb);
    memset(path, 'X', sizeof path - 1);
    int fd = run_one(r, &log_, open_id);
    CHECK(fd >= 0);

    static char block[1 << 16];
    for (size_t i = 0; i < sizeof block; i++) block[i] = (char)(i * 7);
    CHECK_EQ(run_one(r, &log_, ar_op_write(r, fd, block, sizeof block, 0, NULL, &log_, log_cb)), sizeof block);
    char a[100], b[200];
    memset(a, 'a', sizeof a);
    memset(b, 'b', sizeof b);
    {
        struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
        int64_t id = ar_op_writev(r, fd, iov, 2, sizeof block, NULL, &log_, log_cb);
        memset(iov, 0, sizeof iov); /* the iovec array was copied */
        CHECK_EQ(run_one(r, &log_, id), 300);
    }
    CHECK_EQ(run_one(r, &log_, ar_op_fsync(r, fd, AR_FSYNC_DATASYNC, NULL, &log_, log_cb)), 0);
    CHECK_EQ(run_one(r, &log_, ar_op_fsync(r, fd, 0, NULL, &log_, log_cb)), 0);
    CHECK_EQ(run_one(r, &log_, ar_op_fallocate(r, fd, 0, 0, 1 << 20, NULL, &log_, log_cb)), 0);

    static char back[1 << 16];
    CHECK_EQ(run_one(r, &log_, ar_op_read(r, fd, back, sizeof back, 0, NULL, &log_, log_cb)), sizeof back);
    CHECK(memcmp(back, block, sizeof block) == 0);
    char a2[100], b2[200];
    struct iovec iov2[2] = {{a2, sizeof a2}, {b2, sizeof b2}};
    CHECK_EQ(run_one(r, &log_, ar_op_readv(r, fd, iov2, 2, sizeof block, NULL, &log_, log_cb)), 300);
    CHECK(memcmp(a2, a, sizeof a) == 0 && memcmp(b2, b, sizeof b) == 0);

    struct statx stx;
    memset(&stx, 0, sizeof stx);
    CHECK_EQ(run_one(r, &log_, ar_op_statx(r, dfd, "data.bin", 0, STATX_SIZE, &stx, NULL, &log_, log_cb)), 0);
    CHECK_EQ(stx.stx_size, 1 << 20); /* fallocate extended it */
    CHECK_EQ(run_one(r, &log_, ar_op_statx(r, fd, "", AT_EMPTY_PATH, STATX_SIZE, &stx, NULL, &log_, log_cb)), 0);

    /* A linked chain: mkdir -> rename into it -> stat the new name; runs in order. */
    ar_op_opts link = {.flags = AR_OP_LINK};
    int64_t mk = ar_op_mkdirat(r, dfd, "sub", 0700, &link, &log_, log_cb);
    int64_t mv = ar_op_renameat(r, dfd, "data.bin", dfd, "sub/moved.bin", 0, &link, &log_, log_cb);
    int64_t st = ar_op_statx(r, dfd, "sub/moved.bin", 0, STATX_SIZE, &stx, NULL, &log_, log_cb);
    CHECK(mk > 0 && mv > 0 && st > 0);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 3);
    CHECK_EQ(log_res(&log_, mk), 0);
    CHECK_EQ(log_res(&log_, mv), 0);
    CHECK_EQ(log_res(&log_, st), 0);

    /* Errors come back as -errno in the completion. */
    CHECK_EQ(run_one(r, &log_, ar_op_openat(r, dfd, "missing", O_RDONLY, 0, NULL, &log_, log_cb)), -ENOENT);
    CHECK_EQ(run_one(r, &log_, ar_op_unlinkat(r, dfd, "sub", 0, NULL, &log_, log_cb)), -EISDIR);

    CHECK_EQ(run_one(r, &log_, ar_op_close(r, fd, NULL, &log_, log_cb)), 0);
    CHECK_EQ(run_one(r, &log_, ar_op_unlinkat(r, dfd, "sub/moved.bin", 0, NULL, &log_, log_cb)), 0);
    CHECK_EQ(run_one(r, &log_, ar_op_unlinkat(r, dfd, "sub", AT_REMOVEDIR, NULL, &log_, log_cb)), 0);
    close(dfd);
    CHECK(rmdir(dir) == 0);
    ar_ring_free(r);
    return 0;
}
