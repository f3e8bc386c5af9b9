//! AR_RING_THREADSAFE (docs/DESIGN.md, "Threading"): any thread queues; only the ring's own thread enters the
//! kernel, so operations outlive the threads that queued them.

mod common;

use std::ffi::c_void;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use asyncring::{AR_RING_SQPOLL, AR_RING_THREADSAFE, Completion, Errno, RingConfig, RunMode, op};

/// Both ways to be thread-safe: a submitter thread, or the kernel's SQPOLL thread.
const MODES: [u32; 2] = [AR_RING_THREADSAFE, AR_RING_THREADSAFE | AR_RING_SQPOLL];
use common::{Log, record, ring_with};

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds we own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Queues a pipe read from a thread that then exits, writes the data 100 ms later, and
/// returns the read's result.
fn read_queued_by_exited_thread(flags: u32, submit_from_thread: bool) -> Option<i32> {
    let r = ring_with(RingConfig { flags, ..RingConfig::new() })?;
    let (rd, wr) = pipe();
    let mut buf = [0u8; 8];
    let mut log = Log::default();
    let (ud, bufp, fd) = (log.ud() as usize, buf.as_mut_ptr() as usize, rd.as_raw_fd());
    let rr = &*r;
    let id = std::thread::scope(|s| {
        s.spawn(move || {
            // SAFETY: the buffer and log outlive the ring's use of them (run below).
            let id = unsafe {
                rr.queue(
                    op::Read { fd, buf: bufp as *mut u8, len: 8, offset: u64::MAX },
                    None,
                    ud as *mut c_void,
                    Some(record),
                )
            }
            .unwrap();
            if submit_from_thread {
                rr.submit().unwrap();
            }
            id
        })
        .join()
        .unwrap()
    });
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: writes 4 bytes from a live buffer to our pipe.
    assert_eq!(unsafe { libc::write(wr.as_raw_fd(), b"data".as_ptr().cast(), 4) }, 4);
    r.run(RunMode::UntilDone).unwrap();
    Some(log.res_of(id))
}

#[test]
fn operation_outlives_the_thread_that_queued_it() {
    for flags in MODES {
        let Some(res) = read_queued_by_exited_thread(flags, true) else { return };
        assert_eq!(res, 4, "flags {flags:#x}: the read completes normally after its queueing thread exited");
    }
}

#[test]
fn default_ring_shows_the_hazard_threadsafe_mode_removes() {
    // The kernel cancels a request when its submitting thread exits: this is why
    // AR_RING_THREADSAFE exists. (If a future kernel stops doing that, this test says so.)
    let Some(res) = read_queued_by_exited_thread(0, true) else { return };
    if asyncring::Ring::new(None).unwrap().backend() == asyncring::Backend::Fallback {
        // No request belongs to a thread on the fallback backend: no hazard there.
        assert_eq!(res, 4);
    } else {
        assert_eq!(res, -libc::ECANCELED);
    }
}

static DONE: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn count(_: *mut c_void, c: *const Completion) {
    // SAFETY: the ring passes a valid completion.
    assert!(unsafe { (*c).res } >= 0);
    DONE.fetch_add(1, Ordering::Relaxed);
}

#[test]
fn many_threads_queue_while_the_host_runs() {
    for flags in MODES {
        many_threads_queue_while_the_host_runs_on(flags);
    }
}

fn many_threads_queue_while_the_host_runs_on(flags: u32) {
    let Some(r) = ring_with(RingConfig { flags, sq_entries: 32, ..RingConfig::default() }) else {
        return;
    };
    DONE.store(0, Ordering::Relaxed);
    const THREADS: u32 = 4;
    const PER: u32 = 5000;
    let t0 = Instant::now();
    std::thread::scope(|s| {
        let rr = &*r;
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..PER {
                    // SAFETY: these operations point at no memory.
                    let id = unsafe {
                        if i % 4 == 0 {
                            rr.queue(op::Timeout { ns: 1000 }, None, std::ptr::null_mut(), Some(count))
                        } else {
                            rr.queue(op::Nop, None, std::ptr::null_mut(), Some(count))
                        }
                    };
                    assert!(id.is_ok(), "thread {t}: {id:?}");
                }
            });
        }
        // The host delivers concurrently, blocking in ONCE between batches.
        while DONE.load(Ordering::Relaxed) < THREADS * PER {
            r.run(RunMode::Once).unwrap();
            assert!(t0.elapsed() < Duration::from_secs(60), "stuck at {}", DONE.load(Ordering::Relaxed));
        }
    });
    assert_eq!(DONE.load(Ordering::Relaxed), THREADS * PER);
    assert_eq!(r.inflight(), 0);
}

#[test]
fn second_runner_is_refused_but_queueing_threads_are_not() {
    for flags in MODES {
        second_runner_is_refused_on(flags);
    }
}

fn second_runner_is_refused_on(flags: u32) {
    let Some(r) = ring_with(RingConfig { flags, ..RingConfig::new() }) else { return };
    let mut log = Log::default();
    let ud = log.ud() as usize;
    // SAFETY: the log outlives the run.
    let timer = unsafe { r.queue(op::Timeout { ns: 150_000_000 }, None, log.ud(), Some(record)) }.unwrap();
    std::thread::scope(|s| {
        let rr = &*r;
        let h = s.spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            let second_run = rr.run(RunMode::NoWait);
            // SAFETY: the log outlives the run.
            let queued = unsafe { rr.queue(op::Nop, None, ud as *mut c_void, Some(record)) };
            (second_run, queued)
        });
        r.run(RunMode::UntilDone).unwrap();
        let (second_run, queued) = h.join().unwrap();
        assert_eq!(second_run, Err(Errno::EBUSY));
        let nop = queued.unwrap();
        r.run(RunMode::UntilDone).unwrap();
        assert_eq!(log.res_of(nop), 0);
    });
    assert_eq!(log.res_of(timer), 0);
}

#[test]
fn teardown_with_operations_from_other_threads() {
    for flags in MODES {
        teardown_with_operations_from_other_threads_on(flags);
    }
}

fn teardown_with_operations_from_other_threads_on(flags: u32) {
    let Some(r) = ring_with(RingConfig { flags, ..RingConfig::new() }) else { return };
    let (rd, _wr) = pipe();
    let mut bufs = [[0u8; 8]; 16];
    let mut log = Log::default();
    let ud = log.ud() as usize;
    let ptrs: Vec<usize> = bufs.iter_mut().map(|b| b.as_mut_ptr() as usize).collect();
    std::thread::scope(|s| {
        let rr = &*r;
        for p in ptrs {
            let fd = rd.as_raw_fd();
            s.spawn(move || {
                // SAFETY: buffers and log outlive the ring (dropped below).
                unsafe {
                    rr.queue(
                        op::Read { fd, buf: p as *mut u8, len: 8, offset: u64::MAX },
                        None,
                        ud as *mut c_void,
                        Some(record),
                    )
                }
                .unwrap();
            });
        }
    });
    std::thread::sleep(Duration::from_millis(20));
    drop(r);
    assert_eq!(log.0.len(), 16);
    assert!(log.0.iter().all(|s| s.res == -libc::ECANCELED));
}
