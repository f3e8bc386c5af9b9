//! The library version, for the header's macros and `ar_version`.

/// Major version: changes break the ABI (and the soname, `libasyncring.so.MAJOR`).
pub const AR_VERSION_MAJOR: u32 = 0;
/// Minor version: additions.
pub const AR_VERSION_MINOR: u32 = 1;
/// Patch version: fixes.
pub const AR_VERSION_PATCH: u32 = 0;

/// `"MAJOR.MINOR.PATCH"`, NUL-terminated.
pub(crate) const VERSION_CSTR: &std::ffi::CStr = c"0.1.0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_cargo_toml() {
        assert_eq!(format!("{AR_VERSION_MAJOR}.{AR_VERSION_MINOR}.{AR_VERSION_PATCH}"), env!("CARGO_PKG_VERSION"));
        assert_eq!(VERSION_CSTR.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
