//! What the ring needs of an operation: the [`Operation`] trait each opcode implements
//! (`op/`), and the argument checks they share.

use io_uring::squeue::Entry;

use super::buf::BufGroup;
use super::kind::Kind;
use super::record::Args;
use crate::error::Errno;

/// One kind of operation: how to build its submission queue entry.
///
/// # Safety
///
/// The entry `prepare` returns may point only at memory that stays valid until the
/// operation's final completion: the operation's own [`Args`] (which the ring keeps at a
/// stable address until then) or caller memory the caller promised to keep alive when it
/// queued the operation.
pub unsafe trait Operation {
    /// How the final CQE becomes the user's completion.
    const KIND: Kind = Kind::Plain;
    /// Whether the operation takes a file descriptor that `AR_OP_FIXED_FILE` may turn into
    /// an index into the ring's registered files.
    const TAKES_FD: bool = false;
    /// Whether `buf_group` may return a group (the ring then takes its general path).
    const USES_GROUP: bool = false;

    /// Validates the arguments, copies into `args` what the kernel reads after submission,
    /// and builds the entry. `user_data` and the `IOSQE_*` flags are set by the ring.
    ///
    /// # Safety
    ///
    /// Every pointer the operation holds is NULL or valid as its type documents: what is
    /// copied (paths, addresses, iovec arrays, message headers) is readable for its stated
    /// length now, and what the kernel uses in place (data buffers, a `statx` or `recvmsg`
    /// result) stays valid until the operation's final completion.
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno>;

    /// The buffer group the kernel picks buffers from, if any. The ring checks that the
    /// group is this ring's and keeps it alive while the operation lives.
    fn buf_group(&self) -> Option<GroupUse> {
        None
    }

    /// The socket a zero-copy send transmits on (teardown may have to abort it to get the
    /// buffer back from the kernel); `None` for every other kind.
    fn zero_copy_fd(&self) -> Option<i32> {
        None
    }
}

/// An operation's use of a buffer group.
pub struct GroupUse {
    pub group: *mut BufGroup,
    /// The socket it receives from (for cancel-by-fd of a parked operation).
    pub fd: i32,
}

/// Rejects a negative file descriptor with `-EBADF`.
pub fn check_fd(fd: i32) -> Result<i32, Errno> {
    if fd < 0 { Err(Errno::EBADF) } else { Ok(fd) }
}

/// Rejects a NULL buffer with a non-zero length and lengths the SQE cannot carry.
pub fn check_buf(ptr: *const u8, len: usize) -> Result<u32, Errno> {
    // The SQE's `len` is 32 bits; the kernel caps one transfer at MAX_RW_COUNT
    // (INT_MAX rounded down to a page) and would silently shorten anything larger.
    if (ptr.is_null() && len != 0) || len > i32::MAX as usize {
        return Err(Errno::EINVAL);
    }
    Ok(len as u32)
}
