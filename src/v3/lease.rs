//! Leases: grant, revoke, time to live, list, and one keep-alive. A key
//! put with a lease ([`Put::lease`](super::Put::lease)) is deleted when
//! the lease expires or is revoked. (Keeping a lease alive in the
//! background is a lease keeper's job, not these calls'.)
//!
//! A lease id is an `i64` chosen by etcd (or by the caller at grant);
//! etcd's own tools print it in hex.

use super::proto::{etcdserverpb as pb, methods};
use super::types::Header;
use super::{Code, V3};
use crate::error::{Error, Result};
use crate::transport::unary::Kind;
use crate::transport::Limit;

/// A lease granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseGrant {
    pub header: Header,
    pub id: i64,
    /// Its time to live, in seconds, as etcd granted it (etcd raises a TTL
    /// below its minimum, a few seconds).
    pub ttl: i64,
}

/// What is left of a lease ([`V3::lease_time_to_live`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseTimeToLive {
    pub header: Header,
    pub id: i64,
    /// Seconds left; -1 when the lease does not exist (expired or revoked).
    pub ttl: i64,
    /// The TTL it was granted with.
    pub granted_ttl: i64,
    /// The keys attached to it, when asked for.
    pub keys: Vec<Vec<u8>>,
}

/// A lease renewed ([`V3::lease_keep_alive_once`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseKeepAlive {
    pub header: Header,
    pub id: i64,
    /// Its time to live again, in seconds.
    pub ttl: i64,
}

impl V3<'_> {
    /// Grants a lease of `ttl` seconds, with id `id` (0: etcd chooses).
    /// A grant is a write: if it may have been applied without a certain
    /// answer it is [`Error::Ambiguous`] (a lease may exist that nobody
    /// knows of; it expires after its TTL).
    ///
    /// Errors: `FailedPrecondition` ("etcdserver: lease already exists",
    /// etcd 3.4 and 3.5) for an id in use; `OutOfRange` for a TTL over
    /// etcd's maximum (9,000,000,000 s).
    pub fn lease_grant(&self, ttl: i64, id: i64) -> Result<LeaseGrant> {
        if ttl <= 0 {
            return Err(Error::InvalidArgument(format!(
                "lease TTL {ttl} must be positive"
            )));
        }
        let request = pb::LeaseGrantRequest { ttl, id };
        let answer = self.call(methods::LEASE_LEASE_GRANT, &request, Kind::Write)?;
        Ok(LeaseGrant {
            header: answer.header.into(),
            id: answer.id,
            ttl: answer.ttl,
        })
    }

    /// Revokes lease `id`: its keys are deleted now.
    ///
    /// Errors: `NotFound` for a lease that does not exist.
    pub fn lease_revoke(&self, id: i64) -> Result<Header> {
        let request = pb::LeaseRevokeRequest { id };
        let answer = self.call(methods::LEASE_LEASE_REVOKE, &request, Kind::Write)?;
        Ok(answer.header.into())
    }

    /// How long lease `id` has left, and with `keys` the keys attached to
    /// it. A lease that does not exist is no error: its `ttl` is -1.
    pub fn lease_time_to_live(&self, id: i64, keys: bool) -> Result<LeaseTimeToLive> {
        let request = pb::LeaseTimeToLiveRequest { id, keys };
        let answer = self.call(
            methods::LEASE_LEASE_TIME_TO_LIVE,
            &request,
            Kind::Linearizable,
        )?;
        Ok(LeaseTimeToLive {
            header: answer.header.into(),
            id: answer.id,
            ttl: answer.ttl,
            granted_ttl: answer.granted_ttl,
            keys: answer.keys,
        })
    }

    /// The ids of every lease.
    pub fn lease_list(&self) -> Result<Vec<i64>> {
        let answer = self.call(
            methods::LEASE_LEASE_LEASES,
            &pb::LeaseLeasesRequest {},
            Kind::Linearizable,
        )?;
        Ok(answer.leases.into_iter().map(|l| l.id).collect())
    }

    /// Renews lease `id` once (its TTL starts again). Safe to repeat: it
    /// moves on to another member like a read. Renewals share one
    /// keep-alive stream per client, one message each way (a thread that
    /// finds it busy, or a renewal it does not answer within a second,
    /// makes a call of its own; see `renew_stream`). To keep a lease
    /// alive, use a [`LeaseKeeper`](super::LeaseKeeper).
    ///
    /// Errors: `NotFound` when the lease does not exist (expired or
    /// revoked), as etcd's own client reports it.
    pub fn lease_keep_alive_once(&self, id: i64) -> Result<LeaseKeepAlive> {
        match self.client.renew_stream.renew(*self, id) {
            Some((answer, endpoint)) => keep_alive(answer, endpoint),
            None => self.lease_keep_alive_within(id, Limit::Default),
        }
    }

    /// [`lease_keep_alive_once`](Self::lease_keep_alive_once) within `limit`.
    pub(crate) fn lease_keep_alive_within(&self, id: i64, limit: Limit) -> Result<LeaseKeepAlive> {
        let request = pb::LeaseKeepAliveRequest { id };
        let (answer, endpoint) = self.call_within(
            methods::LEASE_LEASE_KEEP_ALIVE,
            &request,
            Kind::Linearizable,
            limit,
        )?;
        keep_alive(answer, endpoint)
    }
}

/// A keep-alive's answer: `NotFound` for a lease that is gone (TTL 0).
fn keep_alive(answer: pb::LeaseKeepAliveResponse, endpoint: String) -> Result<LeaseKeepAlive> {
    if answer.ttl <= 0 {
        return Err(Error::Grpc {
            code: Code::NotFound,
            message: "etcdserver: requested lease not found".into(),
            endpoint,
        });
    }
    Ok(LeaseKeepAlive {
        header: answer.header.into(),
        id: answer.id,
        ttl: answer.ttl,
    })
}
