//! A gRPC stream's DATA bytes cut into messages, whole and cut anywhere
//! (the same messages either way), and its header fields through the
//! response check, the status and the percent-decoding of grpc-message
//! (`etcdc::fuzzing::grpc_bytes`). Seeds: streams captured from a real etcd.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcdc::fuzzing::grpc_bytes(data);
});
