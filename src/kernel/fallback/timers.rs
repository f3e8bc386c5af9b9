//! The fallback backend's timers: a min-heap of deadlines on `CLOCK_MONOTONIC`, each entry
//! naming a request slot and generation. A cancelled timer's entry is left in place and
//! skipped when it comes up (the slot's generation or state no longer matches), and the heap
//! is compacted when such entries outnumber the live ones.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Now on `CLOCK_MONOTONIC`, in nanoseconds (the clock io_uring's timeouts use).
pub(super) fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes one timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[derive(Default)]
pub(super) struct Timers {
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
    live: usize,
}

impl Timers {
    pub(super) fn add(&mut self, deadline: u64, slot: u32, generation: u32) {
        self.heap.push(Reverse((deadline, slot, generation)));
        self.live += 1;
    }

    /// A timer was removed from its request without firing.
    pub(super) fn forget(&mut self, is_live: impl Fn(u32, u32) -> bool) {
        self.live = self.live.saturating_sub(1);
        if self.heap.len() > 64 && self.heap.len() > 4 * self.live.max(1) {
            self.heap.retain(|Reverse((_, slot, generation))| is_live(*slot, *generation));
            self.live = self.heap.len();
        }
    }

    /// The earliest deadline, if any (possibly of a forgotten timer: waking once early is
    /// harmless).
    pub(super) fn next(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((d, _, _))| *d)
    }

    /// Pops one entry due at `now`.
    pub(super) fn pop_due(&mut self, now: u64) -> Option<(u32, u32)> {
        match self.heap.peek() {
            Some(Reverse((d, _, _))) if *d <= now => {
                let Reverse((_, slot, generation)) = self.heap.pop()?;
                Some((slot, generation))
            }
            _ => None,
        }
    }

    /// A popped entry belonged to a live timer.
    pub(super) fn fired(&mut self) {
        self.live = self.live.saturating_sub(1);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
