//! Teardown (guarantee 3): `ar_ring_free` ends every operation, waits until the kernel owes
//! nothing, delivers every final callback, and only then frees.
//!
//! What the library holds itself is ended in place: the backlog (never submitted), parked
//! receives, drained chains. Nothing is re-armed or parked once `closing` is set, so every
//! path leads to a final CQE. What the kernel holds is cancelled with one
//! `IORING_ASYNC_CANCEL_ANY` request, re-issued while anything new shows up. The one thing
//! a cancel cannot end is a zero-copy send whose data the kernel still holds for a peer that
//! does not read: after `ZERO_COPY_GRACE_NS` teardown aborts that TCP connection
//! (`connect(AF_UNSPEC)`, which purges its send queue), the only way to get the buffer back
//! without the caller's help. Past `GIVE_UP_NS` it stops waiting, says so on stderr, and
//! leaks the ring's memory rather than free what the kernel may still write.

use std::mem::ManuallyDrop;

use io_uring::{opcode, types};

use crate::ring::Kind;
use crate::ring::{Cx, INTERNAL_CANCEL, Pending, Ring, State};

/// How long teardown lets the kernel release zero-copy buffers before it aborts their
/// connections.
const ZERO_COPY_GRACE_NS: u64 = 250_000_000;
/// How long teardown waits at all before it gives up and leaks.
const GIVE_UP_NS: u64 = 30_000_000_000;

impl Ring {
    /// Whether the calling thread may free the ring now: it is not inside `run` or a
    /// callback, and no other thread is using the ring.
    pub fn check_free(&self) -> Result<(), &'static str> {
        let mut cx = Cx::claim(self).map_err(|_| "ar_ring_free: the ring is in use by another thread")?;
        if cx.nested() || cx.st().running {
            return Err(
                "ar_ring_free: called from inside a callback or ar_ring_run; free the ring after ar_ring_run returns",
            );
        }
        Ok(())
    }

    /// Ends everything and waits for the kernel (see the module documentation). Returns
    /// `false` if the kernel could not be drained; the caller must then leak the records
    /// rather than free memory the kernel may still use.
    fn shutdown(&self) -> bool {
        let drained = self.drain();
        // Only now, when the kernel owes nothing: it runs a request's task work (issuing the
        // next request of a chain, a poll's wake-up, a retry) on the thread that submitted
        // it, and once that thread has exited it fails the request with -EFAULT instead
        // (io_req_task_submit), so a submitter joined first turned in-flight operations of
        // a thread-safe ring into -EFAULT. Meanwhile it sleeps (in read(2), or on the claim
        // `drain` holds) and runs that task work.
        self.stop_submitter();
        drained
    }

    /// `shutdown`, up to the submitter thread: this thread enters the kernel itself, holding
    /// the claim, so the submitter never enters meanwhile.
    fn drain(&self) -> bool {
        let Ok(mut cx) = Cx::claim(self) else {
            return false;
        };
        self.end_what_the_library_holds(cx.st());
        let start = now_ns();
        let mut aborted = false;
        // Wake up now and then to re-issue the cancel for operations started meanwhile.
        let idle = types::Timespec::new().nsec(100_000_000);
        loop {
            if self.deliver(&mut cx).is_err() {
                return false;
            }
            let st = cx.st();
            if self.inflight() == 0 && st.internal_inflight == 0 {
                break;
            }
            let waited = now_ns().saturating_sub(start);
            if waited > ZERO_COPY_GRACE_NS && !aborted {
                aborted = true;
                self.abort_zero_copy_connections(st);
            }
            if waited > GIVE_UP_NS {
                eprintln!(
                    "libasyncring: ar_ring_free: the kernel still holds {} operation(s) after {} s; leaking the ring's memory instead of freeing it while the kernel may use it",
                    self.inflight(),
                    GIVE_UP_NS / 1_000_000_000
                );
                return false;
            }
            // Callbacks run meanwhile may have queued the library's own requests (cancels of
            // a buffer group's users, freed in a callback): the cancel below, re-issued
            // every round ahead of the backlog, would keep them out of a submission queue
            // of one slot for good, and the loop waiting for them. It covers them anyway.
            Self::end_backlog(st);
            if !st.cancel_all_in_flight {
                // IORING_ASYNC_CANCEL_ANY (5.19): one request cancels everything.
                let entry = opcode::AsyncCancel2::new(types::CancelBuilder::any()).build().user_data(INTERNAL_CANCEL);
                st.cancel_all_in_flight = true;
                st.internal_inflight += 1;
                st.push_internal(&[Pending::new(entry)]);
            }
            st.flush_backlog(self.inflight());
            st.sync_sq();
            if let Err(e) = self.kernel.wait_timeout(1, &idle) {
                eprintln!(
                    "libasyncring: teardown cannot drain the ring ({e}); leaking its memory instead of freeing it while the kernel may use it"
                );
                return false;
            }
        }
        self.kernel.unregister_eventfd();
        // Groups the user has not freed outlive the ring: unregister them and leave their
        // memory to ar_bufgroup_free.
        for g in cx.st().groups.drain(..) {
            // SAFETY: registered groups are alive.
            let group = unsafe { &*g };
            self.kernel.unregister_buf_ring(group.bgid);
            group.set_orphaned();
        }
        true
    }

    /// Refuses new operations and ends, without the kernel, every operation the library
    /// holds itself: parked receives and everything in the backlog.
    fn end_what_the_library_holds(&self, st: &mut State) {
        st.closing = true;
        st.lane = 0;
        st.running = true;
        st.draining = false;
        // Parked receives wait for buffers that will not come back now.
        for g in st.groups.clone() {
            // SAFETY: registered groups are alive; we hold the claim.
            for id in unsafe { (*g).state() }.parked.clone() {
                self.end_parked(st, id, -libc::ECANCELED);
            }
        }
        Self::end_backlog(st);
    }

    /// Ends everything in the backlog without the kernel (teardown).
    fn end_backlog(st: &mut State) {
        if st.backlog.is_empty() {
            return;
        }
        let never_submitted: Vec<u64> = st.backlog.drain(..).map(|p| p.entry.get_user_data()).collect();
        st.end_unsubmitted(&never_submitted, -libc::ECANCELED);
    }

    /// Aborts the TCP connections of zero-copy sends whose buffers the kernel still holds:
    /// `connect(AF_UNSPEC)` disconnects the socket and purges its send queue, so the kernel
    /// posts the notifications teardown waits for.
    fn abort_zero_copy_connections(&self, st: &mut State) {
        let fds: Vec<i32> = {
            let ids = st.table.live_ids_where(|r| r.kind == Kind::SendZc && r.fd >= 0);
            ids.iter().filter_map(|&id| st.table.get_mut(id).map(|r| std::mem::replace(&mut r.fd, -1))).collect()
        };
        for fd in fds {
            eprintln!(
                "libasyncring: ar_ring_free: aborting the connection on fd {fd}: the kernel still holds a zero-copy send's buffer for a peer that does not read"
            );
            let addr = libc::sockaddr { sa_family: libc::AF_UNSPEC as libc::sa_family_t, sa_data: [0; 14] };
            // SAFETY: `addr` is a valid sockaddr of the length passed.
            unsafe { libc::connect(fd, &addr, std::mem::size_of::<libc::sockaddr>() as libc::socklen_t) };
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // If the kernel could not be drained it may still write into records: leak them.
        if self.shutdown() {
            // SAFETY: dropped once, here; nothing uses the state after teardown.
            unsafe { ManuallyDrop::drop(self.state_mut()) };
        }
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds.
fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
