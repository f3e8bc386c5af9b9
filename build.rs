//! Gives the shared library its soname, `libasyncring.so.MAJOR`, so programs linked against
//! it keep working across compatible upgrades (`make install` creates the symlinks).

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libasyncring.so.{major}");
    println!("cargo:rerun-if-changed=build.rs");
}
