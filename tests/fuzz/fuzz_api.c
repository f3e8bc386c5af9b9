/* A libFuzzer harness for the whole C API of libasyncring.
 *
 * The input is a program: each step's first byte picks a call (every ar_op_*, ring creation
 * with any config, submit, run, free, post, buffer groups, registration, probe, strerror, or
 * harness-side I/O such as data arriving or a peer closing), and the following bytes pick
 * its arguments from hostile sets: NULL pointers, -1 / huge / closed / valid fds, lengths up
 * to SIZE_MAX, stale / never-issued / negative ids, unknown flags and non-zero reserved
 * fields, rings and groups of other rings, small random deadlines.
 *
 * Every pointer the harness passes is NULL or real memory at least as long as the length
 * passed with it, except where the API documents that it rejects the length first (a length
 * above INT_MAX, more than 1024 iovecs, an address longer than sockaddr_storage): those
 * calls must be refused, and accepting one is a failure. Every fd passed is one of the
 * harness's own (at fixed high numbers) or a number it closed itself.
 *
 * Invariants (any break aborts with a message; libFuzzer keeps the input):
 *   - no crash, no undefined behaviour, no leak (ASan, UBSan, LeakSanitizer; open fds are
 *     counted after every input);
 *   - no hang: AR_RUN_ONCE always has a 0.1 ms timer pending (a watchdog fails the input if it
 *     blocks for seconds), AR_RUN_UNTIL_DONE only runs when every live operation is bounded,
 *     and ar_ring_free / AR_RUN_UNTIL_DONE are watched too;
 *   - every call returns >= 0 or a -errno ar_strerror knows (never the internal error);
 *     calls with a documented-bad argument are refused (with the documented errno when only
 *     one argument is bad); a cancel of an id that is not live gets -ENOENT, of a live id an id;
 *   - every id gets exactly one final callback (no AR_COMPLETION_MORE), with the right ring
 *     and id, before ar_ring_free returns; none after it, none for a refused call, none
 *     inside the call that queued it; MORE only for multishot operations, buffers only for
 *     multishot receives, never the same buffer lent twice; no result larger than asked for;
 *   - ar_ring_run returns the number of callbacks it ran; ar_ring_inflight matches the ids
 *     without a final callback; every posted function runs exactly once;
 *   - memory handed to an operation is not written after its final callback;
 *   - a linked operation does not succeed before the one it is linked behind completes; an
 *     operation queued right after ar_ring_submit is in no chain.
 *
 * Environment: FUZZ_TRACE=1 prints every call and callback (to read a reproducer);
 * FUZZ_STATS=1 prints counts and where the time went; FUZZ_HANG_MS / FUZZ_ONCE_MS shorten
 * the watchdogs (to minimise a hang); FUZZ_WAIVE / FUZZ_WAIVE_ERRNO name checks of known,
 * reported defects to look past (tests/fuzz/known/waive.env, read by tests/fuzz/run.sh).
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#ifndef AR_COMPLETION_DEADLINE
#define AR_COMPLETION_DEADLINE (1 << 2)
#endif
#ifndef AR_OP_REARM
#define AR_OP_REARM (1 << 5)
#endif

#define KNOWN_OP_FLAGS (AR_OP_LINK | AR_OP_HARDLINK | AR_OP_DRAIN | AR_OP_ASYNC | AR_OP_FIXED_FILE | AR_OP_REARM)
#define KNOWN_COMPLETION_FLAGS (AR_COMPLETION_MORE | AR_COMPLETION_BUFFER | AR_COMPLETION_DEADLINE)

static uint32_t known_ring_flags(void) {
    uint32_t f = AR_RING_SQPOLL | AR_RING_SINGLE_THREAD | AR_RING_THREADSAFE;
#ifdef AR_RING_NO_FALLBACK
    f |= AR_RING_NO_FALLBACK;
#endif
#ifdef AR_RING_FORCE_FALLBACK
    f |= AR_RING_FORCE_FALLBACK;
#endif
    return f;
}

#define MAX_RINGS 3
#define MAX_GROUPS 6
#define MAX_STEPS 128
#define BOUND_NS (50ull * 1000 * 1000) /* a timer or deadline at most this long is "bounded" */
static int once_ms = 3000; /* FUZZ_ONCE_MS overrides */
#define ONCE_WATCHDOG_MS once_ms
static int hang_ms = 15000; /* FUZZ_HANG_MS overrides (shorter while minimising a hang) */
#define HANG_WATCHDOG_MS hang_ms

enum kind {
    K_NOP, K_READ, K_WRITE, K_READV, K_WRITEV, K_FSYNC, K_FALLOCATE, K_OPENAT, K_CLOSE, K_STATX,
    K_UNLINKAT, K_RENAMEAT, K_MKDIRAT, K_TIMEOUT, K_CANCEL, K_CANCEL_FD, K_SOCKET, K_CONNECT,
    K_ACCEPT, K_ACCEPT_MS, K_SEND, K_RECV, K_RECV_MS, K_SEND_ZC, K_SENDMSG, K_RECVMSG, K_SHUTDOWN,
    K_POLL, K_POLL_MS, K_SPLICE, K_READ_FIXED, K_WRITE_FIXED, NKINDS
};
static const char *kind_names[NKINDS] = {
    "nop", "read", "write", "readv", "writev", "fsync", "fallocate", "openat", "close", "statx",
    "unlinkat", "renameat", "mkdirat", "timeout", "cancel", "cancel_fd", "socket", "connect",
    "accept", "accept_multishot", "send", "recv", "recv_multishot", "send_zc", "sendmsg",
    "recvmsg", "shutdown", "poll", "poll_multishot", "splice", "read_fixed", "write_fixed",
};

enum state { ST_CALLING, ST_REFUSED, ST_LIVE, ST_FINAL };

struct fring {
    ar_ring *r;
    uint32_t flags;
    unsigned serial;   /* 0: empty slot */
    int live;          /* ids without a final callback */
    int unbounded;     /* ... of which nothing bounds the life */
    int drains;        /* ... of which queued with AR_OP_DRAIN */
    int drain_taint;   /* an AR_OP_DRAIN was ever queued: the kernel then holds back later
                        * operations behind the drained one's whole chain, and behind the
                        * next request after it (drain_next), which the harness cannot see */
    int posts;         /* posted functions not yet run */
    int freeing;       /* inside ar_ring_free */
    int files;         /* registered file slots (for fixed indexes) */
    struct fop *chain_tail; /* the last operation queued with a link flag, while its chain is open */
};

struct fgroup {
    ar_bufgroup *g;    /* NULL: empty slot */
    int ring;          /* the owner's slot, and its serial when the group was made */
    unsigned ring_serial;
    unsigned serial;   /* the group's own identity */
    uint32_t count, size;
    uint8_t *lent;     /* one bit per buffer: lent to the user */
};

struct fop {
    struct fop *next;
    enum kind kind;
    enum state state;
    int ring;
    unsigned serial;
    ar_ring *r;
    int64_t id;
    int multishot, bounded, drain, creates_fd;
    uint8_t *mem;       /* owned until the final callback */
    size_t memlen;
    int64_t max_res;    /* the largest sensible result, or -1 */
    struct fgroup *group;
    unsigned group_serial;
    struct fop *target; /* for a cancel */
    int cancel_enoent;  /* a cancel of it completed with -ENOENT while it was live */
    uint8_t nested[3];  /* what its callback does */
    struct msghdr *msg; /* recvmsg: its header, inside mem */
    int unchained;      /* queued without a link flag right after ar_ring_submit */
    uint32_t opts_flags;
    int has_deadline;
    struct fop *pred;   /* the operation it is linked behind (AR_OP_LINK / AR_OP_HARDLINK) */
};

struct fpost {
    struct fpost *next;
    int ring;
    unsigned serial;
    int ran;
};

/* --- per-input state --------------------------------------------------------------------- */
static struct fring rings[MAX_RINGS];
static struct fgroup groups[MAX_GROUPS];
static unsigned next_serial = 1;
static struct fop *ops;
static struct fpost *posts;
static long callbacks; /* callbacks observed (completions and posted functions) */
static int in_callback;
static uint64_t stats_ids, stats_refused, stats_callbacks;
/* FUZZ_STATS=1: where the time goes (ns) */
static uint64_t t_new, t_free, t_once, t_until, t_other;
static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *rc_str(int64_t rc) { return rc < 0 ? ar_strerror((int)rc) : "ok"; }

/* FUZZ_WAIVE_ERRNO=6,36 (tests/fuzz/known/waive.env): errnos ar_strerror is known not to
 * describe yet (a reported defect), so a run can look past that gap. */
static int errno_waived(int e) {
    const char *w = getenv("FUZZ_WAIVE_ERRNO");
    if (!w) return 0;
    for (const char *p = w; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        if (v == e) return 1;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* FUZZ_WAIVE=tag,tag (tests/fuzz/known/waive.env): checks of known, reported defects that a
 * run may look past, so it can find new ones meanwhile. Each tag names one check. */
static int waived(const char *tag) {
    const char *w = getenv("FUZZ_WAIVE");
    size_t n = strlen(tag);
    for (const char *p = w; p && *p; p += strcspn(p, ","), p += *p == ',')
        if (!strncmp(p, tag, n) && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

/* A returned code is >= 0, or a -errno that ar_strerror knows and is not the internal error. */
static void check_rc(const char *call, int64_t rc) {
    if (rc >= 0) return;
    if (rc < -4095) FAIL("%s returned %lld: not a -errno", call, (long long)rc);
    if (rc == -ENOTRECOVERABLE) FAIL("%s returned the internal error (a panic was caught)", call);
    const char *msg = ar_strerror((int)rc);
    if (!msg) FAIL("ar_strerror(%lld) returned NULL", (long long)rc);
    if (!strcmp(msg, "unknown error") && !errno_waived((int)-rc)) FAIL("%s returned %lld, which ar_strerror does not know", call, (long long)rc);
}

/* --- documented-bad arguments ------------------------------------------------------------- */
struct bad {
    int n;          /* how many arguments are bad */
    int err;        /* the documented errno when n == 1 (0: any) */
    const char *why;
    int fuzzy;      /* an argument the library may refuse or accept (undocumented either way) */
};
static void bad(struct bad *b, int err, const char *why) {
    b->n++;
    if (b->n == 1) b->err = err, b->why = why;
}

/* --- argument pickers ---------------------------------------------------------------------- */
static struct fring *pick_ring(struct src *s, int *slot) {
    uint8_t b = src_u8(s);
    *slot = -1;
    if (b < 12) return NULL;
    int i = b % MAX_RINGS;
    if (!rings[i].r) {
        /* An empty slot: use any live ring rather than NULL most of the time. */
        for (int j = 0; j < MAX_RINGS; j++)
            if (rings[(i + j) % MAX_RINGS].r && b >= 40) {
                i = (i + j) % MAX_RINGS;
                break;
            }
        if (!rings[i].r) return NULL;
    }
    *slot = i;
    return &rings[i];
}

static uint64_t pick_ns(struct src *s) {
    static const uint64_t table[] = {
        0, 1, 1000, 100000, 1000000, 2000000, 5000000, 20000000, UINT64_MAX, (uint64_t)INT64_MAX + 1,
        1000000000ull * 3600,
    };
    uint8_t b = src_u8(s);
    if (b < 200) return table[b % 11];
    return src_u32(s) % BOUND_NS;
}

struct optsinfo {
    ar_op_opts o;
    const ar_op_opts *p;
    int fixed, drain, bounded;
};

static void pick_opts(struct src *s, struct optsinfo *oi, struct bad *b) {
    memset(oi, 0, sizeof *oi);
    uint8_t sel = src_u8(s);
    if (sel < 120) return;
    oi->p = &oi->o;
    if (sel & 1) oi->o.timeout_ns = pick_ns(s);
    uint8_t f = src_u8(s);
    uint32_t flags = 0;
    if (f & 0x01) flags |= AR_OP_LINK;
    if ((f & 0x06) == 0x06) flags |= AR_OP_HARDLINK;
    if ((f & 0x18) == 0x18) flags |= AR_OP_DRAIN;
    if (f & 0x20) flags |= AR_OP_ASYNC;
    if ((f & 0xc0) == 0xc0) flags |= AR_OP_FIXED_FILE;
    if ((f & 0xc0) == 0x80) flags |= AR_OP_REARM;
    if (sel >= 250) {
        flags |= 1u << (6 + src_pick(s, 26));
        bad(b, EINVAL, "unknown ar_op_opts flags");
    }
    oi->o.flags = flags;
    if (sel == 249) {
        oi->o.reserved = src_u32(s) | 1;
        bad(b, EINVAL, "non-zero ar_op_opts.reserved");
    }
    oi->fixed = !!(flags & AR_OP_FIXED_FILE);
    oi->drain = !!(flags & AR_OP_DRAIN);
    oi->bounded = oi->o.timeout_ns > 0 && oi->o.timeout_ns <= BOUND_NS;
}

/* A file descriptor: a harness slot, a client, a closed or never-opened number, or a bad
 * value. With AR_OP_FIXED_FILE, an index into the registered files. */
static int pick_fd(struct src *s, int fixed, int *slot) {
    uint8_t b = src_u8(s);
    *slot = -1;
    if (fixed) {
        static const int idx[] = {0, 1, 2, 3, 4, 5, 6, 7, 63, 64, 4096, -1, INT_MAX};
        return idx[b % 13];
    }
    if (b < 200) {
        *slot = b % NSLOTS;
        return slot_fd(*slot);
    }
    switch (b % 8) {
    case 0: return -1;
    case 1: return INT_MIN;
    case 2: return INT_MAX;
    case 3: return FD_NEVER;
    case 4: return FD_CLIENT0 + (b >> 3) % NCLIENTS;
    case 5: return AT_FDCWD;
    case 6: return 1 << 20;
    default: return slot_fd(S_CLOSED);
    }
}

static void check_fd_arg(struct bad *b, int fd, int fixed) {
    if (fd < 0 && !fixed) bad(b, EBADF, "a negative fd");
    if (fd < 0 && fixed) b->fuzzy = 1; /* a negative index: refused now or by the kernel */
}

/* Slots whose operations end by themselves (regular files, /dev/null). */
static int slot_is_prompt(int slot) {
    return slot == S_FILE || slot == S_FILE_RO || slot == S_DEVNULL || slot == S_DIR || slot == S_CLOSED;
}

static const size_t huge_lens[] = {
    (size_t)INT_MAX + 1, UINT32_MAX, (size_t)UINT32_MAX + 1, SIZE_MAX, (size_t)1 << 40, (size_t)INT_MAX + 4096,
};

/* A data buffer and its length. The buffer is the operation's (retired at its final
 * callback). A length above the real buffer is only ever one the library must refuse. */
static void pick_buf(struct src *s, struct fop *op, void **buf, size_t *len, struct bad *b) {
    static const size_t sizes[] = {1, 16, 64, 512, 4096, 8192, 65536};
    uint8_t sel = src_u8(s);
    *buf = NULL;
    *len = 0;
    switch (sel % 10) {
    case 0: /* NULL, 0: allowed */
        return;
    case 1:
        *len = 1 + src_pick(s, 4096);
        bad(b, EINVAL, "a NULL buffer with a non-zero length");
        return;
    case 2: {
        op->memlen = 64;
        op->mem = mem_new(op->memlen);
        *buf = op->mem;
        *len = huge_lens[src_pick(s, 6)];
        bad(b, EINVAL, "a length above INT_MAX");
        return;
    }
    case 3:
        op->memlen = 16;
        op->mem = mem_new(op->memlen);
        *buf = op->mem;
        *len = 0;
        return;
    default: {
        size_t size = sel >= 250 ? 1 + src_pick(s, 65536) : sizes[src_pick(s, 7)];
        op->memlen = size;
        op->mem = mem_new(size);
        *buf = op->mem;
        *len = src_chance(s, 200) ? size : src_pick(s, (uint32_t)size + 1);
        return;
    }
    }
}

/* An iovec array (in `iov`, at least 1025 entries, copied by the library) over the op's
 * memory. Returns the count to pass. */
static size_t pick_iovecs(struct src *s, struct fop *op, struct iovec *iov, struct bad *b, int for_kernel) {
    static const size_t counts[] = {0, 1, 1, 2, 3, 4, 8, 16, 1024, 1025, SIZE_MAX, 5000};
    size_t n = counts[src_pick(s, 12)];
    size_t real = n > 16 ? 4 : n;
    if (n > 1024) {
        if (!for_kernel) bad(b, EINVAL, "more than 1024 iovecs");
        real = 4;
    }
    size_t lens[16], total_mem = 0;
    for (size_t i = 0; i < real; i++) {
        static const size_t sz[] = {0, 1, 64, 512, 4096, 16384};
        lens[i] = sz[src_pick(s, 6)];
        total_mem += lens[i];
    }
    op->memlen = total_mem;
    op->mem = mem_new(total_mem);
    size_t off = 0, total = 0;
    int bad_entry = 0, oversized = 0;
    for (size_t i = 0; i < 1025; i++) iov[i] = (struct iovec){NULL, 0};
    for (size_t i = 0; i < real; i++) {
        uint8_t k = src_u8(s);
        iov[i].iov_base = op->mem + off;
        iov[i].iov_len = lens[i];
        if (k >= 240 && !for_kernel) {
            switch (k % 4) {
            case 0: iov[i] = (struct iovec){NULL, 16}; bad_entry = 1; break;
            case 1: iov[i].iov_len = (size_t)INT_MAX + 1; bad_entry = 1; break;
            case 2: iov[i].iov_len = SIZE_MAX; bad_entry = 1; break;
            default: iov[i].iov_len = 0x40000000; oversized = 1; break; /* only in pairs */
            }
        } else if (k >= 240) {
            iov[i].iov_len = SIZE_MAX; /* the kernel rejects a negative ssize_t */
        } else if (k < 16) {
            iov[i] = (struct iovec){NULL, 0};
        }
        off += lens[i];
        total = total + iov[i].iov_len < total ? SIZE_MAX : total + iov[i].iov_len;
    }
    if (!for_kernel) {
        if (!bad_entry && oversized && total <= INT_MAX) {
            /* An oversized entry the library would accept: make it real again. */
            for (size_t i = 0, o = 0; i < real; o += lens[i], i++)
                if (iov[i].iov_len == 0x40000000) iov[i] = (struct iovec){op->mem + o, lens[i]};
        } else if (bad_entry || total > INT_MAX) {
            bad(b, EINVAL, "an iovec with a bad length, or a total above INT_MAX");
        }
        if (n == 0) bad(b, EINVAL, "zero iovecs");
    }
    return n;
}

/* A path: relative names resolve inside the scratch directory (with AT_FDCWD they are made
 * absolute there), so nothing outside it is ever created, renamed or removed. */
static const char *pick_path(struct src *s, int dirfd, char *out, size_t outlen, struct bad *b) {
    static char longpath[PATH_MAX + 8], name255[256], name256[257];
    if (!longpath[0]) {
        memset(longpath, 'x', PATH_MAX + 1);
        memset(name255, 'y', 255);
        memset(name256, 'z', 256);
    }
    static const char *names[] = {"f0", "f1", "d0", "d0/f2", "data", ".", "", "f0/", "nope/x", "d0/../f1", "d0/d1"};
    uint8_t sel = src_u8(s);
    const char *rel;
    if (sel < 8) {
        bad(b, EINVAL, "a NULL path");
        return NULL;
    } else if (sel < 12) {
        bad(b, 0, "a path longer than PATH_MAX");
        return longpath;
    } else if (sel < 16) {
        rel = sel & 1 ? name255 : name256;
    } else {
        rel = names[sel % 11];
    }
    if (dirfd == AT_FDCWD || (sel & 0x80 && sel > 200)) {
        snprintf(out, outlen, "%s/%s", fuzz_dir, rel);
        return out;
    }
    return rel;
}

/* A socket address in a 256-byte buffer (copied by the library); IP addresses are forced
 * onto loopback and AF_UNIX ones into the abstract namespace, so nothing leaves the host. */
static socklen_t pick_addr(struct src *s, uint8_t *a, const struct sockaddr **out, struct bad *b, int required) {
    uint8_t sel = src_u8(s);
    memset(a, 0, 256);
    *out = (const struct sockaddr *)a;
    socklen_t len;
    switch (sel % 8) {
    case 0:
        *out = NULL;
        if (required) bad(b, EINVAL, "a NULL address");
        return (socklen_t)src_pick(s, 130);
    case 1: memcpy(a, tcp_addr, tcp_addrlen); len = tcp_addrlen; break;
    case 2: case 3: memcpy(a, unix_addr, unix_addrlen); len = unix_addrlen; break;
    case 4: memcpy(a, unix_refused, unix_refused_addrlen); len = unix_refused_addrlen; break;
    default: {
        for (int i = 0; i < 256; i++) a[i] = src_u8(s);
        struct sockaddr *sa = (struct sockaddr *)a;
        len = (socklen_t)src_pick(s, 129);
        if (sa->sa_family % 4 == 0) sa->sa_family = AF_INET;
        else if (sa->sa_family % 4 == 1) sa->sa_family = AF_INET6;
        else if (sa->sa_family % 4 == 2) sa->sa_family = AF_UNIX;
        if (sa->sa_family == AF_INET) ((struct sockaddr_in *)a)->sin_addr.s_addr = htonl(0x7f000000u | (src_u32(s) & 0xffffff));
        if (sa->sa_family == AF_INET6) ((struct sockaddr_in6 *)a)->sin6_addr = in6addr_loopback;
        if (sa->sa_family == AF_UNIX) a[offsetof(struct sockaddr_un, sun_path)] = 0;
        break;
    }
    }
    uint8_t l = src_u8(s);
    if (l >= 240) {
        static const socklen_t lens[] = {0, 1, 129, 256, UINT32_MAX, 0x10000};
        len = lens[l % 6];
    }
    if (len == 0) bad(b, EINVAL, "a zero address length");
    if (len > sizeof(struct sockaddr_storage)) bad(b, EINVAL, "an address longer than sockaddr_storage");
    return len;
}

/* --- operations ---------------------------------------------------------------------------- */
static struct fop *op_new(enum kind kind, int ring, struct src *s) {
    struct fop *op = calloc(1, sizeof *op);
    if (!op) FAIL("out of memory");
    op->kind = kind;
    op->ring = ring;
    op->serial = ring >= 0 ? rings[ring].serial : 0;
    op->r = ring >= 0 ? rings[ring].r : NULL;
    op->max_res = -1;
    op->state = ST_CALLING;
    if (s) {
        uint8_t n = src_u8(s);
        if (n >= 192) {
            op->nested[0] = n;
            op->nested[1] = src_u8(s);
            op->nested[2] = src_u8(s);
        }
    }
    op->next = ops;
    ops = op;
    return op;
}

static struct fop *live_op(int ring, int64_t id) {
    if (ring < 0) return NULL;
    for (struct fop *op = ops; op; op = op->next)
        if (op->state == ST_LIVE && op->ring == ring && op->serial == rings[ring].serial && op->id == id) return op;
    return NULL;
}

static void op_cb(void *userdata, const ar_completion *c);

/* The outcome of an ar_op_* call: checks it against what the harness knows. */
static void op_done(struct fop *op, int64_t rc, const struct bad *b, int bounded, int drain) {
    char call[64];
    snprintf(call, sizeof call, "ar_op_%s", kind_names[op->kind]);
    check_rc(call, rc);
    struct fring *fr = op->ring >= 0 ? &rings[op->ring] : NULL;
    TRACE("  %s on ring %d -> %lld (%s)%s%s\n", call, op->ring, (long long)rc, rc_str(rc), b->n ? ", bad: " : "",
          b->n ? b->why : "");
    if (rc == 0) FAIL("%s returned 0: ids are > 0", call);
    if (rc > 0) {
        if (b->n) FAIL("%s accepted %s (it returned id %lld)", call, b->why, (long long)rc);
        if (!fr) FAIL("%s accepted a NULL ring", call);
        if (fr->freeing) FAIL("%s queued an operation on a ring inside ar_ring_free", call);
        if (live_op(op->ring, rc)) FAIL("%s returned id %lld, which is still live", call, (long long)rc);
        op->id = rc;
        op->state = ST_LIVE;
        op->bounded = bounded;
        op->drain = drain;
        fr->live++;
        if (!bounded) fr->unbounded++;
        if (drain) fr->drains++, fr->drain_taint = 1;
        if (op->group) op->group_serial = op->group->serial;
        if (op->kind == K_CANCEL || op->kind == K_CANCEL_FD) {
            /* A cancel without options bypasses the backlog and so any open chain; with
             * options it may join it. Either way what follows is still behind the tail. */
        } else {
            op->pred = fr->chain_tail;
            fr->chain_tail = op->opts_flags & (AR_OP_LINK | AR_OP_HARDLINK) ? op : NULL;
        }
        stats_ids++;
        return;
    }
    op->state = ST_REFUSED;
    stats_refused++;
    mem_retire(op->mem, op->memlen);
    op->mem = NULL;
    if (fr && fr->freeing) {
        if (rc != -ESHUTDOWN && !b->n) FAIL("%s inside ar_ring_free returned %lld (%s), not -ESHUTDOWN", call, (long long)rc, rc_str(rc));
        return;
    }
    if (b->n == 1 && b->err && !b->fuzzy && rc != -b->err)
        FAIL("%s with %s returned %lld (%s), expected %d (%s)", call, b->why, (long long)rc, rc_str(rc), -b->err,
             ar_strerror(-b->err));
}

static void close_new_fd(int fd) {
    if (fd >= FD_BASE && fd < FD_BASE + 100) FAIL("a new fd %d landed among the harness's fixed numbers", fd);
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* Fds passed with SCM_RIGHTS and received by a recvmsg are the harness's to close. */
static void close_received_fds(struct msghdr *m) {
    if (!m->msg_control || m->msg_controllen < sizeof(struct cmsghdr)) return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *fds = (int *)CMSG_DATA(c);
            for (size_t i = 0; i < n; i++) close_new_fd(fds[i]);
        }
    }
}

static void nested_action(struct fop *op, const ar_completion *c);

static void op_cb(void *userdata, const ar_completion *c) {
    struct fop *op = userdata;
    callbacks++;
    stats_callbacks++;
    if (!c) FAIL("callback with a NULL completion");
    if (!op) FAIL("callback with NULL userdata (op %lld)", (long long)c->op);
    const char *name = kind_names[op->kind];
    TRACE("    callback %s id %lld res %d (%s) flags %#x\n", name, (long long)c->op, c->res, rc_str(c->res), c->flags);
    switch (op->state) {
    case ST_CALLING: FAIL("callback of %s ran inside the call that queued it", name);
    case ST_REFUSED: FAIL("callback of a refused ar_op_%s", name);
    case ST_FINAL: FAIL("callback of %s id %lld after its final callback (res %d flags %#x)", name, (long long)op->id, c->res, c->flags);
    case ST_LIVE: break;
    }
    struct fring *fr = &rings[op->ring];
    if (fr->serial != op->serial) FAIL("callback of %s id %lld after its ring was freed", name, (long long)op->id);
    if (c->ring != op->r) FAIL("callback of %s id %lld names ring %p, not %p", name, (long long)op->id, (void *)c->ring, (void *)op->r);
    if (c->op != op->id) FAIL("callback of %s id %lld carries id %lld", name, (long long)op->id, (long long)c->op);
    if (c->flags & ~(uint32_t)KNOWN_COMPLETION_FLAGS) FAIL("callback of %s with unknown flags %#x", name, c->flags);
    int more = !!(c->flags & AR_COMPLETION_MORE);
    if (more && !op->multishot) FAIL("AR_COMPLETION_MORE on single-shot %s id %lld", name, (long long)op->id);
    if (more && op->cancel_enoent && !(fr->freeing && waived("cancel-enoent-teardown")))
        FAIL("%s id %lld delivered again (res %d) after a cancel of it completed with -ENOENT: the cancel was lost",
             name, (long long)op->id, c->res);
    if (c->res == -ENOTRECOVERABLE) FAIL("%s id %lld completed with the internal error", name, (long long)op->id);
    if (c->res < -4095) FAIL("%s id %lld completed with %d: not a -errno", name, (long long)op->id, c->res);
    if (op->max_res >= 0 && c->res > op->max_res)
        FAIL("%s id %lld completed with %d, more than the %lld asked for", name, (long long)op->id, c->res, (long long)op->max_res);
    if (c->flags & AR_COMPLETION_DEADLINE) {
        if (c->res != -ETIMEDOUT) FAIL("AR_COMPLETION_DEADLINE with res %d on %s", c->res, name);
        if (more) FAIL("AR_COMPLETION_DEADLINE with AR_COMPLETION_MORE on %s", name);
    }
    if (op->unchained && c->res == -E2BIG && !waived("submit-chain"))
        FAIL("%s id %lld, queued without a link flag right after ar_ring_submit, completed with -E2BIG: "
             "it was linked into the chain before it",
             name, (long long)op->id);
    if (op->kind == K_TIMEOUT && c->res == -ETIME) FAIL("a timer completed with -ETIME; the header says 0 when it fires");
    if (c->flags & AR_COMPLETION_BUFFER) {
        struct fgroup *g = op->group;
        if (op->kind != K_RECV_MS || !g) FAIL("AR_COMPLETION_BUFFER on %s", name);
        if (!c->buf) FAIL("AR_COMPLETION_BUFFER with a NULL buf");
        if (c->res < 0) FAIL("AR_COMPLETION_BUFFER with res %d", c->res);
        int group_live = g->g && g->serial == op->group_serial;
        if (group_live) {
            if (c->buf_id >= g->count) FAIL("buffer id %u out of a group of %u", c->buf_id, g->count);
            if ((uint32_t)c->res > g->size) FAIL("%d bytes in a buffer of %u", c->res, g->size);
            if (g->lent[c->buf_id / 8] & (1u << (c->buf_id % 8))) FAIL("buffer %u lent twice without a recycle", c->buf_id);
            g->lent[c->buf_id / 8] |= (uint8_t)(1u << (c->buf_id % 8));
        }
        volatile uint8_t sum = 0;
        for (int i = 0; i < c->res; i++) sum += ((const uint8_t *)c->buf)[i];
        (void)sum;
    } else if (c->buf) {
        FAIL("a completion of %s without AR_COMPLETION_BUFFER has buf %p", name, c->buf);
    }
    if (op->creates_fd && c->res >= 0) close_new_fd(c->res);
    if (op->kind == K_RECVMSG && c->res >= 0 && op->msg) close_received_fds(op->msg);
    /* (A predecessor with a deadline, a multishot one, or a zero-copy send, whose final callback
     * waits for the buffer's release, may still be live when its successor runs.) */
    if (!more && c->res >= 0 && op->pred && op->pred->state == ST_LIVE && !op->pred->has_deadline &&
        !op->pred->multishot && op->pred->kind != K_SEND_ZC && !(fr->flags & AR_RING_THREADSAFE && waived("chain-order-threadsafe")))
        FAIL("%s id %lld succeeded (res %d) before %s id %lld, which it is linked behind, completed: the chain "
             "was split",
             name, (long long)op->id, c->res, kind_names[op->pred->kind], (long long)op->pred->id);
    if (!more) {
        op->state = ST_FINAL;
        fr->live--;
        if (!op->bounded) fr->unbounded--;
        if (op->drain) fr->drains--;
        if (op->kind == K_CANCEL && c->res == -ENOENT && op->target && op->target->state == ST_LIVE)
            op->target->cancel_enoent = 1;
    }
    if (op->nested[0] && !in_callback) {
        in_callback = 1;
        nested_action(op, c);
        in_callback = 0;
    }
    if (!more) {
        mem_retire(op->mem, op->memlen);
        op->mem = NULL;
        op->msg = NULL;
    }
}

static void post_fn(void *userdata) {
    struct fpost *p = userdata;
    callbacks++;
    stats_callbacks++;
    if (p->ran) FAIL("a posted function ran twice");
    if (rings[p->ring].serial != p->serial) FAIL("a posted function ran after its ring was freed");
    p->ran = 1;
    rings[p->ring].posts--;
    TRACE("    posted function ran (ring %d)\n", p->ring);
}

static struct fpost *post_new(int ring) {
    struct fpost *p = calloc(1, sizeof *p);
    if (!p) FAIL("out of memory");
    p->ring = ring;
    p->serial = rings[ring].serial;
    p->next = posts;
    posts = p;
    return p;
}

/* Queues a timer (nested, or the one that bounds AR_RUN_ONCE). */
static int64_t queue_timer(int ring, uint64_t ns) {
    struct fop *op = op_new(K_TIMEOUT, ring, NULL);
    struct bad b = {0};
    int64_t rc = ar_op_timeout(rings[ring].r, ns, NULL, op, op_cb);
    op_done(op, rc, &b, ns <= BOUND_NS, 0);
    return rc;
}

static struct fop *pick_target(struct src *s, int ring, int64_t *target) {
    uint8_t sel = src_u8(s);
    struct fop *cand[64];
    int n = 0;
    int want_live = sel % 8 < 4;
    for (struct fop *op = ops; op && n < 64; op = op->next) {
        if (op->id <= 0) continue;
        if (want_live ? (op->state == ST_LIVE && op->ring == ring) : op->state == ST_FINAL || op->ring != ring)
            cand[n++] = op;
    }
    uint8_t k = src_u8(s);
    if (n > 0 && sel % 8 < 6) {
        *target = cand[k % n]->id;
        return cand[k % n];
    }
    static const int64_t consts[] = {0, -1, INT64_MIN, INT64_MAX, 1, 2, (int64_t)1 << 32, 0x100000001ll};
    if (sel % 8 == 6 && n > 0) {
        *target = cand[k % n]->id ^ ((int64_t)1 << src_pick(s, 63));
        return NULL;
    }
    *target = sel % 2 ? consts[k % 8] : (int64_t)src_u64(s);
    return NULL;
}

/* The callback's own calls: re-entrant run, submit, new operations, cancels, recycling,
 * freeing the op's group, posting. All allowed from a callback except the run. */
static void nested_action(struct fop *op, const ar_completion *c) {
    int ring = op->ring;
    struct fring *fr = &rings[ring];
    uint8_t a = op->nested[0] % 10, arg = op->nested[1];
    switch (a) {
    case 0: { /* ar_ring_run from a callback: refused */
        int rc = ar_ring_run(fr->r, arg % 3);
        check_rc("ar_ring_run (in a callback)", rc);
        if (rc >= 0) FAIL("ar_ring_run inside a callback returned %d, not -EBUSY", rc);
        break;
    }
    case 1: {
        int rc = ar_ring_submit(fr->r);
        fr->chain_tail = NULL; /* a submit ends the chain */
        check_rc("ar_ring_submit (in a callback)", rc);
        break;
    }
    case 2: { /* a nop on this ring or another */
        int other = arg % MAX_RINGS;
        int target = (arg & 0x80) && rings[other].r ? other : ring;
        struct fop *n = op_new(K_NOP, target, NULL);
        struct bad b = {0};
        op_done(n, ar_op_nop(rings[target].r, NULL, n, op_cb), &b, 1, 0);
        break;
    }
    case 3:
        queue_timer(ring, arg * 20000ull);
        break;
    case 4: { /* cancel something live on this ring (or this op itself) */
        struct fop *t = NULL;
        int i = 0;
        for (struct fop *o = ops; o; o = o->next)
            if (o->state == ST_LIVE && o->ring == ring && o->serial == fr->serial && i++ == arg % 8) t = o;
        int64_t target = t ? t->id : op->id;
        struct fop *n = op_new(K_CANCEL, ring, NULL);
        n->target = t;
        struct bad b = {0};
        if (!t && !live_op(ring, target)) bad(&b, ENOENT, "a target that is not live");
        int64_t rc = ar_op_cancel(fr->r, target, NULL, n, op_cb);
        if (t && rc == -ENOENT && !fr->freeing)
            FAIL("ar_op_cancel of live %s id %lld (from a callback) returned -ENOENT", kind_names[t->kind], (long long)target);
        op_done(n, rc, &b, 1, 0);
        break;
    }
    case 5: /* hand the buffer back at once */
        if ((c->flags & AR_COMPLETION_BUFFER) && op->group && op->group->g && op->group->serial == op->group_serial) {
            struct fgroup *g = op->group;
            int rc = ar_bufgroup_recycle(g->g, c->buf_id);
            check_rc("ar_bufgroup_recycle (in a callback)", rc);
            if (rc != 0) FAIL("ar_bufgroup_recycle of lent buffer %u returned %d (%s)", c->buf_id, rc, rc_str(rc));
            g->lent[c->buf_id / 8] &= (uint8_t)~(1u << (c->buf_id % 8));
        }
        break;
    case 6: /* free the op's group from its own callback */
        if (op->group && op->group->g && op->group->serial == op->group_serial) {
            struct fgroup *g = op->group;
            TRACE("    ar_bufgroup_free (in a callback)\n");
            ar_bufgroup_free(g->g);
            free(g->lent);
            memset(g, 0, sizeof *g);
        }
        break;
    case 7: {
        struct fpost *p = post_new(ring);
        int rc = ar_ring_post(fr->r, p, post_fn);
        check_rc("ar_ring_post (in a callback)", rc);
        if (rc == 0) fr->posts++;
        else p->ran = 1;
        break;
    }
    case 8: /* inflight from a callback: any value, no crash */
        (void)ar_ring_inflight(fr->r);
        break;
    default: { /* a cancel of an id that is not live */
        int64_t target = op->id + (int64_t)(arg + 1) * 0x100000000ll;
        if (live_op(ring, target)) break;
        struct fop *n = op_new(K_CANCEL, ring, NULL);
        struct bad b = {0};
        bad(&b, ENOENT, "a target that is not live");
        op_done(n, ar_op_cancel(fr->r, target, NULL, n, op_cb), &b, 1, 0);
        break;
    }
    }
}

/* --- the top-level calls --------------------------------------------------------------------- */
static void dump_state(void) {
    for (int i = 0; i < MAX_RINGS; i++) {
        if (!rings[i].serial) continue;
        fprintf(stderr, "  ring %d (flags %#x): %d live, %d unbounded, %d drained, %d posts\n", i, rings[i].flags,
                rings[i].live, rings[i].unbounded, rings[i].drains, rings[i].posts);
        for (struct fop *op = ops; op; op = op->next)
            if (op->state == ST_LIVE && op->ring == i && op->serial == rings[i].serial)
                fprintf(stderr, "    live: %s id %lld%s%s\n", kind_names[op->kind], (long long)op->id,
                        op->drain ? " (drain)" : "", op->multishot ? " (multishot)" : "");
    }
}

static const char *hang_what;
static void hang_fn(void *userdata) {
    (void)userdata;
    fprintf(stderr, "fuzz: HANG: %s did not return within %d ms\n", hang_what, HANG_WATCHDOG_MS);
    dump_state();
    FAIL("hang in %s", hang_what);
}

static void ring_free(int i) {
    struct fring *fr = &rings[i];
    TRACE("  ar_ring_free ring %d\n", i);
    fr->freeing = 1;
    hang_what = "ar_ring_free";
    watchdog_arm(NULL, HANG_WATCHDOG_MS, NULL, hang_fn);
    ar_ring_free(fr->r);
    watchdog_disarm();
    fr->freeing = 0;
    if (fr->live) {
        fprintf(stderr, "fuzz: after ar_ring_free:\n");
        dump_state();
        FAIL("ar_ring_free returned with %d operations that never got a final callback", fr->live);
    }
    if (fr->posts) FAIL("ar_ring_free returned with %d posted functions that never ran", fr->posts);
    memset(fr, 0, sizeof *fr);
}

static void check_inflight(void) {
    for (int i = 0; i < MAX_RINGS; i++) {
        if (!rings[i].r) continue;
        uint32_t n = ar_ring_inflight(rings[i].r);
        if (n != (uint32_t)rings[i].live) {
            dump_state();
            FAIL("ar_ring_inflight says %u, but %d ids lack a final callback", n, rings[i].live);
        }
    }
}

static void do_ring_new(struct src *s) {
    int i = (int)src_pick(s, MAX_RINGS);
    uint8_t sel = src_u8(s);
    ar_ring_config cfg;
    const ar_ring_config *cp = &cfg;
    struct bad b = {0};
    ar_ring_config_default(&cfg);
    if (cfg.sq_entries != 256 || cfg.cq_entries != 1024 || cfg.flags || cfg.reserved[0] || cfg.reserved[3])
        FAIL("ar_ring_config_default wrote %u/%u/%#x", cfg.sq_entries, cfg.cq_entries, cfg.flags);
    if (sel < 40) {
        cp = NULL;
    } else if (sel < 80) {
        memset(&cfg, 0, sizeof cfg);
    } else {
        static const uint32_t sq[] = {0, 1, 2, 3, 8, 16, 64, 256, 4096, 32768, 32769, 1u << 20, UINT32_MAX};
        cfg.sq_entries = sq[src_pick(s, 13)];
        uint8_t c = src_u8(s);
        cfg.cq_entries = c < 128 ? 0 : c < 192 ? cfg.sq_entries * (1u << (c % 4)) : sq[c % 13];
        uint8_t f = src_u8(s);
        cfg.flags = f < 128 ? 0 : f < 160 ? AR_RING_SQPOLL : f < 192 ? AR_RING_SINGLE_THREAD : f < 224 ? AR_RING_THREADSAFE : f;
        if (f >= 248) cfg.flags = src_u32(s);
        cfg.sqpoll_idle_ms = src_chance(s, 200) ? src_pick(s, 20) : src_u32(s);
        if (src_chance(s, 8)) cfg.reserved[src_pick(s, 4)] = src_u64(s) | 1;
        uint32_t sq_eff = cfg.sq_entries ? cfg.sq_entries : 256;
        if (cfg.flags & ~known_ring_flags()) bad(&b, EINVAL, "unknown ring flags");
        if ((cfg.flags & AR_RING_THREADSAFE) && (cfg.flags & (AR_RING_SQPOLL | AR_RING_SINGLE_THREAD)))
            bad(&b, EINVAL, "AR_RING_THREADSAFE with other flags");
        if (cfg.reserved[0] | cfg.reserved[1] | cfg.reserved[2] | cfg.reserved[3]) bad(&b, EINVAL, "non-zero reserved");
        if (cfg.cq_entries && cfg.cq_entries < sq_eff) bad(&b, EINVAL, "cq_entries below sq_entries");
    }
    ar_ring *sentinel = (ar_ring *)(uintptr_t)0x5a5a5a5a;
    ar_ring *r = sentinel;
    int null_out = src_chance(s, 6);
    if (null_out) bad(&b, EINVAL, "a NULL out_ring");
    if (rings[i].r) ring_free(i);
    int rc = ar_ring_new(cp, null_out ? NULL : &r);
    check_rc("ar_ring_new", rc);
    TRACE("  ar_ring_new slot %d flags %#x sq %u cq %u -> %d (%s)\n", i, cp ? cfg.flags : 0, cp ? cfg.sq_entries : 0,
          cp ? cfg.cq_entries : 0, rc, rc_str(rc));
    if (rc > 0) FAIL("ar_ring_new returned %d", rc);
    if (rc < 0) {
        if (r != sentinel) FAIL("ar_ring_new wrote *out_ring on failure");
        if (b.n == 1 && b.err && rc != -b.err) FAIL("ar_ring_new with %s returned %d (%s)", b.why, rc, rc_str(rc));
        if (getenv("ASYNCRING_REQUIRE_URING") && !b.n && cp == NULL) FAIL("ar_ring_new(NULL) failed: %s", rc_str(rc));
        return;
    }
    if (b.n) {
        ar_ring_free(r);
        FAIL("ar_ring_new accepted %s", b.why);
    }
    if (!r || r == sentinel) FAIL("ar_ring_new succeeded without a ring");
    rings[i] = (struct fring){.r = r, .flags = cp ? cfg.flags : 0, .serial = next_serial++};
}

static void do_run(struct src *s, int mode_sel) {
    int slot;
    struct fring *fr = pick_ring(s, &slot);
    ar_ring *r = fr ? fr->r : NULL;
    int rc;
    callbacks = 0;
    if (fr) fr->chain_tail = NULL; /* a run submits: whether a chain survives it is not said */
    if (mode_sel == AR_RUN_NOWAIT) {
        if (fr && src_chance(s, 64)) { /* the host-loop way: poll the notification fd first */
            int nfd = ar_ring_notify_fd(r);
            check_rc("ar_ring_notify_fd", nfd);
            if (nfd >= 0) {
                struct pollfd p = {.fd = nfd, .events = POLLIN};
                (void)poll(&p, 1, 0);
            }
        }
        rc = ar_ring_run(r, AR_RUN_NOWAIT);
    } else if (mode_sel == AR_RUN_ONCE) {
        if (!fr) {
            rc = ar_ring_run(NULL, AR_RUN_ONCE);
            if (rc != -EINVAL) FAIL("ar_ring_run(NULL) returned %d", rc);
            return;
        }
        if (fr->live == 0 && fr->posts == 0 && src_chance(s, 128)) {
            rc = ar_ring_run(r, AR_RUN_ONCE);
            check_rc("ar_ring_run(ONCE)", rc);
            if (rc != 0) FAIL("ar_ring_run(ONCE) with nothing in flight returned %d", rc);
            return;
        }
        /* End any open chain, then make sure something completes soon. */
        int src_rc = ar_ring_submit(r);
        check_rc("ar_ring_submit", src_rc);
        if (src_rc < 0) return;
        if (queue_timer(slot, 100000) <= 0) return;
        ops->unchained = 1; /* queued right after a submit: no chain can include it */
        int drains = fr->drains || fr->drain_taint;
        struct fpost *p = post_new(slot);
        /* A drain holds back every later operation (the kernel's IOSQE_IO_DRAIN), the timer
         * too: then a short wait is expected, and the watchdog's post ends it. */
        watchdog_arm(r, drains ? 20 : ONCE_WATCHDOG_MS, p, post_fn);
        uint64_t t0 = now_ns();
        rc = ar_ring_run(r, AR_RUN_ONCE);
        int fired = watchdog_disarm();
        TRACE("  ONCE on ring %d (flags %#x, drains %d) took %llu us%s\n", slot, fr->flags, drains,
              (unsigned long long)((now_ns() - t0) / 1000), fired ? " (woken by the watchdog)" : "");
        if (fired) fr->posts++;
        else p->ran = 1; /* never posted */
        if (fired && drains == 0 && !(fr->flags & AR_RING_THREADSAFE && waived("once-threadsafe"))) {
            dump_state();
            FAIL("ar_ring_run(ONCE) blocked for %d ms with a 0.1 ms timer pending", ONCE_WATCHDOG_MS);
        }
        if (rc == 0) FAIL("ar_ring_run(ONCE) returned 0 with a timer in flight");
    } else {
        if (!fr || fr->unbounded) {
            if (!fr) {
                rc = ar_ring_run(NULL, AR_RUN_UNTIL_DONE);
                if (rc != -EINVAL) FAIL("ar_ring_run(NULL) returned %d", rc);
            }
            return; /* something might never finish: UNTIL_DONE could block forever */
        }
        hang_what = "ar_ring_run(UNTIL_DONE) with only bounded operations";
        watchdog_arm(NULL, HANG_WATCHDOG_MS, NULL, hang_fn);
        rc = ar_ring_run(r, AR_RUN_UNTIL_DONE);
        watchdog_disarm();
        if (rc >= 0 && (fr->live || fr->posts)) FAIL("ar_ring_run(UNTIL_DONE) returned %d with %d live", rc, fr->live);
    }
    check_rc("ar_ring_run", rc);
    TRACE("  ar_ring_run(%d) ring %d -> %d (%ld callbacks)\n", mode_sel, slot, rc, callbacks);
    if (!fr && rc != -EINVAL) FAIL("ar_ring_run(NULL) returned %d", rc);
    if (rc >= 0 && rc != callbacks) FAIL("ar_ring_run returned %d but ran %ld callbacks", rc, callbacks);
}

static struct fgroup *pick_group(struct src *s, int *gi) {
    uint8_t b = src_u8(s);
    *gi = -1;
    if (b < 16) return NULL;
    for (int j = 0; j < MAX_GROUPS; j++) {
        int i = (b + j) % MAX_GROUPS;
        if (groups[i].g) {
            *gi = i;
            return &groups[i];
        }
    }
    return NULL;
}

static void group_forget(struct fgroup *g) {
    free(g->lent);
    memset(g, 0, sizeof *g);
}

static void do_group_new(struct src *s) {
    int slot;
    struct fring *fr = pick_ring(s, &slot);
    static const uint32_t counts[] = {0, 1, 2, 3, 4, 8, 16, 64, 256, 32768, 32769, 65536, UINT32_MAX, 6};
    static const uint32_t sizes[] = {0, 1, 16, 64, 100, 4096, 65536, 1u << 20, (uint32_t)INT_MAX + 1, UINT32_MAX};
    uint32_t count = counts[src_pick(s, 14)], size = sizes[src_pick(s, 10)];
    if (count == 32768 && size > 4096) size = 4096;
    struct bad b = {0};
    if (!fr) bad(&b, EINVAL, "a NULL ring");
    if (count == 0 || (count & (count - 1)) || count > 32768) bad(&b, EINVAL, "a bad count");
    if (size == 0) bad(&b, EINVAL, "a zero size");
    int null_out = src_chance(s, 8);
    if (null_out) bad(&b, EINVAL, "a NULL out_group");
    ar_bufgroup *g = NULL;
    int rc = ar_bufgroup_new(fr ? fr->r : NULL, count, size, null_out ? NULL : &g);
    check_rc("ar_bufgroup_new", rc);
    TRACE("  ar_bufgroup_new ring %d count %u size %u -> %d (%s)\n", slot, count, size, rc, rc_str(rc));
    if (rc > 0) FAIL("ar_bufgroup_new returned %d", rc);
    if (rc < 0) {
        if (b.n == 1 && b.err && rc != -b.err) FAIL("ar_bufgroup_new with %s returned %d (%s)", b.why, rc, rc_str(rc));
        return;
    }
    if (b.n) FAIL("ar_bufgroup_new accepted %s", b.why);
    if (!g) FAIL("ar_bufgroup_new succeeded without a group");
    struct fgroup *rec = NULL;
    for (int i = 0; i < MAX_GROUPS && !rec; i++) {
        if (groups[i].g) continue;
        rec = &groups[i];
        *rec = (struct fgroup){
            .g = g, .ring = slot, .ring_serial = fr->serial, .serial = next_serial++, .count = count, .size = size};
        rec->lent = calloc(count / 8 + 1, 1);
    }
    if (!rec) {
        ar_bufgroup_free(g); /* no room to track it */
        return;
    }
    if (src_chance(s, 96)) {
        /* A stream into it at once, often with AR_OP_REARM, and a burst of data arriving:
         * the group runs dry, and the receive parks, re-arms or ends. */
        struct fop *op = op_new(K_RECV_MS, slot, s);
        op->multishot = 1;
        op->group = rec;
        ar_op_opts o = {.flags = src_chance(s, 192) ? AR_OP_REARM : 0};
        int tcp = src_chance(s, 96);
        struct bad b = {0};
        op->opts_flags = o.flags;
        int64_t rc = ar_op_recv_multishot(fr->r, slot_fd(tcp ? S_TCP_C : S_UNIX_A), g, 0, &o, op, op_cb);
        TRACE("  [recv_multishot stream: %s, flags %#x]\n", tcp ? "tcp_c" : "unix_a", o.flags);
        op_done(op, rc, &b, 0, 0);
        static uint8_t burst[16384];
        ssize_t n = send(slot_fd(tcp ? S_TCP_S : S_UNIX_B), burst, 512u << src_pick(s, 6), MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)n;
    }
}

static void do_group_free(struct src *s) {
    int gi;
    struct fgroup *g = pick_group(s, &gi);
    TRACE("  ar_bufgroup_free group %d\n", gi);
    ar_bufgroup_free(g ? g->g : NULL);
    if (g) group_forget(g);
}

static void do_group_recycle(struct src *s) {
    int gi;
    struct fgroup *g = pick_group(s, &gi);
    uint16_t id = src_u16(s);
    if (g && src_chance(s, 200)) { /* mostly a lent one, if any */
        for (uint32_t k = 0; k < g->count; k++) {
            uint32_t j = (id + k) % g->count;
            if (g->lent[j / 8] & (1u << (j % 8))) {
                id = (uint16_t)j;
                break;
            }
        }
    }
    int rc = ar_bufgroup_recycle(g ? g->g : NULL, id);
    check_rc("ar_bufgroup_recycle", rc);
    TRACE("  ar_bufgroup_recycle group %d id %u -> %d (%s)\n", gi, id, rc, rc_str(rc));
    if (!g) {
        if (rc != -EINVAL) FAIL("ar_bufgroup_recycle(NULL) returned %d", rc);
        return;
    }
    int lent = id < g->count && (g->lent[id / 8] & (1u << (id % 8)));
    if (lent && rc != 0) FAIL("ar_bufgroup_recycle of lent buffer %u returned %d (%s)", id, rc, rc_str(rc));
    if (!lent && rc != -EINVAL) FAIL("ar_bufgroup_recycle of buffer %u, not lent, returned %d (%s)", id, rc, rc_str(rc));
    if (lent) g->lent[id / 8] &= (uint8_t)~(1u << (id % 8));
}

static void do_register(struct src *s, int what) {
    int slot;
    struct fring *fr = pick_ring(s, &slot);
    ar_ring *r = fr ? fr->r : NULL;
    int rc;
    const char *name;
    static struct iovec iovs[64];
    static int fds[64];
    switch (what) {
    case 0: { /* buffers: always inside the static pool (the kernel pins it) */
        name = "ar_ring_register_buffers";
        static const uint32_t counts[] = {0, 1, 1, 2, 4, 64, 16385, UINT32_MAX};
        uint32_t count = counts[src_pick(s, 8)];
        for (int i = 0; i < 64; i++) {
            uint32_t off = src_pick(s, REG_POOL_SIZE);
            uint8_t k = src_u8(s);
            iovs[i].iov_base = reg_pool + off;
            iovs[i].iov_len = k < 200 ? src_pick(s, REG_POOL_SIZE - off + 1) : REG_POOL_SIZE - off;
            if (k >= 240) iovs[i] = (struct iovec){k & 1 ? NULL : reg_pool, k & 2 ? 4096 : 0};
            if (i > 4 && !src_chance(s, 16)) { /* keep inputs short: copy the first ones */
                iovs[i] = iovs[i % 4];
            }
        }
        int null = src_chance(s, 8);
        rc = ar_ring_register_buffers(r, null ? NULL : iovs, count);
        if (rc >= 0 && (null || count == 0 || count > 16384 || !r)) FAIL("%s accepted a bad argument (count %u)", name, count);
        break;
    }
    case 1:
        name = "ar_ring_unregister_buffers";
        rc = ar_ring_unregister_buffers(r);
        break;
    case 2:
    case 3: {
        uint32_t count = src_pick(s, 65), offset = 0;
        for (int i = 0; i < 64; i++) {
            int fslot;
            fds[i] = i < 8 || src_chance(s, 16) ? pick_fd(s, 0, &fslot) : fds[i % 8];
            if (src_chance(s, 8)) fds[i] = -1;
        }
        int null = src_chance(s, 8);
        if (what == 2) {
            name = "ar_ring_register_files";
            rc = ar_ring_register_files(r, null ? NULL : fds, count);
            if (rc == 0 && fr) fr->files = (int)count;
        } else {
            name = "ar_ring_update_files";
            offset = src_chance(s, 230) ? src_pick(s, 70) : src_u32(s);
            rc = ar_ring_update_files(r, offset, null ? NULL : fds, count);
        }
        if (rc >= 0 && ((null && count) || !r)) FAIL("%s accepted a NULL pointer", name);
        break;
    }
    default:
        name = "ar_ring_unregister_files";
        rc = ar_ring_unregister_files(r);
        if (rc == 0 && fr) fr->files = 0;
        break;
    }
    check_rc(name, rc);
    TRACE("  %s ring %d -> %d (%s)\n", name, slot, rc, rc_str(rc));
    if (!r && rc != -EINVAL) FAIL("%s(NULL ring) returned %d", name, rc);
}

static void do_misc(struct src *s, int what) {
    switch (what) {
    case 0: { /* probe */
        ar_probe p;
        memset(&p, 0x7f, sizeof p);
        int null = src_chance(s, 64);
        int rc = ar_ring_probe(null ? NULL : &p);
        if (rc > 0) FAIL("ar_ring_probe returned %d", rc);
        check_rc("ar_ring_probe", rc);
        if (!null) {
            if (p.status != rc) FAIL("ar_ring_probe: status %d, returned %d", p.status, rc);
            if (p.reason > AR_PROBE_OTHER) FAIL("ar_ring_probe: reason %u", p.reason);
            if ((p.status == 0) != (p.reason == AR_PROBE_OK)) FAIL("ar_ring_probe: status %d with reason %u", p.status, p.reason);
            if (!memchr(p.kernel_release, 0, sizeof p.kernel_release) || !memchr(p.message, 0, sizeof p.message))
                FAIL("ar_ring_probe: strings not NUL-terminated");
        }
        break;
    }
    case 1: { /* strerror of any int */
        static const int specials[] = {0, 1, -1, INT_MIN, INT_MAX, -4095, -4096, EINVAL, -ENOTRECOVERABLE, 133, -134};
        int e = src_chance(s, 128) ? (int)src_u32(s) : src_chance(s, 128) ? -(int)src_pick(s, 140) : specials[src_pick(s, 11)];
        const char *m = ar_strerror(e);
        if (!m) FAIL("ar_strerror(%d) returned NULL", e);
        if (strlen(m) > 4096) FAIL("ar_strerror(%d): no NUL in sight", e);
        break;
    }
    case 2: { /* version */
        const char *v = ar_version();
        char want[32];
        snprintf(want, sizeof want, "%d.%d.%d", AR_VERSION_MAJOR, AR_VERSION_MINOR, AR_VERSION_PATCH);
        if (!v || strcmp(v, want)) FAIL("ar_version() is %s, the header says %s", v ? v : "NULL", want);
        ar_ring_config_default(NULL);
        if (ar_ring_inflight(NULL) != 0) FAIL("ar_ring_inflight(NULL) != 0");
        break;
    }
    case 3: { /* post */
        int slot;
        struct fring *fr = pick_ring(s, &slot);
        int null_fn = src_chance(s, 16);
        struct fpost *p = fr ? post_new(slot) : NULL;
        int rc = ar_ring_post(fr ? fr->r : NULL, p, null_fn ? NULL : post_fn);
        check_rc("ar_ring_post", rc);
        TRACE("  ar_ring_post ring %d -> %d\n", slot, rc);
        if ((!fr || null_fn) && rc != -EINVAL) FAIL("ar_ring_post with a NULL %s returned %d", fr ? "fn" : "ring", rc);
        if (rc == 0) fr->posts++;
        else if (p) p->ran = 1;
        break;
    }
    case 4: { /* submit */
        int slot;
        struct fring *fr = pick_ring(s, &slot);
        int rc = ar_ring_submit(fr ? fr->r : NULL);
        if (fr) fr->chain_tail = NULL;
        check_rc("ar_ring_submit", rc);
        TRACE("  ar_ring_submit ring %d -> %d\n", slot, rc);
        if (!fr && rc != -EINVAL) FAIL("ar_ring_submit(NULL) returned %d", rc);
        break;
    }
    case 5: { /* notify fd */
        int slot;
        struct fring *fr = pick_ring(s, &slot);
        int rc = ar_ring_notify_fd(fr ? fr->r : NULL);
        check_rc("ar_ring_notify_fd", rc);
        if (!fr && rc != -EINVAL) FAIL("ar_ring_notify_fd(NULL) returned %d", rc);
        if (fr && rc >= FD_BASE) FAIL("the notification fd %d is among the harness's numbers", rc);
        break;
    }
    default: { /* free a ring (NULL is a no-op) */
        int i = (int)src_pick(s, MAX_RINGS + 1);
        if (i == MAX_RINGS || !rings[i].r) ar_ring_free(NULL);
        else ring_free(i);
        break;
    }
    }
}

static void fuzzy_flags(struct bad *b, enum kind kind, uint32_t flags);

/* One ar_op_* call with hostile arguments. */
static void do_op(struct src *s, enum kind kind) {
    int slot;
    struct fring *fr = pick_ring(s, &slot);
    ar_ring *r = fr ? fr->r : NULL;
    struct bad b = {0};
    struct optsinfo oi;
    pick_opts(s, &oi, &b);
    fuzzy_flags(&b, kind, oi.o.flags);
    struct fop *op = op_new(kind, slot, s);
    ar_op_cb cb = op_cb;
    if (src_chance(s, 3)) {
        cb = NULL;
        bad(&b, EINVAL, "a NULL callback");
    }
    if (!fr) bad(&b, EINVAL, "a NULL ring");
    int fslot = -1, fd = 0;
    int prompt = 0; /* ends by itself whatever happens */
    int64_t rc = 0;
    void *buf;
    size_t len;
    uint64_t off;
    char path1[512], path2[512];
    static struct iovec iov[1100];
    uint8_t addrbuf[256];
    static const uint64_t offsets[] = {0, 1, 4096, 8191, 1ull << 40, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX};

    switch (kind) {
    case K_NOP:
        prompt = 1;
        rc = ar_op_nop(r, oi.p, op, cb);
        break;
    case K_READ:
    case K_WRITE:
    case K_READ_FIXED:
    case K_WRITE_FIXED: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        off = offsets[src_pick(s, 8)];
        prompt = !oi.fixed && slot_is_prompt(fslot);
        if (kind == K_READ || kind == K_WRITE) {
            pick_buf(s, op, &buf, &len, &b);
            op->max_res = (int64_t)len;
            if (kind == K_READ) rc = ar_op_read(r, fd, buf, len, off, oi.p, op, cb);
            else rc = ar_op_write(r, fd, buf, len, off, oi.p, op, cb);
        } else {
            /* Inside or around the registered pool: the kernel checks the range. */
            uint8_t k = src_u8(s);
            uintptr_t p = (uintptr_t)reg_pool + src_pick(s, REG_POOL_SIZE + 8192) - 4096;
            len = k < 200 ? src_pick(s, 65536) : k < 240 ? REG_POOL_SIZE : huge_lens[k % 6];
            if (k >= 240) bad(&b, EINVAL, "a length above INT_MAX");
            buf = (void *)p;
            if (k % 16 == 15) {
                buf = NULL;
                if (len) bad(&b, EINVAL, "a NULL buffer with a non-zero length");
            }
            uint16_t idx = src_chance(s, 220) ? (uint16_t)src_pick(s, 4) : src_u16(s);
            op->max_res = (int64_t)len;
            if (kind == K_READ_FIXED) rc = ar_op_read_fixed(r, fd, buf, len, off, idx, oi.p, op, cb);
            else rc = ar_op_write_fixed(r, fd, buf, len, off, idx, oi.p, op, cb);
        }
        break;
    }
    case K_READV:
    case K_WRITEV: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        off = offsets[src_pick(s, 8)];
        prompt = !oi.fixed && slot_is_prompt(fslot);
        size_t n = pick_iovecs(s, op, iov, &b, 0);
        const struct iovec *v = iov;
        if (src_chance(s, 8)) {
            v = NULL;
            bad(&b, EINVAL, "a NULL iovec array");
        }
        op->max_res = (int64_t)op->memlen;
        if (kind == K_READV) rc = ar_op_readv(r, fd, v, n, off, oi.p, op, cb);
        else rc = ar_op_writev(r, fd, v, n, off, oi.p, op, cb);
        break;
    }
    case K_FSYNC: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        uint8_t f = src_u8(s);
        uint32_t flags = f < 200 ? f % 2 : (uint32_t)f;
        if (flags > 1) bad(&b, EINVAL, "unknown fsync flags");
        prompt = !oi.fixed && slot_is_prompt(fslot);
        rc = ar_op_fsync(r, fd, flags, oi.p, op, cb);
        break;
    }
    case K_FALLOCATE: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        static const int modes[] = {0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE,
                                    FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, -1, 0x100};
        int mode = modes[src_pick(s, 8)];
        uint64_t o = offsets[src_pick(s, 8)];
        /* Lengths the library accepts stay small: the scratch directory is on a real disk. */
        static const uint64_t lens[] = {0, 1, 4096, 65536, 1 << 20, (uint64_t)INT64_MAX + 1, UINT64_MAX};
        uint64_t l = lens[src_pick(s, 7)];
        if (o > INT64_MAX) bad(&b, EINVAL, "an offset above INT64_MAX");
        if (l > INT64_MAX) bad(&b, EINVAL, "a length above INT64_MAX");
        prompt = !oi.fixed && slot_is_prompt(fslot);
        rc = ar_op_fallocate(r, fd, mode, o, l, oi.p, op, cb);
        break;
    }
    case K_OPENAT:
    case K_STATX:
    case K_UNLINKAT:
    case K_MKDIRAT:
    case K_RENAMEAT: {
        fd = pick_fd(s, 0, &fslot);
        if (fd < 0 && fd != AT_FDCWD) bad(&b, EBADF, "a negative dirfd");
        const char *p = pick_path(s, fd, path1, sizeof path1, &b);
        prompt = 1;
        if (kind == K_OPENAT) {
            static const int flags[] = {O_RDONLY, O_WRONLY, O_RDWR, O_CREAT | O_RDWR, O_CREAT | O_EXCL | O_WRONLY,
                                        O_TRUNC | O_RDWR, O_DIRECTORY, O_PATH, O_TMPFILE | O_RDWR, O_NONBLOCK | O_APPEND};
            int fl = src_chance(s, 230) ? flags[src_pick(s, 10)] : (int)src_u32(s);
            uint32_t mode = src_chance(s, 230) ? 0600 : src_u32(s);
            op->creates_fd = 1;
            rc = ar_op_openat(r, fd, p, fl | O_CLOEXEC, mode, oi.p, op, cb);
        } else if (kind == K_STATX) {
            static const int flags[] = {0, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC, -1};
            int fl = flags[src_pick(s, 6)];
            uint32_t mask = src_chance(s, 200) ? STATX_BASIC_STATS : src_u32(s);
            struct statx *sx = NULL;
            if (src_chance(s, 240)) {
                op->memlen = sizeof *sx;
                op->mem = mem_new(op->memlen);
                sx = (struct statx *)op->mem;
            } else {
                bad(&b, EINVAL, "a NULL statx buffer");
            }
            rc = ar_op_statx(r, fd, p, fl, mask, sx, oi.p, op, cb);
        } else if (kind == K_UNLINKAT) {
            int fl = src_chance(s, 128) ? 0 : src_chance(s, 200) ? AT_REMOVEDIR : (int)src_u32(s);
            rc = ar_op_unlinkat(r, fd, p, fl, oi.p, op, cb);
        } else if (kind == K_MKDIRAT) {
            rc = ar_op_mkdirat(r, fd, p, src_chance(s, 230) ? 0700 : src_u32(s), oi.p, op, cb);
        } else {
            int fslot2;
            int fd2 = pick_fd(s, 0, &fslot2);
            if (fd2 < 0 && fd2 != AT_FDCWD) bad(&b, EBADF, "a negative dirfd");
            const char *p2 = pick_path(s, fd2, path2, sizeof path2, &b);
            static const uint32_t flags[] = {0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT, 0xff};
            rc = ar_op_renameat(r, fd, p, fd2, p2, flags[src_pick(s, 6)], oi.p, op, cb);
        }
        break;
    }
    case K_CLOSE:
        fd = pick_fd(s, 0, &fslot); /* a harness number, even with AR_OP_FIXED_FILE */
        check_fd_arg(&b, fd, 0);
        if (oi.fixed) bad(&b, EINVAL, "AR_OP_FIXED_FILE with close");
        prompt = 1;
        rc = ar_op_close(r, fd, oi.p, op, cb);
        break;
    case K_TIMEOUT: {
        uint64_t ns = pick_ns(s);
        prompt = ns <= BOUND_NS;
        rc = ar_op_timeout(r, ns, oi.p, op, cb);
        break;
    }
    case K_CANCEL: {
        int64_t target;
        struct fop *t = pick_target(s, slot, &target);
        struct fop *live = live_op(slot, target);
        op->target = live;
        prompt = 1;
        if (!live && target > 0) bad(&b, ENOENT, "a target that is not live");
        if (!live && target <= 0) bad(&b, 0, "a target id <= 0");
        (void)t;
        rc = ar_op_cancel(r, target, oi.p, op, cb);
        if (live && rc == -ENOENT)
            FAIL("ar_op_cancel of live %s id %lld returned -ENOENT", kind_names[live->kind], (long long)target);
        break;
    }
    case K_CANCEL_FD: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        uint8_t f = src_u8(s);
        uint32_t flags = f < 220 ? f % 2 : (uint32_t)f;
        if (flags > 1) bad(&b, EINVAL, "unknown cancel flags");
        prompt = 1;
        rc = ar_op_cancel_fd(r, fd, flags, oi.p, op, cb);
        break;
    }
    case K_SOCKET: {
        static const int domains[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, -1, 0x7fff};
        static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, SOCK_STREAM | SOCK_NONBLOCK, -1};
        int d = domains[src_pick(s, 6)], t = types[src_pick(s, 6)];
        int proto = src_chance(s, 230) ? 0 : (int)src_u32(s);
        op->creates_fd = 1;
        prompt = 1;
        rc = ar_op_socket(r, d, t | SOCK_CLOEXEC, proto, oi.p, op, cb);
        break;
    }
    case K_CONNECT: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        const struct sockaddr *a;
        socklen_t alen = pick_addr(s, addrbuf, &a, &b, 1);
        rc = ar_op_connect(r, fd, a, alen, oi.p, op, cb);
        break;
    }
    case K_ACCEPT:
    case K_ACCEPT_MS: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        int fl = src_chance(s, 200) ? SOCK_CLOEXEC : (int)src_u32(s);
        op->creates_fd = 1;
        if (kind == K_ACCEPT) {
            rc = ar_op_accept(r, fd, fl, oi.p, op, cb);
        } else {
            op->multishot = 1;
            rc = ar_op_accept_multishot(r, fd, fl, oi.p, op, cb);
        }
        break;
    }
    case K_SEND:
    case K_RECV:
    case K_SEND_ZC: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        pick_buf(s, op, &buf, &len, &b);
        static const int flags[] = {0, MSG_DONTWAIT, MSG_WAITALL, MSG_PEEK, MSG_NOSIGNAL, MSG_TRUNC, MSG_OOB, -1};
        int fl = flags[src_pick(s, 8)];
        op->max_res = (kind == K_RECV && (fl & MSG_TRUNC)) ? -1 : (int64_t)len;
        if (kind == K_SEND) rc = ar_op_send(r, fd, buf, len, fl, oi.p, op, cb);
        else if (kind == K_RECV) rc = ar_op_recv(r, fd, buf, len, fl, oi.p, op, cb);
        else rc = ar_op_send_zc(r, fd, buf, len, fl, oi.p, op, cb);
        break;
    }
    case K_RECV_MS: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        int gi;
        struct fgroup *g = pick_group(s, &gi);
        if (!g) bad(&b, EINVAL, "a NULL group");
        else if (g->ring != slot || rings[g->ring].serial != g->ring_serial)
            bad(&b, EINVAL, "a group of another ring (or of a freed one)");
        op->multishot = 1;
        op->group = g;
        int fl = src_chance(s, 220) ? 0 : MSG_PEEK;
        rc = ar_op_recv_multishot(r, fd, g ? g->g : NULL, fl, oi.p, op, cb);
        break;
    }
    case K_SENDMSG: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        struct msghdr m = {0};
        uint8_t ctl[256] __attribute__((aligned(8)));
        uint8_t sel = src_u8(s);
        m.msg_iovlen = pick_iovecs(s, op, iov, &b, 0);
        if (m.msg_iovlen == 0) b.n--; /* zero iovecs are fine for sendmsg */
        m.msg_iov = iov;
        if (sel & 1) {
            const struct sockaddr *a;
            m.msg_namelen = pick_addr(s, addrbuf, &a, &b, 0);
            m.msg_name = (void *)a;
            if (!a) m.msg_namelen = 0;
        }
        if (sel & 2) { /* control data: a well-formed SCM_RIGHTS with harness fds, or junk */
            memset(ctl, 0, sizeof ctl);
            struct cmsghdr *c = (struct cmsghdr *)ctl;
            int nfd = 1 + (int)src_pick(s, 2);
            c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfd);
            c->cmsg_level = (sel & 4) ? SOL_SOCKET : 0x7fff;
            c->cmsg_type = SCM_RIGHTS;
            for (int i = 0; i < nfd; i++) {
                int fs2;
                int f2 = pick_fd(s, 0, &fs2);
                memcpy(CMSG_DATA(c) + i * sizeof(int), &f2, sizeof f2);
            }
            m.msg_control = ctl;
            m.msg_controllen = (sel & 8) ? CMSG_SPACE(sizeof(int) * (size_t)nfd) : src_pick(s, sizeof ctl + 1);
        }
        m.msg_flags = (int)src_u8(s);
        const struct msghdr *mp = &m;
        if (sel >= 248) {
            mp = NULL;
            bad(&b, EINVAL, "a NULL msghdr");
        }
        op->max_res = (int64_t)op->memlen;
        rc = ar_op_sendmsg(r, fd, mp, src_chance(s, 200) ? MSG_NOSIGNAL : src_u32(s), oi.p, op, cb);
        break;
    }
    case K_RECVMSG: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        /* The header, its iovecs, name and control buffers and the data all live in the op's
         * memory: the kernel writes into them until the final callback. */
        uint8_t sel = src_u8(s);
        size_t niov = sel % 8 == 7 ? 1024 : sel % 5;
        size_t data = 4096;
        size_t need = sizeof(struct msghdr) + niov * sizeof(struct iovec) + 128 + 256 + data;
        uint8_t *mem = mem_new(need);
        op->mem = mem;
        op->memlen = need;
        struct msghdr *m = (struct msghdr *)mem;
        struct iovec *v = (struct iovec *)(mem + sizeof *m);
        uint8_t *name = (uint8_t *)(v + niov), *ctl = name + 128, *d = ctl + 256;
        memset(m, 0, sizeof *m);
        for (size_t i = 0; i < niov; i++) v[i] = (struct iovec){i < 4 ? d + i * 1024 : NULL, i < 4 ? 1024 : 0};
        if (niov && src_chance(s, 8)) v[0].iov_len = SIZE_MAX; /* the kernel refuses it */
        m->msg_iov = niov || src_chance(s, 128) ? v : NULL;
        m->msg_iovlen = sel % 16 == 15 ? (src_chance(s, 128) ? 1025 : SIZE_MAX) : niov;
        if (sel & 0x10) m->msg_name = name, m->msg_namelen = src_pick(s, 129);
        if (sel & 0x20) m->msg_control = ctl, m->msg_controllen = src_pick(s, 257);
        op->msg = m;
        struct msghdr *mp = m;
        if (sel >= 250) {
            mp = NULL;
            bad(&b, EINVAL, "a NULL msghdr");
        }
        op->max_res = (int64_t)data;
        rc = ar_op_recvmsg(r, fd, mp, src_chance(s, 200) ? 0 : src_u32(s), oi.p, op, cb);
        break;
    }
    case K_SHUTDOWN: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        static const int hows[] = {SHUT_RD, SHUT_WR, SHUT_RDWR, 3, -1};
        int how = hows[src_pick(s, 5)];
        if (how < 0 || how > 2) bad(&b, EINVAL, "a bad shutdown how");
        prompt = 1;
        rc = ar_op_shutdown(r, fd, how, oi.p, op, cb);
        break;
    }
    case K_POLL:
    case K_POLL_MS: {
        fd = pick_fd(s, oi.fixed, &fslot);
        check_fd_arg(&b, fd, oi.fixed);
        static const uint32_t evs[] = {POLLIN, POLLOUT, POLLIN | POLLOUT, POLLPRI, POLLRDHUP, 0};
        uint32_t ev = src_chance(s, 220) ? evs[src_pick(s, 6)] : src_u32(s);
        if (kind == K_POLL) {
            rc = ar_op_poll(r, fd, ev, oi.p, op, cb);
        } else {
            op->multishot = 1;
            rc = ar_op_poll_multishot(r, fd, ev, oi.p, op, cb);
        }
        break;
    }
    case K_SPLICE: {
        int fs1, fs2;
        int fd_in = pick_fd(s, 0, &fs1);
        int fd_out = pick_fd(s, oi.fixed, &fs2);
        check_fd_arg(&b, fd_in, 0);
        check_fd_arg(&b, fd_out, oi.fixed);
        static const int64_t offs[] = {-1, -1, 0, 4096, -2, INT64_MIN, INT64_MAX};
        int64_t oin = offs[src_pick(s, 7)], oout = offs[src_pick(s, 7)];
        if (oin < -1 || oout < -1) bad(&b, EINVAL, "an offset below -1");
        static const size_t lens[] = {0, 1, 4096, 65536, 1 << 20, UINT32_MAX, (size_t)UINT32_MAX + 1, SIZE_MAX};
        size_t l = lens[src_pick(s, 8)];
        if (l > UINT32_MAX) bad(&b, EINVAL, "a length above UINT32_MAX");
        uint32_t fl = src_chance(s, 220) ? (uint32_t)src_pick(s, 16) : src_u32(s);
        op->max_res = (int64_t)l;
        rc = ar_op_splice(r, fd_in, oin, fd_out, oout, l, fl, oi.p, op, cb);
        break;
    }
    case NKINDS:
        break;
    }
    TRACE("  [%s: fd %d, opts %s timeout %llu flags %#x]\n", kind_names[kind], fd, oi.p ? "set" : "NULL",
          (unsigned long long)oi.o.timeout_ns, oi.o.flags);
    op->opts_flags = oi.o.flags;
    op->has_deadline = oi.o.timeout_ns != 0;
    /* A defect once (tests/fuzz/regressions/poll-multishot-deadline): a deadline did not end
     * a multishot poll of an always-ready fd. The waiver stays for bisecting. */
    if (kind == K_POLL_MS && waived("poll-multishot-deadline")) oi.bounded = 0;
    op_done(op, rc, &b, prompt || oi.bounded, oi.drain);
}

/* Flags whose meaning for this kind the header leaves open: refusing or accepting is fine. */
static void fuzzy_flags(struct bad *b, enum kind kind, uint32_t flags) {
    if ((flags & AR_OP_REARM) && kind != K_RECV_MS) b->fuzzy = 1;
    if ((flags & AR_OP_FIXED_FILE) &&
        (kind == K_NOP || kind == K_TIMEOUT || kind == K_CANCEL || kind == K_SOCKET || kind == K_OPENAT ||
         kind == K_STATX || kind == K_UNLINKAT || kind == K_RENAMEAT || kind == K_MKDIRAT || kind == K_SPLICE))
        b->fuzzy = 1;
}

/* --- the program ----------------------------------------------------------------------------- */
static void step_inner(struct src *s, uint8_t b);
static void step(struct src *s) {
    uint8_t b = src_u8(s);
    uint64_t t0 = now_ns();
    step_inner(s, b);
    uint64_t dt = now_ns() - t0;
    if (b < 128) t_other += dt;
    else switch ((b - 128) % 26) {
    case 0: case 1: t_new += dt; break;
    case 4: case 5: t_once += dt; break;
    case 6: t_until += dt; break;
    case 13: t_free += dt; break;
    default: t_other += dt; break;
    }
}

static void step_inner(struct src *s, uint8_t b) {
    if (b < 128) {
        do_op(s, (enum kind)(b % NKINDS));
        return;
    }
    switch ((b - 128) % 26) {
    case 0: case 1: do_ring_new(s); break;
    case 2: case 3: do_run(s, AR_RUN_NOWAIT); break;
    case 4: case 5: do_run(s, AR_RUN_ONCE); break;
    case 6: do_run(s, AR_RUN_UNTIL_DONE); break;
    case 7: case 8: case 9: case 10: case 11: case 12: case 13: do_misc(s, (b - 128) % 26 - 7); break;
    case 14: do_group_new(s); break;
    case 15: do_group_free(s); break;
    case 16: case 17: do_group_recycle(s); break;
    case 18: case 19: case 20: case 21: case 22: do_register(s, (b - 128) % 26 - 18); break;
    default: world_poke(s); break;
    }
}

static void teardown(void) {
    for (int i = 0; i < MAX_RINGS; i++)
        if (rings[i].r) ring_free(i);
    for (int i = 0; i < MAX_GROUPS; i++)
        if (groups[i].g) {
            ar_bufgroup_free(groups[i].g);
            group_forget(&groups[i]);
        }
    for (struct fop *op = ops; op; op = op->next)
        if (op->state == ST_LIVE) FAIL("%s id %lld never got a final callback", kind_names[op->kind], (long long)op->id);
    mem_check_retired();
    while (ops) {
        struct fop *n = ops->next;
        free(ops->mem);
        free(ops);
        ops = n;
    }
    while (posts) {
        struct fpost *n = posts->next;
        if (!posts->ran) FAIL("a posted function never ran");
        free(posts);
        posts = n;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    world_init();
    if (getenv("FUZZ_HANG_MS")) hang_ms = atoi(getenv("FUZZ_HANG_MS"));
    if (getenv("FUZZ_ONCE_MS")) once_ms = atoi(getenv("FUZZ_ONCE_MS"));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fds_before = count_low_fds();
    world_open();
    struct src s = {data, size};
    TRACE("input of %zu bytes\n", size);
    for (int i = 0; i < MAX_STEPS && s.n > 0; i++) {
        step(&s);
        check_inflight();
    }
    uint64_t t0 = now_ns();
    teardown();
    t_free += now_ns() - t0;
    world_close();
    int fds_after = count_low_fds();
    if (fds_after != fds_before) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "ls -l /proc/%d/fd >&2", (int)getpid());
        if (system(cmd)) { /* only a diagnostic */
        }
        FAIL("%d fds open before the input, %d after: a leak", fds_before, fds_after);
    }
    if (getenv("FUZZ_STATS"))
        fprintf(stderr, "fuzz: %llu ids, %llu refused calls, %llu callbacks; ms in ring_new %llu, free %llu, "
                "ONCE %llu, UNTIL_DONE %llu, other %llu\n", (unsigned long long)stats_ids,
                (unsigned long long)stats_refused, (unsigned long long)stats_callbacks,
                (unsigned long long)(t_new / 1000000), (unsigned long long)(t_free / 1000000),
                (unsigned long long)(t_once / 1000000), (unsigned long long)(t_until / 1000000),
                (unsigned long long)(t_other / 1000000));
    return 0;
}
