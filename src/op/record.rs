//! The record of one operation in flight.

use std::ffi::CStr;

use io_uring::types::Timespec;

use crate::error::Errno;
use crate::op::Kind;

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

impl Default for Args {
    fn default() -> Args {
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
}

impl Args {
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
    pub(crate) group: *mut crate::buf::BufGroup,
    /// The operation's own final CQE, saved while `outstanding` is still non-zero.
    pub(crate) res: i32,
    /// The fd of a group receive (for cancel-by-fd while parked).
    pub(crate) fd: i32,
    /// The buffer the final CQE carried, if any.
    pub(crate) buf: Option<u16>,
    pub(crate) kind: Kind,
    /// CQEs the kernel still owes this operation: its own final CQE, plus one for a linked
    /// deadline timer. The user's final callback runs when this reaches zero.
    pub(crate) outstanding: u8,
    /// The linked deadline timer fired (its CQE carried `-ETIME`).
    pub(crate) deadline_fired: bool,
    /// Ended with `-ENOBUFS` and waits for a recycled buffer (`AR_OP_REARM`).
    pub(crate) parked: bool,
    /// The deadline's timespec, read by the kernel's linked timeout.
    pub(crate) deadline: Timespec,
    /// With `AR_OP_REARM`: the SQE to submit again when the group has buffers.
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
            parked: false,
            deadline: Timespec::new(),
            rearm: None,
            args: Args::default(),
        }
    }
}

impl Record {
    /// Back to the clean state (see the type), keeping the `Args` buffers' capacity.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.group = std::ptr::null_mut();
        self.res = 0;
        self.fd = -1;
        self.buf = None;
        self.kind = Kind::Plain;
        self.outstanding = 1;
        self.deadline_fired = false;
        self.parked = false;
        self.rearm = None;
    }

    /// The result the user sees, once every CQE has arrived.
    pub(crate) fn final_res(&self) -> i32 {
        let res = self.kind.final_res(self.res);
        // A linked timeout that fires cancels its operation; some operations report that as
        // -EINTR rather than -ECANCELED. Either way the deadline is what ended it (SPEC §3.5).
        if self.deadline_fired && (res == -libc::ECANCELED || res == -libc::EINTR) { -libc::ETIMEDOUT } else { res }
    }
}

/// A nanosecond count as the kernel's timespec.
pub(crate) fn timespec_from_ns(ns: u64) -> Timespec {
    Timespec::new().sec(ns / 1_000_000_000).nsec((ns % 1_000_000_000) as u32)
}
