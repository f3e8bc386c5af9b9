//! The C API: one file per C object, every export a thin conversion around one call into
//! the core. Raw-pointer handling and the panic guard live in [`boundary`].

#![allow(non_camel_case_types)]
// Each export's safety contract is its `Memory and lifetimes:` section: the form cbindgen
// copies into the header, where C callers read it. A Rust `# Safety` heading would repeat it.
#![allow(clippy::missing_safety_doc)]

mod boundary;
pub mod bufgroup;
pub mod op;
pub mod ring;
