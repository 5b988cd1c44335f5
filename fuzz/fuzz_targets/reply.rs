//! A server's reply, as raw HTTP/1.1 bytes, through every parser the client
//! applies to one (`etcdc::fuzzing::reply_bytes`). Seeds: replies captured
//! from a real etcd (fuzz/seeds/reply).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcdc::fuzzing::reply_bytes(data);
});
