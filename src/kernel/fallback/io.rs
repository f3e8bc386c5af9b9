//! One try of a request, without blocking: the system call that does its work, made so that
//! it cannot block (`RWF_NOWAIT`, `MSG_DONTWAIT`, a zero-timeout `poll`), and what to do when
//! it would have: wait for readiness, or hand the call to the thread pool (regular files,
//! which are always "ready" and block on the disk instead). Multishot requests post their
//! `IORING_CQE_F_MORE` completions here.

use std::sync::atomic::{AtomicU16, Ordering};

use super::core::Core;
use super::pool::Call;
use super::sqe::{
    ACCEPT_MULTISHOT, CQE_BUFFER_SHIFT, CQE_F_BUFFER, CQE_F_MORE, FSYNC_DATASYNC, IOSQE_BUFFER_SELECT, POLL_ADD_MULTI,
    RECV_MULTISHOT, SPLICE_F_FD_IN_FIXED, Sqe, op,
};
use crate::error::Errno;

/// What one try came to.
pub(super) enum Try {
    /// The request's final result and CQE flags.
    Done(i32, u32),
    /// A zero-copy send's result (its notification follows at once).
    ZeroCopyDone(i32),
    /// Try again when this fd reports these epoll events.
    Wait(i32, u32),
    /// Run this blocking call on the thread pool.
    Pool(Call),
}

/// Multishot requests make at most this many completions per readiness event, so one busy
/// descriptor cannot starve the others.
const MULTISHOT_BATCH: u32 = 32;

const IN: u32 = libc::EPOLLIN as u32;
const OUT: u32 = libc::EPOLLOUT as u32;
const RWF_NOWAIT: i32 = 0x0000_0008;

fn ret_or_errno(ret: isize) -> Result<i32, Errno> {
    if ret < 0 { Err(Errno::last()) } else { Ok(ret.min(i32::MAX as isize) as i32) }
}

/// Whether `fd` is a regular file or block device: always "ready", it blocks on the disk.
fn is_file(fd: i32) -> bool {
    // SAFETY: an all-zero stat is valid; fstat writes it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return false;
    }
    matches!(st.st_mode & libc::S_IFMT, libc::S_IFREG | libc::S_IFBLK)
}

/// Whether `fd` is ready for `events` now.
fn ready(fd: i32, events: u32) -> bool {
    let mut p = libc::pollfd { fd, events: events as i16, revents: 0 };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// Whether `fd` lacks `O_NONBLOCK`.
fn is_blocking(fd: i32) -> bool {
    // SAFETY: F_GETFL takes no pointer.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    fl >= 0 && fl & libc::O_NONBLOCK == 0
}

fn opt_off(off: u64) -> i64 {
    if off == u64::MAX { -1 } else { off as i64 }
}

impl Core {
    pub(super) fn try_io(&mut self, slot: u32) -> Try {
        let r = self.reqs.get(slot);
        let (sqe, fd) = (r.sqe, r.fd);
        match sqe.opcode {
            op::READ | op::WRITE | op::READ_FIXED | op::WRITE_FIXED | op::READV | op::WRITEV => self.try_rw(slot),
            op::RECV if sqe.flags & IOSQE_BUFFER_SELECT != 0 => self.try_recv_select(slot),
            op::RECV => {
                // SAFETY: the request's buffer, valid until it completes.
                let ret = unsafe {
                    libc::recv(
                        fd,
                        sqe.addr as *mut libc::c_void,
                        sqe.len as usize,
                        sqe.op_flags as i32 | libc::MSG_DONTWAIT,
                    )
                };
                socket_result_flags(fd, ret, IN, sqe.op_flags)
            }
            op::SEND | op::SEND_ZC => {
                let flags = sqe.op_flags as i32 | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
                // SAFETY: as above.
                let ret = unsafe { libc::send(fd, sqe.addr as *const libc::c_void, sqe.len as usize, flags) };
                match socket_result_flags(fd, ret, OUT, sqe.op_flags) {
                    Try::Done(res, _) if sqe.opcode == op::SEND_ZC => Try::ZeroCopyDone(res),
                    t => t,
                }
            }
            op::SENDMSG => {
                let flags = sqe.op_flags as i32 | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
                // SAFETY: the request's msghdr (and what it points at), valid until it completes.
                let ret = unsafe { libc::sendmsg(fd, sqe.addr as *const libc::msghdr, flags) };
                socket_result_flags(fd, ret, OUT, sqe.op_flags)
            }
            op::RECVMSG => {
                // SAFETY: as above.
                let ret = unsafe {
                    libc::recvmsg(fd, sqe.addr as *mut libc::msghdr, sqe.op_flags as i32 | libc::MSG_DONTWAIT)
                };
                socket_result_flags(fd, ret, IN, sqe.op_flags)
            }
            op::ACCEPT => self.try_accept(slot),
            op::CONNECT => self.try_connect(slot),
            op::POLL_ADD => self.try_poll(slot),
            op::SPLICE => self.try_splice(slot),
            op::SHUTDOWN => {
                // SAFETY: no pointers.
                done(ret_or_errno(unsafe { libc::shutdown(fd, sqe.len as i32) } as isize))
            }
            op::SOCKET => {
                // SAFETY: no pointers.
                let ret = unsafe { libc::socket(sqe.fd, sqe.off as i32, sqe.len as i32) };
                done(ret_or_errno(ret as isize))
            }
            op::CLOSE if is_file(fd) => Try::Pool(Call::Close { fd }),
            op::CLOSE => {
                // SAFETY: closes the fd the user handed over.
                done(ret_or_errno(unsafe { libc::close(fd) } as isize))
            }
            op::FSYNC => Try::Pool(Call::Fsync { fd, datasync: sqe.op_flags & FSYNC_DATASYNC != 0 }),
            op::FALLOCATE => {
                Try::Pool(Call::Fallocate { fd, mode: sqe.len as i32, off: sqe.off as i64, len: sqe.addr as i64 })
            }
            op::OPENAT => Try::Pool(Call::Openat {
                dirfd: sqe.fd,
                path: sqe.addr as *const libc::c_char,
                flags: sqe.op_flags as i32,
                mode: sqe.len,
            }),
            op::STATX => Try::Pool(Call::Statx {
                dirfd: sqe.fd,
                path: sqe.addr as *const libc::c_char,
                flags: sqe.op_flags as i32,
                mask: sqe.len,
                out: sqe.off as *mut libc::statx,
            }),
            op::UNLINKAT => Try::Pool(Call::Unlinkat {
                dirfd: sqe.fd,
                path: sqe.addr as *const libc::c_char,
                flags: sqe.op_flags as i32,
            }),
            op::RENAMEAT => Try::Pool(Call::Renameat {
                olddir: sqe.fd,
                old: sqe.addr as *const libc::c_char,
                newdir: sqe.len as i32,
                new: sqe.off as *const libc::c_char,
                flags: sqe.op_flags,
            }),
            op::MKDIRAT => {
                Try::Pool(Call::Mkdirat { dirfd: sqe.fd, path: sqe.addr as *const libc::c_char, mode: sqe.len })
            }
            _ => Try::Done(-libc::EINVAL, 0),
        }
    }

    /// Reads and writes: `RWF_NOWAIT` first (sockets, pipes and page-cached file data
    /// complete here); a file that would block goes to the pool, anything else waits for
    /// readiness.
    fn try_rw(&mut self, slot: u32) -> Try {
        let r = self.reqs.get(slot);
        let (sqe, fd) = (r.sqe, r.fd);
        let write = matches!(sqe.opcode, op::WRITE | op::WRITE_FIXED | op::WRITEV);
        let (iov, cnt, one) = match sqe.opcode {
            op::READV | op::WRITEV => (sqe.addr as *const libc::iovec, sqe.len as i32, empty_iov()),
            _ => {
                if matches!(sqe.opcode, op::READ_FIXED | op::WRITE_FIXED) && !self.fixed_buffer_ok(&sqe) {
                    return Try::Done(-libc::EFAULT, 0);
                }
                (
                    std::ptr::null(),
                    1,
                    libc::iovec { iov_base: sqe.addr as *mut libc::c_void, iov_len: sqe.len as usize },
                )
            }
        };
        let iovp = if iov.is_null() { &raw const one } else { iov };
        let mut off = if r.stream { -1 } else { opt_off(sqe.off) };
        let call =
            |off| if write { Call::Writev { fd, iov, cnt, off, one } } else { Call::Readv { fd, iov, cnt, off, one } };
        loop {
            // SAFETY: the request's buffers, valid until it completes.
            let ret = unsafe {
                if write {
                    libc::pwritev2(fd, iovp, cnt, off, RWF_NOWAIT)
                } else {
                    libc::preadv2(fd, iovp, cnt, off, RWF_NOWAIT)
                }
            };
            if ret >= 0 {
                // A short transfer at an explicit offset of a file may only mean the rest was
                // not cached: the pool does the whole of it (reading again is harmless).
                if off >= 0 && (ret as usize) < iov_total(iovp, cnt) && is_file(fd) {
                    return Try::Pool(call(off));
                }
                return Try::Done(ret.min(i32::MAX as isize) as i32, 0);
            }
            let e = Errno::last();
            match e {
                Errno::EINTR => continue,
                Errno::ESPIPE if off != -1 => {
                    // A pipe or socket: io_uring ignores the offset there.
                    self.reqs.get_mut(slot).stream = true;
                    off = -1;
                    continue;
                }
                Errno::EAGAIN | Errno::EOPNOTSUPP if is_file(fd) => return Try::Pool(call(off)),
                Errno::EAGAIN => return Try::Wait(fd, if write { OUT } else { IN }),
                Errno::EOPNOTSUPP => {
                    // No RWF_NOWAIT here (some character devices): a plain call once ready.
                    let events = if write { OUT } else { IN };
                    if !ready(fd, events) {
                        return Try::Wait(fd, events);
                    }
                    // SAFETY: as above.
                    let ret = unsafe {
                        if write { libc::pwritev2(fd, iovp, cnt, off, 0) } else { libc::preadv2(fd, iovp, cnt, off, 0) }
                    };
                    return done(ret_or_errno(ret));
                }
                e => return Try::Done(e.negated(), 0),
            }
        }
    }

    /// A registered buffer's range holds the request's.
    fn fixed_buffer_ok(&self, sqe: &Sqe) -> bool {
        let Some(b) = self.bufs.as_ref().and_then(|b| b.get(sqe.buf_index as usize)) else { return false };
        let (start, end) = (b.iov_base as u64, b.iov_base as u64 + b.iov_len as u64);
        sqe.addr >= start && sqe.addr.saturating_add(sqe.len as u64) <= end
    }

    /// The next buffer of group `bgid`: (address, length, buffer id), not yet taken.
    fn peek_buffer(&self, bgid: u16) -> Option<(*mut u8, u32, u16)> {
        let g = self.groups.get(&bgid)?;
        // SAFETY: the ring's memory stays mapped while registered; the tail is the u16 at
        // byte 14 of entry 0, which the user publishes with release ordering.
        let tail = unsafe { (*g.base.add(14).cast::<AtomicU16>()).load(Ordering::Acquire) };
        if tail == g.head {
            return None;
        }
        // SAFETY: entry `head & mask` lies within the ring (16 bytes each).
        unsafe {
            let e = g.base.add(16 * (g.head & g.mask) as usize);
            Some((e.cast::<u64>().read() as *mut u8, e.add(8).cast::<u32>().read(), e.add(12).cast::<u16>().read()))
        }
    }

    fn take_buffer(&mut self, bgid: u16) {
        if let Some(g) = self.groups.get_mut(&bgid) {
            g.head = g.head.wrapping_add(1);
        }
    }

    /// Receives into buffers the backend picks from the request's group, once or (multishot)
    /// for as long as data comes.
    fn try_recv_select(&mut self, slot: u32) -> Try {
        let r = self.reqs.get(slot);
        let (sqe, fd) = (r.sqe, r.fd);
        let multishot = sqe.ioprio & RECV_MULTISHOT != 0;
        for _ in 0..MULTISHOT_BATCH {
            let Some((buf, len, bid)) = self.peek_buffer(sqe.buf_index) else {
                return Try::Done(-libc::ENOBUFS, 0);
            };
            let want = if sqe.len != 0 { len.min(sqe.len) } else { len };
            // SAFETY: a provided buffer of `len` bytes, the user's until it is recycled.
            let ret = unsafe { libc::recv(fd, buf.cast(), want as usize, sqe.op_flags as i32 | libc::MSG_DONTWAIT) };
            if ret <= 0 {
                // End of stream or an error: the buffer stays in the group.
                return if multishot {
                    socket_result(fd, ret, IN)
                } else {
                    socket_result_flags(fd, ret, IN, sqe.op_flags)
                };
            }
            self.take_buffer(sqe.buf_index);
            let flags = CQE_F_BUFFER | (u32::from(bid) << CQE_BUFFER_SHIFT);
            if !multishot {
                return Try::Done(ret as i32, flags);
            }
            self.post(sqe.user_data, ret as i32, flags | CQE_F_MORE);
            if (ret as u32) < want {
                // Probably drained: the (level-triggered) epoll set says if more came.
                return Try::Wait(fd, IN);
            }
        }
        Try::Wait(fd, IN)
    }

    fn try_accept(&mut self, slot: u32) -> Try {
        let r = self.reqs.get_mut(slot);
        let (sqe, fd) = (r.sqe, r.fd);
        if r.blocking < 0 {
            r.blocking = i8::from(is_blocking(fd));
        }
        let blocking = r.blocking == 1;
        let multishot = sqe.ioprio & ACCEPT_MULTISHOT != 0;
        for _ in 0..MULTISHOT_BATCH {
            // A listening socket without O_NONBLOCK would block in accept: ask first.
            if blocking && !ready(fd, IN) {
                return Try::Wait(fd, IN);
            }
            let (addr, len) = if multishot {
                (std::ptr::null_mut(), std::ptr::null_mut())
            } else {
                (sqe.addr as *mut libc::sockaddr, sqe.off as *mut libc::socklen_t)
            };
            // SAFETY: NULL, or the request's address buffer and length, valid until it completes.
            let ret = unsafe { libc::accept4(fd, addr, len, sqe.op_flags as i32) };
            if ret < 0 || !multishot {
                return socket_result(fd, ret as isize, IN);
            }
            self.post(sqe.user_data, ret, CQE_F_MORE);
        }
        Try::Wait(fd, IN)
    }

    /// A non-blocking connect, also on a socket without `O_NONBLOCK` (the flag is set around
    /// the call, as io_uring issues it non-blocking whatever the fd's flags).
    fn try_connect(&mut self, slot: u32) -> Try {
        let r = self.reqs.get_mut(slot);
        let (sqe, fd) = (r.sqe, r.fd);
        if r.connecting {
            let mut err: i32 = 0;
            let mut len = size_of::<i32>() as libc::socklen_t;
            // SAFETY: writes one int.
            let ret =
                unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, (&raw mut err).cast(), &mut len) };
            return if ret < 0 {
                Try::Done(Errno::last().negated(), 0)
            } else if err != 0 {
                Try::Done(-err, 0)
            } else {
                Try::Done(0, 0)
            };
        }
        // SAFETY: F_GETFL/F_SETFL take no pointers.
        let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if fl < 0 {
            return Try::Done(Errno::last().negated(), 0);
        }
        if fl & libc::O_NONBLOCK == 0 {
            // SAFETY: as above.
            unsafe { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) };
        }
        // SAFETY: the request's copied address, valid until it completes.
        let ret = unsafe { libc::connect(fd, sqe.addr as *const libc::sockaddr, sqe.off as libc::socklen_t) };
        let e = Errno::last();
        if fl & libc::O_NONBLOCK == 0 {
            // SAFETY: as above.
            unsafe { libc::fcntl(fd, libc::F_SETFL, fl) };
        }
        if ret == 0 {
            return Try::Done(0, 0);
        }
        match e {
            Errno::EINPROGRESS => {
                self.reqs.get_mut(slot).connecting = true;
                Try::Wait(fd, OUT)
            }
            // A Unix socket whose peer's backlog is full: try again when it drains.
            Errno::EAGAIN => Try::Wait(fd, OUT),
            e => Try::Done(e.negated(), 0),
        }
    }

    /// Poll: the ready mask now, or wait for it. Level-triggered: a multishot poll reports
    /// again each time the ring runs while the condition holds.
    fn try_poll(&mut self, slot: u32) -> Try {
        let r = self.reqs.get(slot);
        let (sqe, fd) = (r.sqe, r.fd);
        let events = sqe.op_flags & 0xffff;
        let mut p = libc::pollfd { fd, events: events as i16, revents: 0 };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        if n < 0 {
            return Try::Done(Errno::last().negated(), 0);
        }
        if p.revents & libc::POLLNVAL != 0 {
            return Try::Done(-libc::EBADF, 0);
        }
        if n == 0 {
            return Try::Wait(fd, events);
        }
        let mask = (p.revents as u16) as i32;
        if sqe.len & POLL_ADD_MULTI == 0 {
            return Try::Done(mask, 0);
        }
        self.post(sqe.user_data, mask, CQE_F_MORE);
        // Wait for the next change rather than report the same readiness again at once.
        Try::Wait(fd, events)
    }

    fn try_splice(&mut self, slot: u32) -> Try {
        let r = self.reqs.get(slot);
        let (sqe, fd_out) = (r.sqe, r.fd);
        let fd_in = if sqe.op_flags & SPLICE_F_FD_IN_FIXED != 0 {
            match self.files.as_ref().and_then(|f| f.get(sqe.fd_in as u32 as usize)).copied() {
                Some(fd) if fd >= 0 => fd,
                _ => return Try::Done(-libc::EBADF, 0),
            }
        } else {
            sqe.fd_in
        };
        let mut off_in = sqe.addr as i64;
        let mut off_out = sqe.off as i64;
        let pin = if off_in == -1 { std::ptr::null_mut() } else { &raw mut off_in };
        let pout = if off_out == -1 { std::ptr::null_mut() } else { &raw mut off_out };
        let flags = (sqe.op_flags & !SPLICE_F_FD_IN_FIXED) | libc::SPLICE_F_NONBLOCK;
        // Where a side is a socket, SPLICE_F_NONBLOCK does not cover it: splice only once it
        // is ready.
        if !ready(fd_in, IN) {
            return Try::Wait(fd_in, IN);
        }
        // SAFETY: offsets point at locals or are NULL.
        let ret = unsafe { libc::splice(fd_in, pin, fd_out, pout, sqe.len as usize, flags) };
        if ret >= 0 {
            return Try::Done(ret as i32, 0);
        }
        match Errno::last() {
            Errno::EAGAIN if ready(fd_in, IN) => Try::Wait(fd_out, OUT),
            Errno::EAGAIN => Try::Wait(fd_in, IN),
            e => Try::Done(e.negated(), 0),
        }
    }
}

fn done(r: Result<i32, Errno>) -> Try {
    match r {
        Ok(n) => Try::Done(n, 0),
        Err(e) => Try::Done(e.negated(), 0),
    }
}

/// A socket call's outcome: would-block waits for `events`.
fn socket_result(fd: i32, ret: isize, events: u32) -> Try {
    if ret >= 0 {
        return Try::Done(ret.min(i32::MAX as isize) as i32, 0);
    }
    match Errno::last() {
        Errno::EAGAIN | Errno::EINTR => Try::Wait(fd, events),
        e => Try::Done(e.negated(), 0),
    }
}

/// `socket_result` for a call the caller may have made non-blocking itself: with
/// `MSG_DONTWAIT` in its flags, would-block is its answer (`-EAGAIN`), as on io_uring.
fn socket_result_flags(fd: i32, ret: isize, events: u32, msg_flags: u32) -> Try {
    match socket_result(fd, ret, events) {
        Try::Wait(..) if msg_flags & libc::MSG_DONTWAIT as u32 != 0 && Errno::last() == Errno::EAGAIN => {
            Try::Done(-libc::EAGAIN, 0)
        }
        t => t,
    }
}

fn empty_iov() -> libc::iovec {
    libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }
}

fn iov_total(iov: *const libc::iovec, cnt: i32) -> usize {
    // SAFETY: the request's iovec array (or the single one), valid until it completes.
    (0..cnt.max(0) as usize).map(|i| unsafe { (*iov.add(i)).iov_len }).sum()
}
