//! A v3 answer (one protobuf message as etcd sends it, after a byte that
//! names which) through the transport's header reader and the decoding and
//! conversion of every answer the v3 API reads
//! (`etcdc::fuzzing::v3_answers_bytes`). Seeds: answers captured from real
//! etcd 3.4 and 3.5 (`capture_v3_answer_seeds` in tests/v3_kv.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcdc::fuzzing::v3_answers_bytes(data);
});
