//! Helpers shared by the Rust integration tests.
#![allow(dead_code)]

use std::ffi::c_void;

use asyncring::{Completion, Ring, RingConfig};

/// What one callback saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub op: i64,
    pub res: i32,
    pub flags: u32,
}

/// A log of completions; pass `log.ud()` as userdata and `record` as the callback.
#[derive(Default)]
pub struct Log(pub Vec<Seen>);

impl Log {
    pub fn ud(&mut self) -> *mut c_void {
        (self as *mut Log).cast()
    }
    pub fn finals_for(&self, op: i64) -> usize {
        self.0.iter().filter(|s| s.op == op && s.flags & asyncring::AR_COMPLETION_MORE == 0).count()
    }
    pub fn res_of(&self, op: i64) -> i32 {
        self.0.iter().find(|s| s.op == op).expect("no completion").res
    }
}

pub unsafe extern "C" fn record(ud: *mut c_void, c: *const Completion) {
    // SAFETY: tests pass a live Log and the ring passes a valid completion.
    unsafe {
        let log = &mut *(ud as *mut Log);
        let c = &*c;
        log.0.push(Seen { op: c.op, res: c.res, flags: c.flags });
    }
}

/// A ring, or None (with a message) where io_uring is unavailable. CI sets
/// ASYNCRING_REQUIRE_URING=1 so that a missing io_uring fails instead of skipping.
pub fn ring_with(config: RingConfig) -> Option<Box<Ring>> {
    match Ring::new(Some(&config)) {
        Ok(r) => Some(r),
        Err(e) => {
            let p = asyncring::probe::probe();
            if std::env::var_os("ASYNCRING_REQUIRE_URING").is_some() {
                panic!("io_uring required but unavailable: {e} ({})", p.message());
            }
            eprintln!("SKIP: io_uring unavailable: {}", p.message());
            None
        }
    }
}

pub fn ring() -> Option<Box<Ring>> {
    ring_with(RingConfig::new())
}
