/* Defect 9 (issue 11): a seccomp policy that allows io_uring_setup but refuses
 * io_uring_enter and io_uring_register. With AR_RING_NO_FALLBACK, ar_ring_new must fail
 * cleanly (the probe ladder proves register and enter before anything is handed to the
 * kernel), for every ring mode, without leaking (LeakSanitizer checks at exit; 2,000 failures
 * would otherwise leak ~72 MiB), and ar_ring_probe must name seccomp and the refused call.
 * Without it (issue 13), every mode falls back to the fallback backend by itself, and a NOP
 * gets its final callback (guarantee 1). */
#include "harness.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static void block_enter_and_register(void) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0);
}

static long rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int main(void) {
    ar_probe probe;
    if (ar_ring_probe(&probe) < 0 && !getenv("ASYNCRING_REQUIRE_URING")) {
        fprintf(stderr, "SKIP: io_uring unavailable here: %s\n", probe.message);
        return 77;
    }
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        block_enter_and_register();
        uint32_t modes[] = {0, AR_RING_SINGLE_THREAD, AR_RING_SQPOLL, AR_RING_THREADSAFE};
        long before = 0;
        for (int i = 0; i < 2000; i++) {
            ar_ring_config cfg;
            ar_ring_config_default(&cfg);
            cfg.flags = modes[i % 4] | AR_RING_NO_FALLBACK;
            ar_ring *ring = NULL;
            int rc = ar_ring_new(&cfg, &ring);
            if (rc != -EPERM) {
                fprintf(stderr, "ar_ring_new(flags %#x) = %d (%s), expected -EPERM\n", cfg.flags, rc,
                        rc < 0 ? ar_strerror(rc) : "a ring");
                _exit(1);
            }
            CHECK(ring == NULL);
            if (i == 100) before = rss_kib();
        }
        long growth = rss_kib() - before;
        fprintf(stderr, "RSS growth over 1,900 failed ar_ring_new: %ld KiB\n", growth);
        CHECK(growth < 8 * 1024);
        for (int m = 0; m < 4; m++) {
            ar_ring_config cfg;
            ar_ring_config_default(&cfg);
            cfg.flags = modes[m];
            ar_ring *ring = NULL;
            CHECK_EQ(ar_ring_new(&cfg, &ring), 0);
            CHECK_EQ(ar_ring_backend(ring), AR_BACKEND_FALLBACK);
            struct log lg = {0};
            int64_t id = ar_op_nop(ring, NULL, &lg, log_cb);
            CHECK(id > 0);
            CHECK(ar_ring_run(ring, AR_RUN_UNTIL_DONE) >= 1);
            CHECK_EQ(log_res(&lg, id), 0);
            ar_ring_free(ring);
        }
        ar_probe p;
        CHECK_EQ(ar_ring_probe(&p), -EPERM);
        CHECK_EQ(p.reason, AR_PROBE_SECCOMP);
        CHECK(strstr(p.message, "seccomp") != NULL);
        CHECK(strstr(p.message, "io_uring_register") != NULL || strstr(p.message, "io_uring_enter") != NULL);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return 0;
}
