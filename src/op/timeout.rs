//! `IORING_OP_TIMEOUT` as a plain timer: completes with 0 when it fires.

use io_uring::{opcode, squeue::Entry};

use super::record::timespec_from_ns;
use super::{Args, Kind, Operation};
use crate::error::Errno;

/// A relative timer of `ns` nanoseconds. Completes with 0 when it fires and with
/// `-ECANCELED` when cancelled.
pub struct Timeout {
    pub ns: u64,
}

// SAFETY: the entry points at the timespec in the record's `Args`.
unsafe impl Operation for Timeout {
    const KIND: Kind = Kind::Timer;
    fn prepare(self, args: &mut Args) -> Result<Entry, Errno> {
        args.ts = timespec_from_ns(self.ns);
        // count 0: a pure timer, not "fire after N completions".
        Ok(opcode::Timeout::new(&args.ts).build())
    }
}
