//! The fallback backend's requests: what the kernel keeps per SQE, here in a slab. A request
//! is started when it reaches the head of its chain, waits in exactly one place (readiness
//! of an fd, a timer, the thread pool), and ends with one final CQE, after which its chain
//! goes on (or fails, `-ECANCELED`, the way io_uring links do).

use super::sqe::{IOSQE_IO_HARDLINK, IOSQE_IO_LINK, Sqe, TIMEOUT_ETIME_SUCCESS, op};

/// No request (an empty link).
pub(super) const NONE: u32 = u32::MAX;

/// Where a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum At {
    Free,
    /// Behind an earlier request of its chain, not started.
    Linked,
    /// Being worked on by the backend right now (not waiting anywhere).
    Busy,
    /// Waiting for readiness of `watch_fd` (`events`).
    Fd,
    /// A timer: `IORING_OP_TIMEOUT`, or a link timeout guarding its request.
    Timer,
    /// On the thread pool.
    Pool,
}

pub(super) struct Req {
    pub sqe: Sqe,
    pub at: At,
    /// Bumped when the slot is freed: a timer entry or pool result of an earlier request in
    /// the same slot is recognised as stale.
    pub generation: u32,
    /// The descriptor the request works on (a registered file resolved).
    pub fd: i32,
    /// With `At::Fd`: the descriptor and epoll events it waits for.
    pub watch_fd: i32,
    pub events: u32,
    /// The next request of its chain, started (or failed) when this one ends.
    pub next: u32,
    /// The link timeout armed for this request, or, for a link timeout, the request it
    /// guards.
    pub ltimeout: u32,
    pub guards: u32,
    /// A timer's deadline (`CLOCK_MONOTONIC` ns).
    pub deadline: u64,
    /// A connect under way (`EINPROGRESS`).
    pub connecting: bool,
    /// The fd ignores offsets (a pipe or socket: `ESPIPE` seen).
    pub stream: bool,
    /// The fd has no `O_NONBLOCK` (-1: not looked at yet).
    pub blocking: i8,
}

impl Req {
    fn new(sqe: Sqe, generation: u32) -> Req {
        Req {
            sqe,
            at: At::Busy,
            generation,
            fd: sqe.fd,
            watch_fd: -1,
            events: 0,
            next: NONE,
            ltimeout: NONE,
            guards: NONE,
            deadline: 0,
            connecting: false,
            stream: false,
            blocking: -1,
        }
    }

    /// A hard link: the chain goes on after this request whatever its result.
    pub(super) fn hard(&self) -> bool {
        self.sqe.flags & IOSQE_IO_HARDLINK != 0
    }

    pub(super) fn links(&self) -> bool {
        self.sqe.flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK) != 0
    }
}

/// Whether `res` fails the link after a request (io_uring's rules: an error, a timer that
/// expired unless `IORING_TIMEOUT_ETIME_SUCCESS`, a short read or write, a short transfer
/// with `MSG_WAITALL`).
pub(super) fn fails_link(sqe: &Sqe, res: i32) -> bool {
    if res < 0 {
        return !(sqe.opcode == op::TIMEOUT && res == -libc::ETIME && sqe.op_flags & TIMEOUT_ETIME_SUCCESS != 0);
    }
    match sqe.opcode {
        op::READ | op::WRITE | op::READ_FIXED | op::WRITE_FIXED => (res as u32) < sqe.len,
        op::READV | op::WRITEV => {
            let iov = sqe.addr as *const libc::iovec;
            let total: usize = (0..sqe.len as usize)
                // SAFETY: the request's iovec array, valid until it completes (now).
                .map(|i| unsafe { (*iov.add(i)).iov_len })
                .sum();
            (res as usize) < total
        }
        op::SEND | op::RECV => sqe.op_flags & libc::MSG_WAITALL as u32 != 0 && (res as u32) < sqe.len,
        _ => false,
    }
}

/// The requests, by slot; freed slots are reused, so steady state allocates nothing.
#[derive(Default)]
pub(super) struct Slab {
    reqs: Vec<Req>,
    free: Vec<u32>,
    live: usize,
}

impl Slab {
    pub(super) fn alloc(&mut self, sqe: Sqe) -> u32 {
        self.live += 1;
        if let Some(slot) = self.free.pop() {
            let generation = self.reqs[slot as usize].generation;
            self.reqs[slot as usize] = Req::new(sqe, generation);
            return slot;
        }
        self.reqs.push(Req::new(sqe, 0));
        (self.reqs.len() - 1) as u32
    }

    pub(super) fn free(&mut self, slot: u32) {
        let r = &mut self.reqs[slot as usize];
        debug_assert!(r.at != At::Free);
        r.at = At::Free;
        r.generation = r.generation.wrapping_add(1);
        self.free.push(slot);
        self.live -= 1;
    }

    pub(super) fn get(&self, slot: u32) -> &Req {
        &self.reqs[slot as usize]
    }

    pub(super) fn get_mut(&mut self, slot: u32) -> &mut Req {
        &mut self.reqs[slot as usize]
    }

    /// Whether `slot` still holds the request of generation `generation`, in state `at`.
    pub(super) fn is(&self, slot: u32, generation: u32, at: At) -> bool {
        self.reqs.get(slot as usize).is_some_and(|r| r.generation == generation && r.at == at)
    }

    /// Every slot in use, in slot order.
    pub(super) fn slots(&self) -> impl Iterator<Item = (u32, &Req)> {
        self.reqs.iter().enumerate().filter(|(_, r)| r.at != At::Free).map(|(i, r)| (i as u32, r))
    }
}
