//! Operations as data.
//!
//! Each operation kind is a plain struct (`Read`, `OpenAt`, `Timeout`, …) that implements
//! [`Operation`]: it copies whatever the kernel reads after submission into the record's
//! [`Args`] and builds its submission queue entry. How its final CQE becomes the user's
//! result is its [`Kind`]. The ring is generic over `Operation`, so adding an opcode touches
//! one file here plus its C export, and the ring itself never grows a `match` per feature.

mod cancel;
mod fixed;
mod fs;
mod net;
mod nop;
mod rw;
mod timeout;

pub use crate::ring::operation::{GroupUse, Operation};
pub use crate::ring::opts::{
    AR_OP_ASYNC, AR_OP_DRAIN, AR_OP_FIXED_FILE, AR_OP_HARDLINK, AR_OP_LINK, AR_OP_REARM, OpOpts,
};
pub use crate::ring::{Args, Kind};
pub use cancel::{AR_CANCEL_ALL, AsyncCancel, CancelFd};
pub use fixed::{ReadFixed, WriteFixed};
pub use fs::{AR_FSYNC_DATASYNC, Close, Fallocate, Fsync, MkdirAt, OpenAt, RenameAt, Statx, UnlinkAt};
pub use net::{
    Accept, AcceptMulti, Connect, Poll, PollMulti, Recv, RecvMsg, RecvMulti, Send, SendMsg, SendZc, Shutdown, Socket,
    Splice,
};
pub use nop::Nop;

pub use rw::{Read, Readv, Write, Writev};
pub use timeout::Timeout;
