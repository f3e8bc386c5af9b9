//! The table of operations in flight: generation-tagged records at stable addresses.
//!
//! An operation id is `generation << 32 | index`. Freeing a record bumps its generation, so
//! an id whose operation finished never matches the record's next tenant (SPEC §3.4).
//! Records live in fixed-size pages that never move once allocated: the kernel holds
//! pointers into a record (paths, iovecs, timespecs) while the operation is in flight, and
//! the table may grow meanwhile. In steady state, allocating and freeing a record touches
//! no heap.

use std::ffi::c_void;

use super::record::Record;
use crate::completion::OpCallback;

const PAGE_SHIFT: u32 = 6;
const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Generations run in `1..=MAX_GENERATION`, so every id is positive and ids never collide
/// with the internal tags of `user_data` (bits 62 and 63).
const MAX_GENERATION: u32 = (1 << 29) - 1;
/// The most records the table will hold (ids keep 32 bits for the index).
const MAX_RECORDS: usize = 1 << 24;

pub(crate) struct OpTable {
    /// Fixed-size pages: the compiler knows `index & (PAGE_SIZE - 1)` is in bounds.
    pages: Vec<Box<[Record; PAGE_SIZE]>>,
    /// Indexes of free records, used last-in first-out so hot records stay in cache.
    free: Vec<u32>,
}

impl OpTable {
    pub(crate) fn new() -> OpTable {
        OpTable { pages: Vec::new(), free: Vec::new() }
    }

    /// Takes a free record, growing the table by a page when none is left.
    /// Returns `None` only past `MAX_RECORDS` or when memory is exhausted.
    #[inline(always)]
    pub(crate) fn alloc(&mut self) -> Option<(i64, &mut Record)> {
        if self.free.is_empty() {
            self.grow()?;
        }
        let index = self.free.pop()?;
        let record = self.at_mut(index);
        debug_assert!(!record.live);
        record.live = true;
        let id = (i64::from(record.generation) << 32) | i64::from(index);
        Some((id, record))
    }

    /// Ends the operation `id` names if its next CQE is its final result as is
    /// (`Record::is_plain_last_cqe`): frees the record and returns its userdata and
    /// callback. `None` (record untouched) otherwise.
    #[inline(always)]
    pub(crate) fn take_plain(&mut self, id: i64) -> Option<(*mut c_void, OpCallback)> {
        let (index, generation) = split_id(id)?;
        let record = &mut self.pages.get_mut(index as usize >> PAGE_SHIFT)?[index as usize & (PAGE_SIZE - 1)];
        if !(record.live && record.generation == generation && record.is_plain_last_cqe()) {
            return None;
        }
        let out = (record.userdata, record.cb);
        record.retire();
        self.free.push(index);
        Some(out)
    }

    /// Returns a record to the free list, cleared (`Record::clear`); its id becomes stale.
    #[inline]
    pub(crate) fn release(&mut self, index: u32) {
        let record = self.at_mut(index);
        debug_assert!(record.live);
        record.retire();
        self.free.push(index);
    }

    /// The live record an id names, or `None` when the id is unknown or stale.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: i64) -> Option<&mut Record> {
        let (index, generation) = split_id(id)?;
        let record = &mut self.pages.get_mut(index as usize >> PAGE_SHIFT)?[index as usize & (PAGE_SIZE - 1)];
        (record.live && record.generation == generation).then_some(record)
    }

    /// Whether `id` names a live operation.
    pub(crate) fn contains(&mut self, id: i64) -> bool {
        self.get_mut(id).is_some()
    }

    /// Ids of the live records matching `pred` (teardown paths only, never hot).
    pub(crate) fn live_ids_where(&self, pred: impl Fn(&Record) -> bool) -> Vec<i64> {
        let live = self.pages.iter().flat_map(|p| p.iter()).enumerate().filter(|(_, r)| r.live && pred(r));
        live.map(|(i, r)| (i64::from(r.generation) << 32) | i as i64).collect()
    }

    /// The record at `index`, live or not (the caller validated the index).
    #[inline]
    pub(crate) fn at_mut(&mut self, index: u32) -> &mut Record {
        &mut self.pages[index as usize >> PAGE_SHIFT][index as usize & (PAGE_SIZE - 1)]
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> Option<()> {
        let base = self.pages.len() * PAGE_SIZE;
        if base + PAGE_SIZE > MAX_RECORDS {
            return None;
        }
        self.free.try_reserve(PAGE_SIZE).ok()?;
        self.pages.try_reserve(1).ok()?;
        self.pages.push(Box::new(std::array::from_fn(|_| Record::default())));
        // Hand out low indexes first: push in reverse so `pop` yields `base` next.
        self.free.extend((base..base + PAGE_SIZE).rev().map(|i| i as u32));
        Some(())
    }
}

impl Record {
    /// Marks the record free and clean (`Record::clear`), under a new generation.
    #[inline(always)]
    fn retire(&mut self) {
        self.live = false;
        self.clear();
        self.generation = if self.generation >= MAX_GENERATION { 1 } else { self.generation + 1 };
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
        let (a, _) = t.alloc().unwrap();
        assert!(a > 0);
        assert!(t.contains(a));
        t.release(split_id(a).unwrap().0);
        assert!(!t.contains(a), "a released id must be stale");
        let (b, _) = t.alloc().unwrap();
        assert_eq!(split_id(a).unwrap().0, split_id(b).unwrap().0, "the record is reused");
        assert_ne!(a, b, "but under a new generation");
        assert!(t.contains(b) && !t.contains(a));
    }

    #[test]
    fn records_do_not_move_when_the_table_grows() {
        let mut t = OpTable::new();
        let (id, rec) = t.alloc().unwrap();
        let addr = rec as *const Record;
        for _ in 0..10 * PAGE_SIZE {
            t.alloc().unwrap();
        }
        assert_eq!(t.get_mut(id).unwrap() as *const Record, addr);
    }

    #[test]
    fn garbage_ids_are_unknown() {
        let mut t = OpTable::new();
        t.alloc().unwrap();
        for id in [0, -1, i64::MIN, i64::MAX, 1, 1 << 32 | 999_999] {
            assert!(!t.contains(id), "{id}");
        }
    }

    #[test]
    fn generation_wraps_to_one() {
        let mut t = OpTable::new();
        let (id, rec) = t.alloc().unwrap();
        rec.generation = MAX_GENERATION;
        let index = split_id(id).unwrap().0;
        t.release(index);
        let (id2, _) = t.alloc().unwrap();
        assert_eq!(split_id(id2).unwrap(), (index, 1));
    }
}
