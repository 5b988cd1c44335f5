//! TLS: loading the CA bundle and client certificate into ureq's rustls
//! configuration, and telling TLS failures apart for the caller.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{AlertDescription, CertificateError, RootCertStore};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use crate::error::{Error, Result};

/// What the client builder was told about TLS.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {
    /// PEM bundle of the CAs to trust; the system's store without one.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain and private key presented to the server.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Accept any server certificate (testing only).
    pub accept_invalid_certs: bool,
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system's CA certificates (`SSL_CERT_FILE`/`SSL_CERT_DIR`, else the
/// distribution's bundle), read once per process.
fn system_roots() -> Arc<Vec<Certificate<'static>>> {
    static ROOTS: OnceLock<Arc<Vec<Certificate<'static>>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            Arc::new(
                found
                    .certs
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                    .collect(),
            )
        })
        .clone()
}

fn bad_file(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{}: {why}", path.display()))
}

/// The PEM items of a file.
fn read_pem(path: &Path) -> Result<Vec<PemItem<'static>>> {
    let data = std::fs::read(path).map_err(|e| bad_file(path, e))?;
    ureq::tls::parse_pem(&data)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad_file(path, format!("not valid PEM ({e})")))
}

/// The certificates of a PEM file: at least one, each one parsable.
fn read_certs(path: &Path, what: &str) -> Result<Vec<Certificate<'static>>> {
    let certs: Vec<_> = read_pem(path)?
        .into_iter()
        .filter_map(|item| match item {
            PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(bad_file(path, format!("no PEM certificate in this {what}")));
    }
    Ok(certs)
}

/// The TLS configuration of a client: ureq's, and the same in rustls's terms
/// for [`Tls::diagnose`].
#[derive(Debug, Clone)]
pub(crate) struct Tls {
    pub ureq: TlsConfig,
    /// The same settings as a rustls configuration, for the probe.
    probe: Arc<rustls::ClientConfig>,
}

/// The TLS configuration for these options: `https` is `true` when some
/// endpoint uses TLS (the system's store is read only then). Checks every
/// file, and that the client key matches its certificate.
pub(crate) fn config(options: &TlsOptions, https: bool) -> Result<Tls> {
    let roots = match &options.ca_file {
        Some(path) => {
            let certs = read_certs(path, "CA file")?;
            let mut store = RootCertStore::empty();
            for cert in &certs {
                store
                    .add(CertificateDer::from(cert.der()))
                    .map_err(|e| bad_file(path, format!("unusable CA certificate: {e}")))?;
            }
            Arc::new(certs)
        }
        None if https && !options.accept_invalid_certs => system_roots(),
        None => Arc::new(Vec::new()),
    };
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(roots.iter().map(|c| CertificateDer::from(c.der())));
    let versions = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidArgument(format!("TLS: {e}")))?;
    let builder = if options.accept_invalid_certs {
        versions
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider())))
    } else {
        versions.with_root_certificates(store)
    };
    let (client_cert, probe) = match &options.client_cert {
        Some((cert_path, key_path)) => {
            let (cert, probe) = client_cert(builder, cert_path, key_path)?;
            (Some(cert), probe)
        }
        None => (None, builder.with_no_client_auth()),
    };
    Ok(Tls {
        ureq: TlsConfig::builder()
            .unversioned_rustls_crypto_provider(provider())
            .root_certs(RootCerts::Specific(roots))
            .client_cert(client_cert)
            .disable_verification(options.accept_invalid_certs)
            .build(),
        probe: Arc::new(probe),
    })
}

/// Loads and checks a client certificate chain and its key, with the rustls
/// configuration that presents them. (ureq panics on a key that does not
/// match, so rustls checks it here first.)
fn client_cert(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<(ClientCert, rustls::ClientConfig)> {
    let chain = read_certs(cert_path, "certificate file")?;
    let mut keys = read_pem(key_path)?
        .into_iter()
        .filter_map(|item| match item {
            PemItem::PrivateKey(k) => Some(k),
            _ => None,
        });
    let key: PrivateKey<'static> = match (keys.next(), keys.next()) {
        (Some(key), None) => key,
        (None, _) => return Err(bad_file(key_path, "no PEM private key in this key file")),
        (Some(_), Some(_)) => return Err(bad_file(key_path, "more than one private key")),
    };
    let der = PrivateKeyDer::try_from(key.der().to_vec())
        .map_err(|e| bad_file(key_path, format!("unusable private key ({e})")))?;
    let chain_der = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    let config = builder.with_client_auth_cert(chain_der, der).map_err(|e| {
        Error::InvalidArgument(format!(
            "{} and {}: unusable as a client certificate and key ({e})",
            cert_path.display(),
            key_path.display()
        ))
    })?;
    Ok((ClientCert::new_with_certs(&chain, key), config))
}

impl Tls {
    /// Why a new connection to `endpoint` (https) breaks, when it is the
    /// server refusing our certificate. With TLS 1.3 the server judges the
    /// client certificate after the handshake, so its alert arrives after
    /// the request was written, and the request fails with a broken pipe or
    /// a reset, before the alert is read. This opens one connection, does
    /// the handshake and reads the server's first word, for at most `within`
    /// (and 2 s): `Some` TLS error if that is an alert or a failed
    /// handshake, `None` if the server accepts us (or cannot be reached).
    /// Used only on the failure path.
    pub(crate) fn diagnose(&self, endpoint: &str, within: Duration) -> Option<Error> {
        diagnose_with(&self.probe, endpoint, within)
    }

    /// The same settings (CA file or system store, client certificate,
    /// verification or not) for HTTP/2: ALPN `h2` only.
    pub(crate) fn h2_client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut config = (*self.probe).clone();
        config.alpn_protocols = vec![b"h2".to_vec()];
        // A session cache of its own (one per fork generation: a cache's
        // lock held by a parent thread at fork must not be the child's).
        config.resumption = rustls::client::Resumption::default();
        Arc::new(config)
    }
}

/// [`Tls::diagnose`] with this rustls configuration (also used by the
/// HTTP/2 transport with its own).
pub(crate) fn diagnose_with(
    config: &Arc<rustls::ClientConfig>,
    endpoint: &str,
    within: Duration,
) -> Option<Error> {
    let uri: ureq::http::Uri = endpoint.parse().ok()?;
    if uri.scheme_str() != Some("https") {
        return None;
    }
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let within = within.min(Duration::from_secs(2));
    if within.is_zero() {
        return None;
    }
    let addr = (host, uri.port_u16().unwrap_or(443))
        .to_socket_addrs()
        .ok()?
        .next()?;
    let mut tcp = TcpStream::connect_timeout(&addr, within).ok()?;
    tcp.set_read_timeout(Some(within)).ok()?;
    tcp.set_write_timeout(Some(within)).ok()?;
    let name = ServerName::try_from(host.to_owned()).ok()?;
    let mut conn = rustls::ClientConnection::new(config.clone(), name).ok()?;
    let failed = |e: io::Error| {
        let e = io_rustls_error(&e)?.clone();
        classify(&ureq::Error::Rustls(e), endpoint)
    };
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            return failed(e);
        }
    }
    // The server's first records after the handshake: session tickets
    // if it accepts us, an alert if not.
    match conn.read_tls(&mut tcp) {
        Ok(0) | Err(_) => None,
        Ok(_) => conn
            .process_new_packets()
            .err()
            .and_then(|e| classify(&ureq::Error::Rustls(e), endpoint)),
    }
}

/// A TLS failure, told apart in the user's terms.
pub(crate) fn classify(e: &ureq::Error, endpoint: &str) -> Option<Error> {
    let rustls_error = match e {
        ureq::Error::Rustls(e) => e,
        ureq::Error::Io(e) => io_rustls_error(e)?,
        ureq::Error::Tls(reason) => {
            return Some(Error::Tls {
                endpoint: endpoint.to_owned(),
                reason: (*reason).to_owned(),
            })
        }
        _ => return None,
    };
    Some(classify_rustls(rustls_error, endpoint))
}

/// A rustls error, told apart in the user's terms (as [`classify`]).
pub(crate) fn classify_rustls(rustls_error: &rustls::Error, endpoint: &str) -> Error {
    let endpoint = endpoint.to_owned();
    let reason = rustls_error.to_string();
    use rustls::Error as R;
    match rustls_error {
        R::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Error::TlsHostname { endpoint, reason },
        R::InvalidCertificate(_) => Error::TlsUntrusted { endpoint, reason },
        R::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied,
        ) => Error::TlsClientCert { endpoint, reason },
        R::InvalidMessage(_) => Error::Tls {
            endpoint,
            reason: format!("{reason} (is this an http endpoint?)"),
        },
        _ => Error::Tls { endpoint, reason },
    }
}

/// An I/O error that breaks a TLS handshake: the connection closed or reset
/// (not a timeout, not a TLS error of its own).
pub(crate) fn is_handshake_break(e: &io::Error) -> bool {
    io_rustls_error(e).is_none()
        && matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
        )
}

/// The probe's verifier when certificates are not verified (ureq installs
/// its own for the requests): any certificate is accepted, signatures are
/// still checked, as ureq's does.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls error inside an I/O error, if that is what it is.
pub(crate) fn io_rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}
