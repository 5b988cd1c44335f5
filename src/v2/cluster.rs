//! The cluster: machines, leader, members (list, add, remove, update), stats,
//! versions and health.

use serde::{Deserialize, Serialize};
use ureq::http::Method;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::health::parse_health;
use crate::transport::leader::LeaderProbe;
use crate::transport::{Discovery, Limit, Payload, Reply};
use crate::v2::reply::into_success;

/// One member of the cluster, as `/v2/members` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id (hex).
    pub id: String,
    /// Its name; empty for a member added but not started yet.
    #[serde(default)]
    pub name: String,
    /// URLs the other members reach it at.
    #[serde(rename = "peerURLs", default)]
    pub peer_urls: Vec<String>,
    /// URLs clients reach it at; empty for a member not started yet.
    #[serde(rename = "clientURLs", default)]
    pub client_urls: Vec<String>,
}

#[derive(Deserialize)]
struct MemberList {
    members: Vec<Member>,
}

/// Parses a `/v2/members` body.
pub(crate) fn parse_members(body: &[u8]) -> Result<Vec<Member>> {
    serde_json::from_slice::<MemberList>(body)
        .map(|l| l.members)
        .map_err(|e| Error::Protocol(format!("bad member list: {e}")))
}

/// How the transport learns the members over v2 (discovery, and the
/// cluster-id check before a member's first write): `GET /v2/members`.
pub(crate) const DISCOVERY: Discovery = Discovery {
    path: "/members",
    client_urls: members_client_urls,
};

/// How a write's member tells how long its leader has led (see
/// [`crate::transport::leader`]): `GET /v2/stats/self`, whose `leaderInfo`
/// a follower updates when a new leader first reaches it.
pub(crate) const LEADER: LeaderProbe = LeaderProbe {
    path: "/stats/self",
    leader_for,
};

/// `leaderInfo.uptime` of a `/v2/stats/self` answer, when it names a leader.
fn leader_for(body: &[u8]) -> Option<std::time::Duration> {
    #[derive(serde::Deserialize)]
    struct Stats {
        #[serde(rename = "leaderInfo")]
        leader_info: Info,
    }
    #[derive(serde::Deserialize)]
    struct Info {
        #[serde(default)]
        leader: String,
        #[serde(default)]
        uptime: String,
    }
    let stats: Stats = serde_json::from_slice(body).ok()?;
    let info = stats.leader_info;
    if info.leader.is_empty() {
        return None;
    }
    go_duration(&info.uptime)
}

/// A Go `time.Duration` as printed (`"1h2m3.5s"`, `"52.216286ms"`, `"0s"`).
fn go_duration(text: &str) -> Option<std::time::Duration> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += number * seconds;
        rest = &rest[unit..];
    }
    std::time::Duration::try_from_secs_f64(total).ok()
}

/// The members' client URLs in a `/v2/members` answer, in its order; for
/// any other answer, the error it describes.
fn members_client_urls(reply: Reply) -> Result<Vec<String>> {
    let members = parse_members(&into_success(reply)?.body)?;
    Ok(members.into_iter().flat_map(|m| m.client_urls).collect())
}

/// The server and cluster versions (`/version`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Version {
    /// The answering member's version, e.g. "3.4.23".
    #[serde(rename = "etcdserver")]
    pub server: String,
    /// The version the cluster runs at, e.g. "3.4.0".
    #[serde(rename = "etcdcluster")]
    pub cluster: String,
}

#[derive(Serialize)]
struct PeerUrls<'a> {
    #[serde(rename = "peerURLs")]
    peer_urls: &'a [&'a str],
}

#[derive(Deserialize)]
struct SelfStats {
    #[serde(rename = "leaderInfo", default)]
    leader_info: LeaderInfo,
}

#[derive(Deserialize, Default)]
struct LeaderInfo {
    #[serde(default)]
    leader: String,
}

impl Client {
    /// A request outside the keys API, to `target` (from the root), with an
    /// optional JSON body; returns the body of a 2xx.
    fn cluster_request(
        &self,
        method: Method,
        target: &str,
        json: Option<String>,
    ) -> Result<Vec<u8>> {
        let payload = json.as_deref().map_or(Payload::Empty, Payload::Json);
        let reply =
            self.transport
                .request_with(method, target, payload, Limit::Default, &mut |_| {})?;
        Ok(into_success(reply)?.body)
    }

    /// The client URLs of the cluster's members (python-etcd's `machines`).
    pub fn machines(&self) -> Result<Vec<String>> {
        parse_machines(self.cluster_request(
            Method::GET,
            &self.transport.api_path("/machines"),
            None,
        )?)
    }

    /// The members of the cluster.
    pub fn members(&self) -> Result<Vec<Member>> {
        parse_members(&self.cluster_request(
            Method::GET,
            &self.transport.api_path("/members"),
            None,
        )?)
    }

    /// The member that leads the cluster now (python-etcd's `leader`), as
    /// the answering member sees it. [`Error::Protocol`] if it knows none
    /// (during an election).
    pub fn leader(&self) -> Result<Member> {
        let id = parse_leader_id(&self.stats_raw("self")?)?;
        self.members()?
            .into_iter()
            .find(|m| !id.is_empty() && m.id.eq_ignore_ascii_case(&id))
            .ok_or_else(|| Error::Protocol(format!("no member is the leader ({id:?})")))
    }

    /// Adds a member with these peer URLs; returns it (id known, name and
    /// client URLs empty until it starts). etcd refuses membership changes
    /// (HTTP 500, [`Error::HttpStatus`]) for about 5 s after a member
    /// (re)starts, and drops one proposed right after another: retry then.
    pub fn add_member(&self, peer_urls: &[&str]) -> Result<Member> {
        let body = serde_json::to_string(&PeerUrls { peer_urls }).expect("serialisable");
        let answer = self.cluster_request(
            Method::POST,
            &self.transport.api_path("/members"),
            Some(body),
        )?;
        parse_member(&answer)
    }

    /// Removes the member `id` from the cluster.
    pub fn remove_member(&self, id: &str) -> Result<()> {
        let path = self
            .transport
            .api_path(&format!("/members/{}", member_id(id)?));
        self.cluster_request(Method::DELETE, &path, None).map(drop)
    }

    /// Replaces the peer URLs of member `id`.
    pub fn update_member(&self, id: &str, peer_urls: &[&str]) -> Result<()> {
        let path = self
            .transport
            .api_path(&format!("/members/{}", member_id(id)?));
        let body = serde_json::to_string(&PeerUrls { peer_urls }).expect("serialisable");
        self.cluster_request(Method::PUT, &path, Some(body))
            .map(drop)
    }

    fn stats_raw(&self, which: &str) -> Result<Vec<u8>> {
        self.cluster_request(
            Method::GET,
            &self.transport.api_path(&format!("/stats/{which}")),
            None,
        )
    }

    /// `/v2/stats/self`: this member's name, id, state, leader info, traffic.
    pub fn stats_self(&self) -> Result<serde_json::Value> {
        json(&self.stats_raw("self")?)
    }

    /// `/v2/stats/leader`: the leader's view of its followers (answered only
    /// by the leader: etcd's error otherwise).
    pub fn stats_leader(&self) -> Result<serde_json::Value> {
        json(&self.stats_raw("leader")?)
    }

    /// `/v2/stats/store`: operation counters of the v2 store.
    pub fn stats_store(&self) -> Result<serde_json::Value> {
        json(&self.stats_raw("store")?)
    }

    /// The server and cluster versions.
    pub fn version(&self) -> Result<Version> {
        parse_version(&self.cluster_request(Method::GET, "/version", None)?)
    }

    /// Whether the answering member is healthy (has a leader).
    pub fn health(&self) -> Result<bool> {
        parse_health(&self.cluster_request(Method::GET, "/health", None)?)
    }
}

/// Parses a `/v2/machines` body: comma-separated URLs.
pub(crate) fn parse_machines(body: Vec<u8>) -> Result<Vec<String>> {
    let text =
        String::from_utf8(body).map_err(|_| Error::Protocol("machine list is not UTF-8".into()))?;
    Ok(text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Parses one member (the answer to an add).
pub(crate) fn parse_member(body: &[u8]) -> Result<Member> {
    serde_json::from_slice(body).map_err(|e| Error::Protocol(format!("bad member: {e}")))
}

/// The leader's id from a `/v2/stats/self` body (empty during an election).
pub(crate) fn parse_leader_id(body: &[u8]) -> Result<String> {
    let stats: SelfStats = serde_json::from_slice(body)
        .map_err(|e| Error::Protocol(format!("bad self stats: {e}")))?;
    Ok(stats.leader_info.leader)
}

/// Parses a `/version` body.
pub(crate) fn parse_version(body: &[u8]) -> Result<Version> {
    serde_json::from_slice(body).map_err(|e| Error::Protocol(format!("bad version: {e}")))
}

pub(crate) fn json(body: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(body).map_err(|e| Error::Protocol(format!("bad stats: {e}")))
}

/// A member id: hex digits only (it goes into a path).
fn member_id(id: &str) -> Result<&str> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::InvalidArgument(format!(
            "member id {id:?} is not hex"
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod leader_tests {
    use super::{go_duration, leader_for};
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("0s"), Some(Duration::ZERO));
        assert_eq!(go_duration("52.5ms"), Some(Duration::from_micros(52_500)));
        assert_eq!(go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(go_duration("1.5µs"), Some(Duration::from_nanos(1500)));
        assert_eq!(go_duration("3x"), None);
        assert_eq!(go_duration(""), None);
    }

    #[test]
    fn leader_uptime_from_stats() {
        let body = br#"{"name":"n1","id":"ec91","state":"StateFollower","leaderInfo":{"leader":"ec91","uptime":"1.25s","startTime":"2026-12-02T06:45:15Z"}}"#;
        assert_eq!(leader_for(body), Some(Duration::from_millis(1250)));
        let none = br#"{"leaderInfo":{"leader":"","uptime":"1s"}}"#;
        assert_eq!(leader_for(none), None);
        assert_eq!(leader_for(b"garbage"), None);
    }
}
