//! The record of one operation in flight.

use std::ffi::CStr;

use io_uring::types::Timespec;

use crate::error::Errno;
use crate::ring::Kind;
use crate::ring::completion::AR_COMPLETION_DEADLINE;

/// Copies of what the kernel reads after submission, owned by the operation until its final
/// completion. Buffers keep their capacity when a record is reused, and start with room
/// for common cases (paths below 256 bytes, 8 iovecs), so steady-state operations allocate
/// nothing whichever record they land in.
pub struct Args {
    pub(crate) path: Vec<u8>,
    pub(crate) path2: Vec<u8>,
    pub(crate) iovecs: Vec<libc::iovec>,
    pub(crate) ts: Timespec,
    pub(crate) addr: libc::sockaddr_storage,
    pub(crate) msg: libc::msghdr,
    pub(crate) control: Vec<u8>,
}

/// Path bytes every record can hold without allocating.
const PATH_CAPACITY: usize = 256;
/// Iovecs every record can hold without allocating.
const IOVEC_CAPACITY: usize = 8;

impl Args {
    /// Empty copies with their initial capacity. Crate-private: outside code has no use for
    /// an `Args`, since only the ring prepares operations.
    pub(crate) fn new() -> Args {
        Args {
            path: Vec::with_capacity(PATH_CAPACITY),
            path2: Vec::new(),
            iovecs: Vec::with_capacity(IOVEC_CAPACITY),
            ts: Timespec::new(),
            // SAFETY: all-zero is a valid sockaddr_storage and msghdr (null pointers, 0 lengths).
            addr: unsafe { std::mem::zeroed() },
            // SAFETY: as above.
            msg: unsafe { std::mem::zeroed() },
            control: Vec::new(),
        }
    }

    /// Copies a NUL-terminated path into `slot` and returns a pointer the kernel may read
    /// until the operation completes. NULL → `-EINVAL`; longer than `PATH_MAX` →
    /// `-ENAMETOOLONG`.
    ///
    /// # Safety
    ///
    /// `path` is NULL or points to a NUL-terminated string.
    pub(crate) unsafe fn copy_path(
        slot: &mut Vec<u8>,
        path: *const libc::c_char,
    ) -> Result<*const libc::c_char, Errno> {
        if path.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller guarantees a NUL-terminated string.
        let bytes = unsafe { CStr::from_ptr(path) }.to_bytes_with_nul();
        if bytes.len() > libc::PATH_MAX as usize {
            return Err(Errno(libc::ENAMETOOLONG));
        }
        slot.clear();
        slot.try_reserve(bytes.len()).map_err(|_| Errno::ENOMEM)?;
        slot.extend_from_slice(bytes);
        Ok(slot.as_ptr().cast())
    }
}

// SAFETY: `Args` holds raw pointers only inside `iovec`s that describe caller buffers; the
// ring never dereferences them, it only hands them to the kernel.
unsafe impl Send for Args {}

/// One operation's record: everything but what its [`Slot`](super::table::Slot) holds.
/// A free record is clean (`Record::clear`, the `Default`): the state of an operation with
/// no deadline, group or special kind that the kernel owes one CQE, so the common
/// operation never writes to its record.
pub(crate) struct Record {
    /// The buffer group the operation receives into, or NULL.
    pub(crate) group: *mut crate::ring::buf::BufGroup,
    /// The operation's own final CQE, saved while `outstanding` is still non-zero.
    pub(crate) res: i32,
    /// The fd of a group receive (for cancel-by-fd while parked) or of a zero-copy send
    /// (for teardown, which may have to abort its connection); -1 otherwise.
    pub(crate) fd: i32,
    /// The buffer the final CQE carried, if any.
    pub(crate) buf: Option<u16>,
    pub(crate) kind: Kind,
    /// CQEs the kernel still owes this operation: its own final CQE, plus one for each
    /// timer guarding it. The user's final callback runs when this reaches zero.
    pub(crate) outstanding: u8,
    /// Its deadline fired (a timer CQE carried `-ETIME`).
    pub(crate) deadline_fired: bool,
    /// It has a deadline (`deadline` holds its absolute time).
    pub(crate) has_deadline: bool,
    /// Ended with `-ENOBUFS` and waits for a recycled buffer (`AR_OP_REARM`).
    pub(crate) parked: bool,
    /// Queued with `AR_OP_REARM`: park on `-ENOBUFS` instead of ending.
    pub(crate) park_on_enobufs: bool,
    /// A standalone timer guards the deadline while the operation is parked.
    pub(crate) park_timer: bool,
    /// A cancel (by id, of its group, or teardown) was asked for: wherever the library
    /// holds the operation (parked, between a CQE and its re-arm, in the backlog), it ends
    /// at the next step instead of going on (guarantee 5).
    pub(crate) cancel_requested: bool,
    /// For a cancel (`Kind::Cancel`): its target, and whether the target ended because
    /// of it while the kernel could not find it (then the cancel reports success).
    pub(crate) target: i64,
    pub(crate) ended_target: bool,
    /// For a cancel: the kernel answered `-EALREADY` once (the target was running).
    pub(crate) already: bool,
    /// For a cancelled target: the cancel that asked, to be told when the target ends.
    pub(crate) canceller: i64,
    /// The deadline as an absolute `CLOCK_MONOTONIC` time, read by the kernel's timers.
    pub(crate) deadline: Timespec,
    /// For a cancel the kernel could not place yet: the back-off before its next try.
    pub(crate) backoff: Timespec,
    pub(crate) backoff_ns: u32,
    /// For multishot kinds: the SQE to submit again when the kernel stops the request
    /// early (guarantee 8) or, with `AR_OP_REARM`, when the group has buffers again.
    pub(crate) rearm: Option<io_uring::squeue::Entry>,
    pub(crate) args: Args,
}

impl Default for Record {
    fn default() -> Record {
        Record {
            group: std::ptr::null_mut(),
            res: 0,
            fd: -1,
            buf: None,
            kind: Kind::Plain,
            outstanding: 1,
            deadline_fired: false,
            has_deadline: false,
            parked: false,
            park_on_enobufs: false,
            park_timer: false,
            cancel_requested: false,
            target: 0,
            ended_target: false,
            already: false,
            canceller: 0,
            deadline: Timespec::new(),
            backoff: Timespec::new(),
            backoff_ns: 0,
            rearm: None,
            args: Args::new(),
        }
    }
}

impl Record {
    /// Back to the clean state (see the type), keeping the `Args` buffers' capacity.
    #[inline]
    pub(crate) fn clear(&mut self) {
        // Field by field: `Record::default` would allocate fresh `Args`.
        self.group = std::ptr::null_mut();
        self.res = 0;
        self.fd = -1;
        self.buf = None;
        self.kind = Kind::Plain;
        self.outstanding = 1;
        self.deadline_fired = false;
        self.has_deadline = false;
        self.parked = false;
        self.park_on_enobufs = false;
        self.park_timer = false;
        self.cancel_requested = false;
        self.target = 0;
        self.ended_target = false;
        self.already = false;
        self.canceller = 0;
        self.backoff_ns = 0;
        self.rearm = None;
    }

    /// The result and `AR_COMPLETION_*` flags the user sees, once every CQE has arrived.
    pub(crate) fn final_completion(&self) -> (i32, u32) {
        let mut res = self.kind.final_res(self.res);
        if (-ERESTART_LAST..=-ERESTARTSYS).contains(&res) {
            // A request interrupted in an io-wq worker (a cancel signals it) can report the
            // kernel's internal restart codes, which must never reach user space: it was
            // interrupted, or cancelled if a cancel asked for it.
            res = if self.cancel_requested { -libc::ECANCELED } else { -libc::EINTR };
        }
        // A timer that fires cancels its operation; some operations report that as -EINTR
        // rather than -ECANCELED. Either way the deadline is what ended it (guarantee 5).
        if self.deadline_fired && (res == -libc::ECANCELED || res == -libc::EINTR) {
            return (-libc::ETIMEDOUT, AR_COMPLETION_DEADLINE);
        }
        if self.kind == Kind::Cancel && res == -libc::ENOENT && self.ended_target {
            // The kernel no longer held the target, but the library ended it for this cancel.
            return (0, 0);
        }
        if self.kind == Kind::Cancel && res == -libc::ENOENT && self.already {
            // A retry found the interrupted target gone: what the first answer said.
            return (-libc::EALREADY, 0);
        }
        (res, 0)
    }

    /// Whether the operation must end at its next step rather than be re-armed or parked.
    pub(crate) fn stopping(&self) -> bool {
        self.cancel_requested || self.deadline_fired
    }
}

/// The kernel's internal restart codes (include/linux/errno.h), first and last.
pub(crate) const ERESTARTSYS: i32 = 512;
pub(crate) const ERESTART_LAST: i32 = 516;

/// A nanosecond count as the kernel's timespec.
pub(crate) fn timespec_from_ns(ns: u64) -> Timespec {
    Timespec::new().sec(ns / 1_000_000_000).nsec((ns % 1_000_000_000) as u32)
}

/// The absolute `CLOCK_MONOTONIC` time `ns` nanoseconds from now, as the kernel's timespec
/// (for timers with `IORING_TIMEOUT_ABS`, which keep their deadline across re-arms).
pub(crate) fn deadline_from_now(ns: u64) -> Timespec {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes one timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let total = (now.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(now.tv_nsec as u64).saturating_add(ns);
    timespec_from_ns(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_distinct_from_a_kernel_timeout() {
        let mut rec = Record { res: -libc::ECANCELED, deadline_fired: true, ..Record::default() };
        assert_eq!(rec.final_completion(), (-libc::ETIMEDOUT, AR_COMPLETION_DEADLINE));
        rec.res = -libc::EINTR;
        assert_eq!(rec.final_completion(), (-libc::ETIMEDOUT, AR_COMPLETION_DEADLINE));
        // The operation won the race against its timer: its own result stands.
        rec.res = 12;
        assert_eq!(rec.final_completion(), (12, 0));
        // A kernel ETIMEDOUT (a TCP connect) without a fired deadline carries no flag.
        let rec = Record { res: -libc::ETIMEDOUT, ..Record::default() };
        assert_eq!(rec.final_completion(), (-libc::ETIMEDOUT, 0));
    }

    #[test]
    fn kernel_restart_codes_never_reach_the_user() {
        for code in 512..=516 {
            let mut rec = Record { res: -code, ..Record::default() };
            assert_eq!(rec.final_completion(), (-libc::EINTR, 0), "{code}");
            rec.cancel_requested = true;
            assert_eq!(rec.final_completion(), (-libc::ECANCELED, 0), "{code}");
        }
        let rec = Record { res: -517, ..Record::default() };
        assert_eq!(rec.final_completion().0, -517);
    }

    #[test]
    fn a_cancel_that_ended_its_target_succeeds() {
        let mut rec = Record { kind: Kind::Cancel, res: -libc::ENOENT, ..Record::default() };
        assert_eq!(rec.final_completion(), (-libc::ENOENT, 0));
        rec.ended_target = true;
        assert_eq!(rec.final_completion(), (0, 0));
        let rec = Record { kind: Kind::Cancel, res: -libc::ENOENT, already: true, ..Record::default() };
        assert_eq!(rec.final_completion(), (-libc::EALREADY, 0), "a retry after -EALREADY");
    }

    #[test]
    fn clear_keeps_argument_capacity() {
        let mut rec = Record { cancel_requested: true, parked: true, outstanding: 0, ..Record::default() };
        rec.args.path.reserve(4096);
        let cap = rec.args.path.capacity();
        rec.clear();
        assert!(!rec.cancel_requested && !rec.parked && rec.outstanding == 1);
        assert_eq!(rec.args.path.capacity(), cap);
    }
}
