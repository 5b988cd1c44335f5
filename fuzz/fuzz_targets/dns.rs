//! A DNS server's answer to the SRV question through the SRV discovery's
//! parser: records or an error, never a panic or a loop
//! (`etcdc::fuzzing::dns_bytes`). Seeds: answers captured from dnsmasq
//! (fuzz/capture-dns-seeds.py).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    etcdc::fuzzing::dns_bytes(data);
});
