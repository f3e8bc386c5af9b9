//! The table of operations in flight: generation-tagged slots, and records at stable
//! addresses.
//!
//! An operation id is `generation << 32 | index`. Freeing an operation bumps its slot's
//! generation, so an id whose operation finished never matches the slot's next tenant
//! (docs/DESIGN.md, guarantee 4).
//!
//! Each operation has two halves, kept apart because they are touched at different rates:
//! - its [`Slot`] (32 bytes, in one dense array): the callback, its userdata, and a tag
//!   word (generation and state). Queueing and completing the common operation touch only
//!   this, so a batch of 256 operations keeps 8 KiB hot instead of a line per record;
//! - its [`Record`] (cold, hundreds of bytes): the copies the kernel reads (`Args`), the
//!   deadline, and the bookkeeping of linked timers, buffer groups and multishot
//!   operations. Records live in fixed-size pages that never move once allocated, because
//!   the kernel holds pointers into them while operations are in flight and the table may
//!   grow meanwhile. A free record is *clean* (`Record::clear`): the common operation
//!   never writes to it.
//!
//! The slot's `GENERAL` bit says the record is not clean: the operation has a kind, a
//! deadline, a buffer group or a completion history that its final CQE must go through.
//! Without it, the final CQE is the user's result as is, and `take_plain` ends the
//! operation with one compare. In steady state, allocating and freeing touches no heap.

use std::ffi::c_void;

use super::record::Record;
use crate::ring::completion::OpCallback;

const PAGE_SHIFT: u32 = 6;
const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Generations run in `1..=MAX_GENERATION`, so every id is positive and below bit 61, and
/// ids never collide with the tags of `user_data` (bits 61 to 63, `ring`).
/// A power of two, so the next generation is a mask and an add (`Slot::retire`).
const MAX_GENERATION: u32 = 1 << 28;
/// The most operations the table will hold (ids keep 32 bits for the index).
const MAX_RECORDS: usize = 1 << 24;

/// Tag bit: the slot holds an operation in flight.
const LIVE: u64 = 1;
/// Tag bit: the operation's record is not clean; its CQEs take the general path.
const GENERAL: u64 = 2;
/// The generation half of a tag or an id.
const GENERATION_MASK: u64 = !0xffff_ffff;

/// No free slot (the end of the free list).
const NO_SLOT: u32 = u32::MAX;

/// The hot half of an operation: see the module documentation.
#[repr(C, align(32))]
pub(crate) struct Slot {
    /// The operation's userdata; while the slot is free, the index of the next free slot
    /// (the free list lives in the slots, so freeing touches no other memory).
    pub(crate) userdata: *mut c_void,
    pub(crate) cb: OpCallback,
    /// `generation << 32 | LIVE | GENERAL`.
    tag: u64,
}

impl Slot {
    /// Marks the operation's record as not clean (see the module documentation).
    #[inline]
    pub(crate) fn mark_general(&mut self) {
        self.tag |= GENERAL;
    }

    #[inline]
    fn live(&self) -> bool {
        self.tag & LIVE != 0
    }

    /// Whether `id` names this slot's operation (the caller matched the index).
    #[inline]
    fn matches(&self, id: i64) -> bool {
        self.live() && self.tag & GENERATION_MASK == id as u64 & GENERATION_MASK
    }

    /// Frees the slot under the next generation, so ids of the old one become stale, and
    /// links it to the free list in front of `next_free`.
    #[inline(always)]
    fn retire(&mut self, next_free: u32) {
        // The next generation (MAX_GENERATION wraps to 1), with the state bits cleared.
        self.tag = (self.tag & (u64::from(MAX_GENERATION - 1) << 32)) + (1 << 32);
        self.userdata = next_free as usize as *mut c_void;
    }
}

pub(crate) struct OpTable {
    /// One slot per record, contiguous (it may move when the table grows: nothing keeps a
    /// pointer into it past a call).
    slots: Vec<Slot>,
    /// Fixed-size pages: the compiler knows `index & (PAGE_SIZE - 1)` is in bounds.
    pages: Vec<Box<[Record; PAGE_SIZE]>>,
    /// The first free slot, or `NO_SLOT`. Free slots are used last-in first-out, so hot
    /// slots stay in cache.
    free: u32,
}

impl OpTable {
    pub(crate) fn new() -> OpTable {
        OpTable { slots: Vec::new(), pages: Vec::new(), free: NO_SLOT }
    }

    /// Takes a free slot and its (clean) record, growing the table when none is left.
    /// Returns `None` only past `MAX_RECORDS` or when memory is exhausted.
    #[inline(always)]
    pub(crate) fn alloc(&mut self) -> Option<(i64, &mut Slot, &mut Record)> {
        if self.free == NO_SLOT {
            self.grow()?;
        }
        let index = self.free as usize;
        debug_assert!(index < self.slots.len() && self.slots.len() == self.pages.len() * PAGE_SIZE);
        // SAFETY: the free list holds only indexes of existing slots, and every slot has
        // its record (`grow` adds both); checked in debug builds above.
        let (slot, record) = unsafe {
            (
                self.slots.get_unchecked_mut(index),
                self.pages.get_unchecked_mut(index >> PAGE_SHIFT).get_unchecked_mut(index & (PAGE_SIZE - 1)),
            )
        };
        debug_assert!(!slot.live());
        self.free = slot.userdata as usize as u32;
        slot.tag |= LIVE;
        let id = (slot.tag & GENERATION_MASK) as i64 | index as i64;
        Some((id, slot, record))
    }

    /// Ends the operation `id` names if its next CQE is its final result as is (its record
    /// is clean, so there is nothing else to account): frees its slot and returns its
    /// userdata and callback. `None` (nothing touched) otherwise, and for ids no live
    /// operation has.
    #[inline(always)]
    pub(crate) fn take_plain(&mut self, id: i64) -> Option<(*mut c_void, OpCallback)> {
        let index = id as u32;
        let slot = self.slots.get_mut(index as usize)?;
        // Generations are never 0 and at most 2^28, so neither a garbage id nor a
        // `user_data` carrying the ring's tags (bits 61 to 63) matches this.
        if slot.tag != (id as u64 & GENERATION_MASK) | LIVE {
            return None;
        }
        let out = (slot.userdata, slot.cb);
        slot.retire(self.free);
        self.free = index;
        Some(out)
    }

    /// Frees the operation at `index`: its slot under a new generation, its record cleaned
    /// (`Record::clear`).
    #[inline]
    pub(crate) fn release(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        debug_assert!(slot.live());
        slot.retire(self.free);
        self.free = index;
        self.pages[index as usize >> PAGE_SHIFT][index as usize & (PAGE_SIZE - 1)].clear();
    }

    /// The record of the live operation `id` names, or `None` when the id is unknown or
    /// stale. Marks the slot `GENERAL`: the caller may change the record.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: i64) -> Option<&mut Record> {
        let (index, _) = split_id(id)?;
        let slot = self.slots.get_mut(index as usize)?;
        if !slot.matches(id) {
            return None;
        }
        slot.mark_general();
        Some(&mut self.pages[index as usize >> PAGE_SHIFT][index as usize & (PAGE_SIZE - 1)])
    }

    /// Whether `id` names a live operation.
    #[cfg(test)]
    pub(crate) fn contains(&self, id: i64) -> bool {
        split_id(id).and_then(|(index, _)| self.slots.get(index as usize)).is_some_and(|s| s.matches(id))
    }

    /// Ids of the live operations whose records match `pred` (teardown paths only, never hot).
    pub(crate) fn live_ids_where(&self, pred: impl Fn(&Record) -> bool) -> Vec<i64> {
        let records = self.pages.iter().flat_map(|p| p.iter());
        let live = self.slots.iter().zip(records).enumerate().filter(|(_, (s, r))| s.live() && pred(r));
        live.map(|(i, (s, _))| (s.tag & GENERATION_MASK) as i64 | i as i64).collect()
    }

    /// The slot and record at `index` (the caller validated the index).
    #[inline]
    pub(crate) fn at_mut(&mut self, index: u32) -> (&mut Slot, &mut Record) {
        (
            &mut self.slots[index as usize],
            &mut self.pages[index as usize >> PAGE_SHIFT][index as usize & (PAGE_SIZE - 1)],
        )
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> Option<()> {
        let base = self.pages.len() * PAGE_SIZE;
        if base + PAGE_SIZE > MAX_RECORDS {
            return None;
        }
        self.slots.try_reserve(PAGE_SIZE).ok()?;
        self.pages.try_reserve(1).ok()?;
        self.pages.push(Box::new(std::array::from_fn(|_| Record::default())));
        // Chain the new slots in index order, in front of the (empty) free list.
        let chain = (base..base + PAGE_SIZE).map(|i| {
            let next = if i + 1 < base + PAGE_SIZE { (i + 1) as u32 } else { self.free };
            Slot { userdata: next as usize as *mut c_void, cb: None, tag: 1 << 32 }
        });
        self.slots.extend(chain);
        self.free = base as u32;
        Some(())
    }
}

/// Splits an id into (index, generation); `None` for values no live id can have.
#[inline]
pub(crate) fn split_id(id: i64) -> Option<(u32, u32)> {
    if id <= 0 {
        return None;
    }
    let generation = (id >> 32) as u32;
    if generation == 0 || generation > MAX_GENERATION {
        return None;
    }
    Some((id as u32, generation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_and_stale_after_release() {
        let mut t = OpTable::new();
        let (a, _, _) = t.alloc().unwrap();
        assert!(a > 0);
        assert!(t.contains(a));
        t.release(split_id(a).unwrap().0);
        assert!(!t.contains(a), "a released id must be stale");
        let (b, _, _) = t.alloc().unwrap();
        assert_eq!(split_id(a).unwrap().0, split_id(b).unwrap().0, "the slot is reused");
        assert_ne!(a, b, "but under a new generation");
        assert!(t.contains(b) && !t.contains(a));
    }

    #[test]
    fn records_do_not_move_when_the_table_grows() {
        let mut t = OpTable::new();
        let (id, _, rec) = t.alloc().unwrap();
        let addr = rec as *const Record;
        for _ in 0..10 * PAGE_SIZE {
            t.alloc().unwrap();
        }
        assert_eq!(t.get_mut(id).unwrap() as *const Record, addr);
    }

    #[test]
    fn garbage_ids_are_unknown() {
        let mut t = OpTable::new();
        let (live, _, _) = t.alloc().unwrap();
        let tagged = [live | 1 << 62, live | i64::MIN];
        for id in
            [0, -1, i64::MIN, i64::MAX, 1, 1 << 32 | 999_999, 1 << 62 | 1 << 32, -(1 << 32)].into_iter().chain(tagged)
        {
            assert!(!t.contains(id), "{id}");
            assert!(t.take_plain(id).is_none(), "{id}");
        }
    }

    #[test]
    fn generation_wraps_to_one() {
        let mut t = OpTable::new();
        let (id, slot, _) = t.alloc().unwrap();
        slot.tag = u64::from(MAX_GENERATION) << 32 | LIVE;
        let index = split_id(id).unwrap().0;
        t.release(index);
        let (id2, _, _) = t.alloc().unwrap();
        assert_eq!(split_id(id2).unwrap(), (index, 1));
    }

    #[test]
    fn take_plain_ends_only_clean_live_operations_once() {
        let mut t = OpTable::new();
        let (plain, slot, _) = t.alloc().unwrap();
        slot.userdata = 7 as *mut c_void;
        let (general, slot, _) = t.alloc().unwrap();
        slot.mark_general();
        let (touched, _, _) = t.alloc().unwrap();
        t.get_mut(touched).unwrap().res = 5;

        assert_eq!(t.take_plain(plain).map(|(u, _)| u as usize), Some(7));
        assert!(t.take_plain(plain).is_none(), "a second CQE for the same id ends nothing");
        assert!(!t.contains(plain));
        assert!(t.take_plain(general).is_none(), "a GENERAL operation takes the general path");
        assert!(t.take_plain(touched).is_none(), "a record changed through get_mut is not clean");
        assert!(t.contains(general) && t.contains(touched), "and stays live");
    }

    #[test]
    fn released_records_are_clean_again() {
        let mut t = OpTable::new();
        let (id, _, _) = t.alloc().unwrap();
        let rec = t.get_mut(id).unwrap();
        rec.res = -1;
        rec.outstanding = 2;
        rec.parked = true;
        let index = split_id(id).unwrap().0;
        t.release(index);
        let (again, _, rec) = t.alloc().unwrap();
        assert_eq!(split_id(again).unwrap().0, index);
        assert!(rec.res == 0 && rec.outstanding == 1 && !rec.parked && rec.group.is_null());
        assert!(t.take_plain(again).is_some(), "a reused slot starts plain");
    }
}
