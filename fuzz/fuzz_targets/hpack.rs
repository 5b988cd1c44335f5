//! Header blocks through one connection's HPACK decoder (dynamic table,
//! Huffman, the header list limit), each decoded list re-encoded by the
//! client's encoder and decoded again (`etcdc::fuzzing::hpack_bytes`).
//! Seeds: the blocks of connections captured from a real etcd.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcdc::fuzzing::hpack_bytes(data);
});
