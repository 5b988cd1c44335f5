//! v2's reading of a transport [`Reply`]: a 2xx is a [`Success`], with
//! etcd's index headers read strictly into [`Headers`]; anything else is the
//! [`Error`] its body describes: etcd's own error (`{"errorCode", …}`), the
//! `{"message"}` of the members and auth APIs, [`Error::V2NotEnabled`] for a
//! bare 404, else [`Error::HttpStatus`].

use crate::error::{Error, EtcdError, Result};
use crate::transport::{Fields, Index, Reply};
use crate::v2::node::Headers;

/// A successful answer: etcd's headers, parsed, and the body.
#[derive(Debug)]
pub(crate) struct Success {
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// The headers and body of a 2xx; otherwise the error the reply describes:
/// etcd's own error when the body is one, [`Error::V2NotEnabled`] for a bare
/// 404, [`Error::HttpStatus`] for anything else. Headers are checked only on
/// success, so a malformed one cannot hide etcd's error.
pub(crate) fn into_success(reply: Reply) -> Result<Success> {
    if (200..300).contains(&reply.status) {
        return Ok(Success {
            headers: parse_headers(reply.headers)?,
            body: reply.body,
        });
    }
    let (status, write, endpoint) = (reply.status, reply.write, reply.endpoint.clone());
    let e = error_of(reply);
    // etcd answers a write it could not complete with a 5xx (300 "raft
    // internal error" after its own request timeout, when it lost its
    // leader): it may still be applied, if it was replicated.
    if write && status >= 500 {
        return Err(Error::Ambiguous {
            endpoint,
            reason: format!("etcd answered {status}: {e}"),
            etcd: e.etcd().cloned(),
        });
    }
    Err(e)
}

/// The error a non-2xx reply describes.
fn error_of(reply: Reply) -> Error {
    if let Ok(e) = serde_json::from_slice::<EtcdError>(&reply.body) {
        return Error::from_etcd(e);
    }
    // Outside the keys API etcd words its errors `{"message": "…"}`
    // (e.g. "No such member"); a 404 without one is a server that has
    // no such API at all.
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    let body = match serde_json::from_slice::<Message>(&reply.body) {
        // The auth API's and members API's word for etcd's code 110.
        Ok(m) if reply.status == 401 => {
            return Error::Unauthorized(EtcdError {
                code: 110,
                message: "The request requires user authentication".into(),
                cause: m.message,
                index: 0,
            })
        }
        Ok(m) => m.message,
        Err(_) if reply.status == 404 => {
            return Error::V2NotEnabled {
                endpoint: reply.endpoint,
            }
        }
        Err(_) => {
            let shown = &reply.body[..reply.body.len().min(200)];
            String::from_utf8_lossy(shown).trim_end().to_owned()
        }
    };
    Error::HttpStatus {
        status: reply.status,
        body,
    }
}

/// The `X-Etcd-Index` of a response head, if present and valid.
pub(crate) fn etcd_index(headers: &Fields) -> Option<u64> {
    match headers.etcd_index {
        Some(Index::Valid(n)) => Some(n),
        _ => None,
    }
}

/// Reads etcd's index headers strictly: absent is 0, anything but a `u64` is
/// a protocol error.
fn parse_headers(h: Fields) -> Result<Headers> {
    fn index(value: Option<Index>, name: &str) -> Result<u64> {
        match value {
            None => Ok(0),
            Some(Index::Valid(n)) => Ok(n),
            Some(Index::Invalid(v)) => Err(Error::Protocol(format!("bad {name} header: {v:?}"))),
        }
    }
    Ok(Headers {
        etcd_index: index(h.etcd_index, "X-Etcd-Index")?,
        raft_index: index(h.raft_index, "X-Raft-Index")?,
        raft_term: index(h.raft_term, "X-Raft-Term")?,
        cluster_id: h.cluster_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Fields::default(),
            body: body.as_bytes().to_vec(),
            endpoint: "http://127.0.0.1:2379".into(),
            write: false,
        }
    }

    /// etcd's 5xx to a write (300 after its own request timeout, when it lost
    /// its leader) leaves the outcome unknown: `Ambiguous`, with etcd's
    /// detail kept. The same answer to a read is etcd's error as it is.
    #[test]
    fn a_5xx_to_a_write_is_ambiguous() {
        let etcd = r#"{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: request timed out","index":0}"#;
        let write = Reply {
            write: true,
            ..reply(500, etcd)
        };
        match into_success(write) {
            Err(e @ Error::Ambiguous { .. }) => {
                assert_eq!(e.etcd().map(|e| e.code), Some(300));
                assert!(e.to_string().contains("etcd answered 500"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            into_success(reply(500, etcd)),
            Err(Error::RaftInternal(_))
        ));
        let bare = Reply {
            write: true,
            ..reply(503, "overloaded")
        };
        assert!(matches!(
            into_success(bare),
            Err(Error::Ambiguous { etcd: None, .. })
        ));
        // A 4xx is etcd refusing the write: not applied, etcd's error.
        let refused = Reply {
            write: true,
            ..reply(
                412,
                r#"{"errorCode":101,"message":"Compare failed","cause":"[a != b]","index":9}"#,
            )
        };
        assert!(matches!(
            into_success(refused),
            Err(Error::CompareFailed(_))
        ));
    }

    #[test]
    fn errors_read_from_the_body() {
        let etcd = r#"{"errorCode":100,"message":"Key not found","cause":"/a","index":7}"#;
        match into_success(reply(404, etcd)) {
            Err(Error::KeyNotFound(e)) => assert_eq!((e.cause.as_str(), e.index), ("/a", 7)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            into_success(reply(404, "404 page not found\n")),
            Err(Error::V2NotEnabled { endpoint }) if endpoint == "http://127.0.0.1:2379"
        ));
        assert!(matches!(
            into_success(reply(401, r#"{"message":"Insufficient credentials"}"#)),
            Err(Error::Unauthorized(e)) if e.code == 110 && e.cause == "Insufficient credentials"
        ));
        assert!(matches!(
            into_success(reply(404, r#"{"message":"No such member"}"#)),
            Err(Error::HttpStatus { status: 404, body }) if body == "No such member"
        ));
        assert!(matches!(
            into_success(reply(503, "busy\n")),
            Err(Error::HttpStatus { status: 503, body }) if body == "busy"
        ));
    }

    #[test]
    fn index_headers_are_strict_on_success_only() {
        let mut ok = reply(200, "{}");
        ok.headers.etcd_index = Some(Index::Valid(1 << 40));
        ok.headers.raft_term = Some(Index::Invalid("x".into()));
        assert!(matches!(into_success(ok), Err(Error::Protocol(_))));
        let mut failed = reply(404, r#"{"errorCode":100,"message":"Key not found"}"#);
        failed.headers.etcd_index = Some(Index::Invalid("x".into()));
        assert!(matches!(into_success(failed), Err(Error::KeyNotFound(_))));
        let mut fine = reply(200, "{}");
        fine.headers.etcd_index = Some(Index::Valid(1 << 40));
        assert_eq!(etcd_index(&fine.headers), Some(1 << 40));
        assert_eq!(into_success(fine).unwrap().headers.etcd_index, 1 << 40);
    }
}
