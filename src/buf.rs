//! Buffer groups: the kernel's provided-buffer rings (`IORING_REGISTER_PBUF_RING`, 5.19).
//!
//! A group is `count` buffers of `size` bytes the kernel picks from when data arrives, so a
//! server with thousands of idle connections needs no buffer per connection. A completion
//! that used one carries it (`AR_COMPLETION_BUFFER`, `buf`, `buf_id`), and the buffer is
//! *lent* to the user until `recycle` hands it back. A bitmap of lent buffers makes a double
//! or bogus recycle an `-EINVAL` instead of silent corruption.
//!
//! Lifetimes: a group belongs to one ring. Freeing it while operations still use it cancels
//! those operations and defers the release of its memory until their final completions; the
//! kernel never writes into freed memory. A ring freed before its groups unregisters them
//! and leaves their memory to `ar_bufgroup_free`, so either order is safe.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU16, Ordering};

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
    /// The ring was freed first: the kernel no longer knows this group.
    pub(crate) orphaned: bool,
    /// Multishot receives that ran out of buffers and wait to be re-armed (`AR_OP_REARM`).
    pub(crate) parked: Vec<i64>,
}

/// A buffer group (`ar_bufgroup`).
pub struct BufGroup {
    pub(crate) ring: *const crate::ring::Ring,
    pub(crate) bgid: u16,
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
            bgid,
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
                orphaned: false,
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
        if !st.orphaned {
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

impl crate::ring::Ring {
    /// Creates a buffer group of `count` (a power of two, at most 32768) buffers of `size`
    /// bytes and registers it with this ring.
    pub fn new_group(&self, count: u32, size: u32) -> Result<*mut BufGroup, Errno> {
        let _claim = self.owner.claim()?;
        // SAFETY: we hold the claim; no other borrow is live.
        let st = unsafe { self.state() };
        // SAFETY: registered groups are alive.
        let bgid =
            (0..=u16::MAX).find(|id| st.groups.iter().all(|&g| unsafe { (*g).bgid } != *id)).ok_or(Errno::ENOSPC)?;
        let group = BufGroup::new(self, bgid, count, size)?;
        st.groups.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        // SAFETY: the ring memory stays mapped until `destroy_group` or `drop_orphan`, which
        // unregister first (or run after the ring, and so the registration, is gone).
        unsafe { self.uring.submitter().register_buf_ring_with_flags(group.ring_addr(), count as u16, bgid, 0) }?;
        let ptr = Box::into_raw(group);
        st.groups.push(ptr);
        Ok(ptr)
    }

    /// Hands buffer `bid` back to `group`, and re-arms receives parked for lack of buffers.
    ///
    /// # Safety
    ///
    /// `group` was returned by `new_group` on this ring and is not yet freed.
    pub unsafe fn recycle(&self, group: *mut BufGroup, bid: u16) -> Result<(), Errno> {
        let _claim = self.owner.claim()?;
        // SAFETY: the caller's contract.
        let g = unsafe { &*group };
        g.recycle(bid)?;
        // SAFETY: we hold the claim.
        if !unsafe { g.state() }.parked.is_empty() {
            self.unpark(group);
        }
        Ok(())
    }

    /// Re-submits every receive parked on `group`.
    pub(crate) fn unpark(&self, group: *mut BufGroup) {
        // SAFETY: the caller holds the claim; a parked record's group is alive.
        let (st, gs) = unsafe { (self.state(), (*group).state()) };
        let mut parked = std::mem::take(&mut gs.parked);
        for id in parked.drain(..) {
            let Some(rec) = st.table.get_mut(id) else { continue };
            if let (true, Some(entry)) = (rec.parked, rec.rearm.clone()) {
                rec.parked = false;
                rec.outstanding += 1;
                self.push(st, &[crate::ring::Pending { entry, links_next: false }], 1);
            }
        }
        // Give the (now empty) vector back so its capacity is reused.
        gs.parked = parked;
    }

    /// Ends a parked receive with `res` without the kernel (it holds no request for it).
    pub(crate) fn end_parked(&self, id: i64, res: i32) -> bool {
        // SAFETY: the caller holds the claim; no other borrow is live.
        let st = unsafe { self.state() };
        let Some(rec) = st.table.get_mut(id) else { return false };
        if !rec.parked {
            return false;
        }
        rec.parked = false;
        rec.res = res;
        // SAFETY: a parked record's group is alive.
        unsafe { (*rec.group).state() }.parked.retain(|&p| p != id);
        st.ready.push(id);
        true
    }

    /// `ar_bufgroup_free`: releases the group now if nothing uses it, else cancels its users
    /// and releases it after their final completions.
    ///
    /// # Safety
    ///
    /// `group` was returned by `new_group` on this ring and is not yet freed.
    pub unsafe fn free_group(&self, group: *mut BufGroup) -> Result<(), Errno> {
        let _claim = self.owner.claim()?;
        // SAFETY: the caller's contract; we hold the claim.
        let gs = unsafe { (*group).state() };
        gs.freed = true;
        for id in gs.parked.clone() {
            self.end_parked(id, -libc::ECANCELED);
        }
        if gs.users == 0 {
            self.destroy_group(group);
            return Ok(());
        }
        // SAFETY: we hold the claim; no other borrow is live.
        let st = unsafe { self.state() };
        for id in st.table.live_ids_where(|rec| std::ptr::eq(rec.group, group) && !rec.parked) {
            let entry =
                io_uring::opcode::AsyncCancel::new(id as u64).build().user_data(crate::ring::INTERNAL_CANCEL_OP);
            st.internal_inflight += 1;
            self.push(st, &[crate::ring::Pending { entry, links_next: false }], 0);
        }
        Ok(())
    }

    /// Unregisters and frees a group no operation uses any more.
    pub(crate) fn destroy_group(&self, group: *mut BufGroup) {
        // SAFETY: the caller holds the claim; no other borrow is live.
        let st = unsafe { self.state() };
        st.groups.retain(|&g| !std::ptr::eq(g, group));
        // SAFETY: `group` is alive until the Box drop below.
        let _ = self.uring.submitter().unregister_buf_ring(unsafe { &*group }.bgid);
        // SAFETY: made by Box::into_raw in `new_group`; unregistered, unused, and removed
        // from the ring's list, so nothing refers to it any more.
        drop(unsafe { Box::from_raw(group) });
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
            assert_eq!(BufGroup::new(std::ptr::null(), 0, count, size).err(), Some(Errno::EINVAL), "{count}x{size}");
        }
    }

    #[test]
    fn recycle_accepts_only_lent_buffers() {
        let g = BufGroup::new(std::ptr::null(), 0, 4, 64).unwrap();
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
