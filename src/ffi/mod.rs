//! The C API: one file per C object, every export a thin conversion around one call into
//! the core. Raw-pointer handling and the panic guard live in [`boundary`].

#![allow(non_camel_case_types)]

mod boundary;
pub mod op;
pub mod ring;
