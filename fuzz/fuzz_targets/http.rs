//! A server's bytes, cut into reads at fuzzer-chosen sizes, through the
//! client's HTTP/1.1 exchange: head parser, body framing (length, chunked,
//! until close), keep-alive (`etcdc::fuzzing::http_bytes`). Seeds: answers
//! captured raw from a real etcd (fuzz/seeds/http).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcdc::fuzzing::http_bytes(data);
});
