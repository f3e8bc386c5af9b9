/* io_uring unavailable (docs/DESIGN.md, guarantee 7): a seccomp filter like Docker's default profile makes
 * io_uring_setup fail; ar_ring_new falls back to the fallback backend (or, with
 * AR_RING_NO_FALLBACK, fails with that errno) and ar_ring_probe says why. */
#include "harness.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static void block_io_uring(void) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0);
}

int main(void) {
    ar_probe probe;
    memset(&probe, 0xff, sizeof probe);
    int rc = ar_ring_probe(&probe);
    if (rc < 0 && !getenv("ASYNCRING_REQUIRE_URING")) {
        fprintf(stderr, "SKIP: io_uring unavailable here: %s\n", probe.message);
        return 77;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(probe.status, 0);
    CHECK_EQ(probe.reason, AR_PROBE_OK);
    CHECK(strlen(probe.kernel_release) > 0);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        block_io_uring();
        ar_ring *ring = NULL;
        ar_ring_config cfg;
        ar_ring_config_default(&cfg);
        cfg.flags = AR_RING_NO_FALLBACK;
        CHECK_EQ(ar_ring_new(&cfg, &ring), -EPERM);
        CHECK(ring == NULL);
        CHECK_EQ(ar_ring_new(NULL, &ring), 0);
        CHECK_EQ(ar_ring_backend(ring), AR_BACKEND_FALLBACK);
        struct log lg = {0};
        int64_t id = ar_op_timeout(ring, 1000000, NULL, &lg, log_cb);
        CHECK(id > 0);
        CHECK(ar_ring_run(ring, AR_RUN_UNTIL_DONE) >= 1);
        CHECK_EQ(log_res(&lg, id), 0);
        ar_ring_free(ring);
        ar_probe p;
        CHECK_EQ(ar_ring_probe(&p), -EPERM);
        CHECK_EQ(p.status, -EPERM);
        CHECK_EQ(p.reason, AR_PROBE_SECCOMP);
        CHECK(strstr(p.message, "seccomp") != NULL);
        CHECK_EQ(ar_ring_probe(NULL), -EPERM);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return 0;
}
