//! Every fuzz seed (`fuzz/seeds/<target>`, real etcd replies and hostile
//! keys) and every input the fuzzer found a bug with
//! (`fuzz/regressions/<target>`) replayed through the fuzz entry points, so
//! a fixed finding stays fixed. Needs `--features fuzzing`.

use std::fs;
use std::path::Path;

fn replay(target: &str, run: fn(&[u8]) -> bool) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".gitkeep") {
                continue;
            }
            eprintln!("{}", path.display());
            let parsed = run(&fs::read(&path).unwrap());
            // Seeds are well-formed; a regression may be anything.
            assert!(
                parsed || dir == "regressions",
                "{} did not parse",
                path.display()
            );
            count += 1;
        }
    }
    count
}

#[test]
fn http_inputs() {
    assert!(replay("http", etcdc::fuzzing::http_bytes) >= 8);
}

#[test]
fn reply_inputs() {
    assert!(replay("reply", etcdc::fuzzing::reply_bytes) >= 30);
}

#[test]
fn request_target_inputs() {
    assert!(replay("request_target", etcdc::fuzzing::request_target_bytes) >= 5);
}

#[test]
fn h2_frames_inputs() {
    assert!(replay("h2_frames", etcdc::fuzzing::h2_frames_bytes) >= 8);
}

#[test]
fn hpack_inputs() {
    assert!(replay("hpack", etcdc::fuzzing::hpack_bytes) >= 8);
}

#[test]
fn grpc_inputs() {
    assert!(replay("grpc", etcdc::fuzzing::grpc_bytes) >= 10);
}

#[test]
fn dns_inputs() {
    assert!(replay("dns", etcdc::fuzzing::dns_bytes) >= 7);
}

#[test]
fn v3_answers_inputs() {
    assert!(replay("v3_answers", etcdc::fuzzing::v3_answers_bytes) >= 20);
}
