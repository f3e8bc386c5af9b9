//! The ring's guarantees, exercised through the Rust API against the real kernel.

mod common;

use std::ffi::c_void;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use asyncring::op::{self, AR_OP_LINK};
use asyncring::{Errno, OpOpts, RingConfig, RunMode};
use common::{Log, record, ring, ring_with};

#[test]
fn nop_completes_once_with_zero() {
    let Some(r) = ring() else { return };
    let mut log = Log::default();
    // SAFETY: the log outlives the run.
    let id = unsafe { r.queue(op::Nop, None, log.ud(), Some(record)) }.unwrap();
    assert!(id > 0);
    assert_eq!(r.inflight(), 1);
    assert_eq!(r.run(RunMode::UntilDone).unwrap(), 1);
    assert_eq!(log.finals_for(id), 1);
    assert_eq!(log.res_of(id), 0);
    assert_eq!(r.inflight(), 0);
    assert_eq!(r.run(RunMode::Once).unwrap(), 0, "nothing in flight: ONCE returns at once");
}

#[test]
fn tiny_sq_loses_nothing() {
    // 4 SQ entries, 10 000 operations queued before any submit: the backlog holds them.
    let Some(r) = ring_with(RingConfig { sq_entries: 4, cq_entries: 8, ..RingConfig::default() }) else {
        return;
    };
    let mut log = Log::default();
    let mut ids = Vec::new();
    for _ in 0..10_000 {
        // SAFETY: the log outlives the run.
        ids.push(unsafe { r.queue(op::Nop, None, log.ud(), Some(record)) }.unwrap());
    }
    r.run(RunMode::UntilDone).unwrap();
    assert_eq!(log.0.len(), 10_000);
    for id in ids {
        assert_eq!(log.finals_for(id), 1);
    }
}

#[test]
fn deadline_is_not_cancel() {
    let Some(r) = ring() else { return };
    let (rd, _wr) = pipe();
    let mut buf = [0u8; 8];
    let mut log = Log::default();
    let opts = OpOpts { timeout_ns: 20_000_000, ..OpOpts::default() };
    // SAFETY: buffers and log outlive the run.
    let timed = unsafe {
        r.queue(
            op::Read { fd: rd.as_raw_fd(), buf: buf.as_mut_ptr(), len: 8, offset: u64::MAX },
            Some(&opts),
            log.ud(),
            Some(record),
        )
    }
    .unwrap();
    let mut buf2 = [0u8; 8];
    // SAFETY: as above.
    let cancelled = unsafe {
        r.queue(
            op::Read { fd: rd.as_raw_fd(), buf: buf2.as_mut_ptr(), len: 8, offset: u64::MAX },
            None,
            log.ud(),
            Some(record),
        )
    }
    .unwrap();
    r.submit().unwrap();
    // SAFETY: as above.
    let c = unsafe { r.cancel(cancelled, None, log.ud(), Some(record)) }.unwrap();
    r.run(RunMode::UntilDone).unwrap();
    assert_eq!(log.res_of(timed), -libc::ETIMEDOUT);
    assert_eq!(log.res_of(cancelled), -libc::ECANCELED);
    assert_eq!(log.res_of(c), 0);
    assert_eq!(log.0.len(), 3, "the deadline timer's own CQE is internal: {:?}", log.0);
}

#[test]
fn stale_id_cancel_is_enoent_and_harmless() {
    let Some(r) = ring() else { return };
    let mut log = Log::default();
    // SAFETY: the log outlives the run.
    let old = unsafe { r.queue(op::Nop, None, log.ud(), Some(record)) }.unwrap();
    r.run(RunMode::UntilDone).unwrap();
    // The next operation reuses the record under a new generation.
    // SAFETY: as above.
    let timer = unsafe { r.queue(op::Timeout { ns: 30_000_000 }, None, log.ud(), Some(record)) }.unwrap();
    assert_ne!(old, timer);
    // SAFETY: as above.
    let stale = unsafe { r.cancel(old, None, log.ud(), Some(record)) };
    assert_eq!(stale, Err(Errno::ENOENT));
    // SAFETY: as above.
    let unknown = unsafe { r.cancel(12345, None, log.ud(), Some(record)) };
    assert_eq!(unknown, Err(Errno::ENOENT));
    r.run(RunMode::UntilDone).unwrap();
    assert_eq!(log.res_of(timer), 0, "the timer fired normally, untouched by the stale cancel");
}

#[test]
fn timer_fires_with_zero_after_its_delay() {
    let Some(r) = ring() else { return };
    let mut log = Log::default();
    let t0 = Instant::now();
    // SAFETY: the log outlives the run.
    let id = unsafe { r.queue(op::Timeout { ns: 30_000_000 }, None, log.ud(), Some(record)) }.unwrap();
    r.run(RunMode::UntilDone).unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(29));
    assert_eq!(log.res_of(id), 0);
}

#[test]
fn linked_chain_runs_in_order_and_breaks_on_error() {
    let Some(r) = ring() else { return };
    let mut log = Log::default();
    let link = OpOpts { flags: AR_OP_LINK, ..OpOpts::default() };
    let mut buf = [0u8; 4];
    // A read from a bad (but non-negative) fd fails; the linked nop must be cancelled.
    // SAFETY: the log and buffer outlive the run.
    let bad = unsafe {
        r.queue(op::Read { fd: 9999, buf: buf.as_mut_ptr(), len: 4, offset: 0 }, Some(&link), log.ud(), Some(record))
    }
    .unwrap();
    // SAFETY: as above.
    let next = unsafe { r.queue(op::Nop, None, log.ud(), Some(record)) }.unwrap();
    r.run(RunMode::UntilDone).unwrap();
    assert_eq!(log.res_of(bad), -libc::EBADF);
    assert_eq!(log.res_of(next), -libc::ECANCELED);
}

#[test]
fn teardown_delivers_every_final_callback() {
    let Some(r) = ring() else { return };
    let (rd, _wr) = pipe();
    let mut log = Log::default();
    let mut bufs = vec![[0u8; 16]; 64];
    let mut ids = Vec::new();
    for b in bufs.iter_mut() {
        // SAFETY: buffers and log outlive the ring (dropped below).
        ids.push(
            unsafe {
                r.queue(
                    op::Read { fd: rd.as_raw_fd(), buf: b.as_mut_ptr(), len: 16, offset: u64::MAX },
                    None,
                    log.ud(),
                    Some(record),
                )
            }
            .unwrap(),
        );
    }
    r.submit().unwrap();
    // SAFETY: as above: these never reach the kernel.
    let unsubmitted = unsafe { r.queue(op::Timeout { ns: 10_000_000_000 }, None, log.ud(), Some(record)) }.unwrap();
    drop(r);
    for id in ids.iter().chain([&unsubmitted]) {
        assert_eq!(log.finals_for(*id), 1);
        assert_eq!(log.res_of(*id), -libc::ECANCELED);
    }
}

#[test]
fn bad_input_is_rejected_without_queueing() {
    let Some(r) = ring() else { return };
    let mut log = Log::default();
    let ud = log.ud();
    let mut buf = [0u8; 4];
    let bad_flags = OpOpts { flags: 1 << 20, ..OpOpts::default() };
    let reserved = OpOpts { reserved: 1, ..OpOpts::default() };
    let fixed = OpOpts { flags: asyncring::op::AR_OP_FIXED_FILE, ..OpOpts::default() };
    // SAFETY: every call is rejected before anything is queued.
    unsafe {
        assert_eq!(r.queue(op::Nop, None, ud, None), Err(Errno::EINVAL));
        assert_eq!(r.queue(op::Nop, Some(&bad_flags), ud, Some(record)), Err(Errno::EINVAL));
        assert_eq!(r.queue(op::Nop, Some(&reserved), ud, Some(record)), Err(Errno::EINVAL));
        assert_eq!(r.queue(op::Nop, Some(&fixed), ud, Some(record)), Err(Errno::EINVAL));
        assert_eq!(
            r.queue(op::Read { fd: -1, buf: buf.as_mut_ptr(), len: 4, offset: 0 }, None, ud, Some(record)),
            Err(Errno::EBADF)
        );
        assert_eq!(
            r.queue(op::Read { fd: 0, buf: std::ptr::null_mut(), len: 4, offset: 0 }, None, ud, Some(record)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            r.queue(op::Read { fd: 0, buf: buf.as_mut_ptr(), len: 1 << 40, offset: 0 }, None, ud, Some(record)),
            Err(Errno::EINVAL)
        );
        assert_eq!(r.queue(op::Fsync { fd: 0, flags: 7 }, None, ud, Some(record)), Err(Errno::EINVAL));
        assert_eq!(
            r.queue(
                op::OpenAt { dirfd: libc::AT_FDCWD, path: std::ptr::null(), flags: 0, mode: 0 },
                None,
                ud,
                Some(record)
            ),
            Err(Errno::EINVAL)
        );
    }
    assert_eq!(r.inflight(), 0);
    assert_eq!(r.run(RunMode::NoWait).unwrap(), 0);
    assert!(log.0.is_empty());
}

#[test]
fn post_from_another_thread_wakes_a_blocked_run() {
    let Some(r) = ring() else { return };
    let mut log = Log::default();
    // A long timer keeps the ring waiting; the post must wake it well before.
    // SAFETY: the log outlives the run.
    let timer = unsafe { r.queue(op::Timeout { ns: 5_000_000_000 }, None, log.ud(), Some(record)) }.unwrap();
    static mut HITS: u32 = 0;
    unsafe extern "C" fn hit(_: *mut c_void) {
        // SAFETY: only the ring's thread runs posted work.
        unsafe { HITS += 1 };
    }
    let t0 = Instant::now();
    std::thread::scope(|s| {
        let rr = &*r;
        s.spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            // SAFETY: `hit` ignores its userdata and runs on the ring's thread.
            unsafe { rr.post(std::ptr::null_mut(), Some(hit)) }.unwrap();
        });
        assert_eq!(r.run(RunMode::Once).unwrap(), 1);
    });
    assert!(t0.elapsed() < Duration::from_secs(2));
    // SAFETY: the posting thread has finished.
    assert_eq!(unsafe { HITS }, 1);
    // SAFETY: the log outlives the run.
    unsafe { r.cancel(timer, None, log.ud(), Some(record)) }.unwrap();
    r.run(RunMode::UntilDone).unwrap();
    assert_eq!(log.res_of(timer), -libc::ECANCELED);
}

#[test]
fn second_thread_gets_ebusy_while_ring_is_running() {
    let Some(r) = ring() else { return };
    let mut log = Log::default();
    // SAFETY: the log outlives the run.
    unsafe { r.queue(op::Timeout { ns: 100_000_000 }, None, log.ud(), Some(record)) }.unwrap();
    std::thread::scope(|s| {
        let rr = &*r;
        let h = s.spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            (rr.submit(), rr.run(RunMode::NoWait))
        });
        r.run(RunMode::UntilDone).unwrap();
        let (a, b) = h.join().unwrap();
        assert_eq!(a, Err(Errno::EBUSY));
        assert_eq!(b, Err(Errno::EBUSY));
    });
}

fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    use std::os::fd::FromRawFd;
    // SAFETY: fresh fds we own.
    unsafe { (std::os::fd::OwnedFd::from_raw_fd(fds[0]), std::os::fd::OwnedFd::from_raw_fd(fds[1])) }
}
