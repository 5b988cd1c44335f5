//! A real DNS server for the SRV discovery tests: Debian's `dnsmasq`
//! (installed by scripts/ensure-tools.sh; `$DNSMASQ` names another binary)
//! on a free loopback port, answering only from the records it was given.
//!
//! Everything under `.test` is answered locally (`--local=/test/`): a name
//! without records gets NXDOMAIN, as from a real zone. dnsmasq runs in the
//! foreground with `PR_SET_PDEATHSIG`, so it dies with the test binary; it
//! is stopped (by its pid) when the [`Dns`] is dropped. Its records are
//! fixed at start: [`Dns::replace`] restarts it on the same port with
//! others.

use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One SRV record: `name` (e.g. `_etcd-client._tcp.a.test`), `target`,
/// `port`, `priority`, `weight`.
pub type Record<'a> = (&'a str, &'a str, u16, u16, u16);

/// A running dnsmasq (see the module doc).
pub struct Dns {
    pub port: u16,
    child: Child,
}

/// The dnsmasq binary: `$DNSMASQ`, else `dnsmasq` on the `PATH` or in
/// /usr/sbin (not on a user's `PATH` on Debian).
fn binary() -> PathBuf {
    if let Some(b) = std::env::var_os("DNSMASQ") {
        return b.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("dnsmasq"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "dnsmasq not found: run scripts/ensure-tools.sh (or apt-get install \
                 dnsmasq-base), or set DNSMASQ to its path"
            )
        })
}

impl Dns {
    /// Starts dnsmasq with `records` on a free port; returns once it
    /// answers over TCP (it serves UDP and TCP on the same port).
    pub fn start(records: &[Record]) -> Dns {
        for _ in 0..10 {
            let port = super::dead_port();
            // The port must be free for UDP too.
            if UdpSocket::bind(("127.0.0.1", port)).is_err() {
                continue;
            }
            if let Some(dns) = Dns::start_on(port, records) {
                return dns;
            }
        }
        panic!("dnsmasq did not start on any of 10 ports");
    }

    /// The address to give `ClientBuilder::dns_server`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Restarts dnsmasq on the same port with other records.
    pub fn replace(&mut self, records: &[Record]) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(dns) = Dns::start_on(self.port, records) {
                // The stopped one is dropped (stopping it again is a no-op).
                *self = dns;
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not restart on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn start_on(port: u16, records: &[Record]) -> Option<Dns> {
        let mut cmd = Command::new(binary());
        cmd.args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--no-negcache",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--local=/test/",
            "--pid-file=",
        ])
        .arg(format!("--port={port}"));
        // As root, dnsmasq would switch to "nobody"; stay who we are.
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } == 0 {
            cmd.arg("--user=root");
        }
        for (name, target, port, priority, weight) in records {
            cmd.arg(format!(
                "--srv-host={name},{target},{port},{priority},{weight}"
            ));
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("start dnsmasq");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                // Most likely the port was taken meanwhile.
                return None;
            }
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Some(Dns { port, child });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.stop();
    }
}
