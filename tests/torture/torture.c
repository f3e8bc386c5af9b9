/*
 * libasyncring torture test with an oracle (issue 11, "The project's own outside-in tests").
 *
 * A seeded random mix of every operation family of include/asyncring.h on pipes,
 * socketpairs, TCP loopback, real temp files and a private temp directory, over every ring
 * mode (default, tiny SQ/CQ, SINGLE_THREAD, SQPOLL, THREADSAFE with worker threads queueing
 * concurrently). Rings are torn down gracefully (cancel everything, run dry) or freed
 * mid-flight. An oracle checks, for every id:
 *   - exactly one final callback (no AR_COMPLETION_MORE) per returned id, none for a refused
 *     call, none after the final one, all of them before ar_ring_free returns;
 *   - AR_COMPLETION_MORE only for multishot operations; a multishot accept/receive never ends
 *     with a final callback carrying an fd or data (SPEC 3.8);
 *   - a deadline ends with -ETIMEDOUT and AR_COMPLETION_DEADLINE; -ECANCELED only for ids
 *     something cancelled (ar_op_cancel, ar_op_cancel_fd, a broken chain, a freed group,
 *     teardown); a successful cancel leaves its target -ECANCELED; a cancel of a live id never
 *     gets -ENOENT while the target lives on (SPEC 3.5);
 *   - every byte: each stream (pipe, socketpair and TCP direction) is read back identical and
 *     in order, nothing lost or invented (drained after teardown); file contents match a
 *     shadow copy; connections accepted + still queued = connections made;
 *   - buffers: a write's source buffer is scribbled after its final callback (a kernel still
 *     reading it shows up as wrong bytes at the reader), a read's buffer is filled with a
 *     canary after its final callback and checked at the end of the run (nothing written
 *     later, also not after ar_ring_free);
 *   - ar_ring_inflight equals the oracle's count of live ids whenever it is well defined;
 *   - ar_ring_post work runs exactly once on the ring's thread, before ar_ring_free returns;
 *   - no fd leaks; ar_ring_free and the run loop never hang (a watchdog reports the seed).
 *
 * Usage: torture [--seed N] [--ops N] [--mode all|default,tiny,single,sqpoll,threadsafe]
 *                [--no FEATURE[,FEATURE...]] [--no-fork] [--verbose] [--free-timeout S]
 * Features: drain zc rearm chain deadline cancel cancelfd groupfree accept fs splice fixed
 *           shutdown abrupt dlflag (relaxes only the AR_COMPLETION_DEADLINE check) blockrun
 *           (AR_RUN_ONCE/UNTIL_DONE; valgrind holds its lock across io_uring_enter, so a
 *           blocking run would starve the threads that wake it: the valgrind pass drops it).
 * Every failure prints the seed and mode; `torture --seed S --mode M --ops N` replays the
 * same random choices (timing still varies: run it a few times).
 */
#define _GNU_SOURCE
#include <asyncring.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AR_COMPLETION_DEADLINE
#define AR_COMPLETION_DEADLINE (1u << 2)
#endif

/* ---------------------------------------------------------------------------------------- */
/* configuration                                                                            */

enum { M_DEFAULT, M_TINY, M_SINGLE, M_SQPOLL, M_THREADSAFE, M_COUNT };
static const char *mode_names[M_COUNT] = {"default", "tiny", "single", "sqpoll", "threadsafe"};

enum {
    F_DRAIN, F_ZC, F_REARM, F_CHAIN, F_DEADLINE, F_CANCEL, F_CANCELFD, F_GROUPFREE, F_ACCEPT,
    F_FS, F_SPLICE, F_FIXED, F_SHUTDOWN, F_ABRUPT, F_DLFLAG, F_BLOCKRUN, F_COUNT
};
static const char *feature_names[F_COUNT] = {"drain",  "zc",     "rearm",    "chain",    "deadline",
                                             "cancel", "cancelfd", "groupfree", "accept", "fs",
                                             "splice", "fixed",  "shutdown", "abrupt",   "dlflag",
                                             "blockrun"};
static int feat[F_COUNT];

static uint64_t g_seed;
static long g_ops = 20000;
static int g_verbose;
static int g_nofork;
static double g_free_timeout = 10.0;
static double g_mode_timeout = 600.0;
static int g_mode; /* the mode the child runs */

/* ---------------------------------------------------------------------------------------- */
/* small utilities                                                                          */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct { uint64_t s; } rng_t;
static uint64_t rnext(rng_t *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint32_t rbelow(rng_t *r, uint32_t n) { return n ? (uint32_t)(rnext(r) % n) : 0; }
static int rchance(rng_t *r, int percent) { return (int)rbelow(r, 100) < percent; }
static uint64_t mix(uint64_t a, uint64_t b) {
    rng_t r = {a ^ (b * 0x9e3779b97f4a7c15ull)};
    return rnext(&r);
}

/* The byte pattern of every stream: ptab repeated; stream s starts at base(s). */
#define PAT 4093
#define MAXIO 4096
static unsigned char ptab[PAT];

/* ---------------------------------------------------------------------------------------- */
/* failures                                                                                 */

static pthread_mutex_t olock; /* the oracle's lock (recursive): all oracle state */
static atomic_long g_failures;
static long g_fail_printed;
static int g_run_no;
static long g_natural; /* final callbacks that are not cancels or cancelled */
static long g_event;   /* adoption and final callback order */
static long g_ops_issued, g_callbacks, g_more_callbacks, g_refused, g_runs, g_abrupt_frees;
static long g_stat_cancel_enoent_live, g_stat_deadline_fired, g_stat_cancelled, g_stat_enobufs,
    g_stat_bytes, g_stat_posts, g_stat_chains, g_stat_drains, g_stat_accepts, g_stat_zc;

#define MAXCAT 64
static struct {
    char name[96];
    long n;
} g_cats[MAXCAT];

static void fail(const char *cat, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *cat, const char *fmt, ...) {
    pthread_mutex_lock(&olock);
    atomic_fetch_add(&g_failures, 1);
    int i;
    for (i = 0; i < MAXCAT && g_cats[i].name[0]; i++)
        if (!strcmp(g_cats[i].name, cat)) break;
    if (i < MAXCAT) {
        if (!g_cats[i].name[0]) snprintf(g_cats[i].name, sizeof g_cats[i].name, "%s", cat);
        g_cats[i].n++;
    }
    if (g_fail_printed < 40 || (i < MAXCAT && g_cats[i].n <= 2)) {
        g_fail_printed++;
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        fprintf(stderr, "torture: FAIL [%s] mode=%s seed=%" PRIu64 " run=%d ops=%ld: %s\n", cat,
                mode_names[g_mode], g_seed, g_run_no, g_ops_issued, msg);
    }
    pthread_mutex_unlock(&olock);
}

#define DIE(...)                                                                                 \
    do {                                                                                         \
        fprintf(stderr, "torture: setup error at %s:%d: ", __FILE__, __LINE__);                  \
        fprintf(stderr, __VA_ARGS__);                                                            \
        fprintf(stderr, " (errno %d %s)\n", errno, strerror(errno));                             \
        exit(2);                                                                                 \
    } while (0)

/* ---------------------------------------------------------------------------------------- */
/* the model                                                                                */

enum kind {
    K_NOP, K_TIMEOUT, K_READ, K_WRITE, K_READV, K_WRITEV, K_READ_FIXED, K_WRITE_FIXED, K_FSYNC,
    K_FALLOCATE, K_OPENAT, K_CLOSE, K_STATX, K_UNLINKAT, K_RENAMEAT, K_MKDIRAT, K_RMDIR,
    K_CANCEL, K_CANCEL_FD, K_POLL, K_POLL_MS, K_ACCEPT, K_ACCEPT_MS, K_SOCKET, K_CONNECT,
    K_SEND, K_RECV, K_RECV_MS, K_SEND_ZC, K_SENDMSG, K_RECVMSG, K_SHUTDOWN, K_SPLICE, K_BAD,
    K_COUNT
};
static const char *kind_names[K_COUNT] = {
    "nop", "timeout", "read", "write", "readv", "writev", "read_fixed", "write_fixed", "fsync",
    "fallocate", "openat", "close", "statx", "unlinkat", "renameat", "mkdirat", "rmdir",
    "cancel", "cancel_fd", "poll", "poll_multishot", "accept", "accept_multishot", "socket",
    "connect", "send", "recv", "recv_multishot", "send_zc", "sendmsg", "recvmsg", "shutdown",
    "splice", "bad"};
static long g_kind_count[K_COUNT];

enum { T_NONE, T_STREAM_R, T_STREAM_W, T_FILE, T_NAME, T_LISTEN };
enum { S_NEW, S_LIVE, S_FINAL, S_REFUSED };

#define NSTREAM 6
#define NFILE 2
#define FSLOTS 8
#define FSLOT 4096
#define FSZ (FSLOTS * FSLOT)
#define NNAMES 8
#define NDIRS 4
#define NFIXED 16
#define MAXGROUPS 16

struct run;
struct chain;
struct group;

struct rec {
    uint32_t magic;
    struct rec *all_next;
    struct run *run;
    enum kind kind;
    int64_t id;
    int state;
    int multishot;
    long nmore;
    int32_t res;
    uint32_t cflags;
    uint64_t deadline;
    uint32_t opflags;
    int eligible;    /* something may legitimately cancel it */
    int cancel_ok;   /* a cancel of it completed with 0 */
    int lost_strict; /* a cancel of it completed -ENOENT while it was live */
    int lost_runs;   /* run counter when a lost cancel was noticed, 0 = none */
    double lost_t;
    struct chain *chain;
    int chain_pos;
    int tgt; /* T_* */
    int idx; /* stream / file / name index */
    int idx2;
    int fd; /* the fd the op works on, for cancel_fd, -1 if none */
    int slot;
    int fixed_slot;
    size_t len;
    uint64_t off;
    int64_t expect;
    struct rec *target; /* cancel */
    struct group *grp;
    unsigned char *buf; /* owned */
    int buf_is_rx;      /* canary after final */
    struct iovec iov[4];
    int iovcnt;
    struct msghdr msg;
    struct statx stx;
    int live_idx;
    int issuer_main;
    long seq;
    double t_issue;
    long issue_ev, final_ev;
};
#define REC_MAGIC 0x7e57ab1eu

struct chain {
    struct chain *next;
    int n, nfinal;
    struct rec *m[4];
};

struct stream {
    int type; /* 0 pipe, 1 unix, 2 tcp */
    int wfd, rfd;
    uint64_t base;
    uint64_t wpos, rpos;
    struct rec *writer, *reader;
    int shut;    /* shutdown completed */
    int shut_op; /* shutdown issued */
    struct rec *last_shutdown;
    int eof_seen;
};

struct file {
    int fd;
    unsigned char shadow[FSZ];
    struct rec *busy[FSLOTS];
};

struct group {
    ar_bufgroup *g;
    uint32_t count, size;
    int freed;
    uint16_t held[64];
    int nheld;
};

struct post {
    struct post *next;
    struct run *run;
    int rc;
    int ran;
};

struct run {
    ar_ring *ring;
    int mode;
    rng_t rng;
    long budget;
    long issued;
    struct rec *all;
    struct rec **live;
    int nlive, caplive;
    struct chain *chains;
    struct stream st[NSTREAM];
    struct file files[NFILE];
    int patfd;
    int dirfd;
    char dirpath[128];
    int name_exists[NNAMES];
    struct rec *name_busy[NNAMES];
    int dir_exists[NDIRS];
    struct rec *dir_busy[NDIRS];
    int lfd;
    struct sockaddr_in laddr;
    int clients[128];
    int nclients;
    long conns_ok, conns_ambiguous, accepted, connect_live;
    struct group *groups[MAXGROUPS];
    int ngroups;
    unsigned char *fixed;
    struct rec *fixed_busy[NFIXED];
    int has_fixed;
    int freeing, freed;
    long runs_counter;
    struct post *posts;
    int64_t stale[64];
    int nstale;
    pthread_t main_thread;
    atomic_int stop_workers;
    atomic_int stop_ticker;
    int cap;
    int sq_entries;
    int chain_open; /* building a chain */
    struct rec *issuing[8]; /* worker threads' ops inside their ar_op_* call */
};

/* Chains are built under the oracle's lock: the link flag for the op being queued. */
static uint32_t g_chain_link_flag;
static struct chain *g_chain_cur;

static int kind_multishot(enum kind k) { return k == K_POLL_MS || k == K_ACCEPT_MS || k == K_RECV_MS; }

static unsigned char pbyte(const struct stream *s, uint64_t pos) { return ptab[(s->base + pos) % PAT]; }

/* ---------------------------------------------------------------------------------------- */
/* watchdog                                                                                 */

static _Atomic double wd_deadline; /* 0 = disarmed */
static char wd_what[128];
static struct run *wd_run;

static void dump_live(struct run *run) {
    if (!run) return;
    fprintf(stderr, "torture:   %d ids live:", run->nlive);
    struct rec *sorted[40];
    int ns = 0;
    /* the oldest 24 */
    for (int i = 0; i < run->nlive; i++) {
        struct rec *r = run->live[i];
        int k;
        if (ns < 40) k = ns++;
        else if (sorted[39]->seq < r->seq) continue;
        else k = 39;
        while (k > 0 && sorted[k - 1]->seq > r->seq) { sorted[k] = sorted[k - 1]; k--; }
        sorted[k] = r;
    }
    for (int i = 0; i < ns; i++) {
        struct rec *r = sorted[i];
        fprintf(stderr, " #%ld%s:%s%s%s%s%s%s", r->seq, r->eligible ? "(c)" : "", kind_names[r->kind],
                r->opflags & AR_OP_LINK ? "+link" : "", r->opflags & AR_OP_HARDLINK ? "+hardlink" : "",
                r->opflags & AR_OP_REARM ? "+rearm" : "", r->opflags & AR_OP_DRAIN ? "+drain" : "",
                r->deadline ? "+deadline" : "");
        if (r->kind == K_CANCEL && r->target)
            fprintf(stderr, "(->#%ld %s %s res %d, issued by %s)", r->target->seq, kind_names[r->target->kind],
                    r->target->state == S_FINAL ? "final" : "live", r->target->res, r->issuer_main ? "the ring's thread" : "a worker");
        else if (r->kind == K_CANCEL)
            fprintf(stderr, "(->stale id, issued by %s)", r->issuer_main ? "the ring's thread" : "a worker");
    }
    fprintf(stderr, "\n");
}

static void *watchdog_main(void *arg) {
    (void)arg;
    for (;;) {
        usleep(50 * 1000);
        double d = atomic_load(&wd_deadline);
        if (d > 0 && now_s() > d) {
            fprintf(stderr, "torture: FAIL [hang] mode=%s seed=%" PRIu64 " run=%d ops=%ld: HANG: %s did not return\n",
                    mode_names[g_mode], g_seed, g_run_no, g_ops_issued, wd_what);
            /* try for the oracle's lock briefly, to print a consistent picture */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
            int locked = pthread_mutex_timedlock(&olock, &ts) == 0;
            dump_live(wd_run);
            if (locked) pthread_mutex_unlock(&olock);
            fprintf(stderr, "torture: replay: torture --seed %" PRIu64 " --mode %s --ops %ld\n", g_seed,
                    mode_names[g_mode], g_ops);
            fflush(stderr);
            _exit(3);
        }
    }
    return NULL;
}

static void wd_arm(struct run *run, double secs, const char *what) {
    snprintf(wd_what, sizeof wd_what, "%s", what);
    wd_run = run;
    atomic_store(&wd_deadline, now_s() + secs);
}
static void wd_disarm(void) { atomic_store(&wd_deadline, 0.0); }

/* ---------------------------------------------------------------------------------------- */
/* records                                                                                  */

static struct rec *rec_new(struct run *run, enum kind k) {
    struct rec *r = calloc(1, sizeof *r);
    if (!r) DIE("oom");
    r->magic = REC_MAGIC;
    r->run = run;
    r->kind = k;
    r->fd = -1;
    r->slot = -1;
    r->fixed_slot = -1;
    r->live_idx = -1;
    static long seq;
    r->seq = ++seq;
    r->multishot = kind_multishot(k);
    r->all_next = run->all;
    r->issuer_main = pthread_equal(pthread_self(), run->main_thread);
    run->all = r;
    return r;
}

static void live_add(struct run *run, struct rec *r) {
    if (run->nlive == run->caplive) {
        run->caplive = run->caplive ? run->caplive * 2 : 256;
        run->live = realloc(run->live, (size_t)run->caplive * sizeof *run->live);
        if (!run->live) DIE("oom");
    }
    r->live_idx = run->nlive;
    run->live[run->nlive++] = r;
}
static void live_del(struct run *run, struct rec *r) {
    int i = r->live_idx;
    if (i < 0) return;
    run->live[i] = run->live[--run->nlive];
    run->live[i]->live_idx = i;
    r->live_idx = -1;
}

/* Releases what an op held in the model (stream direction, file slot, name, fixed slot). */
static void release(struct run *run, struct rec *r) {
    switch (r->tgt) {
    case T_STREAM_R:
        if (run->st[r->idx].reader == r) run->st[r->idx].reader = NULL;
        break;
    case T_STREAM_W:
        if (run->st[r->idx].writer == r) run->st[r->idx].writer = NULL;
        break;
    case T_FILE:
        if (run->files[r->idx].busy[r->slot] == r) run->files[r->idx].busy[r->slot] = NULL;
        break;
    case T_NAME:
        if (r->kind == K_MKDIRAT || r->kind == K_RMDIR) {
            if (run->dir_busy[r->idx] == r) run->dir_busy[r->idx] = NULL;
        } else {
            if (run->name_busy[r->idx] == r) run->name_busy[r->idx] = NULL;
            if (r->kind == K_RENAMEAT && run->name_busy[r->idx2] == r) run->name_busy[r->idx2] = NULL;
        }
        break;
    default:
        break;
    }
    if (r->fixed_slot >= 0 && run->fixed_busy[r->fixed_slot] == r) run->fixed_busy[r->fixed_slot] = NULL;
    r->tgt = T_NONE;
}

static void on_cb(void *ud, const ar_completion *c);

/* THREADSAFE rings: worker threads call ar_op_* without holding the oracle's lock (the
 * library holds the ring while the runner is inside a callback, and a callback takes the
 * oracle's lock), and under a shared gate that the ring's thread takes exclusively to build
 * a chain or to free or create a buffer group. The callback may then come before the call
 * returns: the record is adopted by whichever comes first. */
static pthread_rwlock_t gate = PTHREAD_RWLOCK_INITIALIZER;
static void op_unlock(struct run *run, struct rec *r) {
    if (pthread_equal(pthread_self(), run->main_thread)) return;
    for (int i = 0; i < 8; i++)
        if (!run->issuing[i]) { run->issuing[i] = r; break; }
    /* Take the gate before the oracle's lock is released: what this thread picked under the
     * lock (a buffer group) cannot be freed by the ring's thread in between (same lock
     * order as the ring's thread: olock, then the gate). */
    pthread_rwlock_rdlock(&gate);
    pthread_mutex_unlock(&olock);
}
static void op_relock(struct run *run, struct rec *r) {
    (void)r;
    if (pthread_equal(pthread_self(), run->main_thread)) return;
    pthread_rwlock_unlock(&gate);
    pthread_mutex_lock(&olock);
    for (int i = 0; i < 8; i++)
        if (run->issuing[i] == r) run->issuing[i] = NULL;
}
#define OPCALL(run, r, call) __extension__({ int64_t rc_; op_unlock(run, r); rc_ = (call); op_relock(run, r); rc_; })

static void adopt(struct run *run, struct rec *r, int64_t rc) {
    for (int i = 0; i < run->nlive; i++)
        if (run->live[i]->id == rc)
            fail("duplicate-id", "%s got id %" PRId64 " which %s still holds", kind_names[r->kind], rc,
                 kind_names[run->live[i]->kind]);
    r->id = rc;
    r->state = S_LIVE;
    r->t_issue = now_s();
    r->issue_ev = ++g_event;
    live_add(run, r);
    run->issued++;
    g_ops_issued++;
    if (run->freeing)
        fail("queued-during-free", "%s queued from a callback during ar_ring_free got id %" PRId64
             " (expected -ESHUTDOWN)", kind_names[r->kind], rc);
    if (r->opflags & AR_OP_DRAIN) g_stat_drains++;
    if (r->kind == K_SEND_ZC) g_stat_zc++;
    if (run->chain_open && g_chain_cur && g_chain_cur->n < 4) {
        r->chain = g_chain_cur;
        r->chain_pos = g_chain_cur->n;
        g_chain_cur->m[g_chain_cur->n++] = r;
    }
}

/* Records the outcome of an ar_op_* call. `expect_refusal`: a negative return is fine. */
static int64_t issued(struct run *run, struct rec *r, int64_t rc, int expect_refusal) {
    g_kind_count[r->kind]++;
    if (r->state != S_NEW) {
        /* its callback came first (a worker thread's op on a THREADSAFE ring) */
        if (rc != r->id)
            fail(rc < 0 ? "callback-for-refused" : "wrong-id", "%s: the call returned %" PRId64 " but its callback said op %" PRId64,
                 kind_names[r->kind], rc, r->id);
        return rc;
    }
    if (rc > 0) {
        adopt(run, r, rc);
    } else {
        r->id = rc;
        r->state = S_REFUSED;
        g_refused++;
        release(run, r);
        if (run->freeing) {
            if (rc != -ESHUTDOWN)
                fail("refusal-during-free", "%s during ar_ring_free refused with %s, expected -ESHUTDOWN",
                     kind_names[r->kind], ar_strerror((int)rc));
        } else if (!expect_refusal) {
            fail("unexpected-refusal", "%s refused: %" PRId64 " (%s)", kind_names[r->kind], rc,
                 ar_strerror((int)rc));
        }
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* op options                                                                               */

static ar_op_opts pick_opts(struct run *run, rng_t *rg, struct rec *r, int allow_deadline) {
    ar_op_opts o = {0};
    if (run->chain_open && run->sq_entries < 8 && rchance(rg, 50)) allow_deadline = 0;
    if (allow_deadline && feat[F_DEADLINE] && rchance(rg, 15)) {
        static const uint64_t dl[] = {20000, 200000, 1000000, 5000000, 30000000};
        o.timeout_ns = dl[rbelow(rg, 5)];
    }
    if (rchance(rg, 8)) o.flags |= AR_OP_ASYNC;
    if (feat[F_DRAIN] && !run->chain_open && rbelow(rg, 1000) < 3) o.flags |= AR_OP_DRAIN;
    if (run->chain_open) o.flags |= g_chain_link_flag;
    r->deadline = o.timeout_ns;
    r->opflags = o.flags;
    return o;
}

/* ---------------------------------------------------------------------------------------- */
/* issuing                                                                                  */

static struct rec *random_live(struct run *run, rng_t *rg) {
    if (!run->nlive) return NULL;
    return run->live[rbelow(rg, (uint32_t)run->nlive)];
}

static int fixed_alloc(struct run *run, rng_t *rg) {
    if (!run->has_fixed) return -1;
    int s = (int)rbelow(rg, NFIXED);
    for (int i = 0; i < NFIXED; i++) {
        int k = (s + i) % NFIXED;
        if (!run->fixed_busy[k]) return k;
    }
    return -1;
}

static void fill_iov(struct rec *r, rng_t *rg) {
    int n = 1 + (int)rbelow(rg, 4);
    if ((size_t)n > r->len) n = (int)r->len;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t left = r->len - off;
        size_t take = (i == n - 1) ? left : 1 + rbelow(rg, (uint32_t)(left - (size_t)(n - 1 - i)));
        r->iov[i].iov_base = r->buf + off;
        r->iov[i].iov_len = take;
        off += take;
    }
    r->iovcnt = n;
}

static size_t pick_len(rng_t *rg) {
    switch (rbelow(rg, 4)) {
    case 0: return 1 + rbelow(rg, 16);
    case 1: return 1 + rbelow(rg, 512);
    default: return 1 + rbelow(rg, MAXIO);
    }
}

/* A stream write of some family. */
static int64_t issue_stream_write(struct run *run, rng_t *rg, int si, enum kind k) {
    struct stream *s = &run->st[si];
    if (s->writer) return 0;
    if (s->type == 0 && (k == K_SEND || k == K_SEND_ZC || k == K_SENDMSG || k == K_SHUTDOWN)) k = K_WRITE;
    if (s->type != 0 && k == K_SPLICE) k = K_WRITE;
    if (k == K_SEND_ZC && (s->type != 2 || !feat[F_ZC])) k = K_SEND;
    if (k == K_SHUTDOWN && (!feat[F_SHUTDOWN] || s->shut_op)) k = K_SEND;
    if (k == K_SPLICE && !feat[F_SPLICE]) k = K_WRITE;
    int fslot = -1;
    if (k == K_WRITE_FIXED) {
        fslot = fixed_alloc(run, rg);
        if (fslot < 0) k = K_WRITE;
    }
    struct rec *r = rec_new(run, k);
    r->tgt = T_STREAM_W;
    r->idx = si;
    r->fd = s->wfd;
    r->len = pick_len(rg);
    s->writer = r;
    ar_op_opts o = pick_opts(run, rg, r, 1);
    int64_t rc;
    if (k == K_SHUTDOWN) {
        s->shut_op = 1;
        s->last_shutdown = r;
        r->len = 0;
        rc = OPCALL(run, r, ar_op_shutdown(run->ring, s->wfd, SHUT_WR, &o, r, on_cb));
        return issued(run, r, rc, 0);
    }
    if (k == K_SPLICE) {
        int64_t off_in = (int64_t)((s->base + s->wpos) % PAT);
        rc = OPCALL(run, r, ar_op_splice(run->ring, run->patfd, off_in, s->wfd, -1, r->len, 0, &o, r, on_cb));
        return issued(run, r, rc, 0);
    }
    unsigned char *src;
    if (k == K_WRITE_FIXED) {
        r->fixed_slot = fslot;
        run->fixed_busy[fslot] = r;
        src = run->fixed + (size_t)fslot * MAXIO;
    } else {
        r->buf = calloc(1, r->len);
        if (!r->buf) DIE("oom");
        src = r->buf;
    }
    for (size_t i = 0; i < r->len; i++) src[i] = pbyte(s, s->wpos + i);
    switch (k) {
    case K_WRITE: rc = OPCALL(run, r, ar_op_write(run->ring, s->wfd, src, r->len, UINT64_MAX, &o, r, on_cb)); break;
    case K_WRITEV:
        fill_iov(r, rg);
        rc = OPCALL(run, r, ar_op_writev(run->ring, s->wfd, r->iov, (size_t)r->iovcnt, UINT64_MAX, &o, r, on_cb));
        memset(r->iov, 0xEE, sizeof r->iov); /* copied by the call */
        break;
    case K_WRITE_FIXED:
        rc = OPCALL(run, r, ar_op_write_fixed(run->ring, s->wfd, src, r->len, UINT64_MAX, (uint16_t)fslot, &o, r, on_cb));
        break;
    case K_SEND: rc = OPCALL(run, r, ar_op_send(run->ring, s->wfd, src, r->len, MSG_NOSIGNAL, &o, r, on_cb)); break;
    case K_SEND_ZC: rc = OPCALL(run, r, ar_op_send_zc(run->ring, s->wfd, src, r->len, MSG_NOSIGNAL, &o, r, on_cb)); break;
    case K_SENDMSG: {
        fill_iov(r, rg);
        struct msghdr m = {0};
        struct iovec iv[4];
        memcpy(iv, r->iov, sizeof iv);
        m.msg_iov = iv;
        m.msg_iovlen = (size_t)r->iovcnt;
        rc = OPCALL(run, r, ar_op_sendmsg(run->ring, s->wfd, &m, MSG_NOSIGNAL, &o, r, on_cb));
        memset(iv, 0xEE, sizeof iv); /* the header and iovecs are copied */
        memset(&m, 0xEE, sizeof m);
        break;
    }
    default: rc = OPCALL(run, r, ar_op_write(run->ring, s->wfd, src, r->len, UINT64_MAX, &o, r, on_cb)); break;
    }
    return issued(run, r, rc, 0);
}

static struct group *pick_group(struct run *run, rng_t *rg) {
    int n = 0;
    struct group *c[MAXGROUPS];
    for (int i = 0; i < run->ngroups; i++)
        if (!run->groups[i]->freed) c[n++] = run->groups[i];
    return n ? c[rbelow(rg, (uint32_t)n)] : NULL;
}

static int64_t issue_stream_read(struct run *run, rng_t *rg, int si, enum kind k) {
    struct stream *s = &run->st[si];
    if (s->reader) return 0;
    if (s->type == 0 && (k == K_RECV || k == K_RECVMSG || k == K_RECV_MS)) k = K_READ;
    int fslot = -1;
    if (k == K_READ_FIXED) {
        fslot = fixed_alloc(run, rg);
        if (fslot < 0) k = K_READ;
    }
    struct group *g = NULL;
    if (k == K_RECV_MS) {
        g = pick_group(run, rg);
        if (!g) k = K_RECV;
    }
    struct rec *r = rec_new(run, k);
    r->tgt = T_STREAM_R;
    r->idx = si;
    r->fd = s->rfd;
    r->len = pick_len(rg);
    s->reader = r;
    ar_op_opts o = pick_opts(run, rg, r, 1);
    int64_t rc;
    if (k == K_RECV_MS) {
        r->grp = g;
        if (feat[F_REARM] && rchance(rg, 60)) o.flags |= AR_OP_REARM;
        r->opflags = o.flags;
        rc = OPCALL(run, r, ar_op_recv_multishot(run->ring, s->rfd, g->g, 0, &o, r, on_cb));
        return issued(run, r, rc, 0);
    }
    unsigned char *dst;
    if (k == K_READ_FIXED) {
        r->fixed_slot = fslot;
        run->fixed_busy[fslot] = r;
        dst = run->fixed + (size_t)fslot * MAXIO;
    } else {
        r->buf = calloc(1, r->len);
        if (!r->buf) DIE("oom");
        r->buf_is_rx = 1;
        dst = r->buf;
    }
    switch (k) {
    case K_READ: rc = OPCALL(run, r, ar_op_read(run->ring, s->rfd, dst, r->len, UINT64_MAX, &o, r, on_cb)); break;
    case K_READV:
        fill_iov(r, rg);
        rc = OPCALL(run, r, ar_op_readv(run->ring, s->rfd, r->iov, (size_t)r->iovcnt, UINT64_MAX, &o, r, on_cb));
        break;
    case K_READ_FIXED:
        rc = OPCALL(run, r, ar_op_read_fixed(run->ring, s->rfd, dst, r->len, UINT64_MAX, (uint16_t)fslot, &o, r, on_cb));
        break;
    case K_RECV: rc = OPCALL(run, r, ar_op_recv(run->ring, s->rfd, dst, r->len, 0, &o, r, on_cb)); break;
    case K_RECVMSG:
        fill_iov(r, rg);
        r->msg.msg_iov = r->iov;
        r->msg.msg_iovlen = (size_t)r->iovcnt;
        rc = OPCALL(run, r, ar_op_recvmsg(run->ring, s->rfd, &r->msg, 0, &o, r, on_cb));
        break;
    default: rc = OPCALL(run, r, ar_op_read(run->ring, s->rfd, dst, r->len, UINT64_MAX, &o, r, on_cb)); break;
    }
    return issued(run, r, rc, 0);
}

static int64_t issue_file_io(struct run *run, rng_t *rg, enum kind k) {
    int fi = (int)rbelow(rg, NFILE);
    int slot = (int)rbelow(rg, FSLOTS);
    struct file *f = &run->files[fi];
    if (f->busy[slot]) return 0;
    int fslot = -1;
    if (k == K_READ_FIXED || k == K_WRITE_FIXED) {
        fslot = fixed_alloc(run, rg);
        if (fslot < 0) k = (k == K_READ_FIXED) ? K_READ : K_WRITE;
    }
    struct rec *r = rec_new(run, k);
    r->tgt = T_FILE;
    r->idx = fi;
    r->slot = slot;
    r->fd = f->fd;
    size_t in = rbelow(rg, FSLOT);
    r->len = 1 + rbelow(rg, (uint32_t)(FSLOT - in));
    r->off = (uint64_t)slot * FSLOT + in;
    f->busy[slot] = r;
    ar_op_opts o = pick_opts(run, rg, r, 1);
    int is_write = (k == K_WRITE || k == K_WRITEV || k == K_WRITE_FIXED);
    unsigned char *b;
    if (fslot >= 0) {
        r->fixed_slot = fslot;
        run->fixed_busy[fslot] = r;
        b = run->fixed + (size_t)fslot * MAXIO;
    } else {
        r->buf = calloc(1, r->len);
        if (!r->buf) DIE("oom");
        r->buf_is_rx = !is_write;
        b = r->buf;
    }
    if (is_write)
        for (size_t i = 0; i < r->len; i++) b[i] = (unsigned char)rnext(rg);
    int64_t rc;
    switch (k) {
    case K_READ: rc = OPCALL(run, r, ar_op_read(run->ring, f->fd, b, r->len, r->off, &o, r, on_cb)); break;
    case K_WRITE: rc = OPCALL(run, r, ar_op_write(run->ring, f->fd, b, r->len, r->off, &o, r, on_cb)); break;
    case K_READV:
        fill_iov(r, rg);
        rc = OPCALL(run, r, ar_op_readv(run->ring, f->fd, r->iov, (size_t)r->iovcnt, r->off, &o, r, on_cb));
        break;
    case K_WRITEV:
        fill_iov(r, rg);
        rc = OPCALL(run, r, ar_op_writev(run->ring, f->fd, r->iov, (size_t)r->iovcnt, r->off, &o, r, on_cb));
        break;
    case K_READ_FIXED:
        rc = OPCALL(run, r, ar_op_read_fixed(run->ring, f->fd, b, r->len, r->off, (uint16_t)fslot, &o, r, on_cb));
        break;
    case K_WRITE_FIXED:
        rc = OPCALL(run, r, ar_op_write_fixed(run->ring, f->fd, b, r->len, r->off, (uint16_t)fslot, &o, r, on_cb));
        break;
    default: rc = -EINVAL; break;
    }
    return issued(run, r, rc, 0);
}

static void name_of(char *out, size_t n, int dir, int i) { snprintf(out, n, dir ? "d%d" : "n%d", i); }

static int64_t issue_fs(struct run *run, rng_t *rg, enum kind k) {
    char p1[16], p2[16];
    ar_op_opts o;
    struct rec *r;
    int64_t rc;
    if (k == K_MKDIRAT || k == K_RMDIR) {
        int d = (int)rbelow(rg, NDIRS);
        if (run->dir_busy[d]) return 0;
        r = rec_new(run, k);
        r->tgt = T_NAME;
        r->idx = d;
        run->dir_busy[d] = r;
        o = pick_opts(run, rg, r, 1);
        name_of(p1, sizeof p1, 1, d);
        if (k == K_MKDIRAT) {
            r->expect = run->dir_exists[d] ? -EEXIST : 0;
            rc = OPCALL(run, r, ar_op_mkdirat(run->ring, run->dirfd, p1, 0700, &o, r, on_cb));
        } else {
            r->expect = run->dir_exists[d] ? 0 : -ENOENT;
            rc = OPCALL(run, r, ar_op_unlinkat(run->ring, run->dirfd, p1, AT_REMOVEDIR, &o, r, on_cb));
        }
        memset(p1, 'X', sizeof p1 - 1); /* the path is copied */
        return issued(run, r, rc, 0);
    }
    if (k == K_STATX && rchance(rg, 40)) {
        /* statx of a data file: size known */
        r = rec_new(run, k);
        r->idx = -1 - (int)rbelow(rg, NFILE);
        o = pick_opts(run, rg, r, 1);
        snprintf(p1, sizeof p1, "data%d", -1 - r->idx);
        r->expect = 0;
        rc = OPCALL(run, r, ar_op_statx(run->ring, run->dirfd, p1, 0, STATX_SIZE | STATX_TYPE, &r->stx, &o, r, on_cb));
        return issued(run, r, rc, 0);
    }
    int a = (int)rbelow(rg, NNAMES);
    if (run->name_busy[a]) return 0;
    int b = -1;
    if (k == K_RENAMEAT) {
        b = (int)rbelow(rg, NNAMES);
        if (b == a || run->name_busy[b]) return 0;
    }
    r = rec_new(run, k);
    r->tgt = T_NAME;
    r->idx = a;
    r->idx2 = b;
    run->name_busy[a] = r;
    if (b >= 0) run->name_busy[b] = r;
    o = pick_opts(run, rg, r, 1);
    name_of(p1, sizeof p1, 0, a);
    switch (k) {
    case K_OPENAT: {
        int creat = rchance(rg, 60);
        r->expect = (creat || run->name_exists[a]) ? 0 : -ENOENT;
        r->off = (uint64_t)creat;
        rc = OPCALL(run, r, ar_op_openat(run->ring, run->dirfd, p1, O_RDWR | O_CLOEXEC | (creat ? O_CREAT : 0), 0600, &o, r,
                          on_cb));
        break;
    }
    case K_STATX:
        r->expect = run->name_exists[a] ? 0 : -ENOENT;
        rc = OPCALL(run, r, ar_op_statx(run->ring, run->dirfd, p1, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &r->stx, &o, r, on_cb));
        break;
    case K_UNLINKAT:
        r->expect = run->name_exists[a] ? 0 : -ENOENT;
        rc = OPCALL(run, r, ar_op_unlinkat(run->ring, run->dirfd, p1, 0, &o, r, on_cb));
        break;
    case K_RENAMEAT:
        name_of(p2, sizeof p2, 0, b);
        r->expect = run->name_exists[a] ? 0 : -ENOENT;
        rc = OPCALL(run, r, ar_op_renameat(run->ring, run->dirfd, p1, run->dirfd, p2, 0, &o, r, on_cb));
        memset(p2, 'X', sizeof p2 - 1);
        break;
    default: rc = -EINVAL; break;
    }
    memset(p1, 'X', sizeof p1 - 1);
    return issued(run, r, rc, 0);
}

static int64_t issue_close(struct run *run, int fd, int from_cb) {
    struct rec *r = rec_new(run, K_CLOSE);
    r->fd = -1; /* not for cancel_fd */
    r->idx = fd;
    int64_t rc = OPCALL(run, r, ar_op_close(run->ring, fd, NULL, r, on_cb));
    issued(run, r, rc, from_cb && run->freeing);
    if (rc < 0) close(fd);
    return rc;
}

static int64_t issue_cancel(struct run *run, rng_t *rg, struct rec *t, int all_phase) {
    struct rec *r = rec_new(run, K_CANCEL);
    ar_op_opts o = {0};
    int64_t target_id;
    int expect_enoent = 0;
    if (t) {
        target_id = t->id;
        r->target = t;
        t->eligible = 1;
    } else if (run->nstale && rchance(rg, 60)) {
        target_id = run->stale[rbelow(rg, (uint32_t)run->nstale)];
        expect_enoent = 1;
    } else {
        static const int64_t bogus[] = {0, -1, INT64_MAX, INT64_MIN, 1, 0x100000001ll, 0x7fffffff00000001ll};
        target_id = rchance(rg, 50) ? bogus[rbelow(rg, 7)] : (int64_t)(rnext(rg) >> 1);
        expect_enoent = 1;
    }
    if (expect_enoent)
        for (int i = 0; i < run->nlive; i++)
            if (run->live[i]->id == target_id) { expect_enoent = 0; r->target = run->live[i]; run->live[i]->eligible = 1; }
    r->idx2 = (int)all_phase;
    int64_t rc = OPCALL(run, r, ar_op_cancel(run->ring, target_id, &o, r, on_cb));
    if (expect_enoent) {
        g_kind_count[K_CANCEL]++;
        if (rc > 0) {
            /* accepted: it must then complete with -ENOENT; track it like any op */
            g_kind_count[K_CANCEL]--;
            r->expect = -ENOENT;
            return issued(run, r, rc, 0);
        }
        r->id = rc;
        r->state = S_REFUSED;
        if (run->freeing) {
            if (rc != -ESHUTDOWN && rc != -ENOENT && rc != -EINVAL)
                fail("refusal-during-free", "cancel during free: %s", ar_strerror((int)rc));
        } else if (rc != -ENOENT && !(target_id <= 0 && rc == -EINVAL))
            fail("cancel-stale", "cancel of a finished/never-issued id %" PRId64 " returned %" PRId64 " (%s), expected -ENOENT",
                 target_id, rc, ar_strerror((int)rc));
        return rc;
    }
    if (rc == -ENOENT && t && t->state == S_FINAL) {
        /* it finished while this thread was calling (a worker on a THREADSAFE ring) */
        g_kind_count[K_CANCEL]++;
        r->id = rc;
        r->state = S_REFUSED;
        return rc;
    }
    if (rc == -ENOENT && !run->freeing && t && t->state == S_LIVE) {
        /* The target is live by the oracle (no final callback yet). Legal only if its final
         * completion is already decided inside the library: then it must arrive soon. */
        g_stat_cancel_enoent_live++;
        if (!t->lost_runs) {
            t->lost_runs = (int)run->runs_counter + 1;
            t->lost_t = now_s();
        }
        g_kind_count[K_CANCEL]++;
        r->id = rc;
        r->state = S_REFUSED;
        return rc;
    }
    return issued(run, r, rc, 0);
}

static int64_t issue_cancel_fd(struct run *run, rng_t *rg) {
    int fds[NSTREAM * 2 + 4];
    int n = 0;
    for (int i = 0; i < NSTREAM; i++) {
        fds[n++] = run->st[i].rfd;
        fds[n++] = run->st[i].wfd;
    }
    fds[n++] = run->lfd;
    fds[n++] = run->files[0].fd;
    int fd = fds[rbelow(rg, (uint32_t)n)];
    uint32_t flags = rchance(rg, 50) ? AR_CANCEL_ALL : 0;
    for (int i = 0; i < run->nlive; i++)
        if (run->live[i]->fd == fd) run->live[i]->eligible = 1;
    for (int i = 0; i < 8; i++)
        if (run->issuing[i] && run->issuing[i]->fd == fd) run->issuing[i]->eligible = 1;
    struct rec *r = rec_new(run, K_CANCEL_FD);
    r->idx = fd;
    int64_t rc = OPCALL(run, r, ar_op_cancel_fd(run->ring, fd, flags, NULL, r, on_cb));
    return issued(run, r, rc, 0);
}

static int64_t issue_misc(struct run *run, rng_t *rg, enum kind k) {
    struct rec *r;
    ar_op_opts o;
    int64_t rc;
    switch (k) {
    case K_NOP:
        r = rec_new(run, k);
        o = pick_opts(run, rg, r, 1);
        rc = OPCALL(run, r, ar_op_nop(run->ring, &o, r, on_cb));
        return issued(run, r, rc, 0);
    case K_TIMEOUT: {
        r = rec_new(run, k);
        o = pick_opts(run, rg, r, rchance(rg, 30));
        static const uint64_t t[] = {1000, 100000, 1000000, 3000000, 20000000};
        r->off = t[rbelow(rg, 5)];
        rc = OPCALL(run, r, ar_op_timeout(run->ring, r->off, &o, r, on_cb));
        return issued(run, r, rc, 0);
    }
    case K_FSYNC:
    case K_FALLOCATE: {
        r = rec_new(run, k);
        int fi = (int)rbelow(rg, NFILE);
        r->fd = run->files[fi].fd;
        o = pick_opts(run, rg, r, 1);
        if (k == K_FSYNC)
            rc = OPCALL(run, r, ar_op_fsync(run->ring, r->fd, rchance(rg, 50) ? AR_FSYNC_DATASYNC : 0, &o, r, on_cb));
        else
            rc = OPCALL(run, r, ar_op_fallocate(run->ring, r->fd, 1 /* FALLOC_FL_KEEP_SIZE */, 0, FSZ, &o, r, on_cb));
        return issued(run, r, rc, 0);
    }
    case K_POLL:
    case K_POLL_MS: {
        int si = (int)rbelow(rg, NSTREAM);
        int wr = rchance(rg, 50);
        r = rec_new(run, k);
        r->fd = wr ? run->st[si].wfd : run->st[si].rfd;
        r->expect = wr ? POLLOUT : POLLIN;
        o = pick_opts(run, rg, r, 1);
        if (k == K_POLL)
            rc = OPCALL(run, r, ar_op_poll(run->ring, r->fd, (uint32_t)r->expect, &o, r, on_cb));
        else
            rc = OPCALL(run, r, ar_op_poll_multishot(run->ring, r->fd, (uint32_t)r->expect, &o, r, on_cb));
        return issued(run, r, rc, 0);
    }
    case K_ACCEPT:
    case K_ACCEPT_MS:
        r = rec_new(run, k);
        r->fd = run->lfd;
        o = pick_opts(run, rg, r, 1);
        if (k == K_ACCEPT)
            rc = OPCALL(run, r, ar_op_accept(run->ring, run->lfd, SOCK_CLOEXEC, &o, r, on_cb));
        else
            rc = OPCALL(run, r, ar_op_accept_multishot(run->ring, run->lfd, SOCK_CLOEXEC, &o, r, on_cb));
        return issued(run, r, rc, 0);
    case K_SOCKET:
        if (run->conns_ok + run->connect_live + run->nclients > 60) return 0;
        r = rec_new(run, k);
        o = pick_opts(run, rg, r, 0);
        run->connect_live++;
        rc = OPCALL(run, r, ar_op_socket(run->ring, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, &o, r, on_cb));
        if (rc < 0) run->connect_live--;
        return issued(run, r, rc, 0);
    case K_BAD: {
        /* hostile but well-formed calls: refusal or an error completion, never a crash */
        r = rec_new(run, k);
        static char junk[64];
        switch (rbelow(rg, 4)) {
        case 0: rc = OPCALL(run, r, ar_op_read(run->ring, -1, junk, sizeof junk, 0, NULL, r, on_cb)); break;
        case 1: rc = OPCALL(run, r, ar_op_write(run->ring, 1 << 29, junk, sizeof junk, 0, NULL, r, on_cb)); break;
        case 2: rc = OPCALL(run, r, ar_op_close(run->ring, -5, NULL, r, on_cb)); break;
        default: {
            ar_op_opts bad = {.reserved = 1};
            rc = OPCALL(run, r, ar_op_nop(run->ring, &bad, r, on_cb));
            break;
        }
        }
        return issued(run, r, rc, 1);
    }
    default: return 0;
    }
}

static const struct { enum kind k; int w; } weights[] = {
    {K_NOP, 6},        {K_TIMEOUT, 4},   {K_READ, 8},      {K_WRITE, 8},     {K_READV, 3},
    {K_WRITEV, 3},     {K_READ_FIXED, 2}, {K_WRITE_FIXED, 2}, {K_FSYNC, 1},   {K_FALLOCATE, 1},
    {K_OPENAT, 2},     {K_STATX, 2},     {K_UNLINKAT, 1},  {K_RENAMEAT, 1},  {K_MKDIRAT, 1},
    {K_RMDIR, 1},      {K_CANCEL, 7},    {K_CANCEL_FD, 1}, {K_POLL, 2},      {K_POLL_MS, 1},
    {K_ACCEPT, 1},     {K_ACCEPT_MS, 1}, {K_SOCKET, 1},    {K_SEND, 5},      {K_RECV, 5},
    {K_RECV_MS, 5},    {K_SEND_ZC, 2},   {K_SENDMSG, 2},   {K_RECVMSG, 2},   {K_SHUTDOWN, 1},
    {K_SPLICE, 2},     {K_BAD, 1},
};

static enum kind pick_kind(rng_t *rg) {
    int tot = 0;
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++) tot += weights[i].w;
    int x = (int)rbelow(rg, (uint32_t)tot);
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++) {
        if (x < weights[i].w) return weights[i].k;
        x -= weights[i].w;
    }
    return K_NOP;
}

static int feature_ok(enum kind k) {
    switch (k) {
    case K_CANCEL: return feat[F_CANCEL];
    case K_CANCEL_FD: return feat[F_CANCELFD];
    case K_ACCEPT: case K_ACCEPT_MS: case K_SOCKET: return feat[F_ACCEPT];
    case K_OPENAT: case K_STATX: case K_UNLINKAT: case K_RENAMEAT: case K_MKDIRAT: case K_RMDIR: return feat[F_FS];
    case K_READ_FIXED: case K_WRITE_FIXED: return feat[F_FIXED];
    case K_SEND_ZC: return feat[F_ZC];
    case K_SPLICE: return feat[F_SPLICE];
    case K_SHUTDOWN: return feat[F_SHUTDOWN];
    default: return 1;
    }
}

/* One random operation of kind k. Returns the id, 0 if nothing was queued. */
static int64_t issue_kind(struct run *run, rng_t *rg, enum kind k) {
    if (!feature_ok(k)) k = K_NOP;
    switch (k) {
    case K_READ: case K_READV: case K_READ_FIXED:
        if (rchance(rg, 30)) return issue_file_io(run, rg, k);
        return issue_stream_read(run, rg, (int)rbelow(rg, NSTREAM), k);
    case K_WRITE: case K_WRITEV: case K_WRITE_FIXED:
        if (rchance(rg, 30)) return issue_file_io(run, rg, k);
        return issue_stream_write(run, rg, (int)rbelow(rg, NSTREAM), k);
    case K_RECV: case K_RECVMSG: case K_RECV_MS:
        return issue_stream_read(run, rg, 2 + (int)rbelow(rg, NSTREAM - 2), k);
    case K_SEND: case K_SENDMSG: case K_SEND_ZC: case K_SHUTDOWN:
        return issue_stream_write(run, rg, 2 + (int)rbelow(rg, NSTREAM - 2), k);
    case K_SPLICE:
        return issue_stream_write(run, rg, (int)rbelow(rg, 2), k);
    case K_OPENAT: case K_STATX: case K_UNLINKAT: case K_RENAMEAT: case K_MKDIRAT: case K_RMDIR:
        return issue_fs(run, rg, k);
    case K_CANCEL: {
        int c = (int)rbelow(rg, 10);
        if (c < 7 && run->nlive) return issue_cancel(run, rg, random_live(run, rg), 0);
        return issue_cancel(run, rg, NULL, 0);
    }
    case K_CANCEL_FD: return issue_cancel_fd(run, rg);
    default: return issue_misc(run, rg, k);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* completions                                                                              */

static void scribble_after_final(struct rec *r) {
    if (!r->buf) return;
    memset(r->buf, r->buf_is_rx ? 0xA5 : 0x5A, r->len);
}

static int stream_consume(struct run *run, struct rec *r, int si, const unsigned char *b, size_t n) {
    struct stream *s = &run->st[si];
    uint64_t maxw = s->wpos + (s->writer ? s->writer->len : 0);
    if (s->rpos + n > maxw) {
        fail("bytes-invented", "stream %d (%s): %s read %zu bytes at %" PRIu64 " but only %" PRIu64
             " (+%zu in flight) were written", si, s->type == 0 ? "pipe" : s->type == 1 ? "unix" : "tcp",
             kind_names[r->kind], n, s->rpos, s->wpos, s->writer ? s->writer->len : 0);
    }
    for (size_t i = 0; i < n; i++) {
        if (b[i] != pbyte(s, s->rpos + i)) {
            fail("bytes-wrong", "stream %d (%s): %s byte %" PRIu64 " is 0x%02x, expected 0x%02x (read %zu)", si,
                 s->type == 0 ? "pipe" : s->type == 1 ? "unix" : "tcp", kind_names[r->kind], s->rpos + i, b[i],
                 pbyte(s, s->rpos + i), n);
            s->rpos += n;
            return -1;
        }
    }
    s->rpos += n;
    g_stat_bytes += (long)n;
    return 0;
}

/* Gathers an op's received bytes (buffers, iovecs, fixed slot) into one view. */
static const unsigned char *rx_view(struct run *run, struct rec *r) {
    if (r->fixed_slot >= 0) return run->fixed + (size_t)r->fixed_slot * MAXIO;
    return r->buf;
}

static int can_etimedout(enum kind k) {
    return k == K_CONNECT || k == K_RECV || k == K_RECVMSG || k == K_RECV_MS || k == K_SEND || k == K_SENDMSG ||
           k == K_SEND_ZC || k == K_READ || k == K_WRITE || k == K_READV || k == K_WRITEV;
}

static int cancelled_ok(struct run *run, struct rec *r) {
    if (r->eligible || run->freeing || r->chain || (r->grp && r->grp->freed)) return 1;
    /* a cancel by fd queued before this op but executed while it was live also hits it */
    if (r->fd >= 0)
        for (struct rec *q = run->all; q; q = q->all_next)
            if (q->kind == K_CANCEL_FD && q->idx == r->fd && (q->state == S_LIVE || q->final_ev > r->issue_ev)) return 1;
    return 0;
}

static void check_cancel_pair(struct rec *target) {
    if (!target->cancel_ok || target->state != S_FINAL) return;
    int32_t res = target->res;
    if (res == -ECANCELED || res == -EINTR || (res == -ETIMEDOUT && (target->cflags & AR_COMPLETION_DEADLINE)))
        return;
    /* ops that may legitimately finish with a result even when the cancel succeeded: none */
    fail("cancel-ok-target-finished", "a cancel of %s id %" PRId64 " completed 0, but the target finished with %d (%s)",
         kind_names[target->kind], target->id, res, res < 0 ? ar_strerror(res) : "result");
}

static int is_short_breaking(struct rec *r, int32_t res) {
    switch (r->kind) {
    /* the kernel fails a link on a short read/write/splice (io_uring/rw.c, splice.c), not on a
     * short send/recv without MSG_WAITALL (io_uring/net.c) */
    case K_READ: case K_WRITE: case K_READV: case K_WRITEV: case K_READ_FIXED: case K_WRITE_FIXED: case K_SPLICE:
        return res >= 0 && (size_t)res < r->len;
    default: return 0;
    }
}

static void check_chain(struct run *run, struct chain *ch) {
    int broken = 0;
    for (int i = 0; i < ch->n; i++) {
        struct rec *r = ch->m[i];
        int32_t res = r->res;
        int dl = (r->cflags & AR_COMPLETION_DEADLINE) != 0;
        if (broken) {
            if (run->mode != M_THREADSAFE && res != -ECANCELED && !(res == -ETIMEDOUT && dl) && !run->freeing &&
                !r->eligible)
                fail("chain-not-cancelled", "link %d (%s) ran with %d after its chain broke (link %d %s%s res %d of len %zu)", i,
                     kind_names[r->kind], res, broken - 1, kind_names[ch->m[broken - 1]->kind],
                     (ch->m[broken - 1]->opflags & AR_OP_HARDLINK) ? "+hardlink" : "", ch->m[broken - 1]->res,
                     ch->m[broken - 1]->len);
        } else if ((res == -ECANCELED || res == -EINTR) && !r->eligible && !run->freeing) {
            fail("chain-spurious-cancel", "link %d (%s, id %" PRId64 ") got -ECANCELED though every earlier link succeeded (previous: %s res %d%s)",
                 i, kind_names[r->kind], r->id, i ? kind_names[ch->m[i - 1]->kind] : "none", i ? ch->m[i - 1]->res : 0,
                 i && ch->m[i - 1]->kind == K_TIMEOUT ? ": a fired ar_op_timeout must not break the chain, defect 4" : "");
        }
        if (!broken && i < ch->n - 1 && (r->opflags & AR_OP_LINK) && (res < 0 || is_short_breaking(r, res))) broken = i + 1;
    }
}

static void on_final_common(struct run *run, struct rec *r) {
    r->state = S_FINAL;
    r->final_ev = ++g_event;
    live_del(run, r);
    release(run, r);
    if (run->nstale < 64) run->stale[run->nstale++] = r->id;
    else run->stale[rbelow(&run->rng, 64)] = r->id;
    if (r->chain && ++r->chain->nfinal == r->chain->n) check_chain(run, r->chain);
    check_cancel_pair(r);
    if (r->res == -ECANCELED) g_stat_cancelled++;
    if (r->cflags & AR_COMPLETION_DEADLINE) g_stat_deadline_fired++;
}

static void held_recycle_all(struct run *run, struct group *g, rng_t *rg, int percent);
static const char *eof_probe(struct run *run, int si);

static void on_recv_ms(struct run *run, struct rec *r, const ar_completion *c, int more) {
    struct group *g = r->grp;
    if (c->flags & AR_COMPLETION_BUFFER) {
        if (!c->buf || c->res <= 0 || (uint32_t)c->res > g->size || c->buf_id >= g->count) {
            fail("bad-buffer", "recv_multishot buffer: buf=%p res=%d buf_id=%u (group %u x %u)", c->buf, c->res,
                 c->buf_id, g->count, g->size);
        } else {
            stream_consume(run, r, r->idx, c->buf, (size_t)c->res);
            memset(c->buf, 0xC3, (size_t)c->res);
        }
        if (!g->freed && c->buf_id < g->count) {
            if (rchance(&run->rng, 55) || g->nheld >= 64) {
                int rc = ar_bufgroup_recycle(g->g, c->buf_id);
                if (rc != 0) fail("recycle", "ar_bufgroup_recycle in callback: %s", ar_strerror(rc));
            } else {
                g->held[g->nheld++] = c->buf_id;
            }
        }
    } else if (more) {
        fail("more-without-buffer", "recv_multishot MORE callback without a buffer, res %d", c->res);
    }
    if (!more) {
        int32_t res = c->res;
        if (res > 0)
            fail("multishot-final-data", "recv_multishot id %" PRId64 " ended with a final callback carrying %d bytes%s (SPEC 3.8, defect 5)",
                 r->id, res, (r->opflags & AR_OP_REARM) ? " (REARM)" : "");
        else if (res == 0) {
            struct stream *s = &run->st[r->idx];
            if (s->shut || s->shut_op) s->eof_seen = 1;
            if (!(s->shut || s->shut_op)) fail("eof-invented", "recv_multishot on stream %d: end of stream but it was never shut down: %s", r->idx, eof_probe(run, r->idx));
        } else if (res == -ENOBUFS) {
            g_stat_enobufs++;
            if (r->opflags & AR_OP_REARM)
                fail("rearm-enobufs", "recv_multishot with AR_OP_REARM ended with -ENOBUFS");
        } else if (res == -ECANCELED || res == -EINTR) {
            if (!cancelled_ok(run, r)) fail("spurious-cancel", "recv_multishot id %" PRId64 " -ECANCELED, nothing cancelled it", r->id);
        } else if (res == -ETIMEDOUT) {
        } else {
            fail("unexpected-error", "recv_multishot ended with %d (%s)", res, ar_strerror(res));
        }
    }
}

/* After an unexpected end of stream: is the stream really at its end? */
static const char *eof_probe(struct run *run, int si) {
    struct stream *s = &run->st[si];
    unsigned char b;
    struct stat st;
    if (fstat(s->rfd, &st)) return "the read fd is closed";
    ssize_t n = s->type == 0 ? -2 : recv(s->rfd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    static char msg[200];
    if (n == 0) {
        struct rec *sh = s->last_shutdown;
        if (sh)
            snprintf(msg, sizeof msg, "the socket is really at end of stream; a shutdown was issued: state %d res %d flags %#x opflags %#x deadline %" PRIu64 " eligible %d",
                     sh->state, sh->res, sh->cflags, sh->opflags, sh->deadline, sh->eligible);
        else
            snprintf(msg, sizeof msg, "the socket is really at end of stream, no shutdown was issued on it (closed?)");
        return msg;
    }
    if (n > 0) return "NOT at end of stream: data is waiting (a wrong result was delivered)";
    if (n == -1 && errno == EAGAIN) return "NOT at end of stream: the connection is open and empty (a wrong result was delivered)";
    return "pipe";
}

static void stream_read_done(struct run *run, struct rec *r, int32_t res) {
    struct stream *s = &run->st[r->idx];
    if (res > 0) {
        if ((size_t)res > r->len) {
            fail("result-too-big", "%s returned %d > len %zu", kind_names[r->kind], res, r->len);
            return;
        }
        const unsigned char *b = rx_view(run, r);
        if (r->kind == K_READV || r->kind == K_RECVMSG) {
            /* the iovecs cover r->buf contiguously */
        }
        stream_consume(run, r, r->idx, b, (size_t)res);
    } else if (res == 0) {
        if (s->shut || s->shut_op) s->eof_seen = 1;
        if (!(s->shut || s->shut_op) || s->rpos != s->wpos)
            fail("eof-invented", "%s on stream %d returned 0 (end of stream): shut=%d rpos=%" PRIu64 " wpos=%" PRIu64 ": %s",
                 kind_names[r->kind], r->idx, s->shut, s->rpos, s->wpos, eof_probe(run, r->idx));
    } else if (res != -ECANCELED && res != -EINTR && res != -ETIMEDOUT) {
        fail("unexpected-error", "%s on stream %d: %d (%s)", kind_names[r->kind], r->idx, res, ar_strerror(res));
    }
}

static void stream_write_done(struct run *run, struct rec *r, int32_t res) {
    struct stream *s = &run->st[r->idx];
    if (r->kind == K_SHUTDOWN) {
        if (res == 0) s->shut = 1;
        else if (res != -ECANCELED && res != -ETIMEDOUT && res != -EINTR) {
            fail("unexpected-error", "shutdown: %d (%s)", res, ar_strerror(res));
            s->shut = 1;
        } else if (s->eof_seen) {
            fail("result-lost", "shutdown on stream %d took effect (the reader saw end of stream) but completed with %d (%s)",
                 r->idx, res, ar_strerror(res));
            s->shut = 1;
        } else
            s->shut_op = 0;
        return;
    }
    if (res >= 0) {
        if ((size_t)res > r->len) fail("result-too-big", "%s returned %d > len %zu", kind_names[r->kind], res, r->len);
        else if (res == 0) fail("zero-write", "%s of %zu bytes returned 0", kind_names[r->kind], r->len);
        s->wpos += (uint64_t)res;
    } else if (res == -EPIPE && (s->shut || s->shut_op)) {
    } else if (res != -ECANCELED && res != -EINTR && res != -ETIMEDOUT) {
        fail(res == -512 ? "kernel-errno-leak" : "unexpected-error", "%s on stream %d: %d (%s)%s [len %zu fixed %d iovcnt %d flags %#x]",
             kind_names[r->kind], r->idx, res, ar_strerror(res),
             res == -512 ? ": -ERESTARTSYS, a kernel-internal code (tests/torture/repro/splice_erestartsys.c)" : "", r->len,
             r->fixed_slot, r->iovcnt, r->opflags);
    }
}

static void file_done(struct run *run, struct rec *r, int32_t res) {
    struct file *f = &run->files[r->idx];
    int is_write = (r->kind == K_WRITE || r->kind == K_WRITEV || r->kind == K_WRITE_FIXED);
    if (res < 0) {
        if (res != -ECANCELED && res != -EINTR && res != -ETIMEDOUT)
            fail("unexpected-error", "file %s: %d (%s)", kind_names[r->kind], res, ar_strerror(res));
        return;
    }
    if ((size_t)res != r->len) {
        fail("file-short", "file %s of %zu bytes at %" PRIu64 " returned %d", kind_names[r->kind], r->len, r->off, res);
        if ((size_t)res > r->len) return;
    }
    const unsigned char *b = rx_view(run, r);
    if (is_write) {
        memcpy(f->shadow + r->off, b, (size_t)res);
    } else if (memcmp(f->shadow + r->off, b, (size_t)res)) {
        size_t i = 0;
        while (f->shadow[r->off + i] == b[i]) i++;
        fail("file-bytes-wrong", "file %d %s at %" PRIu64 "+%zu: 0x%02x, expected 0x%02x", r->idx, kind_names[r->kind],
             r->off, i, b[i], f->shadow[r->off + i]);
    }
}

static int64_t issue_connect_from_cb(struct run *run, int fd) {
    struct rec *r = rec_new(run, K_CONNECT);
    r->fd = fd;
    r->idx = fd;
    run->connect_live++;
    int64_t rc = OPCALL(run, r, ar_op_connect(run->ring, fd, (const struct sockaddr *)&run->laddr, sizeof run->laddr, NULL, r, on_cb));
    issued(run, r, rc, run->freeing);
    if (rc < 0) {
        run->connect_live--;
        close(fd);
    }
    return rc;
}

static void fs_done(struct run *run, struct rec *r, int32_t res) {
    int ambiguous = (res == -ECANCELED || res == -EINTR || res == -ETIMEDOUT);
    char p[16];
    struct stat st;
    switch (r->kind) {
    case K_OPENAT:
        if (res >= 0) {
            if (r->expect != 0) fail("fs-result", "openat n%d succeeded, expected %s", r->idx, ar_strerror((int)r->expect));
            run->name_exists[r->idx] = 1;
            if (!run->freeing && rchance(&run->rng, 50)) issue_close(run, res, 1);
            else close(res);
        } else if (!ambiguous && res != r->expect)
            fail("fs-result", "openat n%d: %d (%s), expected %" PRId64, r->idx, res, ar_strerror(res), r->expect);
        break;
    case K_STATX:
        if (r->idx < 0) {
            if (res == 0 && r->stx.stx_size != FSZ)
                fail("statx", "statx data%d size %llu, expected %d", -1 - r->idx, (unsigned long long)r->stx.stx_size, FSZ);
            else if (res != 0 && !ambiguous)
                fail("fs-result", "statx data%d: %d (%s)", -1 - r->idx, res, ar_strerror(res));
            return;
        }
        if (!ambiguous && res != r->expect)
            fail("fs-result", "statx n%d: %d, expected %" PRId64, r->idx, res, r->expect);
        if (res == 0 && !S_ISREG(r->stx.stx_mode)) fail("statx", "statx n%d: not a regular file", r->idx);
        break;
    case K_UNLINKAT:
        if (!ambiguous && res != r->expect) fail("fs-result", "unlinkat n%d: %d, expected %" PRId64, r->idx, res, r->expect);
        if (res == 0) run->name_exists[r->idx] = 0;
        break;
    case K_RENAMEAT:
        if (!ambiguous && res != r->expect)
            fail("fs-result", "renameat n%d->n%d: %d, expected %" PRId64, r->idx, r->idx2, res, r->expect);
        if (res == 0) {
            run->name_exists[r->idx] = 0;
            run->name_exists[r->idx2] = 1;
        }
        break;
    case K_MKDIRAT:
        if (!ambiguous && res != r->expect) fail("fs-result", "mkdirat d%d: %d, expected %" PRId64, r->idx, res, r->expect);
        if (res == 0) run->dir_exists[r->idx] = 1;
        break;
    case K_RMDIR:
        if (!ambiguous && res != r->expect) fail("fs-result", "rmdir d%d: %d, expected %" PRId64, r->idx, res, r->expect);
        if (res == 0) run->dir_exists[r->idx] = 0;
        break;
    default: break;
    }
    /* re-sync the model with the file system (after an ambiguous result) and cross-check */
    if (r->kind == K_MKDIRAT || r->kind == K_RMDIR) {
        name_of(p, sizeof p, 1, r->idx);
        int ex = fstatat(run->dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (!ambiguous && ex != run->dir_exists[r->idx]) fail("fs-model", "d%d exists=%d, model says %d", r->idx, ex, run->dir_exists[r->idx]);
        run->dir_exists[r->idx] = ex;
    } else {
        for (int k = 0; k < 2; k++) {
            int i = k ? r->idx2 : r->idx;
            if (i < 0) continue;
            name_of(p, sizeof p, 0, i);
            int ex = fstatat(run->dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
            if (!ambiguous && ex != run->name_exists[i]) fail("fs-model", "n%d exists=%d, model says %d", i, ex, run->name_exists[i]);
            run->name_exists[i] = ex;
        }
    }
}

static void on_cb(void *ud, const ar_completion *c) {
    pthread_mutex_lock(&olock);
    struct rec *r = ud;
    struct run *run = r ? r->run : NULL;
    g_callbacks++;
    if (!r || r->magic != REC_MAGIC) {
        fail("bad-userdata", "callback with userdata %p (op %" PRId64 ")", ud, c ? c->op : 0);
        pthread_mutex_unlock(&olock);
        return;
    }
    if (!pthread_equal(pthread_self(), run->main_thread))
        fail("wrong-thread", "callback for %s ran on a thread that is not running the ring", kind_names[r->kind]);
    if (c->ring != run->ring) fail("bad-ring", "completion->ring %p, expected %p", (void *)c->ring, (void *)run->ring);
    if (run->freed) fail("after-free", "callback for %s id %" PRId64 " after ar_ring_free returned", kind_names[r->kind], c->op);
    if (r->state == S_NEW) adopt(run, r, c->op); /* before its ar_op_* call returned */
    if (r->state == S_REFUSED) {
        fail("callback-for-refused", "callback (op %" PRId64 ", res %d) for a %s call that was refused with %" PRId64,
             c->op, c->res, kind_names[r->kind], r->id);
        pthread_mutex_unlock(&olock);
        return;
    }
    if (r->state != S_LIVE) {
        fail("after-final", "callback (res %d flags %#x) for %s id %" PRId64 " after its final callback (res %d)", c->res,
             c->flags, kind_names[r->kind], r->id, r->res);
        pthread_mutex_unlock(&olock);
        return;
    }
    if (c->op != r->id) fail("wrong-id", "callback op %" PRId64 " for %s id %" PRId64, c->op, kind_names[r->kind], r->id);
    int more = (c->flags & AR_COMPLETION_MORE) != 0;
    if (more && !r->multishot)
        fail("more-on-oneshot", "%s id %" PRId64 " got an AR_COMPLETION_MORE callback (res %d)", kind_names[r->kind], r->id, c->res);
    if ((c->flags & AR_COMPLETION_BUFFER) && r->kind != K_RECV_MS)
        fail("buffer-flag", "%s got AR_COMPLETION_BUFFER", kind_names[r->kind]);
    if (more) {
        g_more_callbacks++;
        r->nmore++;
        if (r->lost_strict)
            fail("cancel-lost", "%s id %" PRId64 "%s delivered again after a cancel of it completed -ENOENT (SPEC 3.5; defect 2/10)",
                 kind_names[r->kind], r->id, (r->opflags & AR_OP_REARM) ? " (REARM)" : "");
        r->lost_strict = 0;
        if (c->flags & AR_COMPLETION_DEADLINE) fail("deadline-flag", "DEADLINE flag on a MORE callback");
        switch (r->kind) {
        case K_RECV_MS: on_recv_ms(run, r, c, 1); break;
        case K_ACCEPT_MS:
            if (c->res >= 0) {
                run->accepted++;
                g_stat_accepts++;
                if (!run->freeing && rchance(&run->rng, 30)) issue_close(run, c->res, 1);
                else close(c->res);
            } else
                fail("more-error", "accept_multishot MORE callback with %d", c->res);
            break;
        case K_POLL_MS:
            if (c->res <= 0) fail("more-error", "poll_multishot MORE callback with %d", c->res);
            break;
        default: break;
        }
        pthread_mutex_unlock(&olock);
        return;
    }
    /* the final callback */
    r->res = c->res;
    r->cflags = c->flags;
    int32_t res = c->res;
    int terminal = 0;
    if (c->flags & AR_COMPLETION_DEADLINE) {
        terminal = 1;
        if (!r->deadline) fail("deadline-flag", "%s without a deadline got AR_COMPLETION_DEADLINE (res %d)", kind_names[r->kind], res);
        if (res != -ETIMEDOUT) fail("deadline-flag", "%s: AR_COMPLETION_DEADLINE with res %d, expected -ETIMEDOUT", kind_names[r->kind], res);
    } else if (res == -ETIMEDOUT) {
        terminal = 1;
        if (r->deadline && feat[F_DLFLAG])
            fail("deadline-no-flag", "%s: deadline expiry -ETIMEDOUT without AR_COMPLETION_DEADLINE (SPEC 3.5)", kind_names[r->kind]);
        else if (!r->deadline && !can_etimedout(r->kind))
            fail("unexpected-etimedout", "%s without a deadline ended with -ETIMEDOUT", kind_names[r->kind]);
    } else if (res == -ECANCELED || res == -EINTR) {
        terminal = 1;
        if (!cancelled_ok(run, r))
            fail(r->deadline ? "deadline-as-cancel" : "spurious-cancel", "%s id %" PRId64 " ended %s though nothing cancelled it%s (deadline %" PRIu64 " ns, flags %#x, on %s)",
                 kind_names[r->kind], r->id, res == -EINTR ? "-EINTR" : "-ECANCELED",
                 r->deadline ? ": it had a deadline, whose expiry must give -ETIMEDOUT with AR_COMPLETION_DEADLINE" : "", r->deadline, r->opflags,
                 r->tgt == T_FILE ? (r->idx ? "regular file data1 (never a cancel_fd target)" : "regular file data0") : r->tgt == T_STREAM_W || r->tgt == T_STREAM_R
                     ? (run->st[r->idx].type == 0 ? "a pipe" : run->st[r->idx].type == 1 ? "a unix socket" : "a TCP socket") : "-");
    }
    if (r->kind == K_RECV_MS) {
        on_recv_ms(run, r, c, 0);
        terminal = 1;
    }
    if (!terminal || r->kind == K_CLOSE || r->kind == K_OPENAT || r->kind == K_STATX || r->kind == K_UNLINKAT || r->kind == K_RENAMEAT ||
        r->kind == K_MKDIRAT || r->kind == K_RMDIR || r->tgt == T_STREAM_R || r->tgt == T_STREAM_W || r->tgt == T_FILE ||
        r->kind == K_SOCKET || r->kind == K_CONNECT || r->kind == K_ACCEPT || r->kind == K_ACCEPT_MS ||
        r->kind == K_CANCEL) {
        switch (r->kind) {
        case K_NOP:
            if (res != 0) fail("result", "nop: %d", res);
            break;
        case K_TIMEOUT:
            if (res != 0) fail("timeout-result", "ar_op_timeout fired with %d (%s), expected 0", res, ar_strerror(res));
            break;
        case K_CLOSE:
            if (res == -ECANCELED || res == -ETIMEDOUT || res == -EINTR) close(r->idx); /* it did not run */
            else if (res != 0) fail("result", "close: %d (%s)", res, ar_strerror(res));
            break;
        case K_FSYNC: case K_FALLOCATE: case K_SHUTDOWN:
            if (r->tgt == T_STREAM_W) stream_write_done(run, r, res);
            else if (res != 0) fail("result", "%s: %d (%s)", kind_names[r->kind], res, ar_strerror(res));
            break;
        case K_READ: case K_READV: case K_READ_FIXED: case K_RECV: case K_RECVMSG:
        case K_WRITE: case K_WRITEV: case K_WRITE_FIXED: case K_SEND: case K_SEND_ZC: case K_SENDMSG: case K_SPLICE:
            if (r->tgt == T_STREAM_R) stream_read_done(run, r, res);
            else if (r->tgt == T_STREAM_W) stream_write_done(run, r, res);
            else if (r->tgt == T_FILE) file_done(run, r, res);
            break;
        case K_OPENAT: case K_STATX: case K_UNLINKAT: case K_RENAMEAT: case K_MKDIRAT: case K_RMDIR:
            fs_done(run, r, res);
            break;
        case K_CANCEL:
            if (r->expect == -ENOENT) {
                if (res != -ENOENT && res != -ECANCELED) fail("cancel-stale", "cancel of a stale id completed with %d", res);
            } else if (res == 0) {
                if (r->target) {
                    r->target->cancel_ok = 1;
                    check_cancel_pair(r->target);
                }
            } else if (res == -ENOENT) {
                struct rec *t = r->target;
                if (t && t->state == S_LIVE && !run->freeing) {
                    g_stat_cancel_enoent_live++;
                    t->lost_strict = 1;
                    if (!t->lost_runs) {
                        t->lost_runs = (int)run->runs_counter + 1;
                        t->lost_t = now_s();
                    }
                }
            } else if (res != -EALREADY && !terminal) {
                fail("cancel-result", "cancel completed with %d (%s)", res, ar_strerror(res));
            }
            break;
        case K_CANCEL_FD:
            if (res < 0 && res != -ENOENT && res != -EALREADY && !terminal) fail("cancel-result", "cancel_fd completed with %d (%s)", res, ar_strerror(res));
            break;
        case K_POLL:
            if (!terminal && (res <= 0 || !(res & (r->expect | POLLERR | POLLHUP | POLLRDHUP | POLLNVAL))))
                fail("poll-result", "poll for %#x: %d", (unsigned)r->expect, res);
            break;
        case K_POLL_MS:
            if (res > 0) {
            } else if (!terminal)
                fail("poll-result", "poll_multishot ended with %d (%s)", res, ar_strerror(res));
            break;
        case K_ACCEPT: case K_ACCEPT_MS:
            if (res >= 0) {
                run->accepted++;
                g_stat_accepts++;
                if (r->kind == K_ACCEPT_MS)
                    fail("multishot-final-fd", "accept_multishot id %" PRId64 " ended with a final callback carrying fd %d (SPEC 3.8, defect 5)",
                         r->id, res);
                if (!run->freeing && rchance(&run->rng, 30)) issue_close(run, res, 1);
                else close(res);
            } else if (!terminal)
                fail("unexpected-error", "%s: %d (%s)", kind_names[r->kind], res, ar_strerror(res));
            break;
        case K_SOCKET:
            run->connect_live--;
            if (res >= 0) {
                if (!run->freeing) issue_connect_from_cb(run, res);
                else close(res);
            } else if (!terminal)
                fail("unexpected-error", "socket: %d (%s)", res, ar_strerror(res));
            break;
        case K_CONNECT:
            run->connect_live--;
            if (res == 0) run->conns_ok++;
            else if (terminal) run->conns_ambiguous++;
            else fail("unexpected-error", "connect: %d (%s)", res, ar_strerror(res));
            close(r->idx);
            break;
        case K_BAD:
            if (res >= 0) fail("bad-accepted", "a hostile call completed with %d", res);
            break;
        default: break;
        }
    }
    if (r->kind != K_CANCEL && r->kind != K_CANCEL_FD && res != -ECANCELED) g_natural++;
    scribble_after_final(r);
    on_final_common(run, r);
    pthread_mutex_unlock(&olock);
}

/* ---------------------------------------------------------------------------------------- */
/* posts                                                                                    */

static void post_fn(void *ud) {
    pthread_mutex_lock(&olock);
    struct post *p = ud;
    if (!pthread_equal(pthread_self(), p->run->main_thread)) fail("post-thread", "posted work ran on another thread");
    if (p->run->freed) fail("post-after-free", "posted work ran after ar_ring_free returned");
    p->ran++;
    if (p->ran > 1) fail("post-twice", "posted work ran %d times", p->ran);
    pthread_mutex_unlock(&olock);
}

static void do_post(struct run *run) {
    pthread_mutex_lock(&olock);
    struct post *p = calloc(1, sizeof *p);
    if (!p) DIE("oom");
    p->run = run;
    p->rc = 1; /* pending */
    p->next = run->posts;
    run->posts = p;
    pthread_mutex_unlock(&olock);
    int rc = ar_ring_post(run->ring, p, post_fn);
    pthread_mutex_lock(&olock);
    p->rc = rc;
    g_stat_posts++;
    if (rc != 0) fail("post", "ar_ring_post: %s", ar_strerror(rc));
    pthread_mutex_unlock(&olock);
}

static void *ticker_main(void *arg) {
    struct run *run = arg;
    while (!atomic_load(&run->stop_ticker)) {
        usleep(15 * 1000);
        do_post(run);
    }
    return NULL;
}

/* THREADSAFE rings: threads queueing concurrently with the runner. */
struct worker {
    struct run *run;
    rng_t rng;
    pthread_t t;
};
static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct run *run = w->run;
    while (!atomic_load(&run->stop_workers)) {
        pthread_mutex_lock(&olock);
        if (run->issued >= run->budget || run->nlive >= run->cap) {
            pthread_mutex_unlock(&olock);
            usleep(500);
            continue;
        }
        int n = 1 + (int)rbelow(&w->rng, 4);
        for (int i = 0; i < n; i++) issue_kind(run, &w->rng, pick_kind(&w->rng));
        int sub = rchance(&w->rng, 30);
        pthread_mutex_unlock(&olock);
        if (sub) {
            int rc = ar_ring_submit(run->ring);
            if (rc < 0 && rc != -EBUSY) fail("submit", "ar_ring_submit from a worker: %s", ar_strerror(rc));
        }
        if (rchance(&w->rng, 5)) do_post(run);
        if (rchance(&w->rng, 50)) sched_yield();
        else usleep(rbelow(&w->rng, 200));
    }
    return NULL;
}

/* A linked chain of 2-3 operations (AR_OP_LINK / AR_OP_HARDLINK), built under the lock. */
static void issue_chain(struct run *run, rng_t *rg) {
    static const enum kind ck[] = {K_NOP, K_TIMEOUT, K_READ, K_WRITE, K_FSYNC, K_POLL, K_SEND, K_RECV, K_WRITEV, K_TIMEOUT, K_SEND_ZC};
    int n = 2 + (int)rbelow(rg, 2);
    if (run->sq_entries < 8) n = 2;
    struct chain *ch = calloc(1, sizeof *ch);
    if (!ch) DIE("oom");
    if (run->mode == M_THREADSAFE) pthread_rwlock_wrlock(&gate);
    ch->next = run->chains;
    run->chains = ch;
    g_chain_cur = ch;
    run->chain_open = 1;
    g_stat_chains++;
    for (int i = 0; i < n; i++) {
        g_chain_link_flag = (i == n - 1) ? 0 : (rchance(rg, 70) ? AR_OP_LINK : AR_OP_HARDLINK);
        int before = ch->n;
        issue_kind(run, rg, ck[rbelow(rg, sizeof ck / sizeof ck[0])]);
        if (ch->n == before) {
            /* nothing queued (busy stream, refusal): a NOP keeps the chain's shape */
            struct rec *r = rec_new(run, K_NOP);
            ar_op_opts o = pick_opts(run, rg, r, 0);
            issued(run, r, OPCALL(run, r, ar_op_nop(run->ring, &o, r, on_cb)), 0);
        }
    }
    g_chain_link_flag = 0;
    g_chain_cur = NULL;
    run->chain_open = 0;
    if (run->mode == M_THREADSAFE) pthread_rwlock_unlock(&gate);
    if (ch->n == 0) ch->nfinal = -1;
}

/* ---------------------------------------------------------------------------------------- */
/* a run: one ring's life                                                                   */

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void tcp_pair(int *a, int *b) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof addr) || listen(l, 4)) DIE("listen");
    socklen_t len = sizeof addr;
    getsockname(l, (struct sockaddr *)&addr, &len);
    *a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*a < 0 || connect(*a, (struct sockaddr *)&addr, sizeof addr)) DIE("connect");
    *b = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (*b < 0) DIE("accept");
    int one = 1;
    setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(l);
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n++;
    closedir(d);
    return n;
}

static void setup_run(struct run *run) {
    /* streams: 0,1 pipes; 2,3 a socketpair's two directions; 4,5 a TCP pair's two directions */
    int p[2];
    for (int i = 0; i < 2; i++) {
        if (pipe2(p, O_CLOEXEC)) DIE("pipe");
        run->st[i].type = 0;
        run->st[i].rfd = p[0];
        run->st[i].wfd = p[1];
    }
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp)) DIE("socketpair");
    run->st[2] = (struct stream){.type = 1, .wfd = sp[0], .rfd = sp[1]};
    run->st[3] = (struct stream){.type = 1, .wfd = sp[1], .rfd = sp[0]};
    int a, b;
    tcp_pair(&a, &b);
    run->st[4] = (struct stream){.type = 2, .wfd = a, .rfd = b};
    run->st[5] = (struct stream){.type = 2, .wfd = b, .rfd = a};
    for (int i = 0; i < NSTREAM; i++) run->st[i].base = rnext(&run->rng) % PAT;
    /* a private temp dir with two data files and the pattern file */
    snprintf(run->dirpath, sizeof run->dirpath, "/tmp/asyncring-torture-XXXXXX");
    if (!mkdtemp(run->dirpath)) DIE("mkdtemp");
    run->dirfd = open(run->dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (run->dirfd < 0) DIE("open dir");
    for (int i = 0; i < NFILE; i++) {
        char n[16];
        snprintf(n, sizeof n, "data%d", i);
        struct file *f = &run->files[i];
        f->fd = openat(run->dirfd, n, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (f->fd < 0) DIE("open data");
        for (int k = 0; k < FSZ; k++) f->shadow[k] = (unsigned char)rnext(&run->rng);
        if (pwrite(f->fd, f->shadow, FSZ, 0) != FSZ) DIE("pwrite");
    }
    run->patfd = openat(run->dirfd, "pattern", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (run->patfd < 0) DIE("open pattern");
    for (int off = 0; off < PAT + MAXIO; off += PAT) {
        int n = PAT;
        if (pwrite(run->patfd, ptab, (size_t)n, off) != n) DIE("pwrite pattern");
    }
    /* a listener */
    run->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    run->laddr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (run->lfd < 0 || bind(run->lfd, (struct sockaddr *)&run->laddr, sizeof run->laddr) || listen(run->lfd, 256))
        DIE("listener");
    socklen_t len = sizeof run->laddr;
    getsockname(run->lfd, (struct sockaddr *)&run->laddr, &len);
}

static struct group *group_new(struct run *run) {
    if (run->ngroups >= MAXGROUPS) return NULL;
    struct group *g = calloc(1, sizeof *g);
    if (!g) DIE("oom");
    static const uint32_t counts[] = {1, 2, 4, 8};
    static const uint32_t sizes[] = {16, 64, 256, 1024};
    g->count = counts[rbelow(&run->rng, 4)];
    g->size = sizes[rbelow(&run->rng, 4)];
    int rc = ar_bufgroup_new(run->ring, g->count, g->size, &g->g);
    if (rc != 0) {
        fail("bufgroup-new", "ar_bufgroup_new(%u, %u): %s", g->count, g->size, ar_strerror(rc));
        free(g);
        return NULL;
    }
    run->groups[run->ngroups++] = g;
    return g;
}

static void held_recycle_all(struct run *run, struct group *g, rng_t *rg, int percent) {
    if (g->freed) return;
    int keep = 0;
    for (int i = 0; i < g->nheld; i++) {
        if (rchance(rg, percent)) {
            int rc = ar_bufgroup_recycle(g->g, g->held[i]);
            if (rc == -EBUSY && run->mode == M_THREADSAFE) { g->held[keep++] = g->held[i]; continue; }
            if (rc != 0) fail("recycle", "ar_bufgroup_recycle(%u): %s", g->held[i], ar_strerror(rc));
        } else
            g->held[keep++] = g->held[i];
    }
    g->nheld = keep;
}

static void group_free(struct run *run, struct group *g) {
    (void)run;
    if (g->freed) return;
    g->freed = 1;
    g->nheld = 0;
    for (int i = 0; i < run->nlive; i++)
        if (run->live[i]->grp == g) run->live[i]->eligible = 1;
    ar_bufgroup_free(g->g);
}

/* The oracle's checks that need the ring's thread and no other thread queueing. */
static void check_inflight(struct run *run, const char *when) {
    uint32_t n = ar_ring_inflight(run->ring);
    if ((int)n != run->nlive) fail("inflight", "ar_ring_inflight = %u, the oracle counts %d live ids (%s)", n, run->nlive, when);
}

static void check_lost_cancels(struct run *run) {
    double t = now_s();
    for (int i = 0; i < run->nlive; i++) {
        struct rec *r = run->live[i];
        if (r->lost_runs && run->runs_counter >= r->lost_runs + 8 && t - r->lost_t > 0.3) {
            fail("cancel-lost", "a cancel of live %s id %" PRId64 "%s got -ENOENT, and the target is still live %.0f ms later (SPEC 3.5; defect 2/10)",
                 kind_names[r->kind], r->id, (r->opflags & AR_OP_REARM) ? " (REARM)" : "", (t - r->lost_t) * 1e3);
            r->lost_runs = 0;
            r->lost_strict = 0;
        }
    }
}

static int run_ring(struct run *run, int how) {
    int rc;
    run->runs_counter++;
    if (how == 0) {
        rc = ar_ring_run(run->ring, AR_RUN_NOWAIT);
    } else if (how == 1) {
        rc = ar_ring_run(run->ring, AR_RUN_ONCE);
    } else {
        struct pollfd pfd = {.fd = ar_ring_notify_fd(run->ring), .events = POLLIN};
        if (pfd.fd < 0) fail("notify-fd", "ar_ring_notify_fd: %s", ar_strerror(pfd.fd));
        else poll(&pfd, 1, 10);
        rc = ar_ring_run(run->ring, AR_RUN_NOWAIT);
    }
    if (rc < 0 && rc != -EINTR) fail("run", "ar_ring_run: %s", ar_strerror(rc));
    return rc;
}

/* Synchronous side actions: connect to the listener, recycle held buffers, group churn. */
static void side_actions(struct run *run) {
    rng_t *rg = &run->rng;
    pthread_mutex_lock(&olock);
    if (run->mode == M_THREADSAFE) pthread_rwlock_wrlock(&gate);
    for (int i = 0; i < run->ngroups; i++) held_recycle_all(run, run->groups[i], rg, 50);
    if (feat[F_ACCEPT] && rchance(rg, 3) && run->nclients < 48) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&run->laddr, sizeof run->laddr) == 0) {
            run->clients[run->nclients++] = fd;
            run->conns_ok++;
        } else if (fd >= 0)
            close(fd);
    }
    if (feat[F_GROUPFREE] && rchance(rg, 1)) {
        struct group *g = pick_group(run, rg);
        if (g) group_free(run, g);
        group_new(run);
    }
    if (run->mode == M_THREADSAFE) pthread_rwlock_unlock(&gate);
    pthread_mutex_unlock(&olock);
}

/* Ends a run gracefully: cancel everything live, run until nothing is in flight. */
static void quiesce(struct run *run) {
    pthread_mutex_lock(&olock);
    for (int i = 0; i < run->ngroups; i++) held_recycle_all(run, run->groups[i], &run->rng, rchance(&run->rng, 50) ? 100 : 0);
    int n = run->nlive;
    struct rec **snap = malloc(sizeof *snap * (size_t)(n + 1));
    memcpy(snap, run->live, sizeof *snap * (size_t)n);
    for (int i = 0; i < n; i++) {
        struct rec *t = snap[i];
        t->eligible = 1;
        if (t->state == S_LIVE && t->kind != K_CANCEL && t->kind != K_CANCEL_FD) issue_cancel(run, &run->rng, t, 1);
    }
    free(snap);
    check_inflight(run, "after cancel-all");
    pthread_mutex_unlock(&olock);
    double t0 = now_s();
    int until_done = feat[F_BLOCKRUN] && rchance(&run->rng, 30);
    wd_arm(run, g_free_timeout + 6.0, until_done ? "ar_ring_run(AR_RUN_UNTIL_DONE) after cancelling everything"
                                                 : "ar_ring_run after cancelling everything");
    if (until_done) {
        int rc = ar_ring_run(run->ring, AR_RUN_UNTIL_DONE);
        if (rc < 0) fail("run", "AR_RUN_UNTIL_DONE: %s", ar_strerror(rc));
    }
    while (1) {
        pthread_mutex_lock(&olock);
        int live = run->nlive;
        for (int i = 0; i < run->ngroups; i++) held_recycle_all(run, run->groups[i], &run->rng, 100);
        check_lost_cancels(run);
        pthread_mutex_unlock(&olock);
        if (!live) break;
        if (now_s() - t0 > 5.0) {
            pthread_mutex_lock(&olock);
            fail("stall", "%d ids still live 5 s after cancelling everything (the cancels were answered; see the list)", run->nlive);
            dump_live(run);
            pthread_mutex_unlock(&olock);
            break;
        }
        run_ring(run, 2);
    }
    wd_disarm();
    pthread_mutex_lock(&olock);
    check_inflight(run, "after the graceful end");
    pthread_mutex_unlock(&olock);
}

/* After ar_ring_free: every byte, file, connection, buffer and post is accounted for. */
static void verify_after_free(struct run *run) {
    /* nothing live, every post ran once */
    for (struct rec *r = run->all; r; r = r->all_next)
        if (r->state == S_LIVE)
            fail("no-final", "%s id %" PRId64 "%s got no final callback before ar_ring_free returned (%ld MORE)", kind_names[r->kind], r->id,
                 (r->opflags & AR_OP_REARM) ? " (REARM)" : "", r->nmore);
    for (struct post *p = run->posts; p; p = p->next)
        if (p->rc == 0 && p->ran != 1) fail("post-lost", "posted work ran %d times by the end of ar_ring_free", p->ran);
    /* streams: drain what is left, verify it, and account for every byte */
    for (int i = 0; i < NSTREAM; i++) {
        struct stream *s = &run->st[i];
        set_nonblock(s->rfd);
        unsigned char b[65536];
        double t0 = now_s();
        while (s->rpos < s->wpos || now_s() - t0 < 0.002) {
            ssize_t n = read(s->rfd, b, sizeof b);
            if (n > 0) {
                struct rec fake = {.kind = K_READ};
                stream_consume(run, &fake, i, b, (size_t)n);
                t0 = now_s();
            } else if (n == 0)
                break;
            else if (errno == EAGAIN) {
                if (now_s() - t0 > 0.5) break;
                usleep(1000);
            } else
                break;
        }
        if (s->rpos != s->wpos)
            fail("bytes-lost", "stream %d (%s): %" PRIu64 " bytes written, %" PRIu64 " read", i,
                 s->type == 0 ? "pipe" : s->type == 1 ? "unix" : "tcp", s->wpos, s->rpos);
    }
    /* files */
    for (int i = 0; i < NFILE; i++) {
        unsigned char b[FSZ];
        if (pread(run->files[i].fd, b, FSZ, 0) != FSZ) fail("file-size", "data%d short", i);
        else if (memcmp(b, run->files[i].shadow, FSZ)) {
            int k = 0;
            while (b[k] == run->files[i].shadow[k]) k++;
            fail("file-content", "data%d differs from its shadow at byte %d", i, k);
        }
    }
    /* connections: accepted + still queued = made (± those whose connect was cancelled) */
    set_nonblock(run->lfd);
    long queued = 0;
    for (;;) {
        int fd = accept4(run->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) break;
        queued++;
        close(fd);
    }
    long total = run->accepted + queued;
    if (total < run->conns_ok || total > run->conns_ok + run->conns_ambiguous)
        fail("connections", "%ld accepted + %ld still queued, but %ld connections made (+%ld ambiguous)", run->accepted, queued,
             run->conns_ok, run->conns_ambiguous);
}

static void close_run(struct run *run) {
    /* canaries: no write into a receive buffer after its final callback (or after free) */
    for (struct rec *r = run->all; r; r = r->all_next) {
        if (r->buf && r->buf_is_rx && r->state == S_FINAL) {
            for (size_t i = 0; i < r->len; i++)
                if (r->buf[i] != 0xA5) {
                    fail("write-after-final", "the kernel wrote into %s id %" PRId64 "'s buffer after its final callback (res %d)",
                         kind_names[r->kind], r->id, r->res);
                    break;
                }
        }
    }
    for (int i = 0; i < NSTREAM; i++) {
        if (i == 3 || i == 5) continue; /* the pair's other direction shares fds */
        close(run->st[i].rfd);
        close(run->st[i].wfd);
    }
    for (int i = 0; i < NFILE; i++) close(run->files[i].fd);
    close(run->patfd);
    close(run->lfd);
    for (int i = 0; i < run->nclients; i++) close(run->clients[i]);
    /* the temp dir */
    for (int i = 0; i < NNAMES; i++) {
        char p[16];
        name_of(p, sizeof p, 0, i);
        unlinkat(run->dirfd, p, 0);
    }
    for (int i = 0; i < NDIRS; i++) {
        char p[16];
        name_of(p, sizeof p, 1, i);
        unlinkat(run->dirfd, p, AT_REMOVEDIR);
    }
    unlinkat(run->dirfd, "data0", 0);
    unlinkat(run->dirfd, "data1", 0);
    unlinkat(run->dirfd, "pattern", 0);
    close(run->dirfd);
    if (rmdir(run->dirpath)) fail("tempdir", "rmdir %s: %s", run->dirpath, strerror(errno));
    /* groups not freed yet are freed after their ring (either order is documented safe) */
    for (int i = 0; i < run->ngroups; i++) {
        if (!run->groups[i]->freed) ar_bufgroup_free(run->groups[i]->g);
        free(run->groups[i]);
    }
    while (run->all) {
        struct rec *r = run->all;
        run->all = r->all_next;
        free(r->buf);
        r->magic = 0;
        free(r);
    }
    while (run->chains) {
        struct chain *c = run->chains;
        run->chains = c->next;
        free(c);
    }
    while (run->posts) {
        struct post *p = run->posts;
        run->posts = p->next;
        free(p);
    }
    free(run->live);
    free(run->fixed);
}

static int one_run(int mode, uint64_t seed, long budget, int fd_base) {
    struct run *run = calloc(1, sizeof *run);
    if (!run) DIE("oom");
    run->mode = mode;
    run->rng.s = seed;
    run->budget = budget;
    run->main_thread = pthread_self();
    run->cap = 8 + (int)rbelow(&run->rng, 120);
    ar_ring_config cfg;
    ar_ring_config_default(&cfg);
    switch (mode) {
    case M_TINY: cfg.sq_entries = 4; cfg.cq_entries = 8; break;
    case M_SINGLE: cfg.flags = AR_RING_SINGLE_THREAD; break;
    case M_SQPOLL: cfg.flags = AR_RING_SQPOLL; cfg.sqpoll_idle_ms = rchance(&run->rng, 50) ? 1 : 50; break;
    case M_THREADSAFE: cfg.flags = AR_RING_THREADSAFE; break;
    default: break;
    }
    if (mode == M_DEFAULT && rchance(&run->rng, 30)) { cfg.sq_entries = 16; cfg.cq_entries = 32; }
    run->sq_entries = cfg.sq_entries ? (int)cfg.sq_entries : 256;
    int rc = ar_ring_new(mode == M_DEFAULT && rchance(&run->rng, 30) ? NULL : &cfg, &run->ring);
    if (rc < 0) {
        if (rc == -ENOMEM || rc == -EMFILE) { fail("ring-new", "ar_ring_new: %s", ar_strerror(rc)); free(run); return 0; }
        ar_probe probe;
        ar_ring_probe(&probe);
        fprintf(stderr, "torture: cannot create a %s ring: %s (%s)\n", mode_names[mode], ar_strerror(rc), probe.message);
        exit(getenv("ASYNCRING_REQUIRE_URING") ? 1 : 77);
    }
    if (mode == M_DEFAULT && run->sq_entries == 256 && cfg.sq_entries == 0) run->sq_entries = 256;
    setup_run(run);
    if (feat[F_FIXED] && rchance(&run->rng, 70)) {
        run->fixed = aligned_alloc(4096, NFIXED * MAXIO);
        if (!run->fixed) DIE("oom");
        memset(run->fixed, 0, NFIXED * MAXIO);
        struct iovec iov[NFIXED];
        for (int i = 0; i < NFIXED; i++) iov[i] = (struct iovec){run->fixed + (size_t)i * MAXIO, MAXIO};
        rc = ar_ring_register_buffers(run->ring, iov, NFIXED);
        if (rc == 0) run->has_fixed = 1;
        else fail("register-buffers", "ar_ring_register_buffers: %s", ar_strerror(rc));
    }
    int ng = 1 + (int)rbelow(&run->rng, 2);
    for (int i = 0; i < ng; i++) group_new(run);

    pthread_t ticker;
    pthread_create(&ticker, NULL, ticker_main, run);
    struct worker workers[3];
    int nworkers = 0;
    if (mode == M_THREADSAFE) {
        nworkers = 2 + (int)rbelow(&run->rng, 2);
        for (int i = 0; i < nworkers; i++) {
            workers[i].run = run;
            workers[i].rng.s = mix(seed, (uint64_t)i + 1000);
            pthread_create(&workers[i].t, NULL, worker_main, &workers[i]);
        }
    }

    /* the main loop */
    double last_progress = now_s(), last_real_progress = now_s();
    long last_callbacks = g_natural;
    while (1) {
        pthread_mutex_lock(&olock);
        long issued_now = run->issued;
        if (issued_now >= run->budget) {
            pthread_mutex_unlock(&olock);
            break;
        }
        int k = 1 + (int)rbelow(&run->rng, 8);
        for (int i = 0; i < k && run->nlive < run->cap; i++) {
            if (feat[F_CHAIN] && rchance(&run->rng, 4)) issue_chain(run, &run->rng);
            else issue_kind(run, &run->rng, pick_kind(&run->rng));
        }
        pthread_mutex_unlock(&olock);
        if (rchance(&run->rng, 20)) {
            rc = ar_ring_submit(run->ring);
            if (rc < 0) fail("submit", "ar_ring_submit: %s", ar_strerror(rc));
        }
        int how = (int)rbelow(&run->rng, 3);
        if (how == 1 && !feat[F_BLOCKRUN]) how = 2;
        wd_arm(run, 30.0, "the main loop's ar_ring_run");
        int n = run_ring(run, how);
        wd_disarm();
        (void)n;
        pthread_mutex_lock(&olock);
        if (g_natural != last_callbacks || !run->nlive) {
            last_callbacks = g_natural;
            last_progress = last_real_progress = now_s();
        }
        if (now_s() - last_real_progress > 10.0) {
            int drains = 0, nops = 0;
            double oldest_nop = 0;
            for (int i = 0; i < run->nlive; i++) {
                struct rec *q = run->live[i];
                if (q->opflags & AR_OP_DRAIN) drains++;
                if (q->kind == K_NOP && !q->deadline) {
                    nops++;
                    if (now_s() - q->t_issue > oldest_nop) oldest_nop = now_s() - q->t_issue;
                }
            }
            fail("stall", "no operation completed other than by a cancel for 10 s, %d ids live (cancels issued every 200 ms); %d drains live; %d nops live, the oldest for %.1f s",
                 run->nlive, drains, nops, oldest_nop);
            dump_live(run);
            pthread_mutex_unlock(&olock);
            break;
        }
        if (mode != M_THREADSAFE) check_inflight(run, "between runs");
        check_lost_cancels(run);
        /* unstick: everything waiting on everything else (reads with no writer slot free...) */
        if (now_s() - last_progress > 0.2 && run->nlive) {
            /* a live drain waits for everything queued before it: cancel those (a reader
             * waiting for a writer queued after the drain would wait forever) */
            struct rec *drain = NULL;
            for (int i = 0; i < run->nlive; i++)
                if ((run->live[i]->opflags & AR_OP_DRAIN) && (!drain || run->live[i]->seq < drain->seq)) drain = run->live[i];
            if (drain) {
                int n = run->nlive;
                struct rec **snap = malloc(sizeof *snap * (size_t)n);
                memcpy(snap, run->live, sizeof *snap * (size_t)n);
                for (int i = 0; i < n; i++)
                    if (snap[i]->seq <= drain->seq && snap[i]->state == S_LIVE && snap[i]->kind != K_CANCEL &&
                        snap[i]->kind != K_CANCEL_FD)
                        issue_cancel(run, &run->rng, snap[i], 1);
                free(snap);
            } else {
                struct rec *t = random_live(run, &run->rng);
                if (t->kind != K_CANCEL) issue_cancel(run, &run->rng, t, 1);
            }
            last_progress = now_s();
        }
        pthread_mutex_unlock(&olock);
        side_actions(run);
        if (rchance(&run->rng, 2)) {
            /* a call that is not allowed here is refused cleanly */
        }
    }
    atomic_store(&run->stop_workers, 1);
    for (int i = 0; i < nworkers; i++) pthread_join(workers[i].t, NULL);
    atomic_store(&run->stop_ticker, 1);
    pthread_join(ticker, NULL);
    pthread_mutex_lock(&olock);
    check_inflight(run, "workers stopped");
    pthread_mutex_unlock(&olock);

    int abrupt = feat[F_ABRUPT] && rchance(&run->rng, 50);
    if (!abrupt) quiesce(run);
    else g_abrupt_frees++;
    /* maybe free a group first, maybe leave it for after the ring */
    pthread_mutex_lock(&olock);
    if (feat[F_GROUPFREE] && rchance(&run->rng, 30)) {
        struct group *g = pick_group(run, &run->rng);
        if (g) group_free(run, g);
    }
    int live_at_free = run->nlive;
    for (int i = 0; i < run->nlive; i++) run->live[i]->eligible = 1;
    run->freeing = 1;
    pthread_mutex_unlock(&olock);
    char what[96];
    snprintf(what, sizeof what, "ar_ring_free with %d ids live", live_at_free);
    wd_arm(run, g_free_timeout, what);
    ar_ring_free(run->ring);
    wd_disarm();
    pthread_mutex_lock(&olock);
    run->freed = 1;
    verify_after_free(run);
    pthread_mutex_unlock(&olock);
    close_run(run);
    int fds = count_fds();
    if (fd_base >= 0 && fds != fd_base) fail("fd-leak", "%d fds open after the run, %d before", fds, fd_base);
    free(run);
    g_runs++;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* driver                                                                                   */

static int child_mode(int mode, uint64_t seed, long ops) {
    g_mode = mode;
    pthread_t wd;
    pthread_create(&wd, NULL, watchdog_main, NULL);
    pthread_detach(wd);
    rng_t rg = {mix(seed, (uint64_t)mode + 1)};
    double t0 = now_s();
    int fd_base = count_fds();
    while (g_ops_issued < ops) {
        g_run_no++;
        long budget = 50 + (long)rbelow(&rg, 3000);
        if (budget > ops - g_ops_issued) budget = ops - g_ops_issued;
        one_run(mode, rnext(&rg), budget, fd_base);
        if (g_verbose)
            fprintf(stderr, "torture: [%s] run %d done: %ld ops, %ld failures\n", mode_names[mode], g_run_no, g_ops_issued,
                    atomic_load(&g_failures));
    }
    double dt = now_s() - t0;
    long nf = atomic_load(&g_failures);
    printf("torture [%s]: %ld ops (%ld callbacks, %ld MORE, %ld refused) in %d rings (%ld freed mid-flight), %.1f s, seed %" PRIu64 "\n",
           mode_names[mode], g_ops_issued, g_callbacks, g_more_callbacks, g_refused, g_run_no, g_abrupt_frees, dt, seed);
    printf("torture [%s]: %ld chains, %ld drains, %ld deadlines fired, %ld cancelled, %ld -ENOBUFS, %ld accepts, %ld send_zc, "
           "%ld posts, %ld bytes verified, %ld cancels of live ids answered -ENOENT\n",
           mode_names[mode], g_stat_chains, g_stat_drains, g_stat_deadline_fired, g_stat_cancelled, g_stat_enobufs,
           g_stat_accepts, g_stat_zc, g_stat_posts, g_stat_bytes, g_stat_cancel_enoent_live);
    if (g_verbose) {
        printf("torture [%s]: per kind:", mode_names[mode]);
        for (int k = 0; k < K_COUNT; k++) printf(" %s=%ld", kind_names[k], g_kind_count[k]);
        printf("\n");
    }
    for (int i = 0; i < MAXCAT && g_cats[i].name[0]; i++)
        printf("torture [%s]: failure %-28s x%ld\n", mode_names[mode], g_cats[i].name, g_cats[i].n);
    if (nf)
        printf("torture [%s]: replay: torture --seed %" PRIu64 " --mode %s --ops %ld\n", mode_names[mode], seed,
               mode_names[mode], ops);
    fflush(stdout);
    return nf ? 1 : 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: torture [--seed N] [--ops N per mode] [--mode all|LIST] [--no FEATURES] [--no-fork]\n"
            "               [--free-timeout S] [--mode-timeout S] [--verbose]\n"
            "modes: default tiny single sqpoll threadsafe\n"
            "features for --no: drain zc rearm chain deadline cancel cancelfd groupfree accept fs splice fixed\n"
            "                   shutdown abrupt dlflag blockrun\n");
    exit(2);
}

int main(int argc, char **argv) {
    int modes[M_COUNT] = {1, 1, 1, 1, 1};
    for (int i = 0; i < F_COUNT; i++) feat[i] = 1;
    g_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seed") && v) g_seed = strtoull(v, NULL, 0), i++;
        else if (!strcmp(a, "--ops") && v) g_ops = strtol(v, NULL, 0), i++;
        else if (!strcmp(a, "--free-timeout") && v) g_free_timeout = atof(v), i++;
        else if (!strcmp(a, "--mode-timeout") && v) g_mode_timeout = atof(v), i++;
        else if (!strcmp(a, "--verbose")) g_verbose = 1;
        else if (!strcmp(a, "--no-fork")) g_nofork = 1;
        else if (!strcmp(a, "--mode") && v) {
            i++;
            if (strcmp(v, "all")) {
                memset(modes, 0, sizeof modes);
                char buf[256];
                snprintf(buf, sizeof buf, "%s", v);
                for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
                    int m;
                    for (m = 0; m < M_COUNT; m++)
                        if (!strcmp(t, mode_names[m])) break;
                    if (m == M_COUNT) usage();
                    modes[m] = 1;
                }
            }
        } else if (!strcmp(a, "--no") && v) {
            i++;
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
                int f;
                for (f = 0; f < F_COUNT; f++)
                    if (!strcmp(t, feature_names[f])) break;
                if (f == F_COUNT) usage();
                feat[f] = 0;
            }
        } else if (!strncmp(a, "--no-", 5) && a[5]) {
            int f;
            for (f = 0; f < F_COUNT; f++)
                if (!strcmp(a + 5, feature_names[f])) break;
            if (f == F_COUNT) usage();
            feat[f] = 0;
        } else
            usage();
    }
    signal(SIGPIPE, SIG_IGN);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&olock, &ma);
    rng_t pr = {0x5eed};
    for (int i = 0; i < PAT; i++) ptab[i] = (unsigned char)rnext(&pr);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("torture: seed %" PRIu64 ", %ld ops per mode", g_seed, g_ops);
    for (int f = 0; f < F_COUNT; f++)
        if (!feat[f]) printf(", no %s", feature_names[f]);
    printf("\n");
    int passed = 0, failed = 0, skipped = 0;
    for (int m = 0; m < M_COUNT; m++) {
        if (!modes[m]) continue;
        if (g_nofork) {
            int rc = child_mode(m, g_seed, g_ops);
            if (rc) failed++;
            else passed++;
            printf("torture [%s]: %d passed, %d failed\n", mode_names[m], rc ? 0 : 1, rc ? 1 : 0);
            continue;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) DIE("fork");
        if (pid == 0) {
            int rc = child_mode(m, g_seed, g_ops);
            exit(rc);
        }
        double t0 = now_s();
        int status = 0, killed = 0;
        for (;;) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) break;
            if (now_s() - t0 > g_mode_timeout && !killed) {
                fprintf(stderr, "torture: FAIL [hang] mode=%s seed=%" PRIu64 ": the mode did not finish in %.0f s; killed\n",
                        mode_names[m], g_seed, g_mode_timeout);
                kill(pid, SIGKILL);
                killed = 1;
            }
            usleep(20 * 1000);
        }
        int ok = !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        int skip = !killed && WIFEXITED(status) && WEXITSTATUS(status) == 77;
        if (skip) skipped++;
        else if (ok) passed++;
        else {
            failed++;
            if (WIFSIGNALED(status))
                fprintf(stderr, "torture: FAIL mode=%s seed=%" PRIu64 ": killed by signal %d\n", mode_names[m], g_seed, WTERMSIG(status));
            fprintf(stderr, "torture: replay: torture --seed %" PRIu64 " --mode %s --ops %ld\n", g_seed, mode_names[m], g_ops);
        }
        printf("torture [%s]: %d passed, %d failed\n", mode_names[m], ok, !ok && !skip);
    }
    printf("torture: %d passed, %d failed%s (seed %" PRIu64 ")\n", passed, failed, skipped ? ", some skipped" : "", g_seed);
    return failed ? 1 : 0;
}
