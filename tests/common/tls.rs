//! Test certificates, made with the `openssl` command (`$OPENSSL_BIN`, or
//! `openssl` on the `PATH`): EC P-256 keys, PEM, valid for 2 days.
//!
//! [`pki`] makes one set per test binary (about 30 ms), in a directory under
//! the harness's data root named after the process id, so that a run that
//! dies leaves nothing the next run does not remove; a [`Pki::generate`]d
//! set of one's own is removed when dropped.
//!
//! - `ca`: the test CA, which signs
//!   - `server_cert`: for etcd, with the single subjectAltName `IP:127.0.0.1`
//!     and no DNS name at all, so `https://localhost:PORT` does not match it
//!     (extendedKeyUsage serverAuth, clientAuth: etcd 3.4's gRPC gateway
//!     presents it when it dials its own client port);
//!   - `client_cert`: CN=root, extendedKeyUsage clientAuth.
//! - `other_ca`: an unrelated CA, which signs `other_client_cert` (CN=root,
//!   clientAuth), a client certificate the test CA does not vouch for.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The certificates and keys of one test PKI (see the module doc).
#[derive(Debug)]
pub struct Pki {
    /// The directory holding every file below.
    pub dir: PathBuf,
    /// The test CA's certificate (what a client should trust).
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    /// etcd's certificate: signed by `ca`, subjectAltName `IP:127.0.0.1` only.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A client certificate signed by `ca`, CN=root.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// An unrelated CA.
    pub other_ca: PathBuf,
    pub other_ca_key: PathBuf,
    /// A client certificate signed by `other_ca`, CN=root.
    pub other_client_cert: PathBuf,
    pub other_client_key: PathBuf,
}

/// How a TLS etcd is started (see [`super::Etcd::start_tls`]).
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// `--cert-file`, `--key-file`.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA the harness trusts when it checks that etcd answers; with
    /// `client_cert_auth`, also etcd's `--trusted-ca-file`.
    pub ca: PathBuf,
    /// `--client-cert-auth`: refuse clients without a certificate signed by `ca`.
    pub client_cert_auth: bool,
    /// The certificate and key the harness presents when it checks that
    /// etcd answers.
    pub probe_cert: PathBuf,
    pub probe_key: PathBuf,
}

/// The PKI shared by all tests of this binary, made on first use.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(Pki::generate)
}

/// Extensions of each kind of certificate, and a `[req]` section so that
/// `openssl req` reads nothing from the system's configuration.
const CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

fn openssl_binary() -> String {
    std::env::var("OPENSSL_BIN")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "openssl".into())
}

impl Pki {
    /// Makes a new set of certificates in a new directory (removed on drop).
    /// Panics with openssl's output if it fails.
    pub fn generate() -> Pki {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        super::remove_stale_dirs();
        let dir = super::data_root().join(format!(
            "{}-pki-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the PKI dir");
        let config = dir.join("openssl.cnf");
        std::fs::write(&config, CONFIG).expect("write openssl.cnf");
        let file = |name: &str| dir.join(name);
        let pki = Pki {
            ca: file("ca.pem"),
            ca_key: file("ca.key"),
            server_cert: file("server.pem"),
            server_key: file("server.key"),
            client_cert: file("client.pem"),
            client_key: file("client.key"),
            other_ca: file("other-ca.pem"),
            other_ca_key: file("other-ca.key"),
            other_client_cert: file("other-client.pem"),
            other_client_key: file("other-client.key"),
            dir: dir.clone(),
        };
        let issue =
            |cert: &Path, key: &Path, cn: &str, ext: &str, signer: Option<(&Path, &Path)>| {
                let mut cmd = Command::new(openssl_binary());
                cmd.args(["req", "-x509", "-config"])
                    .arg(&config)
                    .args(["-extensions", ext])
                    .args([
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                        "-nodes",
                    ])
                    .arg("-keyout")
                    .arg(key)
                    .arg("-out")
                    .arg(cert)
                    .args(["-subj", &format!("/CN={cn}"), "-days", "2"]);
                if let Some((ca, ca_key)) = signer {
                    // OpenSSL 3's `req -x509 -CA`: issue, signed by that CA.
                    cmd.arg("-CA").arg(ca).arg("-CAkey").arg(ca_key);
                }
                let out = cmd.output().unwrap_or_else(|e| {
                    panic!(
                        "cannot run {}: {e} (install openssl, or set OPENSSL_BIN)",
                        openssl_binary()
                    )
                });
                assert!(
                    out.status.success() && cert.exists() && key.exists(),
                    "openssl failed to issue {cn} ({ext}): {}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            };
        issue(&pki.ca, &pki.ca_key, "etcdc-test-ca", "ca", None);
        let ca = Some((pki.ca.as_path(), pki.ca_key.as_path()));
        issue(
            &pki.server_cert,
            &pki.server_key,
            "etcdc-test-server",
            "server",
            ca,
        );
        issue(&pki.client_cert, &pki.client_key, "root", "client", ca);
        issue(
            &pki.other_ca,
            &pki.other_ca_key,
            "etcdc-other-ca",
            "ca",
            None,
        );
        let other = Some((pki.other_ca.as_path(), pki.other_ca_key.as_path()));
        issue(
            &pki.other_client_cert,
            &pki.other_client_key,
            "root",
            "client",
            other,
        );
        pki
    }

    /// Options for a TLS etcd with `server_cert`, checked by the harness
    /// with `ca` and `client_cert`; with `client_cert_auth`, etcd requires
    /// a client certificate signed by `ca`.
    pub fn server_tls(&self, client_cert_auth: bool) -> ServerTls {
        ServerTls {
            cert: self.server_cert.clone(),
            key: self.server_key.clone(),
            ca: self.ca.clone(),
            client_cert_auth,
            probe_cert: self.client_cert.clone(),
            probe_key: self.client_key.clone(),
        }
    }

    /// A new file in this PKI's directory with `contents` (for bad-file tests).
    pub fn write_file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).expect("write a test file");
        path
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
