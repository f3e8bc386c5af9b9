//! The ring's side of buffer groups (`buf`): creating and registering them, recycling
//! buffers (which may re-arm parked receives), and freeing a group that operations still
//! use (they are cancelled, and the memory is released after their final completions).

use crate::error::Errno;
use crate::ring::buf::BufGroup;
use crate::ring::{Cx, Pending, Ring, State, TAG_INTERNAL, TAG_OWNED};

impl Ring {
    /// Creates a buffer group of `count` (a power of two, at most 32768) buffers of `size`
    /// bytes and registers it with this ring.
    ///
    /// # Safety
    ///
    /// The ring stays at its address while the group is registered (it is boxed by
    /// `Ring::new`), and the group is released with `free_group` or, once the ring is gone,
    /// `buf::drop_orphan`: the group refers to its ring by address.
    pub unsafe fn new_group(&self, count: u32, size: u32) -> Result<*mut BufGroup, Errno> {
        let mut cx = Cx::claim(self)?;
        let st = cx.st();
        // SAFETY: registered groups are alive.
        let bgid =
            (0..=u16::MAX).find(|id| st.groups.iter().all(|&g| unsafe { (*g).bgid } != *id)).ok_or(Errno::ENOSPC)?;
        let group = BufGroup::new(self, self.id, bgid, count, size)?;
        st.groups.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        // SAFETY: the ring memory stays mapped until `destroy_group` or `drop_orphan`, which
        // unregister first (or run after the ring, and so the registration, is gone).
        unsafe { self.kernel.register_buf_ring(group.ring_addr(), count as u16, bgid) }?;
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
        let mut cx = Cx::claim(self)?;
        // SAFETY: the caller's contract; its state is read only under our claim.
        let g = unsafe { &*group };
        g.recycle(bid)?;
        // SAFETY: we hold the claim.
        if !unsafe { g.state() }.parked.is_empty() {
            self.unpark(cx.st(), group);
        }
        Ok(())
    }

    /// `ar_bufgroup_free`: releases the group now if nothing uses it, else cancels its users
    /// and releases it after their final completions.
    ///
    /// # Safety
    ///
    /// `group` was returned by `new_group` on this ring and is not yet freed.
    pub unsafe fn free_group(&self, group: *mut BufGroup) -> Result<(), Errno> {
        let mut cx = Cx::claim(self)?;
        let st = cx.st();
        // SAFETY: the caller's contract; we hold the claim.
        let gs = unsafe { (*group).state() };
        gs.freed = true;
        for id in gs.parked.clone() {
            self.end_parked(st, id, -libc::ECANCELED);
        }
        // SAFETY: as above.
        if unsafe { (*group).state() }.users == 0 {
            self.destroy_group(st, group);
            return Ok(());
        }
        for id in st.table.live_ids_where(|rec| std::ptr::eq(rec.group, group)) {
            let Some(rec) = st.table.get_mut(id) else { continue };
            // Wherever it is now, it ends at its next step (and is retried while the kernel
            // cannot place it: `settle`).
            rec.cancel_requested = true;
            if rec.parked || st.take_from_backlog(id, -libc::ECANCELED) {
                continue;
            }
            let user_data = TAG_INTERNAL | TAG_OWNED | id as u64;
            let entry = io_uring::opcode::AsyncCancel::new(id as u64).build().user_data(user_data);
            st.internal_inflight += 1;
            st.push_internal(&[Pending::new(entry)]);
        }
        self.kick(st);
        Ok(())
    }

    /// Unregisters and frees a group no operation uses any more.
    pub(crate) fn destroy_group(&self, st: &mut State, group: *mut BufGroup) {
        st.groups.retain(|&g| !std::ptr::eq(g, group));
        // SAFETY: `group` is alive until the Box drop below.
        self.kernel.unregister_buf_ring(unsafe { &*group }.bgid);
        // SAFETY: made by Box::into_raw in `new_group`; unregistered, unused, and removed
        // from the ring's list, so nothing refers to it any more.
        drop(unsafe { Box::from_raw(group) });
    }
}
