//! The kernel layer: everything that talks to io_uring itself. `Kernel` (setup, enter,
//! registration) and the queue views (`rings`) are what the ring drives; `probe` says
//! whether io_uring is usable here and, if not, why.

mod fallback;
pub mod probe;
pub(crate) mod rings;
mod uring;

pub(crate) use uring::Kernel;
