//! Generates `include/etcdc.h` from `src/ffi/` with cbindgen.
//!
//! The header is committed; it is rewritten only when its content changes, and
//! `make check-header` fails when the committed file differs from what this
//! generates.

use std::path::Path;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    // The shared library's soname carries the major version: libetcdc.so.0.
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("version");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libetcdc.so.{major}");
    // cbindgen reads the whole crate (a `pub const` anywhere can reach the header).
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(Path::new(&dir).join("cbindgen.toml"))
        .expect("read cbindgen.toml");
    let header = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("generate include/etcdc.h");
    let mut text = Vec::new();
    header.write(&mut text);
    let path = Path::new(&dir).join("include/etcdc.h");
    if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
        std::fs::create_dir_all(path.parent().unwrap()).expect("create include/");
        std::fs::write(&path, &text).expect("write include/etcdc.h");
    }
}
