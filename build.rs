//! Gives the shared library its soname, `libetcdc.so.<abi>`.
//!
//! The ABI number is `[package.metadata.etcdc] abi` in Cargo.toml: it changes
//! when the C ABI breaks, independently of the crate's version. (The header,
//! include/etcdc.h, is not generated here: `make header` writes it with
//! tools/gen-header, and it is committed.)

fn main() {
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=build.rs");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let manifest = std::fs::read_to_string(format!("{dir}/Cargo.toml")).expect("read Cargo.toml");
    let abi = match abi(&manifest) {
        Ok(abi) => abi,
        Err(e) => {
            eprintln!("error: Cargo.toml: {e}");
            std::process::exit(1);
        }
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libetcdc.so.{abi}");
}

/// `abi = N` in the `[package.metadata.etcdc]` table.
fn abi(manifest: &str) -> Result<u32, String> {
    const MISSING: &str =
        "no ABI number: add `abi = 1` (the soname's number) under [package.metadata.etcdc]";
    let mut in_table = false;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            in_table = line == "[package.metadata.etcdc]";
        } else if let Some(value) = line.strip_prefix("abi").map(str::trim_start) {
            if in_table {
                let value = value.strip_prefix('=').ok_or(MISSING)?.trim();
                return value
                    .parse()
                    .map_err(|_| format!("[package.metadata.etcdc] abi = {value}: not a number"));
            }
        }
    }
    Err(MISSING.into())
}
