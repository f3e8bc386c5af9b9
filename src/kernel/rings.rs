//! The submission and completion queues, read and written in the memory the kernel shares.
//!
//! The `io-uring` crate sets the ring up and registers resources, but its queue views cost
//! too much per operation for the hot path (`make bench` measures ours against the bare crate):
//! a view per call, an entry copied through a slice, two atomic accesses per push. Here the
//! ring keeps its own mapping of the queues for its whole life: an operation's SQE is
//! written straight into its slot, the tail is published once per `io_uring_enter`, and
//! CQEs are read in place.
//!
//! The mapping is a second `mmap` of the same ring pages the crate maps (the kernel allows
//! any number), so both views always agree; the crate's view is only used for setup and
//! registration, never to push or reap.

use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use io_uring::{IoUring, cqueue, squeue};

use crate::error::Errno;

const IORING_OFF_SQ_RING: i64 = 0;
const IORING_OFF_CQ_RING: i64 = 0x800_0000;
const IORING_OFF_SQES: i64 = 0x1000_0000;
const IORING_SQ_NEED_WAKEUP: u32 = 1 << 0;
const IORING_SQ_CQ_OVERFLOW: u32 = 1 << 1;
const IORING_SQ_TASKRUN: u32 = 1 << 2;
const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
const IORING_ENTER_SQ_WAKEUP: u32 = 1 << 1;
const IORING_ENTER_SQ_WAIT: u32 = 1 << 2;
const IORING_FEAT_SINGLE_MMAP: u32 = 1 << 0;

/// `struct io_sqring_offsets` (uapi).
#[repr(C)]
#[derive(Clone, Copy)]
struct SqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags: u32,
    dropped: u32,
    array: u32,
    resv1: u32,
    user_addr: u64,
}

/// `struct io_cqring_offsets` (uapi).
#[repr(C)]
#[derive(Clone, Copy)]
struct CqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    overflow: u32,
    cqes: u32,
    flags: u32,
    resv1: u32,
    user_addr: u64,
}

/// `struct io_uring_params` (uapi): what `io_uring::Parameters` wraps, transparently.
#[repr(C)]
#[derive(Clone, Copy)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: SqOffsets,
    cq_off: CqOffsets,
}

const _: () = assert!(size_of::<Params>() == size_of::<io_uring::Parameters>());
const _: () = assert!(size_of::<squeue::Entry>() == 64 && size_of::<cqueue::Entry>() == 16);

/// One `mmap`ed region, unmapped on drop.
struct Mapping {
    addr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(fd: i32, offset: i64, len: usize) -> Result<Mapping, Errno> {
        // SAFETY: a fresh shared mapping of the ring fd; the kernel checks offset and length.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                offset,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(Mapping { addr: NonNull::new(addr.cast()).ok_or(Errno::ENOMEM)?, len })
    }

    /// Zeroed anonymous memory: the queues of the fallback backend, which no kernel shares.
    fn anonymous(len: usize) -> Result<Mapping, Errno> {
        // SAFETY: a fresh private anonymous mapping; no file, no fixed address.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(Mapping { addr: NonNull::new(addr.cast()).ok_or(Errno::ENOMEM)?, len })
    }

    /// The `u32` at byte offset `off`, as the atomic the kernel treats it as.
    fn atomic(&self, off: u32) -> *const AtomicU32 {
        debug_assert!(off as usize + 4 <= self.len);
        // SAFETY: within the mapping (offsets come from the kernel).
        unsafe { self.addr.as_ptr().add(off as usize) }.cast()
    }

    fn at<T>(&self, off: u32) -> *mut T {
        // SAFETY: as above.
        unsafe { self.addr.as_ptr().add(off as usize) }.cast()
    }
}

// SAFETY: a mapping is plain memory, unmapped once when the last owner drops it; what is
// read and written inside it is synchronised by its users (atomics, the ring's claim).
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once.
        unsafe { libc::munmap(self.addr.as_ptr().cast(), self.len) };
    }
}

/// The submission queue. Only the thread holding the ring's claim touches it.
pub(crate) struct SubmissionRing {
    khead: *const AtomicU32,
    ktail: *const AtomicU32,
    kflags: *const AtomicU32,
    sqes: *mut squeue::Entry,
    mask: u32,
    entries: u32,
    /// Entries before this are written; the kernel sees them once `publish` stores it.
    tail: u32,
    /// The kernel's head when last read: slots before it are free again.
    head: u32,
    /// The ring fd, for `io_uring_enter` (-1 on the fallback backend, which never enters).
    fd: i32,
    _maps: [Arc<Mapping>; 2],
}

/// The completion queue. Only the thread holding the ring's claim touches it.
pub(crate) struct CompletionRing {
    khead: *const AtomicU32,
    ktail: *const AtomicU32,
    cqes: *const cqueue::Entry,
    mask: u32,
    /// Our head: only we write the kernel's copy, so it never needs reading back.
    head: Cell<u32>,
    /// The kernel's tail when last read: CQEs before it are published.
    tail: Cell<u32>,
    _map: Arc<Mapping>,
}

// SAFETY: the raw pointers point into mappings these values own; access is serialised by
// the ring's claim.
unsafe impl Send for SubmissionRing {}
// SAFETY: as above.
unsafe impl Send for CompletionRing {}

/// Maps the queues of `uring` a second time, for the hot path.
pub(crate) fn map(uring: &IoUring) -> Result<(SubmissionRing, CompletionRing), Errno> {
    // SAFETY: `Parameters` is `repr(transparent)` over the kernel's `io_uring_params`, which
    // `Params` mirrors field for field (sizes checked above).
    let p: Params = unsafe { std::mem::transmute_copy(uring.params()) };
    if p.features & IORING_FEAT_SINGLE_MMAP == 0 {
        // 5.4+; the library requires 5.19.
        return Err(Errno::ENOSYS);
    }
    let fd = std::os::fd::AsRawFd::as_raw_fd(uring);
    let sq_map = Mapping::new(fd, IORING_OFF_SQ_RING, p.sq_off.array as usize + p.sq_entries as usize * 4)?;
    let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * size_of::<cqueue::Entry>();
    let cq_map = Mapping::new(fd, IORING_OFF_CQ_RING, cq_len)?;
    let sqes = Mapping::new(fd, IORING_OFF_SQES, p.sq_entries as usize * size_of::<squeue::Entry>())?;
    // The crate initialised the SQ index array to the identity: slot i is SQE i.
    // SAFETY: offsets from the kernel, within the mappings.
    let sq = unsafe {
        SubmissionRing {
            khead: sq_map.atomic(p.sq_off.head),
            ktail: sq_map.atomic(p.sq_off.tail),
            kflags: sq_map.atomic(p.sq_off.flags),
            sqes: sqes.at(0),
            mask: *sq_map.at::<u32>(p.sq_off.ring_mask),
            entries: *sq_map.at::<u32>(p.sq_off.ring_entries),
            tail: (*sq_map.atomic(p.sq_off.tail)).load(Ordering::Acquire),
            head: (*sq_map.atomic(p.sq_off.head)).load(Ordering::Acquire),
            fd,
            _maps: [Arc::new(sq_map), Arc::new(sqes)],
        }
    };
    // SAFETY: as above.
    let cq = unsafe {
        CompletionRing {
            khead: cq_map.atomic(p.cq_off.head),
            ktail: cq_map.atomic(p.cq_off.tail),
            cqes: cq_map.at(p.cq_off.cqes),
            mask: *cq_map.at::<u32>(p.cq_off.ring_mask),
            head: Cell::new((*cq_map.atomic(p.cq_off.head)).load(Ordering::Acquire)),
            tail: Cell::new((*cq_map.atomic(p.cq_off.tail)).load(Ordering::Acquire)),
            _map: Arc::new(cq_map),
        }
    };
    Ok((sq, cq))
}

/// Where the fallback backend's queue words live in its anonymous memory: each word the
/// two sides both write on its own cache line.
mod layout {
    pub(super) const SQ_HEAD: u32 = 0;
    pub(super) const SQ_TAIL: u32 = 64;
    pub(super) const SQ_FLAGS: u32 = 128;
    pub(super) const CQ_HEAD: u32 = 0;
    pub(super) const CQ_TAIL: u32 = 64;
    pub(super) const CQES: u32 = 128;
}

/// The backend's side of queues that live in plain memory (the fallback backend plays the
/// kernel's part): it consumes SQEs from the head and posts CQEs at the tail, with the same
/// orderings the kernel uses.
pub(crate) struct BackendQueues {
    sq_head: *const AtomicU32,
    sq_tail: *const AtomicU32,
    sq_flags: *const AtomicU32,
    sqes: *const squeue::Entry,
    sq_mask: u32,
    cq_head: *const AtomicU32,
    cq_tail: *const AtomicU32,
    cqes: *mut cqueue::Entry,
    cq_mask: u32,
    cq_entries: u32,
    _maps: [Arc<Mapping>; 3],
}

// SAFETY: the pointers point into mappings this value co-owns; the backend serialises its
// own access (a mutex) and the shared words are atomics.
unsafe impl Send for BackendQueues {}

/// Queues in anonymous memory, for the fallback backend: the ring's views, and the
/// backend's. Sizes are rounded up to powers of two, as the kernel does.
pub(crate) fn anonymous(
    sq_entries: u32,
    cq_entries: u32,
) -> Result<(SubmissionRing, CompletionRing, BackendQueues), Errno> {
    let sq_n = sq_entries.max(1).next_power_of_two();
    let cq_n = cq_entries.max(sq_n).next_power_of_two();
    let sq_map = Arc::new(Mapping::anonymous(4096)?);
    let sqes = Arc::new(Mapping::anonymous(sq_n as usize * size_of::<squeue::Entry>())?);
    let cq_map = Arc::new(Mapping::anonymous(layout::CQES as usize + cq_n as usize * size_of::<cqueue::Entry>())?);
    let sq = SubmissionRing {
        khead: sq_map.atomic(layout::SQ_HEAD),
        ktail: sq_map.atomic(layout::SQ_TAIL),
        kflags: sq_map.atomic(layout::SQ_FLAGS),
        sqes: sqes.at(0),
        mask: sq_n - 1,
        entries: sq_n,
        tail: 0,
        head: 0,
        fd: -1,
        _maps: [sq_map.clone(), sqes.clone()],
    };
    let cq = CompletionRing {
        khead: cq_map.atomic(layout::CQ_HEAD),
        ktail: cq_map.atomic(layout::CQ_TAIL),
        cqes: cq_map.at(layout::CQES),
        mask: cq_n - 1,
        head: Cell::new(0),
        tail: Cell::new(0),
        _map: cq_map.clone(),
    };
    let backend = BackendQueues {
        sq_head: sq_map.atomic(layout::SQ_HEAD),
        sq_tail: sq_map.atomic(layout::SQ_TAIL),
        sq_flags: sq_map.atomic(layout::SQ_FLAGS),
        sqes: sqes.at(0),
        sq_mask: sq_n - 1,
        cq_head: cq_map.atomic(layout::CQ_HEAD),
        cq_tail: cq_map.atomic(layout::CQ_TAIL),
        cqes: cq_map.at(layout::CQES),
        cq_mask: cq_n - 1,
        cq_entries: cq_n,
        _maps: [sq_map, sqes, cq_map],
    };
    Ok((sq, cq, backend))
}

impl BackendQueues {
    /// Takes the next published SQE, if any, and frees its slot.
    pub(crate) fn next_sqe(&self) -> Option<squeue::Entry> {
        // SAFETY: live mappings; only the backend writes the SQ head.
        let (head, tail) =
            unsafe { ((*self.sq_head).load(Ordering::Relaxed), (*self.sq_tail).load(Ordering::Acquire)) };
        if head == tail {
            return None;
        }
        // SAFETY: slots between head and tail hold SQEs the ring published (identity array).
        let entry = unsafe { self.sqes.add((head & self.sq_mask) as usize).read() };
        // SAFETY: as above.
        unsafe { (*self.sq_head).store(head.wrapping_add(1), Ordering::Release) };
        Some(entry)
    }

    /// Posts a CQE, or returns false when the completion queue is full.
    pub(crate) fn post(&self, user_data: u64, res: i32, flags: u32) -> bool {
        // SAFETY: live mappings; only the backend writes the CQ tail.
        let (head, tail) =
            unsafe { ((*self.cq_head).load(Ordering::Acquire), (*self.cq_tail).load(Ordering::Relaxed)) };
        if tail.wrapping_sub(head) >= self.cq_entries {
            return false;
        }
        let cqe = Cqe { user_data, res, flags };
        // SAFETY: the slot at the tail is free (checked above); `Cqe` is the uapi layout of
        // `cqueue::Entry` (16 bytes).
        unsafe { self.cqes.add((tail & self.cq_mask) as usize).cast::<Cqe>().write(cqe) };
        // SAFETY: as above.
        unsafe { (*self.cq_tail).store(tail.wrapping_add(1), Ordering::Release) };
        true
    }

    /// Whether CQEs wait for the ring to reap them.
    pub(crate) fn cq_pending(&self) -> bool {
        // SAFETY: live mappings.
        unsafe { (*self.cq_head).load(Ordering::Acquire) != (*self.cq_tail).load(Ordering::Relaxed) }
    }

    /// Sets or clears `IORING_SQ_CQ_OVERFLOW`: completions wait in the backend's overflow
    /// list, and the ring must enter to have them moved into the queue.
    pub(crate) fn set_overflow(&self, on: bool) {
        // SAFETY: a live mapping.
        let flags = unsafe { &*self.sq_flags };
        if on {
            flags.fetch_or(IORING_SQ_CQ_OVERFLOW, Ordering::Release);
        } else {
            flags.fetch_and(!IORING_SQ_CQ_OVERFLOW, Ordering::Release);
        }
    }
}

/// `struct io_uring_cqe` (uapi), without the big-CQE tail.
#[repr(C)]
struct Cqe {
    user_data: u64,
    res: i32,
    flags: u32,
}

const _: () = assert!(size_of::<Cqe>() == size_of::<cqueue::Entry>());

impl SubmissionRing {
    /// `io_uring_enter`: submits `to_submit` published entries and, with `wait`, waits for
    /// one completion. Returns how many entries the kernel consumed. Not for SQPOLL rings,
    /// whose submission needs the wake-up protocol the crate's `submit` implements.
    #[inline]
    pub(crate) fn enter(&self, to_submit: u32, wait: bool) -> Result<u32, Errno> {
        let mut flags = 0;
        // GETEVENTS also flushes an overflowed CQ and runs deferred task work.
        if wait || self.flags() & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN) != 0 {
            flags |= IORING_ENTER_GETEVENTS;
        }
        let n = io_uring_enter(self.fd, to_submit, u32::from(wait), flags);
        if n < 0 { Err(Errno(-n as i32)) } else { Ok(n as u32) }
    }

    /// The slots free for new entries, looking at the kernel's head again only when our
    /// last reading of it leaves fewer than `want`.
    #[inline]
    pub(crate) fn room(&mut self, want: u32) -> u32 {
        let free = self.entries - self.tail.wrapping_sub(self.head);
        if free >= want {
            return free;
        }
        // SAFETY: a live mapping.
        self.head = unsafe { &*self.khead }.load(Ordering::Acquire);
        self.entries - self.tail.wrapping_sub(self.head)
    }

    /// The slots free for new entries, from a fresh reading of the kernel's head.
    #[inline]
    pub(crate) fn free_slots(&mut self) -> u32 {
        // SAFETY: a live mapping.
        self.head = unsafe { &*self.khead }.load(Ordering::Acquire);
        self.entries - self.tail.wrapping_sub(self.head)
    }

    /// Writes `entry` into the next slot. The caller checked `room`.
    ///
    /// # Safety
    ///
    /// The memory `entry` points at stays valid until its CQE (the `Operation` contract).
    #[inline]
    pub(crate) unsafe fn push(&mut self, entry: squeue::Entry) {
        debug_assert!(self.tail.wrapping_sub(self.head) < self.entries);
        let slot = (self.tail & self.mask) as usize;
        // SAFETY: `slot` is within the SQE array, and not in the kernel's hands (it lies
        // between the kernel's head and our tail, which the caller checked has room).
        unsafe { self.sqes.add(slot).write(entry) };
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes pushed entries visible to the kernel.
    #[inline]
    pub(crate) fn publish(&self) {
        // SAFETY: a live mapping.
        unsafe { &*self.ktail }.store(self.tail, Ordering::Release);
    }

    /// Entries published or pushed that the kernel has not consumed yet.
    #[inline]
    pub(crate) fn pending(&mut self) -> u32 {
        // SAFETY: a live mapping.
        self.head = unsafe { &*self.khead }.load(Ordering::Acquire);
        self.tail.wrapping_sub(self.head)
    }

    pub(crate) fn capacity(&self) -> u32 {
        self.entries
    }

    #[inline]
    fn flags(&self) -> u32 {
        // SAFETY: a live mapping.
        unsafe { &*self.kflags }.load(Ordering::Acquire)
    }

    /// Completions wait in the kernel's overflow list (`IORING_FEAT_NODROP`).
    #[inline]
    pub(crate) fn cq_overflow(&self) -> bool {
        self.flags() & IORING_SQ_CQ_OVERFLOW != 0
    }

    /// Something only an enter with GETEVENTS moves along: an overflowed CQ, or deferred
    /// task work.
    #[inline]
    pub(crate) fn flags_need_enter(&self) -> bool {
        self.flags() & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN) != 0
    }

    /// The kernel's SQ flags word, for `SqPoller` (it lives as long as the mapping).
    pub(crate) fn poller(&self) -> SqPoller {
        SqPoller { fd: self.fd, kflags: self.kflags }
    }

    /// Deferred task work waits for an enter with GETEVENTS.
    #[inline]
    pub(crate) fn taskrun(&self) -> bool {
        self.flags() & IORING_SQ_TASKRUN != 0
    }
}

/// The `io_uring_enter` system call without an argument pointer: the result, or `-errno`.
/// Issued inline rather than through libc's variadic `syscall()`, which sets `errno` and
/// shuffles all six argument registers (a third of the per-enter instructions).
#[inline]
fn io_uring_enter(fd: i32, to_submit: u32, min_complete: u32, flags: u32) -> isize {
    #[cfg(target_arch = "x86_64")]
    {
        let ret: isize;
        // SAFETY: the x86-64 system call convention; io_uring_enter with a NULL argument
        // pointer reads no user memory beyond the rings.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") libc::SYS_io_uring_enter as isize => ret,
                in("rdi") fd as isize,
                in("rsi") to_submit as usize,
                in("rdx") min_complete as usize,
                in("r10") flags as usize,
                in("r8") 0usize,
                in("r9") 0usize,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // SAFETY: io_uring_enter with no argument pointer.
        let n = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                fd,
                to_submit,
                min_complete,
                flags,
                std::ptr::null::<libc::c_void>(),
                0usize,
            )
        };
        if n < 0 { -(Errno::last().0 as isize) } else { n as isize }
    }
}

impl CompletionRing {
    /// Takes the next CQE as (user_data, res, flags), freeing its slot at once, so the
    /// kernel may reuse it while the CQE's callback runs.
    #[inline]
    pub(crate) fn pop(&self) -> Option<(u64, i32, u32)> {
        let head = self.head.get();
        if head == self.tail.get() && !self.has_entries() {
            return None;
        }
        // SAFETY: slots between head and tail hold CQEs the kernel has published.
        let cqe = unsafe { &*self.cqes.add((head & self.mask) as usize) };
        let out = (cqe.user_data(), cqe.result(), cqe.flags());
        let head = head.wrapping_add(1);
        self.head.set(head);
        // SAFETY: a live mapping; only this thread writes the head.
        unsafe { &*self.khead }.store(head, Ordering::Release);
        Some(out)
    }

    /// Whether the kernel has published CQEs the ring has not consumed, read from the shared
    /// head and tail words only: any thread may ask, without the ring's claim.
    #[inline]
    pub(crate) fn published(&self) -> bool {
        // SAFETY: a live mapping; both words are only accessed atomically.
        unsafe { (*self.khead).load(Ordering::Acquire) != (*self.ktail).load(Ordering::Acquire) }
    }

    /// Whether a CQE is waiting (reads the kernel's tail again).
    #[inline]
    pub(crate) fn has_entries(&self) -> bool {
        // SAFETY: a live mapping.
        let tail = unsafe { &*self.ktail }.load(Ordering::Acquire);
        self.tail.set(tail);
        self.head.get() != tail
    }
}

/// What any thread needs to wake an SQPOLL ring's polling thread and to wait for
/// completions: the ring's fd and its SQ flags word. Valid while the queue mapping lives
/// (the `Kernel` that holds it is dropped with the ring).
pub(crate) struct SqPoller {
    fd: i32,
    kflags: *const AtomicU32,
}

// SAFETY: the flags word is only read atomically; the fd is only passed to io_uring_enter.
unsafe impl Send for SqPoller {}
// SAFETY: as above.
unsafe impl Sync for SqPoller {}

impl SqPoller {
    /// If the kernel's polling thread went to sleep, wakes it to read what was published.
    /// Waking the poller submits nothing on the caller's behalf, so no request comes to
    /// belong to the caller.
    #[inline]
    pub(crate) fn wake(&self) {
        // The tail store must be visible before we read the flag the poller sets just before
        // it sleeps (it re-checks the tail after setting it): a full fence, as liburing's
        // sq_ring_needs_enter has.
        std::sync::atomic::fence(Ordering::SeqCst);
        // SAFETY: a live mapping.
        if unsafe { &*self.kflags }.load(Ordering::Acquire) & IORING_SQ_NEED_WAKEUP != 0 {
            io_uring_enter(self.fd, 0, 0, IORING_ENTER_SQ_WAKEUP);
        }
    }

    /// Waits until the submission queue has a free slot, waking the polling thread if it
    /// sleeps (`IORING_ENTER_SQ_WAIT`, 5.10; liburing's `io_uring_sqring_wait`): on an SQPOLL
    /// ring the poller, not an enter, empties the queue, at its own pace. Returns at once if
    /// a slot is free. Submits nothing, so any thread may call it.
    pub(crate) fn wait_for_room(&self) -> Result<(), Errno> {
        // As in `wake`: the published tail before the flag.
        std::sync::atomic::fence(Ordering::SeqCst);
        let mut flags = IORING_ENTER_SQ_WAIT;
        // SAFETY: a live mapping.
        if unsafe { &*self.kflags }.load(Ordering::Acquire) & IORING_SQ_NEED_WAKEUP != 0 {
            flags |= IORING_ENTER_SQ_WAKEUP;
        }
        let n = io_uring_enter(self.fd, 0, 0, flags);
        if n < 0 { Err(Errno(-n as i32)) } else { Ok(()) }
    }

    /// Waits in the kernel until the completion queue holds an entry (or a signal arrives),
    /// submitting nothing: any thread may wait so, without the ring's claim.
    pub(crate) fn wait_for_completion(&self) -> Result<(), Errno> {
        let n = io_uring_enter(self.fd, 0, 1, IORING_ENTER_GETEVENTS);
        if n < 0 { Err(Errno(-n as i32)) } else { Ok(()) }
    }
}
