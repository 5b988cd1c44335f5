//! What a bench program reads about itself from /proc (Linux), for the
//! 1,000-watch row: memory, threads, sockets; and etcd's port. Included by
//! benches/bench_rust.rs and benches/etcd-client (`#[path]`), so that both
//! count the same way. Each reading that fails ends the program (exit 1).

use std::process::exit;

fn fail(what: &str) -> ! {
    eprintln!("{what}");
    exit(1)
}

/// VmRSS and VmHWM of this process, in kB.
pub fn rss_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_else(|e| fail(&format!("/proc/self/status: {e}")));
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| fail(&format!("/proc/self/status: no {name}")))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The threads of this process (/proc/self/task).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap_or_else(|e| fail(&format!("/proc/self/task: {e}")))
        .count()
}

/// The socket descriptors of this process, and how many of them are
/// established TCP connections to `port` (their inodes looked up in
/// /proc/self/net/tcp and tcp6).
pub fn sockets(port: u16) -> (usize, usize) {
    let mut inodes = std::collections::HashSet::new();
    for fd in std::fs::read_dir("/proc/self/fd")
        .unwrap_or_else(|e| fail(&format!("/proc/self/fd: {e}")))
        .flatten()
    {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            let t = target.to_string_lossy();
            if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                inodes.insert(inode.to_string());
            }
        }
    }
    let mut conns = 0;
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let remote_port = f[2]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // State 01: established.
            if remote_port == Some(port) && f[3] == "01" && inodes.contains(f[9]) {
                conns += 1;
            }
        }
    }
    (inodes.len(), conns)
}

/// The port of `$ETCDC_ENDPOINT`.
pub fn etcd_port() -> u16 {
    let url = std::env::var("ETCDC_ENDPOINT").unwrap_or_default();
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| fail(&format!("no port in ETCDC_ENDPOINT {url}")))
}
