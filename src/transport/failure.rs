//! How a request failed, for the failover rule ([`Failure`]: not sent, maybe
//! sent, final), and the mapping of connect, exchange and ureq (I/O, TLS)
//! errors to it. Only connection-level failures: what an answer's status or
//! body means is the API's business.

use std::io;
use std::time::Duration;

use crate::error::Error;
use crate::transport::http1::ExchangeError;
use crate::transport::tls::Tls;

/// How a request failed, for the failover rule.
pub(crate) enum Failure {
    /// It never left this machine (no connection could be made): safe to
    /// send to another member, whatever it is.
    NotSent(Error),
    /// It may have reached etcd (the connection broke or timed out after it
    /// was sent): only a read may be sent again.
    MaybeSent(Error),
    /// Another member would not do better (a bad request, a redirect…).
    Final(Error),
}

impl Failure {
    pub fn into_error(self) -> Error {
        match self {
            Failure::NotSent(e) | Failure::MaybeSent(e) | Failure::Final(e) => e,
        }
    }
}

/// Maps a failure to get a connection: nothing was sent (unless it is a TLS
/// failure, which no other member would do better).
pub(crate) fn classify_connect(e: ureq::Error, endpoint: &str) -> Failure {
    match classify(e, endpoint) {
        Failure::MaybeSent(e) => Failure::NotSent(e),
        other => other,
    }
}

/// Maps a failed exchange, telling whether the request can have reached
/// etcd. Once the head came, it did.
pub(crate) fn classify_exchange(e: ExchangeError, endpoint: &str) -> Failure {
    let broken = |reason: &str| Error::Connection {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    match e {
        ExchangeError::BeforeHead(e) => classify(e, endpoint),
        ExchangeError::InBody(e) => match classify(e, endpoint) {
            Failure::NotSent(e) => Failure::MaybeSent(e),
            other => other,
        },
        ExchangeError::Protocol(m) => Failure::MaybeSent(Error::Protocol(m)),
        ExchangeError::ClosedBeforeHead => {
            Failure::MaybeSent(broken("the server closed the connection without answering"))
        }
        ExchangeError::Truncated => Failure::MaybeSent(broken(
            "the server closed the connection in the middle of the answer",
        )),
        ExchangeError::TooLarge(limit) => Failure::Final(Error::ResponseTooLarge { limit }),
    }
}

/// Maps a ureq (I/O or TLS) error, telling whether the request can have left
/// this machine.
fn classify(e: ureq::Error, endpoint: &str) -> Failure {
    // A certificate problem is the same with every member: no failover.
    if let Some(tls) = crate::transport::tls::classify(&e, endpoint) {
        return Failure::Final(tls);
    }
    let endpoint = endpoint.to_owned();
    let refused = |reason: String| {
        Failure::NotSent(Error::Connection {
            endpoint: endpoint.clone(),
            reason,
        })
    };
    match e {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            Failure::NotSent(Error::Timeout { endpoint })
        }
        ureq::Error::Timeout(_) => Failure::MaybeSent(Error::Timeout { endpoint }),
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::TimedOut => {
            Failure::MaybeSent(Error::Timeout { endpoint })
        }
        // Errors only a connect can give.
        ureq::Error::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::AddrNotAvailable
                    | io::ErrorKind::NetworkUnreachable
                    | io::ErrorKind::HostUnreachable
                    | io::ErrorKind::NetworkDown
            ) =>
        {
            refused(e.to_string())
        }
        ureq::Error::Io(e) => Failure::MaybeSent(Error::Connection {
            endpoint,
            reason: e.to_string(),
        }),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => refused(e.to_string()),
        other => Failure::MaybeSent(Error::Protocol(other.to_string())),
    }
}

/// A broken connection to an https member may be the server refusing our
/// client certificate (see [`Tls::diagnose`], which tries a handshake within
/// `connect_timeout`): then that is the error, and no other member would do
/// better.
pub(crate) fn explain(
    failure: Failure,
    endpoint: &str,
    tls: &Tls,
    connect_timeout: Duration,
) -> Failure {
    match failure {
        Failure::NotSent(Error::Connection { .. })
        | Failure::MaybeSent(Error::Connection { .. })
            if endpoint.starts_with("https://") =>
        {
            match tls.diagnose(endpoint, connect_timeout) {
                Some(tls) => Failure::Final(tls),
                None => failure,
            }
        }
        other => other,
    }
}
