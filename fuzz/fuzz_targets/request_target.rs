//! A key and a value from the user, separated by NUL: the request target
//! built from them must keep each inside its own path segments and
//! parameter (`etcdc::fuzzing::request_target_bytes`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcdc::fuzzing::request_target_bytes(data);
});
