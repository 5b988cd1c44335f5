//! Building a [`Client`]: endpoints, timeouts, API prefix, redirects, TLS
//! and credentials.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::transport::srv::{self, Srv};
use crate::transport::tls::TlsOptions;
use crate::transport::{Authorization, Transport, TransportConfig};

/// Default read timeout, as python-etcd's `read_timeout`.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on one response body (a recursive read of a big tree).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 << 20;

/// A blocking etcd client: the v3 API through [`Client::v3`], the v2 API
/// through its own methods.
///
/// A `Client` may be shared by any number of threads at once (`&Client` is
/// `Sync`); it keeps a pool of keep-alive connections. Building one sends
/// nothing over the network, so it can be made before its server is up
/// (unless it was asked to discover its members: [`ClientBuilder::discover`],
/// [`ClientBuilder::srv_domain`]).
#[derive(Debug)]
pub struct Client {
    pub(crate) transport: Transport,
    /// For the v3 API's `Authenticate` (v2 sends them as basic auth).
    pub(crate) credentials: Option<crate::v3::Credentials>,
    /// The v3 watches' shared stream and thread, while any watch runs.
    pub(crate) watch_hub: crate::v3::HubSlot<crate::v3::WatchHub>,
    /// The v3 lease keepers' shared stream and thread, while any runs.
    pub(crate) keeper_hub: crate::v3::HubSlot<crate::v3::KeeperHub>,
    /// The stream `lease_keep_alive_once` renews on, once opened.
    pub(crate) renew_stream: crate::v3::RenewStream,
}

impl Client {
    /// A client for `host:port` over http, with default options.
    pub fn new(host: &str, port: u16) -> Result<Client> {
        Client::builder().host(host).port(port).build()
    }

    /// Starts a [`ClientBuilder`] (defaults: `127.0.0.1:2379`, `/v2`, 60 s).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The endpoints this client talks to now, as normalised base URLs, the
    /// one requests go to first, first (after failover or discovery, not
    /// necessarily the ones it was built with).
    pub fn endpoints(&self) -> Vec<String> {
        self.transport.endpoints()
    }

    /// A client for background work (watch streams, lease keepers,
    /// locks): the same endpoints, cluster view and credentials, and
    /// connections of its own.
    pub(crate) fn background(&self) -> Client {
        Client {
            transport: self.transport.fork(),
            credentials: self.credentials.clone(),
            watch_hub: Default::default(),
            keeper_hub: Default::default(),
            renew_stream: Default::default(),
        }
    }
}

/// Options for a [`Client`]; `build()` checks them.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    host: String,
    port: u16,
    protocol: String,
    endpoints: Vec<String>,
    version_prefix: String,
    read_timeout: Duration,
    connect_timeout: Duration,
    allow_redirect: bool,
    max_response_bytes: u64,
    discover: bool,
    expected_cluster_id: Option<String>,
    tls: TlsOptions,
    credentials: Option<(String, Password)>,
    srv_domain: Option<String>,
    dns_server: Option<SocketAddr>,
}

/// A password, never printed (`Debug` shows `"<redacted>"`).
#[derive(Clone)]
struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            host: "127.0.0.1".into(),
            port: 2379,
            protocol: "http".into(),
            endpoints: Vec::new(),
            version_prefix: "/v2".into(),
            read_timeout: DEFAULT_READ_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            allow_redirect: true,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            discover: false,
            expected_cluster_id: None,
            tls: TlsOptions::default(),
            credentials: None,
            srv_domain: None,
            dns_server: None,
        }
    }
}

impl ClientBuilder {
    /// Host name or IP of the single endpoint (ignored when `endpoints` is set).
    pub fn host(mut self, host: &str) -> Self {
        self.host = host.into();
        self
    }

    /// Port of the single endpoint (ignored when `endpoints` is set).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `http` (default) or `https` for the single endpoint.
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.protocol = protocol.into();
        self
    }

    /// Endpoint URLs such as `http://10.0.0.1:2379`; replaces host/port/protocol.
    /// Requests go to the first; when it fails, to the next (see
    /// [`Error::Ambiguous`] for when a request is not sent again).
    pub fn endpoints<I, S>(mut self, endpoints: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.endpoints = endpoints.into_iter().map(Into::into).collect();
        self
    }

    /// The API version prefix, `/v2` by default.
    pub fn version_prefix(mut self, prefix: &str) -> Self {
        self.version_prefix = prefix.into();
        self
    }

    /// Longest time one request may take, from sending to the end of the body,
    /// failover to other members included.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Longest time to open a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Whether to follow a 307/308 redirect that sends the same request to
    /// another member (default true, as python-etcd). etcd 3.x members never
    /// redirect: they forward writes to the leader themselves, so this matters
    /// only for etcd 2.x or a proxy in front. A 301/302/303 (etcd's answer to a
    /// path with `.`, `..` or `//`) is never followed: it would act on another
    /// key. An unfollowed redirect is [`Error::Redirect`].
    pub fn allow_redirect(mut self, allow: bool) -> Self {
        self.allow_redirect = allow;
        self
    }

    /// Largest response body accepted (default 256 MiB); a larger one fails
    /// with [`Error::ResponseTooLarge`] instead of exhausting memory.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Learn the cluster's members from `/v2/members` (python-etcd's
    /// `allow_reconnect`): at [`build`](Self::build), which then asks the
    /// endpoints given until one answers, and again after each failover, so
    /// that a client given one live member finds the others.
    pub fn discover(mut self, discover: bool) -> Self {
        self.discover = discover;
        self
    }

    /// Refuse members of any cluster but this one (its id in hex, as etcd's
    /// `X-Etcd-Cluster-Id` header gives it): their answers fail with
    /// [`Error::ClusterIdMismatch`], and each member proves its id before it
    /// is sent a first write, so a member of another cluster never receives
    /// one. etcd sends the id with keys and members answers, not with
    /// `/health`, `/version`, stats or machines, which are not checked.
    /// Without an expected id, the client holds every member to the id of
    /// the first answer it gets.
    pub fn expected_cluster_id(mut self, id: &str) -> Self {
        self.expected_cluster_id = Some(id.to_owned());
        self
    }

    /// A PEM file of the CA certificates to trust for `https` endpoints,
    /// instead of the system's store (`SSL_CERT_FILE`/`SSL_CERT_DIR` or the
    /// distribution's bundle). Read by [`build`](Self::build), which fails
    /// with [`Error::InvalidArgument`] naming the file if it cannot be read
    /// or holds no usable certificate.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca_file = Some(path.into());
        self
    }

    /// A PEM certificate chain and its private key (PKCS#8, PKCS#1 or SEC1),
    /// presented to servers that ask for one (etcd's `--client-cert-auth`).
    /// [`build`](Self::build) reads both and checks that the key matches the
    /// certificate.
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// **Insecure, for testing only.** Accepts any server certificate,
    /// whoever signed it and whatever name it carries: anyone on the path can
    /// then read and change the traffic, credentials included. Off by
    /// default; certificates and host names are verified.
    pub fn insecure_skip_verify(mut self, accept: bool) -> Self {
        self.tls.accept_invalid_certs = accept;
        self
    }

    /// A user name and password, for etcd with auth enabled: v2 requests
    /// send them with every request (HTTP basic auth); v3 calls send them
    /// once to etcd's `Authenticate` and then the token it gives, which the
    /// client renews on its own when etcd says it expired (see
    /// [`crate::v3`]). Over plain `http` they cross the network in clear:
    /// use `https` where that matters. They never appear in an error, a log
    /// line or a `Debug` print. A user name with `:` is refused by
    /// [`build`](Self::build).
    pub fn basic_auth(mut self, username: &str, password: &str) -> Self {
        self.credentials = Some((username.to_owned(), Password(password.to_owned())));
        self
    }

    /// Find the endpoints in DNS, as etcd's `--discovery-srv` and
    /// python-etcd's `srv_domain`: the targets of the SRV records
    /// `_etcd-client-ssl._tcp.<domain>` (as `https://target:port`) and
    /// `_etcd-client._tcp.<domain>` (`http://target:port`), the https ones
    /// first, each in priority order (the heavier first within one). They
    /// replace host/port/protocol; giving [`endpoints`](Self::endpoints)
    /// too is refused.
    ///
    /// [`build`](Self::build) asks the DNS server
    /// ([`dns_server`](Self::dns_server)) and waits at most the connect
    /// timeout: no records for either name is [`Error::Connection`] naming
    /// the domain, no answer in time [`Error::Timeout`]. When every member
    /// then fails without an answer, a request asks again (at most once,
    /// within its own deadline, at most the connect timeout) and, if the
    /// records name other members, tries those. The targets are resolved
    /// to addresses when connecting, by the system's resolver, and an https
    /// target's certificate must be valid for the target's name.
    pub fn srv_domain(mut self, domain: &str) -> Self {
        self.srv_domain = Some(domain.to_owned());
        self
    }

    /// The DNS server that [`srv_domain`](Self::srv_domain) asks (UDP, and
    /// TCP for a truncated answer). Default: the first `nameserver` of
    /// `/etc/resolv.conf`, port 53.
    pub fn dns_server(mut self, server: SocketAddr) -> Self {
        self.dns_server = Some(server);
        self
    }

    /// Checks the options and builds the client. Sends nothing, unless
    /// [`discover`](Self::discover) is on or [`srv_domain`](Self::srv_domain)
    /// is set.
    pub fn build(self) -> Result<Client> {
        if self.read_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::InvalidArgument("timeouts must be positive".into()));
        }
        let srv = match &self.srv_domain {
            Some(_) if !self.endpoints.is_empty() => {
                return Err(Error::InvalidArgument(
                    "give endpoints or srv_domain, not both".into(),
                ))
            }
            Some(domain) => Some(Srv {
                domain: srv::check_domain(domain)?,
                server: self.dns_server.unwrap_or_else(srv::default_server),
            }),
            None => None,
        };
        let given = if srv.is_some() {
            Vec::new()
        } else if self.endpoints.is_empty() {
            vec![format!(
                "{}://{}:{}",
                self.protocol,
                host_for_url(&self.host),
                self.port
            )]
        } else {
            self.endpoints
        };
        let mut endpoints = given
            .iter()
            .map(|e| normalize_endpoint(e))
            .collect::<Result<Vec<_>>>()?;
        let prefix = self.version_prefix.trim_end_matches('/');
        let clean = prefix.starts_with('/')
            && prefix[1..]
                .split('/')
                .all(|seg| !matches!(seg, "" | "." | "..") && !seg.contains(['?', '#', '%', ' ']));
        if !clean {
            return Err(Error::InvalidArgument(format!(
                "version prefix {:?} must be a clean path such as \"/v2\"",
                self.version_prefix
            )));
        }
        if let Some(id) = &self.expected_cluster_id {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::InvalidArgument(format!(
                    "expected cluster id {id:?} is not hex"
                )));
            }
        }
        // With SRV, https members may come (now or at a re-resolution):
        // trust as for https.
        let https = srv.is_some() || endpoints.iter().any(|e| e.starts_with("https://"));
        let tls = crate::transport::tls::config(&self.tls, https)?;
        let authorization = match &self.credentials {
            Some((user, Password(password))) => Some(Authorization::basic(user, password)?),
            None => None,
        };
        // The one network use of a build besides `discover`: every local
        // check has passed.
        if let Some(srv) = &srv {
            endpoints = srv.endpoints(Instant::now() + self.connect_timeout)?;
        }
        let credentials =
            self.credentials
                .as_ref()
                .map(|(user, Password(password))| crate::v3::Credentials {
                    user: user.clone(),
                    password: password.clone(),
                });
        let client = Client {
            credentials,
            watch_hub: Default::default(),
            keeper_hub: Default::default(),
            renew_stream: Default::default(),
            transport: Transport::new(TransportConfig {
                endpoints,
                prefix: prefix.to_owned(),
                connect_timeout: self.connect_timeout,
                read_timeout: self.read_timeout,
                allow_redirect: self.allow_redirect,
                max_response_bytes: self.max_response_bytes,
                expected_cluster_id: self.expected_cluster_id,
                discover: self.discover,
                discovery: crate::v2::cluster::DISCOVERY,
                leader: Some(crate::v2::cluster::LEADER),
                tls,
                authorization,
                srv,
                grpc: Some(crate::v3::GRPC),
            }),
        };
        if self.discover {
            client.transport.discover()?;
        }
        Ok(client)
    }
}

/// IPv6 literals need brackets in a URL.
fn host_for_url(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// `http://host:port` with no path, no trailing slash.
fn normalize_endpoint(e: &str) -> Result<String> {
    let bad = |why: &str| Error::InvalidArgument(format!("endpoint {e:?}: {why}"));
    let e = e.trim_end_matches('/');
    let Some(rest) = e
        .strip_prefix("http://")
        .or_else(|| e.strip_prefix("https://"))
    else {
        return Err(bad("must start with http:// or https://"));
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad("must be scheme://host[:port] with nothing after"));
    }
    let uri: ureq::http::Uri = e.parse().map_err(|_| bad("not a valid URL"))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    // A ':' after the host (outside an IPv6 literal's brackets) needs a valid port.
    let after_host = rest.rsplit(']').next().unwrap_or(rest);
    if after_host.contains(':') && uri.port_u16().is_none_or(|p| p == 0) {
        return Err(bad("has a port that is not a number from 1 to 65535"));
    }
    Ok(e.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked() {
        assert_eq!(normalize_endpoint("http://a:1/").unwrap(), "http://a:1");
        for bad in [
            "a:1",
            "ftp://a",
            "https://",
            "http://",
            "http://a/b",
            "http://a b",
            "http://u@a",
        ] {
            assert!(
                matches!(normalize_endpoint(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
        assert_eq!(
            normalize_endpoint("http://[::1]:2379").unwrap(),
            "http://[::1]:2379"
        );
        assert_eq!(normalize_endpoint("http://[::1]").unwrap(), "http://[::1]");
        assert_eq!(host_for_url("::1"), "[::1]");
    }
}
