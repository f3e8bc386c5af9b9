//! Zero heap allocations per operation in steady state (SPEC §7), counted by a global
//! allocator over thousands of queue → submit → callback cycles after a warm-up.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

use asyncring::op;
use asyncring::{OpOpts, RunMode};
use common::{Log, record, ring};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_operations_allocate_nothing() {
    let Some(r) = ring() else { return };
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    let mut buf = vec![0u8; 4096];
    let iov = [libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: 512 }; 4];
    let deadline = OpOpts { timeout_ns: 1_000_000_000, ..OpOpts::default() };
    let mut log = Log::default();
    log.0.reserve(1_000_000);
    let cycle = |log: &mut Log, buf: &mut Vec<u8>| {
        // SAFETY: the buffers and the log outlive each run.
        unsafe {
            for _ in 0..32 {
                r.queue(op::Nop, None, log.ud(), Some(record)).unwrap();
            }
            r.queue(
                op::Read { fd: file.as_raw_fd(), buf: buf.as_mut_ptr(), len: 4096, offset: 0 },
                Some(&deadline),
                log.ud(),
                Some(record),
            )
            .unwrap();
            r.queue(
                op::Readv { fd: file.as_raw_fd(), iov: iov.as_ptr(), iovcnt: 4, offset: 0 },
                None,
                log.ud(),
                Some(record),
            )
            .unwrap();
            r.queue(
                op::Statx {
                    dirfd: libc::AT_FDCWD,
                    path: c"/proc/self/exe".as_ptr(),
                    flags: 0,
                    mask: libc::STATX_SIZE,
                    out: &mut std::mem::zeroed(),
                },
                None,
                log.ud(),
                Some(record),
            )
            .unwrap();
            r.queue(op::Timeout { ns: 1000 }, None, log.ud(), Some(record)).unwrap();
        }
        r.run(RunMode::UntilDone).unwrap();
    };
    for _ in 0..200 {
        cycle(&mut log, &mut buf);
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..2000 {
        cycle(&mut log, &mut buf);
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    assert_eq!(log.0.len(), 2200 * 36);
    assert!(log.0.iter().all(|s| s.res >= 0), "every operation succeeded");
    assert_eq!(allocs, 0, "{allocs} heap allocations over 72 000 operations in steady state");
}
