//! The io_uring submission entry as the fallback backend reads it: `struct io_uring_sqe`
//! (include/uapi/linux/io_uring.h) with its unions named by the field this library's
//! opcodes use, and the constants of the ABI it emulates.

use io_uring::squeue;

/// `struct io_uring_sqe`, 64 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct Sqe {
    pub opcode: u8,
    pub flags: u8,
    pub ioprio: u16,
    pub fd: i32,
    /// `off`, `addr2`.
    pub off: u64,
    /// `addr`, `splice_off_in`.
    pub addr: u64,
    pub len: u32,
    /// `rw_flags`, `msg_flags`, `timeout_flags`, `cancel_flags`, `poll32_events`, ...
    pub op_flags: u32,
    pub user_data: u64,
    /// `buf_index`, `buf_group`.
    pub buf_index: u16,
    pub personality: u16,
    /// `splice_fd_in`, `file_index`.
    pub fd_in: i32,
    pub addr3: u64,
    pub pad: u64,
}

const _: () = assert!(size_of::<Sqe>() == size_of::<squeue::Entry>());

impl Sqe {
    pub(super) fn from_entry(entry: &squeue::Entry) -> Sqe {
        // SAFETY: `squeue::Entry` is `repr(C)` over `io_uring_sqe`, which `Sqe` mirrors field
        // for field (size checked above); every bit pattern is a valid `Sqe`.
        unsafe { std::mem::transmute_copy(entry) }
    }
}

pub(super) mod op {
    pub(in crate::kernel::fallback) const NOP: u8 = 0;
    pub(in crate::kernel::fallback) const READV: u8 = 1;
    pub(in crate::kernel::fallback) const WRITEV: u8 = 2;
    pub(in crate::kernel::fallback) const FSYNC: u8 = 3;
    pub(in crate::kernel::fallback) const READ_FIXED: u8 = 4;
    pub(in crate::kernel::fallback) const WRITE_FIXED: u8 = 5;
    pub(in crate::kernel::fallback) const POLL_ADD: u8 = 6;
    pub(in crate::kernel::fallback) const SENDMSG: u8 = 9;
    pub(in crate::kernel::fallback) const RECVMSG: u8 = 10;
    pub(in crate::kernel::fallback) const TIMEOUT: u8 = 11;
    pub(in crate::kernel::fallback) const TIMEOUT_REMOVE: u8 = 12;
    pub(in crate::kernel::fallback) const ACCEPT: u8 = 13;
    pub(in crate::kernel::fallback) const ASYNC_CANCEL: u8 = 14;
    pub(in crate::kernel::fallback) const LINK_TIMEOUT: u8 = 15;
    pub(in crate::kernel::fallback) const CONNECT: u8 = 16;
    pub(in crate::kernel::fallback) const FALLOCATE: u8 = 17;
    pub(in crate::kernel::fallback) const OPENAT: u8 = 18;
    pub(in crate::kernel::fallback) const CLOSE: u8 = 19;
    pub(in crate::kernel::fallback) const STATX: u8 = 21;
    pub(in crate::kernel::fallback) const READ: u8 = 22;
    pub(in crate::kernel::fallback) const WRITE: u8 = 23;
    pub(in crate::kernel::fallback) const SEND: u8 = 26;
    pub(in crate::kernel::fallback) const RECV: u8 = 27;
    pub(in crate::kernel::fallback) const SPLICE: u8 = 30;
    pub(in crate::kernel::fallback) const SHUTDOWN: u8 = 34;
    pub(in crate::kernel::fallback) const RENAMEAT: u8 = 35;
    pub(in crate::kernel::fallback) const UNLINKAT: u8 = 36;
    pub(in crate::kernel::fallback) const MKDIRAT: u8 = 37;
    pub(in crate::kernel::fallback) const SOCKET: u8 = 45;
    pub(in crate::kernel::fallback) const SEND_ZC: u8 = 47;
}

// `IOSQE_*`.
pub(super) const IOSQE_FIXED_FILE: u8 = 1 << 0;
pub(super) const IOSQE_IO_LINK: u8 = 1 << 2;
pub(super) const IOSQE_IO_HARDLINK: u8 = 1 << 3;
pub(super) const IOSQE_BUFFER_SELECT: u8 = 1 << 5;

// `IORING_CQE_F_*`.
pub(super) const CQE_F_BUFFER: u32 = 1 << 0;
pub(super) const CQE_F_MORE: u32 = 1 << 1;
pub(super) const CQE_F_NOTIF: u32 = 1 << 3;
pub(super) const CQE_BUFFER_SHIFT: u32 = 16;

pub(super) const TIMEOUT_ABS: u32 = 1 << 0;
pub(super) const TIMEOUT_ETIME_SUCCESS: u32 = 1 << 5;
pub(super) const FSYNC_DATASYNC: u32 = 1;
pub(super) const POLL_ADD_MULTI: u32 = 1;
pub(super) const ASYNC_CANCEL_ALL: u32 = 1 << 0;
pub(super) const ASYNC_CANCEL_FD: u32 = 1 << 1;
pub(super) const ASYNC_CANCEL_ANY: u32 = 1 << 2;
pub(super) const RECV_MULTISHOT: u16 = 1 << 1;
pub(super) const ACCEPT_MULTISHOT: u16 = 1 << 0;
pub(super) const SPLICE_F_FD_IN_FIXED: u32 = 1 << 31;
