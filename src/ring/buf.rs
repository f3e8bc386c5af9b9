//! Buffer groups: the kernel's provided-buffer rings (`IORING_REGISTER_PBUF_RING`, 5.19).
//!
//! A group is `count` buffers of `size` bytes the kernel picks from when data arrives, so a
//! server with thousands of idle connections needs no buffer per connection. A completion
//! that used one carries it (`AR_COMPLETION_BUFFER`, `buf`, `buf_id`), and the buffer is
//! *lent* to the user until `recycle` hands it back. A bitmap of lent buffers makes a double
//! or bogus recycle an `-EINVAL` instead of silent corruption.
//!
//! This module holds the group's data; what a ring does with its groups (registration,
//! parking receives, cancelling users on free) is in `groups`.
//!
//! Lifetimes: a group belongs to one ring. Freeing it while operations still use it cancels
//! those operations and defers the release of its memory until their final completions; the
//! kernel never writes into freed memory. A ring freed before its groups unregisters them
//! and leaves their memory to `ar_bufgroup_free`, so either order is safe.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};

use crate::error::Errno;

/// The kernel's limit on entries in a provided-buffer ring.
const MAX_COUNT: u32 = 32768;

/// One entry of the kernel's buffer ring (`struct io_uring_buf`).
#[repr(C)]
struct RingEntry {
    addr: u64,
    len: u32,
    bid: u16,
    /// In entry 0 this field is the ring's tail (`struct io_uring_buf_ring`).
    resv: u16,
}

/// An anonymous private mapping, unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> Result<Mapping, Errno> {
        // SAFETY: an anonymous private mapping; no file, no fixed address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(Mapping { ptr: ptr.cast(), len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// The mutable part, touched only by the thread holding the owning ring's claim.
pub(crate) struct GroupState {
    tail: u16,
    /// One bit per buffer: lent to the user (delivered, not yet recycled).
    lent: Vec<u64>,
    lent_count: u32,
    /// Live operations that use this group.
    pub(crate) users: u32,
    /// `ar_bufgroup_free` was called: release once `users` reaches 0.
    pub(crate) freed: bool,
    /// Multishot receives that ran out of buffers and wait to be re-armed (`AR_OP_REARM`).
    pub(crate) parked: Vec<i64>,
}

/// A buffer group (`ar_bufgroup`).
pub struct BufGroup {
    /// The owning ring, valid while `orphaned` is false.
    pub(crate) ring: *const crate::ring::Ring,
    /// The owning ring's identity (`Ring::id`): what a ring compares to recognise its own
    /// groups, since another ring may be allocated at a freed ring's address.
    pub(crate) ring_id: u64,
    pub(crate) bgid: u16,
    /// The ring was freed first: the kernel no longer knows this group, and its state
    /// belongs to whoever holds the group. Atomic, because `ar_bufgroup_*` read it before
    /// they know whether there is a ring to claim.
    orphaned: AtomicBool,
    count: u32,
    size: u32,
    entries: Mapping,
    bufs: Mapping,
    state: UnsafeCell<GroupState>,
}

impl BufGroup {
    /// Allocates the memory and fills the ring with every buffer. The caller registers it.
    pub(crate) fn new(
        ring: *const crate::ring::Ring,
        ring_id: u64,
        bgid: u16,
        count: u32,
        size: u32,
    ) -> Result<Box<BufGroup>, Errno> {
        if count == 0 || !count.is_power_of_two() || count > MAX_COUNT || size == 0 || size > i32::MAX as u32 {
            return Err(Errno::EINVAL);
        }
        let total = (count as usize).checked_mul(size as usize).ok_or(Errno::EINVAL)?;
        if total > isize::MAX as usize / 2 {
            return Err(Errno::EINVAL);
        }
        let entries = Mapping::new(count as usize * std::mem::size_of::<RingEntry>())?;
        let bufs = Mapping::new(total)?;
        let words = (count as usize).div_ceil(64);
        let mut lent = Vec::new();
        lent.try_reserve_exact(words).map_err(|_| Errno::ENOMEM)?;
        lent.resize(words, 0);
        let group = Box::new(BufGroup {
            ring,
            ring_id,
            bgid,
            orphaned: AtomicBool::new(false),
            count,
            size,
            entries,
            bufs,
            state: UnsafeCell::new(GroupState {
                tail: 0,
                lent,
                lent_count: 0,
                users: 0,
                freed: false,
                parked: Vec::new(),
            }),
        });
        for bid in 0..count as u16 {
            group.put(bid);
        }
        group.publish();
        Ok(group)
    }

    /// The ring memory's address, for `IORING_REGISTER_PBUF_RING`.
    pub(crate) fn ring_addr(&self) -> u64 {
        self.entries.ptr as u64
    }

    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// Whether the ring was freed first (see `orphaned`).
    pub(crate) fn is_orphaned(&self) -> bool {
        self.orphaned.load(Ordering::Acquire)
    }

    /// Called by the ring's teardown, after it unregistered the group.
    pub(crate) fn set_orphaned(&self) {
        self.orphaned.store(true, Ordering::Release);
    }

    /// # Safety
    ///
    /// The caller holds the owning ring's claim (or the ring is gone and the caller owns the
    /// group), and no other reference into the state is live.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn state(&self) -> &mut GroupState {
        // SAFETY: the caller's contract.
        unsafe { &mut *self.state.get() }
    }

    /// The address of buffer `bid`.
    pub(crate) fn buf_ptr(&self, bid: u16) -> *mut u8 {
        // SAFETY: `bid < count` (checked by callers), so the offset stays in the mapping.
        unsafe { self.bufs.ptr.add(bid as usize * self.size as usize) }
    }

    /// Writes buffer `bid` into the ring at the local tail (not yet visible to the kernel).
    fn put(&self, bid: u16) {
        // SAFETY: called under the claim (or during construction).
        let st = unsafe { self.state() };
        let slot = (st.tail as u32 & (self.count - 1)) as usize;
        let entry = self.entries.ptr.cast::<RingEntry>();
        // SAFETY: `slot < count` entries were mapped. Field by field: entry 0's `resv` is the
        // tail the kernel reads, which must not be overwritten here.
        unsafe {
            let e = entry.add(slot);
            (&raw mut (*e).addr).write(self.buf_ptr(bid) as u64);
            (&raw mut (*e).len).write(self.size);
            (&raw mut (*e).bid).write(bid);
        }
        st.tail = st.tail.wrapping_add(1);
    }

    /// Makes every buffer `put` so far visible to the kernel.
    fn publish(&self) {
        // SAFETY: called under the claim.
        let tail = unsafe { self.state() }.tail;
        // SAFETY: the tail is the u16 at byte 14 of the ring (struct io_uring_buf_ring), which
        // the kernel reads concurrently: a release store orders the entries before it.
        let tail_ptr = unsafe { &*self.entries.ptr.add(14).cast::<AtomicU16>() };
        tail_ptr.store(tail, Ordering::Release);
    }

    /// Records that the kernel lent buffer `bid` to the user through a completion.
    pub(crate) fn lend(&self, bid: u16) {
        // SAFETY: called under the claim.
        let st = unsafe { self.state() };
        let (w, b) = (bid as usize / 64, bid % 64);
        if let Some(word) = st.lent.get_mut(w) {
            if *word & (1 << b) == 0 {
                *word |= 1 << b;
                st.lent_count += 1;
            }
        }
    }

    /// Takes buffer `bid` back from the user and gives it to the kernel again.
    /// `-EINVAL` when `bid` is out of range or not lent out (a double recycle).
    pub(crate) fn recycle(&self, bid: u16) -> Result<(), Errno> {
        if u32::from(bid) >= self.count {
            return Err(Errno::EINVAL);
        }
        // SAFETY: called under the claim.
        let st = unsafe { self.state() };
        let (w, b) = (bid as usize / 64, bid % 64);
        if st.lent[w] & (1 << b) == 0 {
            return Err(Errno::EINVAL);
        }
        st.lent[w] &= !(1 << b);
        st.lent_count -= 1;
        if !self.is_orphaned() {
            self.put(bid);
            self.publish();
        }
        Ok(())
    }

    /// Whether any buffer is in the kernel's hands (not lent out).
    pub(crate) fn has_free_buffers(&self) -> bool {
        // SAFETY: called under the claim.
        unsafe { self.state() }.lent_count < self.count
    }
}

/// `ar_bufgroup_free` for a group whose ring was freed first.
///
/// # Safety
///
/// `group` was returned by `new_group`, its ring is gone, and it is not yet freed.
pub(crate) unsafe fn drop_orphan(group: *mut BufGroup) {
    // SAFETY: the caller's contract: nothing else refers to the group.
    drop(unsafe { Box::from_raw(group) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_geometry() {
        for (count, size) in [(0, 64), (3, 64), (65536, 64), (8, 0)] {
            assert_eq!(BufGroup::new(std::ptr::null(), 0, 0, count, size).err(), Some(Errno::EINVAL), "{count}x{size}");
        }
    }

    #[test]
    fn recycle_accepts_only_lent_buffers() {
        let g = BufGroup::new(std::ptr::null(), 0, 0, 4, 64).unwrap();
        assert_eq!(g.recycle(1), Err(Errno::EINVAL), "not lent");
        assert_eq!(g.recycle(9), Err(Errno::EINVAL), "out of range");
        g.lend(1);
        assert!(g.has_free_buffers());
        assert_eq!(g.recycle(1), Ok(()));
        assert_eq!(g.recycle(1), Err(Errno::EINVAL), "double recycle");
        for b in 0..4 {
            g.lend(b);
        }
        assert!(!g.has_free_buffers());
        // Buffers are laid out back to back.
        assert_eq!(g.buf_ptr(2) as usize - g.buf_ptr(0) as usize, 128);
    }
}
