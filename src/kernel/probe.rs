//! Is io_uring usable here, and if not, why (docs/DESIGN.md, guarantee 7)?
//!
//! The same syscall failure has different causes that need different fixes: a seccomp
//! filter (Docker's default profile blocks io_uring), the `kernel.io_uring_disabled` sysctl
//! (6.6), or a kernel too old for what this library needs. The probe tries a small ring and
//! reads `/proc` to tell them apart.

use std::ffi::c_char;

use io_uring::{IoUring, opcode};

use crate::error::Errno;

/// io_uring is usable.
pub const AR_PROBE_OK: u32 = 0;
/// A seccomp filter blocks the io_uring syscalls (as Docker's default profile does).
pub const AR_PROBE_SECCOMP: u32 = 1;
/// The `kernel.io_uring_disabled` sysctl forbids io_uring to this process.
pub const AR_PROBE_SYSCTL: u32 = 2;
/// The kernel lacks io_uring or a feature this library needs (it needs 5.19 or later).
pub const AR_PROBE_KERNEL: u32 = 3;
/// Out of memory, file descriptors or locked memory.
pub const AR_PROBE_RESOURCES: u32 = 4;
/// Anything else; see `status` and `message`.
pub const AR_PROBE_OTHER: u32 = 5;

/// The outcome of `ar_ring_probe`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Probe {
    /// 0 when io_uring is usable, else the `-errno` creating a ring fails with.
    pub status: i32,
    /// `AR_PROBE_*`: why it is not usable.
    pub reason: u32,
    /// The running kernel's release (`uname -r`), NUL-terminated.
    pub kernel_release: [c_char; 65],
    /// A sentence saying what is wrong and what to do about it, NUL-terminated.
    pub message: [c_char; 191],
}

impl Probe {
    fn new(status: i32, reason: u32, message: &str) -> Probe {
        let mut p = Probe { status, reason, kernel_release: [0; 65], message: [0; 191] };
        copy_cstr(&mut p.message, message);
        copy_cstr(&mut p.kernel_release, &kernel_release());
        p
    }

    /// The message as a Rust string.
    pub fn message(&self) -> String {
        let bytes: Vec<u8> = self.message.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

fn copy_cstr(dst: &mut [c_char], src: &str) {
    let n = src.len().min(dst.len() - 1);
    for (d, s) in dst.iter_mut().zip(src.as_bytes()[..n].iter()) {
        *d = *s as c_char;
    }
    dst[n] = 0;
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// Tries io_uring with the setup flags every ring uses, and the newest opcode the library
/// relies on. The trial ring lives on a thread of its own: the kernel may queue task work
/// on the thread that submitted to a ring even after the ring is gone, which interrupts
/// that thread's next `epoll_wait` (a fallback ring's wait) for nothing.
pub fn probe() -> Probe {
    std::thread::scope(|s| {
        match std::thread::Builder::new().name("asyncring-probe".into()).spawn_scoped(s, probe_here) {
            Ok(t) => t.join().unwrap_or_else(|_| Probe::new(-libc::EIO, AR_PROBE_OTHER, "io_uring: the probe failed")),
            Err(_) => probe_here(),
        }
    })
}

fn probe_here() -> Probe {
    let ring: IoUring = match IoUring::builder().setup_submit_all().build(2) {
        Ok(ring) => ring,
        Err(e) => return diagnose(Errno::from(e)),
    };
    if !ring.params().is_feature_nodrop() {
        return Probe::new(
            -libc::ENOSYS,
            AR_PROBE_KERNEL,
            "the kernel's io_uring lacks IORING_FEAT_NODROP (5.5); libasyncring needs Linux 5.19 or later",
        );
    }
    // The ladder: setup (above), register, then a NOP submitted and reaped. A seccomp
    // policy can refuse any one of them, and each refusal is reported as what it is.
    let mut ops = io_uring::Probe::new();
    if let Err(e) = ring.submitter().register_probe(&mut ops) {
        return diagnose_at(Errno::from(e), "io_uring_register");
    }
    if !ops.is_supported(opcode::Socket::CODE) {
        return Probe::new(
            -libc::ENOSYS,
            AR_PROBE_KERNEL,
            "the kernel's io_uring lacks 5.19 opcodes (IORING_OP_SOCKET); libasyncring needs Linux 5.19 or later",
        );
    }
    let mut ring = ring;
    // SAFETY: a NOP points at no memory.
    if unsafe { ring.submission().push(&opcode::Nop::new().build().user_data(7)) }.is_err() {
        return Probe::new(-libc::EAGAIN, AR_PROBE_OTHER, "io_uring: could not queue a NOP");
    }
    if let Err(e) = ring.submit_and_wait(1) {
        return diagnose_at(Errno::from(e), "io_uring_enter");
    }
    if ring.completion().next().is_none_or(|c| c.user_data() != 7 || c.result() != 0) {
        return Probe::new(-libc::EIO, AR_PROBE_OTHER, "io_uring: a NOP did not complete as it should");
    }
    Probe::new(0, AR_PROBE_OK, "io_uring is available")
}

/// Explains why `io_uring_setup` failed with `err`.
pub fn diagnose(err: Errno) -> Probe {
    diagnose_at(err, "io_uring_setup")
}

/// Explains why the io_uring system call `syscall` failed with `err`.
pub fn diagnose_at(err: Errno, syscall: &str) -> Probe {
    let sysctl =
        std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").ok().and_then(|s| s.trim().parse::<u32>().ok());
    let seccomp = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Seccomp:").map(|v| v.trim() == "2")))
        .unwrap_or(false);
    let status = err.negated();
    match err.0 {
        libc::EPERM if sysctl == Some(2) => Probe::new(
            status,
            AR_PROBE_SYSCTL,
            "io_uring is disabled system-wide by the sysctl kernel.io_uring_disabled=2; set it to 0 (or 1 with kernel.io_uring_group)",
        ),
        libc::EPERM if sysctl == Some(1) => Probe::new(
            status,
            AR_PROBE_SYSCTL,
            "io_uring is restricted by kernel.io_uring_disabled=1 to the group kernel.io_uring_group (or CAP_SYS_ADMIN), and this process is not in it",
        ),
        libc::EPERM | libc::ENOSYS if seccomp => Probe::new(
            status,
            AR_PROBE_SECCOMP,
            &format!(
                "a seccomp filter blocks {syscall} (Docker's default profile blocks io_uring); allow io_uring_setup/enter/register in the profile"
            ),
        ),
        libc::ENOSYS => Probe::new(
            status,
            AR_PROBE_KERNEL,
            "the kernel has no io_uring (built without CONFIG_IO_URING, or older than 5.1); libasyncring needs Linux 5.19 or later",
        ),
        libc::EINVAL => Probe::new(
            status,
            AR_PROBE_KERNEL,
            "the kernel rejects io_uring setup flags libasyncring needs (IORING_SETUP_SUBMIT_ALL, 5.18); it needs Linux 5.19 or later",
        ),
        libc::ENOMEM | libc::EMFILE | libc::ENFILE => Probe::new(
            status,
            AR_PROBE_RESOURCES,
            "out of memory, file descriptors or locked memory (RLIMIT_MEMLOCK on kernels before 5.12)",
        ),
        libc::EPERM => Probe::new(
            status,
            AR_PROBE_OTHER,
            &format!("{syscall} is not permitted here (a security module or container policy may forbid it)"),
        ),
        _ => Probe::new(status, AR_PROBE_OTHER, &format!("{syscall} failed")),
    }
}

/// Maps a ring setup failure to the errno `ar_ring_new` returns. Setup flags a kernel lacks
/// show up as `EINVAL`, which would read as "bad config": report `ENOSYS` (kernel) instead
/// when the probe's minimal setup fails the same way.
/// Proves that a ring just set up can be used: `io_uring_register` (a probe of the
/// opcodes) and `io_uring_enter` (with nothing to submit) both work. Returns the errno of
/// the first refusal; `ar_ring_probe` says why.
pub(crate) fn check_usable(ring: &IoUring) -> Result<(), Errno> {
    let mut ops = io_uring::Probe::new();
    ring.submitter().register_probe(&mut ops).map_err(Errno::from)?;
    // SAFETY: submits nothing and waits for nothing; passes no argument pointer.
    unsafe { ring.submitter().enter::<libc::sigset_t>(0, 0, 0, None) }.map_err(Errno::from)?;
    Ok(())
}

pub(crate) fn classify_setup_error(err: Errno) -> Errno {
    if err == Errno::EINVAL && probe().status != 0 { Errno::ENOSYS } else { err }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reports_usable_here() {
        let p = probe();
        if p.status != 0 {
            eprintln!("SKIP: io_uring unavailable: {}", p.message());
            return;
        }
        assert_eq!(p.reason, AR_PROBE_OK);
        assert!(!kernel_release().is_empty());
    }

    #[test]
    fn diagnose_names_the_cause() {
        assert_eq!(
            diagnose(Errno::ENOSYS).reason,
            if std::fs::read_to_string("/proc/self/status").unwrap().contains("Seccomp:\t2") {
                AR_PROBE_SECCOMP
            } else {
                AR_PROBE_KERNEL
            }
        );
        assert_eq!(diagnose(Errno::ENOMEM).reason, AR_PROBE_RESOURCES);
        assert_eq!(diagnose(Errno::ENOMEM).status, -libc::ENOMEM);
    }
}
