//! `ar_ring_*`: creating, driving and freeing a ring; `ar_strerror`, `ar_version`.

use std::ffi::{c_char, c_int, c_void};

use super::boundary::{boundary, boundary_void, ring, write_out};
use crate::config::RingConfig;
use crate::error::{Errno, describe};
use crate::kernel::probe::{Probe, probe};
use crate::ring::completion::PostFn;
use crate::ring::{Backend, Ring, RunMode};

/// How `ar_ring_run` waits: one of `AR_RUN_*`.
pub type ar_run_mode = u32;
/// Deliver what is ready and return; never blocks. For host loops, after the notification
/// fd polled readable.
pub const AR_RUN_NOWAIT: ar_run_mode = 0;
/// Block until at least one callback has run. Returns 0 at once if nothing is in flight.
pub const AR_RUN_ONCE: ar_run_mode = 1;
/// Run until no operation is in flight and no posted work waits.
pub const AR_RUN_UNTIL_DONE: ar_run_mode = 2;

/// Fills `*out_config` with the defaults: 256 SQ entries, 1024 CQ entries, no flags.
///
/// Parameters: `out_config`: where to write; NULL does nothing.
///
/// Returns: nothing.
///
/// Memory and lifetimes: writes only `*out_config`.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_config_default(out_config: *mut RingConfig) {
    // SAFETY: the caller passes NULL or a writable config.
    boundary_void(|| unsafe {
        let _ = write_out(out_config, RingConfig::new());
    })
}

/// Creates a ring: an io_uring instance with a registered eventfd (the notification fd).
///
/// Parameters: `config`: NULL for the defaults; zero fields mean their default; `reserved`
/// must be zero. `out_ring`: receives the ring.
///
/// Returns: 0, or `-EINVAL` (NULL `out_ring`, unknown flags, non-zero reserved, sizes out of
/// range), `-ENOMEM`/`-EMFILE`, `-EPERM` (io_uring forbidden: seccomp or the
/// `kernel.io_uring_disabled` sysctl), `-ENOSYS` (kernel lacks io_uring or needed features;
/// Linux 5.19+ is required). `ar_ring_probe` says why.
///
/// Memory and lifetimes: free the ring with `ar_ring_free`.
///
/// Thread safety: any thread. With `AR_RING_SINGLE_THREAD` only the creating thread may use
/// the ring afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_new(config: *const RingConfig, out_ring: *mut *mut Ring) -> c_int {
    boundary(|| {
        if out_ring.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller passes NULL or a readable config.
        let ring = Ring::new(unsafe { config.as_ref() })?;
        // SAFETY: checked non-NULL; the caller passes writable memory.
        unsafe { write_out(out_ring, Box::into_raw(ring))? };
        Ok(0)
    })
}

/// Frees a ring: cancels every operation in flight, waits until the kernel is done with all
/// of them, delivers every final callback (usually with `-ECANCELED`), runs posted work,
/// and only then frees. NULL is a no-op.
///
/// Parameters: `ring`: the ring, or NULL.
///
/// Returns: nothing. Calling it from inside a callback, from inside `ar_ring_run`, or while
/// another thread uses the ring is a programming error: it prints a message and aborts.
///
/// Memory and lifetimes: after it returns the kernel never touches caller memory again, and
/// `ring` is invalid. Callbacks run during it may not queue new operations (they get
/// `-ESHUTDOWN`).
///
/// Thread safety: the thread using the ring; for `AR_RING_SINGLE_THREAD`, its creator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_free(ring: *mut Ring) {
    if ring.is_null() {
        return;
    }
    boundary_void(|| {
        // SAFETY: the caller passes a live ring.
        if let Err(msg) = unsafe { &*ring }.check_free() {
            eprintln!("libasyncring: {msg}");
            std::process::abort();
        }
        // SAFETY: `ar_ring_new` made it with Box::into_raw, and it is not in use.
        drop(unsafe { Box::from_raw(ring) });
    })
}

/// The notification fd: poll it for readability (epoll, poll, a DispatchSource, GLib...),
/// then call `ar_ring_run(ring, AR_RUN_NOWAIT)`, which also drains it.
///
/// Parameters: `ring`: the ring.
///
/// Returns: the fd, or `-EINVAL` for a NULL ring, or `-errno` if the fd cannot be
/// registered with the io_uring (the first call registers it: a ring whose fd nobody asks
/// for does not pay the kernel's signal on every batch of completions; the first call also
/// makes the fd readable once, covering anything that completed before).
///
/// Memory and lifetimes: owned by the ring; do not close or read it.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_notify_fd(ring: *const Ring) -> c_int {
    // SAFETY: the caller passes NULL or a live ring.
    boundary(|| unsafe { self::ring(ring) }?.notify_fd())
}

/// Hands every queued operation to the kernel in one batch (`io_uring_enter`). `ar_ring_run`
/// does this too, so calling it is only needed to start I/O before running.
///
/// Parameters: `ring`: the ring.
///
/// Returns: the number of operations handed to the kernel (>= 0), or `-EINVAL` (NULL),
/// `-EBUSY` (another thread is using the ring), or a `-errno` from `io_uring_enter`. With
/// `AR_RING_THREADSAFE` the ring's submitter thread enters the kernel: this wakes it and
/// returns how many operations it was handed.
///
/// Memory and lifetimes: no callbacks run inside it.
///
/// Thread safety: the thread using the ring (also from inside a callback); any thread with
/// `AR_RING_THREADSAFE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_submit(ring: *mut Ring) -> c_int {
    // SAFETY: the caller passes NULL or a live ring.
    boundary(|| Ok(unsafe { self::ring(ring) }?.submit()? as c_int))
}

/// Submits queued operations and delivers completions by callback on this thread.
///
/// Parameters: `ring`: the ring. `mode`: `AR_RUN_NOWAIT`, `AR_RUN_ONCE` or
/// `AR_RUN_UNTIL_DONE`.
///
/// Returns: the number of callbacks run (completions and posted functions), or `-EINVAL`
/// (NULL ring, unknown mode), `-EBUSY` (called from inside a callback, or another thread is
/// using the ring), `-EINTR` (a signal arrived while blocking and nothing was delivered).
///
/// Memory and lifetimes: each callback's `ar_completion` is valid only during the callback.
///
/// Thread safety: one thread at a time. With `AR_RING_THREADSAFE` it never enters the
/// kernel (it waits in `poll(2)` on the notification fd), so any thread may be the one, and
/// other threads may queue operations meanwhile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_run(ring: *mut Ring, mode: ar_run_mode) -> c_int {
    boundary(|| {
        let mode = match mode {
            AR_RUN_NOWAIT => RunMode::NoWait,
            AR_RUN_ONCE => RunMode::Once,
            AR_RUN_UNTIL_DONE => RunMode::UntilDone,
            _ => return Err(Errno::EINVAL),
        };
        // SAFETY: the caller passes NULL or a live ring.
        Ok(unsafe { self::ring(ring) }?.run(mode)?.min(i32::MAX as u32) as c_int)
    })
}

/// The number of operations queued and not yet finally completed.
///
/// Parameters: `ring`: the ring.
///
/// Returns: the count; 0 for a NULL ring.
///
/// Memory and lifetimes: none.
///
/// Thread safety: any thread (the value may be stale by the time it is used).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_inflight(ring: *const Ring) -> u32 {
    // SAFETY: the caller passes NULL or a live ring.
    boundary(|| Ok(unsafe { self::ring(ring) }?.inflight()))
}

/// The ring runs on io_uring (`ar_ring_backend`).
pub const AR_BACKEND_URING: c_int = 1;
/// The ring runs on the fallback backend: epoll readiness, a thread pool for files and
/// other blocking calls, user-space timers (where io_uring is unusable, or forced with
/// `AR_RING_FORCE_FALLBACK` or `ASYNCRING_BACKEND=fallback`). Same API, callbacks and
/// guarantees; the differences are listed in the README ("Fallback backend").
pub const AR_BACKEND_FALLBACK: c_int = 2;

/// Which backend a ring runs on.
///
/// Parameters: `ring`: the ring.
///
/// Returns: `AR_BACKEND_URING` or `AR_BACKEND_FALLBACK`; `-EINVAL` for a NULL ring.
///
/// Memory and lifetimes: none.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_backend(ring: *const Ring) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes NULL or a live ring.
        Ok(match unsafe { self::ring(ring) }?.backend() {
            Backend::Uring => AR_BACKEND_URING,
            Backend::Fallback => AR_BACKEND_FALLBACK,
        })
    })
}

/// Queues `fn(userdata)` to run on the ring's thread inside a later `ar_ring_run`, and wakes
/// the ring: a thread blocked in `ar_ring_run` returns, and the notification fd becomes
/// readable.
///
/// Parameters: `ring`: the ring. `userdata`: passed to `fn`. `fn`: the function.
///
/// Returns: 0, or `-EINVAL` (NULL ring or fn), `-ENOMEM`.
///
/// Memory and lifetimes: `userdata` must stay valid until `fn` runs. Work posted before
/// `ar_ring_free` runs during it.
///
/// Thread safety: any thread, concurrently with everything but `ar_ring_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_post(ring: *mut Ring, userdata: *mut c_void, r#fn: PostFn) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes NULL or a live ring, and `fn` may be called with
        // `userdata` on the ring's thread (the C contract above).
        unsafe { self::ring(ring)?.post(userdata, r#fn) }?;
        Ok(0)
    })
}

/// Tells whether io_uring is usable here and, if not, why: seccomp, the
/// `kernel.io_uring_disabled` sysctl, or a kernel too old.
///
/// Parameters: `out_probe`: receives the diagnosis (status, `AR_PROBE_*` reason, kernel
/// release, a message); may be NULL.
///
/// Returns: 0 when io_uring is usable, else the `-errno` `ar_ring_new` would fail with.
/// Unlike other calls, `*out_probe` is written in both cases: the diagnosis is the point.
///
/// Memory and lifetimes: creates and frees a small ring.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_probe(out_probe: *mut Probe) -> c_int {
    boundary(|| {
        let p = probe();
        if !out_probe.is_null() {
            // SAFETY: non-NULL, and the caller passes writable memory.
            unsafe { out_probe.write(p) };
        }
        Ok(p.status)
    })
}

/// Describes an error code: a static string for `-errno` (or `errno`), saying what it means
/// for a caller of this library.
///
/// Parameters: `err`: a negative (or positive) errno value.
///
/// Returns: a NUL-terminated static string; never NULL.
///
/// Memory and lifetimes: static; do not free.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ar_strerror(err: c_int) -> *const c_char {
    describe(err).as_ptr()
}

/// The library's version, `"MAJOR.MINOR.PATCH"`; compare with the `AR_VERSION_*` macros of
/// the header you compiled against.
///
/// Parameters: none.
///
/// Returns: a NUL-terminated static string.
///
/// Memory and lifetimes: static; do not free.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn ar_version() -> *const c_char {
    crate::version::VERSION_CSTR.as_ptr()
}

/// Registers `count` buffers for `ar_op_read_fixed`/`ar_op_write_fixed`, which name one by
/// its index in `iovs`.
///
/// Parameters: `ring`; `iovs`, `count`: 1 to 16384 buffers.
///
/// Returns: 0, or `-EINVAL` (NULL pointers, bad count), `-EBUSY` (buffers already registered,
/// or another thread is using the ring), `-ENOMEM`/`-EFAULT` from the kernel.
///
/// Memory and lifetimes: the array is read during the call; the buffers must stay valid
/// until `ar_ring_unregister_buffers` or `ar_ring_free`.
///
/// Thread safety: the thread using the ring.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_register_buffers(ring: *mut Ring, iovs: *const libc::iovec, count: u32) -> c_int {
    // SAFETY: the caller passes valid pointers.
    boundary(|| unsafe { self::ring(ring)?.register_buffers(iovs, count) }.map(|()| 0))
}

/// Unregisters the ring's registered buffers.
///
/// Parameters: `ring`.
///
/// Returns: 0, or `-ENXIO` (none registered), `-EINVAL`, `-EBUSY`.
///
/// Memory and lifetimes: the buffers are yours again once operations using them completed.
///
/// Thread safety: the thread using the ring.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_unregister_buffers(ring: *mut Ring) -> c_int {
    // SAFETY: the caller passes NULL or a live ring.
    boundary(|| unsafe { self::ring(ring) }?.unregister_buffers().map(|()| 0))
}

/// Registers `count` file descriptors: with `AR_OP_FIXED_FILE` an operation's `fd` is an
/// index into this table, which saves the kernel a lookup per operation.
///
/// Parameters: `ring`; `fds`, `count`: descriptors, `-1` for an empty slot.
///
/// Returns: 0, or `-EINVAL`, `-EBUSY` (files already registered), `-EBADF`, `-EMFILE`.
///
/// Memory and lifetimes: the array is read during the call; the kernel holds its own
/// references, so closing a registered fd does not remove it from the table.
///
/// Thread safety: the thread using the ring.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_register_files(ring: *mut Ring, fds: *const c_int, count: u32) -> c_int {
    // SAFETY: the caller passes valid pointers.
    boundary(|| unsafe { self::ring(ring)?.register_files(fds, count) }.map(|()| 0))
}

/// Replaces `count` registered files from slot `offset` (`-1` empties a slot).
///
/// Parameters: `ring`; `offset`: the first slot; `fds`, `count`: the new descriptors.
///
/// Returns: the number of slots updated, or `-EINVAL`, `-ENXIO` (no table), `-EBADF`.
///
/// Memory and lifetimes: the array is read during the call.
///
/// Thread safety: the thread using the ring.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_update_files(ring: *mut Ring, offset: u32, fds: *const c_int, count: u32) -> c_int {
    // SAFETY: the caller passes valid pointers.
    boundary(|| unsafe { self::ring(ring)?.update_files(offset, fds, count) }.map(|n| n as c_int))
}

/// Unregisters the ring's file table.
///
/// Parameters: `ring`.
///
/// Returns: 0, or `-ENXIO` (none registered), `-EINVAL`, `-EBUSY`.
///
/// Memory and lifetimes: none.
///
/// Thread safety: the thread using the ring.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ar_ring_unregister_files(ring: *mut Ring) -> c_int {
    // SAFETY: the caller passes NULL or a live ring.
    boundary(|| unsafe { self::ring(ring) }?.unregister_files().map(|()| 0))
}
