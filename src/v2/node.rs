//! etcd's answers: a [`Response`] and its [`Node`] tree.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One key or directory, as etcd returns it.
///
/// Absent fields take their empty value: `value` is `None` on directories,
/// `ttl`/`expiration` are `None` on keys without a TTL, `nodes` is empty unless
/// the directory was listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// The full key, starting with `/`. The root directory is `/`.
    #[serde(default = "root_key")]
    pub key: String,
    /// The value; `None` for a directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether the node is a directory.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dir: bool,
    /// Seconds left to live, when the node has a TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// When the node expires (RFC 3339), when it has a TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    /// The etcd index that created the node.
    #[serde(rename = "createdIndex", default)]
    pub created_index: u64,
    /// The etcd index that last modified the node.
    #[serde(rename = "modifiedIndex", default)]
    pub modified_index: u64,
    /// The children of a listed directory (all levels for a recursive read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<Node>,
}

fn root_key() -> String {
    "/".to_owned()
}

impl Node {
    /// Every node under this one that has no children, depth first, in
    /// etcd's order (sorted when read with `sorted`): the values of a
    /// recursive read, plus any empty directories. A node without children
    /// yields itself, as python-etcd's `leaves` does.
    pub fn leaves(&self) -> Leaves<'_> {
        Leaves { stack: vec![self] }
    }
}

/// Iterator returned by [`Node::leaves`].
#[derive(Debug)]
pub struct Leaves<'a> {
    stack: Vec<&'a Node>,
}

impl<'a> Iterator for Leaves<'a> {
    type Item = &'a Node;

    fn next(&mut self) -> Option<&'a Node> {
        while let Some(node) = self.stack.pop() {
            if node.nodes.is_empty() {
                return Some(node);
            }
            self.stack.extend(node.nodes.iter().rev());
        }
        None
    }
}

/// What a keys request did, as etcd names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Get,
    Set,
    Create,
    Update,
    Delete,
    CompareAndSwap,
    CompareAndDelete,
    Expire,
    /// An action this version does not know, as etcd spelled it.
    Other(String),
}

impl Action {
    /// etcd's spelling: `get`, `set`, `compareAndSwap`, …
    pub fn as_str(&self) -> &str {
        match self {
            Action::Get => "get",
            Action::Set => "set",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::CompareAndSwap => "compareAndSwap",
            Action::CompareAndDelete => "compareAndDelete",
            Action::Expire => "expire",
            Action::Other(s) => s,
        }
    }

    fn parse(s: &str) -> Action {
        match s {
            "get" => Action::Get,
            "set" => Action::Set,
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            "compareAndSwap" => Action::CompareAndSwap,
            "compareAndDelete" => Action::CompareAndDelete,
            "expire" => Action::Expire,
            other => Action::Other(other.to_owned()),
        }
    }
}

/// The cluster state etcd reports in the headers of every answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// `X-Etcd-Index`: the store's index when etcd answered (0 if absent);
    /// for a watch event, the index when the watch started.
    pub etcd_index: u64,
    /// `X-Raft-Index` (0 if absent).
    pub raft_index: u64,
    /// `X-Raft-Term` (0 if absent).
    pub raft_term: u64,
    /// `X-Etcd-Cluster-Id`, when sent.
    pub cluster_id: Option<String>,
}

/// The answer to a keys request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// What etcd did.
    pub action: Action,
    /// The node the request is about (after the change, for writes).
    pub node: Node,
    /// The node before the change, when etcd sends it (writes over an existing
    /// key, deletes, expiries).
    pub prev_node: Option<Node>,
    /// Indexes and cluster id from the response headers.
    pub headers: Headers,
}

#[derive(Deserialize)]
struct Body<'a> {
    /// Borrowed from the body unless it has escapes: no allocation per answer.
    #[serde(borrow)]
    action: std::borrow::Cow<'a, str>,
    node: Node,
    #[serde(rename = "prevNode", default)]
    prev_node: Option<Node>,
}

impl Response {
    /// Parses a keys response body.
    pub(crate) fn parse(body: &[u8], headers: Headers) -> Result<Response> {
        // Checking the whole body as UTF-8 once is cheaper than serde_json
        // checking every string of it (a third of a 10,000-key read's parse).
        let parsed = match std::str::from_utf8(body) {
            Ok(text) => serde_json::from_str::<Body>(text),
            Err(_) => serde_json::from_slice::<Body>(body),
        };
        let b = parsed.map_err(|e| Error::Protocol(format!("bad keys response: {e}")))?;
        Ok(Response {
            action: Action::parse(&b.action),
            node: b.node,
            prev_node: b.prev_node,
            headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_with_or_without_escapes_and_bodies_that_are_not_utf8() {
        let parse = |body: &[u8]| Response::parse(body, Headers::default()).unwrap();
        let plain = parse(br#"{"action":"get","node":{"key":"/a","value":"1"}}"#);
        assert_eq!(plain.action, Action::Get);
        let escaped = parse(br#"{"action":"g\u0065t","node":{"key":"/a"}}"#);
        assert_eq!(escaped.action, Action::Get);
        let other = parse(br#"{"action":"n\u00e9w","node":{"key":"/a"}}"#);
        assert_eq!(other.action, Action::Other("n\u{e9}w".into()));
        // A body that is not UTF-8 is refused, not read lossily.
        let bad = Response::parse(
            b"{\"action\":\"get\",\"node\":{\"key\":\"/\xff\"}}",
            Headers::default(),
        );
        assert!(matches!(bad, Err(Error::Protocol(_))));
    }
}
