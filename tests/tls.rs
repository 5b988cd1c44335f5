mod common;

use std::process::Command;

use common::tls::pki;
use common::{Etcd, Options};

#[test]
fn harness_tls_etcd_requires_client_cert() {
    let t = std::time::Instant::now();
    let p = pki();
    eprintln!("pki {:?}", t.elapsed());
    let etcd = Etcd::start_tls(Options::default(), p.server_tls(true));
    eprintln!("etcd {:?} {}", t.elapsed(), etcd.url);
    let curl = |args: &[&std::path::Path]| {
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "5"]);
        for a in args {
            c.arg(a);
        }
        c.arg(format!("{}/v2/keys/", etcd.url));
        c.output().unwrap()
    };
    let ok = curl(&[
        std::path::Path::new("--cacert"),
        &p.ca,
        std::path::Path::new("--cert"),
        &p.client_cert,
        std::path::Path::new("--key"),
        &p.client_key,
    ]);
    eprintln!("{:?}", ok);
    let no = curl(&[std::path::Path::new("--cacert"), &p.ca]);
    eprintln!("{:?}", no);
}
