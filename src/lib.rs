//! libasyncring: asynchronous I/O on io_uring, with completions delivered by callbacks from
//! a ring that your own event loop can drive through a notification fd.
//!
//! The Rust API is the core the C API (`src/ffi/`) wraps one call at a time:
//! [`Ring`] owns an io_uring instance; [`Ring::queue`] takes any [`op::Operation`];
//! [`Ring::run`] delivers completions. See `README.md` and `include/asyncring.h` for the
//! model and the guarantees.

pub mod config;
pub mod error;
pub mod ffi;
mod kernel;
pub mod op;
pub mod ring;
pub mod version;

pub use kernel::probe;
pub use ring::{buf, completion};

pub use completion::{
    AR_COMPLETION_BUFFER, AR_COMPLETION_DEADLINE, AR_COMPLETION_MORE, Completion, OpCallback, PostFn,
};
pub use config::{
    AR_RING_FORCE_FALLBACK, AR_RING_NO_FALLBACK, AR_RING_SINGLE_THREAD, AR_RING_SQPOLL, AR_RING_THREADSAFE, RingConfig,
};
pub use error::Errno;
pub use op::OpOpts;
pub use ring::{Backend, Ring, RunMode};
