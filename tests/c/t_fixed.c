/* Registered buffers (read_fixed / write_fixed) and registered files (AR_OP_FIXED_FILE). */
#include "harness.h"
#include <fcntl.h>
#include <sys/uio.h>

static struct log log_;

int main(void) {
    ar_ring *r = ring_or_skip(NULL);
    char path[] = "/tmp/asyncring-fixed-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    static char a[8192], b[8192];
    struct iovec iovs[2] = {{a, sizeof a}, {b, sizeof b}};
    CHECK_EQ(ar_ring_register_buffers(r, iovs, 2), 0);
    CHECK_EQ(ar_ring_register_buffers(r, iovs, 2), -EBUSY); /* already registered */
    CHECK_EQ(ar_ring_register_buffers(r, NULL, 2), -EINVAL);
    memset(a, 'A', sizeof a);
    CHECK_EQ(run_one(r, &log_, ar_op_write_fixed(r, fd, a, sizeof a, 0, 0, NULL, &log_, log_cb)), sizeof a);
    CHECK_EQ(run_one(r, &log_, ar_op_read_fixed(r, fd, b + 100, 4000, 10, 1, NULL, &log_, log_cb)), 4000);
    for (int i = 0; i < 4000; i++) CHECK(b[100 + i] == 'A');
    /* A range outside the registered buffer is refused by the kernel. */
    CHECK_EQ(run_one(r, &log_, ar_op_read_fixed(r, fd, a, 100, 0, 1, NULL, &log_, log_cb)), -EFAULT);
    CHECK_EQ(ar_ring_unregister_buffers(r), 0);
    CHECK_EQ(ar_ring_unregister_buffers(r), -ENXIO);

    /* Registered files: slot 1 holds fd; slot 0 starts empty and is filled by update. */
    int fds[2] = {-1, fd};
    CHECK_EQ(ar_ring_register_files(r, fds, 2), 0);
    ar_op_opts fixed = {.flags = AR_OP_FIXED_FILE};
    char c[16];
    CHECK_EQ(run_one(r, &log_, ar_op_read(r, 1, c, sizeof c, 0, &fixed, &log_, log_cb)), sizeof c);
    CHECK(c[0] == 'A');
    CHECK_EQ(run_one(r, &log_, ar_op_read(r, 0, c, sizeof c, 0, &fixed, &log_, log_cb)), -EBADF);
    int upd[1] = {fd};
    CHECK_EQ(ar_ring_update_files(r, 0, upd, 1), 1);
    CHECK_EQ(run_one(r, &log_, ar_op_read(r, 0, c, sizeof c, 0, &fixed, &log_, log_cb)), sizeof c);
    CHECK_EQ(ar_ring_unregister_files(r), 0);
    CHECK_EQ(ar_ring_unregister_files(r), -ENXIO);
    close(fd);
    ar_ring_free(r);
    return 0;
}
