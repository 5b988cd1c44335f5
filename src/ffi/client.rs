//! Clients: options, creation, and what belongs to no other section (the
//! library's version, owned strings).

use std::ffi::c_char;
use std::time::Duration;

use super::args::give;
use super::list::etcdc_strings;
use super::options::{self, c_options};
use super::{etcdc_status, status};
use crate::error::{Error, Result};
use crate::{Client, ClientBuilder};

/// Major version of the library this header belongs to.
pub const ETCDC_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const ETCDC_VERSION_MINOR: u32 = 2;
/// Patch version of the library this header belongs to.
pub const ETCDC_VERSION_PATCH: u32 = 0;

/// The current version of `etcdc_client_options`: 2 added the TLS and
/// credential fields (`ca_file` to `password`), 3 added `srv_domain` and
/// `dns_server`. A program built with an older version of the struct still
/// works: only its fields are read.
pub const ETCDC_CLIENT_OPTIONS_VERSION: u32 = 3;

/// A connection to an etcd cluster: its endpoints, options and a pool of
/// keep-alive connections.
///
/// Thread-safety: one client may be used by any number of threads at once.
/// Create it with `etcdc_client_new()`, free it with `etcdc_client_free()`
/// once no thread uses it any more.
pub struct etcdc_client {
    pub(crate) client: Client,
}

impl std::ops::Deref for etcdc_client {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Options of `etcdc_client_new()`.
///
/// Initialise with `ETCDC_CLIENT_OPTIONS_INIT` or
/// `etcdc_client_options_init(&opts, ETCDC_CLIENT_OPTIONS_VERSION)`, then set
/// what you need: every field left 0 / NULL / false takes its default.
/// Strings are copied; they need only live during the call.
#[repr(C)]
pub struct etcdc_client_options {
    /// `ETCDC_CLIENT_OPTIONS_VERSION`.
    pub version: u32,
    /// Host of the single endpoint; default "127.0.0.1". Ignored when
    /// `endpoints` is set.
    pub host: *const c_char,
    /// Port of the single endpoint; default 2379.
    pub port: u16,
    /// "http" (default) or "https" for the single endpoint.
    pub protocol: *const c_char,
    /// Endpoint URLs such as "http://10.0.0.1:2379" or "https://…"
    /// (`endpoint_count` of them);
    /// replace host/port/protocol. Requests go to the first; when a member
    /// fails, to the next. A request that never left this machine is sent to
    /// the next member; one that may have reached etcd is sent again only if
    /// it is a read, a write reports `ETCDC_ERR_AMBIGUOUS` instead.
    pub endpoints: *const *const c_char,
    /// Number of strings in `endpoints`.
    pub endpoint_count: usize,
    /// Longest time one request may take, in milliseconds, failover to other
    /// members included; default 60000.
    pub read_timeout_ms: u64,
    /// Longest time to open a connection, in milliseconds; default 5000.
    pub connect_timeout_ms: u64,
    /// API prefix; default "/v2".
    pub version_prefix: *const c_char,
    /// Refuse redirects instead of following a 307/308 to another member
    /// (python-etcd's `allow_redirect=False`). etcd 3.x never sends those;
    /// a 301 (etcd's answer to `.`/`..`/`//` paths) is never followed.
    pub no_redirect: bool,
    /// Largest response body accepted, in bytes; default 256 MiB.
    pub max_response_bytes: u64,
    /// Learn the cluster's members from `/v2/members` (python-etcd's
    /// `allow_reconnect`): at `etcdc_client_new()`, which then asks the
    /// endpoints given until one answers (and fails if none does), and again
    /// after each failover.
    pub discover: bool,
    /// Refuse members of any cluster but this one (its id in hex, as
    /// `etcdc_response_cluster_id()` gives it): `ETCDC_ERR_CLUSTER_ID_MISMATCH`.
    /// Each member proves its id before it is sent a first write, so a
    /// member of another cluster never receives one. etcd sends the id with
    /// keys and members answers, not with health, version, stats or machines,
    /// which are not checked. NULL: the client holds every member to the id
    /// of its first answer.
    pub expected_cluster_id: *const c_char,
    /// PEM file of the CA certificates to trust for https endpoints. NULL:
    /// the system's store (`SSL_CERT_FILE`/`SSL_CERT_DIR` or the
    /// distribution's bundle). Read by `etcdc_client_new()`.
    pub ca_file: *const c_char,
    /// PEM client certificate (chain) presented to servers that ask for one
    /// (etcd's `--client-cert-auth`); needs `key_file`.
    pub cert_file: *const c_char,
    /// PEM private key of `cert_file` (PKCS#8, PKCS#1 or SEC1); checked
    /// against the certificate by `etcdc_client_new()`.
    pub key_file: *const c_char,
    /// **Insecure, for testing only.** Accept any server certificate,
    /// whoever signed it and whatever name it carries: anyone on the path
    /// can then read and change the traffic, credentials included. false
    /// (default): certificates and host names are verified.
    pub insecure_skip_verify: bool,
    /// User name for etcd's auth, sent with every request (HTTP basic auth)
    /// with `password`; NULL: none. Over plain http both cross the network
    /// in clear. Never shown in an error message.
    pub username: *const c_char,
    /// Password of `username`.
    pub password: *const c_char,
    /// Version 3. Find the endpoints in DNS (etcd's `--discovery-srv`,
    /// python-etcd's `srv_domain`): the targets of the SRV records
    /// `_etcd-client-ssl._tcp.<srv_domain>` (as https) and
    /// `_etcd-client._tcp.<srv_domain>` (as http), the https ones first,
    /// each in priority order. Replaces host/port/protocol; with `endpoints`
    /// too: `ETCDC_ERR_INVALID_ARGUMENT`. `etcdc_client_new()` asks the DNS
    /// server and waits at most `connect_timeout_ms`: no records for either
    /// name is `ETCDC_ERR_CONNECTION` (the message names the domain), no
    /// answer in time `ETCDC_ERR_TIMEOUT`. When every member later fails
    /// without an answer, a request asks again (at most once, within its
    /// own timeout) and tries the members the records then name. The
    /// targets are resolved to addresses by the system's resolver when
    /// connecting; an https member's certificate must be valid for its
    /// target name. NULL: no DNS discovery.
    pub srv_domain: *const c_char,
    /// The DNS server `srv_domain` asks, as "127.0.0.1:5353", "[::1]:53"
    /// or an address alone (port 53). NULL: the first `nameserver` of
    /// /etc/resolv.conf.
    pub dns_server: *const c_char,
}

/// Sets the first `version`-sized part of `*opts` to the defaults of that
/// version (every field 0 / NULL / false, `version` set), as
/// `ETCDC_CLIENT_OPTIONS_INIT` does. Pass `ETCDC_CLIENT_OPTIONS_VERSION`, the
/// version this program was compiled with: nothing past its struct is
/// written.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `opts` or a version this
/// library does not know (nothing is written then).
#[no_mangle]
pub unsafe extern "C" fn etcdc_client_options_init(
    opts: *mut etcdc_client_options,
    version: u32,
) -> etcdc_status {
    // SAFETY: per the contract.
    unsafe { options::init(opts, version) }
}

c_options!(etcdc_client_options, ca_file, srv_domain => ClientBuilder, |o| o.to_builder());

impl etcdc_client_options {
    /// The builder these options describe; 0 / NULL fields keep its
    /// defaults.
    fn to_builder(&self) -> Result<ClientBuilder> {
        let o = self;
        let mut b = Client::builder();
        if let Some(host) = field(o.host, "host")? {
            b = b.host(host);
        }
        if o.port != 0 {
            b = b.port(o.port);
        }
        if let Some(protocol) = field(o.protocol, "protocol")? {
            b = b.protocol(protocol);
        }
        if o.endpoint_count > 0 {
            let (endpoints, endpoint_count) = (o.endpoints, o.endpoint_count);
            b = b.endpoints(strings!(endpoints, endpoint_count));
        }
        if let Some(t) = millis(o.read_timeout_ms) {
            b = b.read_timeout(t);
        }
        if let Some(t) = millis(o.connect_timeout_ms) {
            b = b.connect_timeout(t);
        }
        if let Some(prefix) = field(o.version_prefix, "version_prefix")? {
            b = b.version_prefix(prefix);
        }
        if o.max_response_bytes != 0 {
            b = b.max_response_bytes(o.max_response_bytes);
        }
        if let Some(id) = field(o.expected_cluster_id, "expected_cluster_id")? {
            b = b.expected_cluster_id(id);
        }
        if let Some(ca) = field(o.ca_file, "ca_file")? {
            b = b.ca_file(ca);
        }
        match (
            field(o.cert_file, "cert_file")?,
            field(o.key_file, "key_file")?,
        ) {
            (Some(cert), Some(key)) => b = b.client_cert(cert, key),
            (None, None) => {}
            _ => {
                return Err(Error::InvalidArgument(
                    "cert_file and key_file go together".into(),
                ))
            }
        }
        match (
            field(o.username, "username")?,
            field(o.password, "password")?,
        ) {
            (Some(user), password) => b = b.basic_auth(user, password.unwrap_or("")),
            (None, None) => {}
            (None, Some(_)) => {
                return Err(Error::InvalidArgument("password without username".into()))
            }
        }
        if let Some(domain) = field(o.srv_domain, "srv_domain")? {
            b = b.srv_domain(domain);
        }
        if let Some(server) = field(o.dns_server, "dns_server")? {
            b = b.dns_server(crate::transport::srv::parse_server(server)?);
        }
        Ok(b.insecure_skip_verify(o.insecure_skip_verify)
            .discover(o.discover)
            .allow_redirect(!o.no_redirect))
    }
}

/// A string field of an options struct (NULL: `None`).
fn field<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    // SAFETY: NULL or NUL-terminated, per the contract of the struct.
    unsafe { super::args::opt_string(p, name) }
}

/// A duration field: 0 keeps the default.
fn millis(ms: u64) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(ms))
}

/// Creates a client. Sends nothing over the network (the server need not be
/// up yet), unless `discover` or `srv_domain` is set.
///
/// `opts` may be NULL for the defaults (http://127.0.0.1:2379, /v2, 60 s).
/// On success `*out` is a new client, owned by the caller, to be released with
/// `etcdc_client_free()`. On failure `*out` is untouched.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` (NULL `out`, a bad endpoint URL,
/// invalid UTF-8, an unknown options version, a CA, certificate or key file
/// that cannot be read or used, named in the message); with `discover`,
/// the error of the last endpoint asked when none answers; with
/// `srv_domain`, `ETCDC_ERR_CONNECTION` for a domain without records or an
/// unreachable DNS server, `ETCDC_ERR_TIMEOUT` for one that does not
/// answer within `connect_timeout_ms`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_client_new(
    opts: *const etcdc_client_options,
    out: *mut *mut etcdc_client,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let client = options!(opts).build()?;
        give(out, etcdc_client { client });
        Ok(())
    })
}

/// Stores the endpoints this client talks to now in `*out` (a new list,
/// freed with `etcdc_strings_free()`), as normalised base URLs, the one
/// requests go to first, first: those `srv_domain` or `discover` found, in
/// their order after failover. Sends nothing.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` (NULL `client` or `out`).
#[no_mangle]
pub unsafe extern "C" fn etcdc_client_endpoints(
    client: *const etcdc_client,
    out: *mut *mut etcdc_strings,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        give(out, etcdc_strings::new(&arg!(client).endpoints()));
        Ok(())
    })
}

/// Frees a client and closes its connections. NULL is a no-op. No other
/// thread may be using the client; responses obtained from it stay valid.
#[no_mangle]
pub unsafe extern "C" fn etcdc_client_free(client: *mut etcdc_client) {
    free!(client)
}

/// The library's version as "MAJOR.MINOR.PATCH": a static string, never
/// NULL. Compare with the `ETCDC_VERSION_*` macros to detect a header/library
/// mismatch.
#[no_mangle]
pub extern "C" fn etcdc_version() -> *const c_char {
    super::boundary(|| concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast())
}

/// Frees a string that an etcdc function returned as `char *` (owned by the
/// caller, who may modify it before). NULL is a no-op. Never pass it a
/// `const char *` from etcdc: those are borrowed from their handle.
#[no_mangle]
pub unsafe extern "C" fn etcdc_string_free(s: *mut c_char) {
    super::boundary(|| {
        // SAFETY: NULL or from `malloc_string`, freed once, per the contract.
        unsafe { libc::free(s.cast()) }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_macros_match_the_crate() {
        assert_eq!(
            format!(
                "{}.{}.{}",
                super::ETCDC_VERSION_MAJOR,
                super::ETCDC_VERSION_MINOR,
                super::ETCDC_VERSION_PATCH
            ),
            env!("CARGO_PKG_VERSION")
        );
    }
}
