//! Sockets: `socket`, `connect`, `accept` (single and multishot), `send`, `recv`,
//! `sendmsg`, `recvmsg`, `send_zc`, `shutdown`, `poll` (single and multishot), `splice`,
//! and multishot `recv` into a buffer group.
//!
//! Addresses and `sendmsg` headers are copied into the operation's record. `recvmsg` keeps
//! the caller's `msghdr`, because the kernel writes results (`msg_flags`, lengths) into it.

use io_uring::{opcode, squeue::Entry, types::Fd};

use super::{Args, GroupUse, Kind, Operation};
use crate::error::Errno;
use crate::ring::buf::BufGroup;
use crate::ring::operation::check_buf;
use crate::ring::operation::check_fd;

/// `socket(2)`; the result is the new fd.
pub struct Socket {
    pub domain: i32,
    pub socket_type: i32,
    pub protocol: i32,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for Socket {
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        Ok(opcode::Socket::new(self.domain, self.socket_type, self.protocol).build())
    }
}

/// `connect(2)` to a copied address.
pub struct Connect {
    pub fd: i32,
    pub addr: *const libc::sockaddr,
    pub addrlen: libc::socklen_t,
}

/// Copies a socket address into `args.addr`; NULL or a bad length → `-EINVAL`.
///
/// # Safety
///
/// `addr` is NULL or points to `addrlen` readable bytes.
unsafe fn copy_addr(
    args: &mut Args,
    addr: *const libc::sockaddr,
    addrlen: libc::socklen_t,
) -> Result<*const libc::sockaddr, Errno> {
    let len = addrlen as usize;
    if addr.is_null() || len == 0 || len > std::mem::size_of::<libc::sockaddr_storage>() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the caller guarantees `addrlen` readable bytes; the storage is large enough.
    unsafe { std::ptr::copy_nonoverlapping(addr.cast::<u8>(), (&raw mut args.addr).cast::<u8>(), len) };
    Ok((&raw const args.addr).cast())
}

// SAFETY: the entry points at the record's copy of the address.
unsafe impl Operation for Connect {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        // SAFETY: the C API's contract: `addr` holds `addrlen` bytes.
        let addr = unsafe { copy_addr(args, self.addr, self.addrlen)? };
        Ok(opcode::Connect::new(Fd(fd), addr, self.addrlen).build())
    }
}

/// `accept4(2)` of one connection; the result is the new fd.
pub struct Accept {
    pub fd: i32,
    pub flags: i32,
}

// SAFETY: the entry points at no memory (no peer address is requested).
unsafe impl Operation for Accept {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        Ok(opcode::Accept::new(Fd(fd), std::ptr::null_mut(), std::ptr::null_mut()).flags(self.flags).build())
    }
}

/// Multishot accept (5.19): one completion per connection, each a new fd, with
/// `AR_COMPLETION_MORE`, until an error or a cancel ends it.
pub struct AcceptMulti {
    pub fd: i32,
    pub flags: i32,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for AcceptMulti {
    const KIND: Kind = Kind::AcceptMulti;
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        Ok(opcode::AcceptMulti::new(Fd(fd)).flags(self.flags).build())
    }
}

/// `send(2)`.
pub struct Send {
    pub fd: i32,
    pub buf: *const u8,
    pub len: usize,
    pub flags: i32,
}

// SAFETY: the entry points at the caller's buffer, kept alive by the caller.
unsafe impl Operation for Send {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        let len = check_buf(self.buf, self.len)?;
        Ok(opcode::Send::new(Fd(fd), self.buf, len).flags(self.flags).build())
    }
}

/// `recv(2)`.
pub struct Recv {
    pub fd: i32,
    pub buf: *mut u8,
    pub len: usize,
    pub flags: i32,
}

// SAFETY: the entry points at the caller's buffer, kept alive by the caller.
unsafe impl Operation for Recv {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        let len = check_buf(self.buf, self.len)?;
        Ok(opcode::Recv::new(Fd(fd), self.buf, len).flags(self.flags).build())
    }
}

/// Zero-copy send (6.0). The kernel reports the result, then later notifies that it no
/// longer reads the buffer; the user gets one final completion, after the notification.
pub struct SendZc {
    pub fd: i32,
    pub buf: *const u8,
    pub len: usize,
    pub flags: i32,
}

// SAFETY: the entry points at the caller's buffer, kept alive until the final completion,
// which comes only after the kernel's notification that it is done with it.
unsafe impl Operation for SendZc {
    const KIND: Kind = Kind::SendZc;
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        let len = check_buf(self.buf, self.len)?;
        Ok(opcode::SendZc::new(Fd(fd), self.buf, len).flags(self.flags).build())
    }

    fn zero_copy_fd(&self) -> Option<i32> {
        Some(self.fd)
    }
}

/// `sendmsg(2)`: the header, its iovec array, address and control data are copied.
pub struct SendMsg {
    pub fd: i32,
    pub msg: *const libc::msghdr,
    pub flags: u32,
}

// SAFETY: the entry points at the record's copies; the data buffers are the caller's.
unsafe impl Operation for SendMsg {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        // SAFETY: the C API's contract: `msg` is NULL or a readable msghdr whose pointers
        // describe readable memory of the stated lengths.
        let src = unsafe { self.msg.as_ref() }.ok_or(Errno::EINVAL)?;
        let mut msg: libc::msghdr = *src;
        if !src.msg_name.is_null() {
            // SAFETY: as above.
            msg.msg_name = unsafe { copy_addr(args, src.msg_name.cast(), src.msg_namelen)? }.cast_mut().cast();
        }
        if src.msg_iovlen > 0 {
            // SAFETY: as above.
            let (iov, _) = unsafe { super::rw::copy_iovecs(args, src.msg_iov, src.msg_iovlen)? };
            msg.msg_iov = iov.cast_mut();
        }
        if !src.msg_control.is_null() && src.msg_controllen > 0 {
            args.control.clear();
            args.control.try_reserve(src.msg_controllen).map_err(|_| Errno::ENOMEM)?;
            // SAFETY: as above: `msg_controllen` readable bytes.
            args.control.extend_from_slice(unsafe {
                std::slice::from_raw_parts(src.msg_control.cast::<u8>(), src.msg_controllen)
            });
            msg.msg_control = args.control.as_mut_ptr().cast();
        }
        args.msg = msg;
        Ok(opcode::SendMsg::new(Fd(fd), &raw const args.msg).flags(self.flags).build())
    }
}

/// `recvmsg(2)` into the caller's `msghdr`, which must stay valid until the final
/// completion (the kernel writes `msg_flags`, `msg_namelen` and `msg_controllen` into it).
pub struct RecvMsg {
    pub fd: i32,
    pub msg: *mut libc::msghdr,
    pub flags: u32,
}

// SAFETY: the entry points at the caller's msghdr, kept alive by the caller.
unsafe impl Operation for RecvMsg {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        if self.msg.is_null() {
            return Err(Errno::EINVAL);
        }
        Ok(opcode::RecvMsg::new(Fd(fd), self.msg).flags(self.flags).build())
    }
}

/// `shutdown(2)`.
pub struct Shutdown {
    pub fd: i32,
    pub how: i32,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for Shutdown {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        if !matches!(self.how, libc::SHUT_RD | libc::SHUT_WR | libc::SHUT_RDWR) {
            return Err(Errno::EINVAL);
        }
        Ok(opcode::Shutdown::new(Fd(fd), self.how).build())
    }
}

/// Poll for `events` (`POLLIN`, …) once; the result is the ready mask.
pub struct Poll {
    pub fd: i32,
    pub events: u32,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for Poll {
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        Ok(opcode::PollAdd::new(Fd(fd), self.events).build())
    }
}

/// Multishot poll: every readiness change with `AR_COMPLETION_MORE`, until a cancel, a
/// deadline or an error ends it.
pub struct PollMulti {
    pub fd: i32,
    pub events: u32,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for PollMulti {
    const KIND: Kind = Kind::PollMulti;
    const TAKES_FD: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        Ok(opcode::PollAdd::new(Fd(fd), self.events).multi(true).build())
    }
}

/// `splice(2)` of up to `len` bytes; an offset of -1 means "none" (pipes, sockets).
pub struct Splice {
    pub fd_in: i32,
    pub off_in: i64,
    pub fd_out: i32,
    pub off_out: i64,
    pub len: usize,
    pub flags: u32,
}

// SAFETY: the entry points at no memory.
unsafe impl Operation for Splice {
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let (fd_in, fd_out) = (check_fd(self.fd_in)?, check_fd(self.fd_out)?);
        if self.len > u32::MAX as usize || self.off_in < -1 || self.off_out < -1 {
            return Err(Errno::EINVAL);
        }
        Ok(opcode::Splice::new(Fd(fd_in), self.off_in, Fd(fd_out), self.off_out, self.len as u32)
            .flags(self.flags)
            .build())
    }
}

/// Multishot receive into a buffer group (6.0): each completion carries a buffer holding
/// `res` bytes (`AR_COMPLETION_BUFFER`), until EOF (`res` 0), an error, or a cancel.
/// When the group runs dry the kernel ends it with `-ENOBUFS`, unless it was queued with
/// `AR_OP_REARM`: then the library parks it and re-arms it when a buffer is recycled.
pub struct RecvMulti {
    pub fd: i32,
    pub group: *mut BufGroup,
    pub flags: i32,
}

// SAFETY: the entry points at no memory; the kernel picks buffers from the group, which the
// ring keeps alive while operations use it.
unsafe impl Operation for RecvMulti {
    const KIND: Kind = Kind::RecvMulti;
    const TAKES_FD: bool = true;
    const USES_GROUP: bool = true;
    unsafe fn prepare(self, _args: &mut Args) -> Result<Entry, Errno> {
        let fd = check_fd(self.fd)?;
        // SAFETY: non-NULL was checked by `buf_group`, which the ring calls first.
        let bgid = unsafe { &*self.group }.bgid;
        Ok(opcode::RecvMulti::new(Fd(fd), bgid).flags(self.flags).build())
    }

    fn buf_group(&self) -> Option<GroupUse> {
        Some(GroupUse { group: self.group, fd: self.fd })
    }
}
