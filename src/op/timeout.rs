//! `IORING_OP_TIMEOUT` as a plain timer: completes with 0 when it fires.

use io_uring::{opcode, squeue::Entry, types};

use super::{Args, Kind, Operation};
use crate::error::Errno;
use crate::ring::record::timespec_from_ns;

/// A relative timer of `ns` nanoseconds. Completes with 0 when it fires and with
/// `-ECANCELED` when cancelled.
pub struct Timeout {
    pub ns: u64,
}

// SAFETY: the entry points at the timespec in the record's `Args`.
unsafe impl Operation for Timeout {
    const KIND: Kind = Kind::Timer;
    unsafe fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        args.ts = timespec_from_ns(self.ns);
        // count 0: a pure timer, not "fire after N completions". The kernel ends a fired
        // timer with -ETIME, which would break a link behind it; ETIME_SUCCESS (5.16) keeps
        // the chain going, as a timer that fired has succeeded (`Kind::Timer`).
        Ok(opcode::Timeout::new(&args.ts).flags(types::TimeoutFlags::ETIME_SUCCESS).build())
    }
}
