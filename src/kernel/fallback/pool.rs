//! The fallback backend's bounded thread pool: the calls that block and have no readiness
//! to wait for (regular-file reads and writes, `fsync`, `fallocate`, `openat`, `statx`, the
//! `*at` calls, `close` of a regular file) run here, the way io_uring's io-wq runs them.
//!
//! A job carries its request's slot and generation; a finished job's result goes on the
//! done list and the backend's wake eventfd is written, which wakes whoever waits in
//! `epoll_wait` on the ring. A job still queued can be taken back (a cancel); one running
//! cannot, and finishes by itself (the calls here do not wait on other parties).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::error::Errno;

/// At most this many threads: enough to overlap a few slow disks, bounded so a burst of
/// file work cannot create threads without limit.
const MAX_THREADS: usize = 4;

/// One blocking system call, with the request's arguments (pointers the `Operation`
/// contract keeps valid until the request completes).
#[derive(Clone, Copy)]
pub(super) enum Call {
    Readv { fd: i32, iov: *const libc::iovec, cnt: i32, off: i64, one: libc::iovec },
    Writev { fd: i32, iov: *const libc::iovec, cnt: i32, off: i64, one: libc::iovec },
    Fsync { fd: i32, datasync: bool },
    Fallocate { fd: i32, mode: i32, off: i64, len: i64 },
    Openat { dirfd: i32, path: *const libc::c_char, flags: i32, mode: u32 },
    Close { fd: i32 },
    Statx { dirfd: i32, path: *const libc::c_char, flags: i32, mask: u32, out: *mut libc::statx },
    Unlinkat { dirfd: i32, path: *const libc::c_char, flags: i32 },
    Renameat { olddir: i32, old: *const libc::c_char, newdir: i32, new: *const libc::c_char, flags: u32 },
    Mkdirat { dirfd: i32, path: *const libc::c_char, mode: u32 },
}

// SAFETY: the pointers are the request's arguments, valid until it completes (which only
// happens after the job has run, or instead of it); nothing else touches them meanwhile.
unsafe impl Send for Call {}

impl Call {
    /// Runs the call on this thread: its result, or `-errno`.
    fn run(self) -> i32 {
        // SAFETY: each call gets the arguments the request was built with (see `Call`); a
        // single-buffer read or write points at `one`, which lives in this copy.
        let ret: i64 = unsafe {
            match self {
                Call::Readv { fd, iov, cnt, off, one } => {
                    let iov = if iov.is_null() { &raw const one } else { iov };
                    libc::preadv2(fd, iov, cnt, off, 0) as i64
                }
                Call::Writev { fd, iov, cnt, off, one } => {
                    let iov = if iov.is_null() { &raw const one } else { iov };
                    libc::pwritev2(fd, iov, cnt, off, 0) as i64
                }
                Call::Fsync { fd, datasync: true } => libc::fdatasync(fd) as i64,
                Call::Fsync { fd, datasync: false } => libc::fsync(fd) as i64,
                Call::Fallocate { fd, mode, off, len } => libc::fallocate(fd, mode, off, len) as i64,
                Call::Openat { dirfd, path, flags, mode } => libc::openat(dirfd, path, flags, mode) as i64,
                Call::Close { fd } => libc::close(fd) as i64,
                Call::Statx { dirfd, path, flags, mask, out } => libc::statx(dirfd, path, flags, mask, out) as i64,
                Call::Unlinkat { dirfd, path, flags } => libc::unlinkat(dirfd, path, flags) as i64,
                Call::Renameat { olddir, old, newdir, new, flags } => {
                    libc::syscall(libc::SYS_renameat2, olddir, old, newdir, new, flags) as i64
                }
                Call::Mkdirat { dirfd, path, mode } => libc::mkdirat(dirfd, path, mode) as i64,
            }
        };
        if ret < 0 { Errno::last().negated() } else { ret.min(i32::MAX as i64) as i32 }
    }
}

/// A queued call, for the request in slot `slot` at generation `generation`.
pub(super) struct Job {
    pub slot: u32,
    pub generation: u32,
    pub call: Call,
}

/// A finished call.
#[derive(Clone, Copy)]
pub(super) struct Done {
    pub slot: u32,
    pub generation: u32,
    pub res: i32,
}

struct Queue {
    jobs: VecDeque<Job>,
    stop: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    work: Condvar,
    done: Mutex<Vec<Done>>,
    /// The backend's wake eventfd (owned by the backend, which joins the pool before it
    /// closes the fd).
    wake_fd: i32,
}

pub(super) struct Pool {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    pub(super) fn new(wake_fd: i32) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue { jobs: VecDeque::new(), stop: false }),
                work: Condvar::new(),
                done: Mutex::new(Vec::new()),
                wake_fd,
            }),
            threads: Vec::new(),
        }
    }

    /// Queues `job`. The first job starts all the pool's threads at once: starting them
    /// one by one as load rises would allocate (thread stacks and handles) at random points
    /// in steady state, and the bound is small.
    pub(super) fn submit(&mut self, job: Job) -> Result<(), Errno> {
        if self.threads.is_empty() {
            for _ in 0..MAX_THREADS {
                let shared = self.shared.clone();
                match std::thread::Builder::new().name("asyncring-pool".into()).spawn(move || worker(&shared)) {
                    Ok(t) => self.threads.push(t),
                    Err(_) if !self.threads.is_empty() => break,
                    Err(_) => return Err(Errno::EAGAIN),
                }
            }
        }
        lock(&self.shared.queue).jobs.push_back(job);
        self.shared.work.notify_one();
        Ok(())
    }

    /// Takes back the queued job of `slot` at `generation`: true if it had not started.
    pub(super) fn take_back(&self, slot: u32, generation: u32) -> bool {
        let mut q = lock(&self.shared.queue);
        match q.jobs.iter().position(|j| j.slot == slot && j.generation == generation) {
            Some(i) => {
                q.jobs.remove(i);
                true
            }
            None => false,
        }
    }

    /// Moves finished calls into `out` (which keeps its capacity).
    pub(super) fn collect(&self, out: &mut Vec<Done>) {
        let mut done = lock(&self.shared.done);
        if !done.is_empty() {
            out.extend_from_slice(&done);
            done.clear();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        lock(&self.shared.queue).stop = true;
        self.shared.work.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn worker(shared: &Shared) {
    loop {
        let job = {
            let mut q = lock(&shared.queue);
            loop {
                if let Some(job) = q.jobs.pop_front() {
                    break job;
                }
                if q.stop {
                    return;
                }
                q = shared.work.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let res = job.call.run();
        lock(&shared.done).push(Done { slot: job.slot, generation: job.generation, res });
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to the backend's eventfd, which outlives
        // the pool's threads.
        unsafe { libc::write(shared.wake_fd, (&raw const one).cast(), 8) };
    }
}
