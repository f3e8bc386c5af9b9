/* Bad input gets a clear -errno and loses nothing (docs/DESIGN.md, guarantee 6). */
#include "harness.h"
#include <fcntl.h>
#include <sys/stat.h>

static struct log log_;
static ar_ring *ring_;
static int run_in_cb = 1, submit_in_cb = 1;

static void reentrant_cb(void *userdata, const ar_completion *c) {
    (void)userdata;
    (void)c;
    run_in_cb = ar_ring_run(ring_, AR_RUN_NOWAIT);
    submit_in_cb = ar_ring_submit(ring_); /* allowed from a callback */
    CHECK(ar_op_nop(ring_, NULL, &log_, log_cb) > 0); /* queueing from a callback is allowed */
}

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    ring_ = r;
    char buf[16];
    struct iovec iov = {buf, sizeof buf};
    struct statx stx;

    /* NULL ring, NULL callback, NULL required pointers. */
    CHECK_EQ(ar_op_nop(NULL, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_nop(r, NULL, &log_, NULL), -EINVAL);
    CHECK_EQ(ar_op_read(r, 0, NULL, 16, 0, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_readv(r, 0, NULL, 1, 0, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_openat(r, AT_FDCWD, NULL, O_RDONLY, 0, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_statx(r, AT_FDCWD, "/", 0, STATX_ALL, NULL, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_ring_new(NULL, NULL), -EINVAL);
    CHECK_EQ(ar_ring_submit(NULL), -EINVAL);
    CHECK_EQ(ar_ring_run(NULL, AR_RUN_NOWAIT), -EINVAL);
    CHECK_EQ(ar_ring_notify_fd(NULL), -EINVAL);
    CHECK_EQ(ar_ring_post(NULL, NULL, NULL), -EINVAL);
    CHECK_EQ(ar_ring_post(r, NULL, NULL), -EINVAL);
    CHECK_EQ(ar_ring_inflight(NULL), 0);
    /* Negative fds. */
    CHECK_EQ(ar_op_read(r, -1, buf, sizeof buf, 0, NULL, &log_, log_cb), -EBADF);
    CHECK_EQ(ar_op_write(r, -3, buf, sizeof buf, 0, NULL, &log_, log_cb), -EBADF);
    CHECK_EQ(ar_op_close(r, -1, NULL, &log_, log_cb), -EBADF);
    CHECK_EQ(ar_op_fsync(r, -1, 0, NULL, &log_, log_cb), -EBADF);
    CHECK_EQ(ar_op_cancel_fd(r, -1, 0, NULL, &log_, log_cb), -EBADF);
    CHECK_EQ(ar_op_openat(r, -7, "x", O_RDONLY, 0, NULL, &log_, log_cb), -EBADF);
    /* Invalid flags, reserved fields, modes. */
    ar_op_opts bad_flags = {.flags = 1u << 30};
    ar_op_opts reserved = {.reserved = 1};
    ar_op_opts fixed = {.flags = AR_OP_FIXED_FILE};
    CHECK_EQ(ar_op_nop(r, &bad_flags, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_nop(r, &reserved, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_nop(r, &fixed, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_close(r, 0, &fixed, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_fsync(r, 0, 0x80, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_cancel_fd(r, 0, 0x80, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_ring_run(r, 99), -EINVAL);
    ar_ring_config config;
    ar_ring_config_default(&config);
    config.flags = 1u << 31;
    ar_ring *r2 = NULL;
    CHECK_EQ(ar_ring_new(&config, &r2), -EINVAL);
    CHECK(r2 == NULL); /* out_* untouched on failure */
    ar_ring_config_default(&config);
    config.reserved[2] = 1;
    CHECK_EQ(ar_ring_new(&config, &r2), -EINVAL);
    ar_ring_config_default(&config);
    config.sq_entries = 1u << 20;
    CHECK_EQ(ar_ring_new(&config, &r2), -EINVAL);
    /* Lengths above what the kernel accepts. */
    CHECK_EQ(ar_op_read(r, 0, buf, (size_t)1 << 32, 0, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_readv(r, 0, &iov, 0, 0, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_readv(r, 0, &iov, 5000, 0, NULL, &log_, log_cb), -EINVAL);
    CHECK_EQ(ar_op_fallocate(r, 0, 0, UINT64_MAX, 1, NULL, &log_, log_cb), -EINVAL);
    /* Unknown ids. */
    CHECK_EQ(ar_op_cancel(r, 424242, NULL, &log_, log_cb), -ENOENT);
    /* None of that queued anything. */
    CHECK_EQ(ar_ring_inflight(r), 0);
    CHECK_EQ(ar_ring_run(r, AR_RUN_NOWAIT), 0);
    CHECK_EQ(log_.n, 0);
    /* A bad fd the kernel rejects completes with -EBADF rather than failing the call. */
    int64_t id = ar_op_read(r, 987, buf, sizeof buf, 0, NULL, &log_, log_cb);
    CHECK(id > 0);
    CHECK_EQ(ar_ring_run(r, AR_RUN_UNTIL_DONE), 1);
    CHECK_EQ(log_res(&log_, id), -EBADF);
    /* Re-entrant ar_ring_run from a callback is refused with -EBUSY. */
    CHECK(ar_op_nop(r, NULL, NULL, reentrant_cb) > 0);
    CHECK(ar_ring_run(r, AR_RUN_UNTIL_DONE) >= 1);
    CHECK_EQ(run_in_cb, -EBUSY);
    CHECK(submit_in_cb >= 0);
    /* Error strings exist for every code, including unknown ones. */
    CHECK(strstr(ar_strerror(-EBUSY), "busy") != NULL);
    CHECK(strstr(ar_strerror(-ETIMEDOUT), "deadline") != NULL);
    CHECK(ar_strerror(-99999) != NULL && ar_strerror(0) != NULL);
    (void)stx;
    ar_ring_free(r);
    return 0;
}
