//! What an HTTP/2 server sends, read frame after frame as the connection's
//! reader does: every frame parsed, header blocks gathered and HPACK-decoded
//! on one table, every frame the client can encode re-encoded to the same
//! frame (`etcdc::fuzzing::h2_frames_bytes`). Seeds: connections captured
//! from a real etcd (fuzz/capture-h2-seeds.py).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcdc::fuzzing::h2_frames_bytes(data);
});
