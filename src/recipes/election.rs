//! Leader election on the keys API (etcd 3.x has no leader module).
//!
//! An election is one key, `<prefix><key>`, whose value names the leader.
//! A candidate becomes leader by creating it (`prevExist=false`) with a TTL;
//! the others wait for it to be deleted or to expire, then try again. The
//! leader stays leader by renewing the TTL before it runs out, and resigns
//! with a compare-and-delete on its own name, so that nobody else can remove
//! it by mistake.
//!
//! This election lives in etcd's v2 store. The v3 election
//! ([`V3::election`](crate::v3::V3::election),
//! [`V3Election`](crate::v3::V3Election)) lives in the v3 store, a separate
//! key space: v2 and v3 candidates on the same name each see only their
//! own. Only the v3 one interoperates with `etcdctl elect`.

use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::v2::keys::{DeleteOptions, WriteOptions};
use crate::v2::node::Action;
use crate::v2::watch::WatchOptions;

/// Where elections live unless told otherwise.
pub const DEFAULT_ELECTION_PREFIX: &str = "/_elections";

/// The elections of a client (python-etcd's `client.election`). Borrowed from
/// the client; as thread-safe as the client.
#[derive(Debug, Clone, Copy)]
pub struct Election<'a> {
    client: &'a Client,
    prefix: &'a str,
}

impl Client {
    /// Elections under [`DEFAULT_ELECTION_PREFIX`].
    pub fn election(&self) -> Election<'_> {
        self.election_under(DEFAULT_ELECTION_PREFIX)
    }

    /// Elections under another prefix.
    pub fn election_under<'a>(&'a self, prefix: &'a str) -> Election<'a> {
        Election {
            client: self,
            prefix: prefix.trim_end_matches('/'),
        }
    }
}

impl Election<'_> {
    /// `<prefix>/<key>`; an empty key (or `/`) would name the prefix itself.
    fn path(&self, key: &str) -> Result<String> {
        let key = key.trim_matches('/');
        if key.is_empty() {
            return Err(Error::InvalidArgument("an election needs a key".into()));
        }
        let path = format!("{}/{}", self.prefix, key);
        crate::v2::keys::key_path(&path)?;
        Ok(path)
    }

    /// Campaigns: makes `name` the leader of election `key` (python-etcd's
    /// `election.set`), waiting at most `timeout` (`Some(ZERO)`: try once;
    /// `None`: as long as it takes) for the current leader to go. `ttl`
    /// seconds without [`renew`](Self::renew) end the leadership; 0 makes it
    /// last until [`delete`](Self::delete). If `name` already leads, this
    /// renews it. Returns the etcd index at which leadership was won.
    ///
    /// Errors: [`Error::AcquireTimeout`]; [`Error::InvalidArgument`] for an
    /// empty name or a bad key; request errors.
    pub fn set(&self, key: &str, name: &str, ttl: u64, timeout: Option<Duration>) -> Result<u64> {
        check_name(name)?;
        let path = self.path(key)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let create = WriteOptions {
            ttl: (ttl > 0).then_some(ttl),
            prev_exist: Some(false),
            ..WriteOptions::default()
        };
        loop {
            let since = match self.client.write(&path, name, &create) {
                Ok(won) => return Ok(won.node.modified_index),
                Err(Error::NodeExist(e)) => e.index,
                Err(e) => return Err(e),
            };
            match self.client.get(&path) {
                Ok(r) if r.node.value.as_deref() == Some(name) => {
                    return self
                        .keep(&path, key, name, ttl)
                        .map(|_| r.node.modified_index);
                }
                Ok(_) => {}
                Err(Error::KeyNotFound(_)) => continue,
                Err(e) => return Err(e),
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Err(Error::AcquireTimeout(timeout.unwrap_or_default()));
            }
            let wait = WatchOptions {
                wait_index: Some(since + 1),
                timeout: left,
                ..WatchOptions::default()
            };
            match self.client.watch(&path, &wait) {
                Ok(_) | Err(Error::EventIndexCleared(_)) => {}
                Err(Error::WatchTimeout(_)) => {
                    return Err(Error::AcquireTimeout(timeout.unwrap_or_default()))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The current leader's name, or `None` when there is none.
    pub fn get(&self, key: &str) -> Result<Option<String>> {
        match self.client.get(&self.path(key)?) {
            Ok(r) => Ok(r.node.value),
            Err(Error::KeyNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Resigns: ends `name`'s leadership, only if `name` leads (a
    /// compare-and-delete). [`Error::NotHeld`] otherwise, changing nothing.
    pub fn delete(&self, key: &str, name: &str) -> Result<()> {
        check_name(name)?;
        let opts = DeleteOptions {
            prev_value: Some(name),
            ..DeleteOptions::default()
        };
        self.client
            .delete(&self.path(key)?, &opts)
            .map(drop)
            .map_err(|e| self.not_leader(e, key, name))
    }

    /// Keeps `name`'s leadership alive for `ttl` more seconds, only if `name`
    /// leads; [`Error::NotHeld`] otherwise. Call it well within the TTL.
    /// [`Error::InvalidArgument`] for a `ttl` of 0 (use `set` with 0 to make
    /// a leadership permanent).
    pub fn renew(&self, key: &str, name: &str, ttl: u64) -> Result<()> {
        check_name(name)?;
        if ttl == 0 {
            return Err(Error::InvalidArgument("renew needs a ttl > 0".into()));
        }
        self.keep(&self.path(key)?, key, name, ttl)
    }

    /// Re-asserts `name`'s leadership at `path`: a TTL refresh, or for `ttl`
    /// 0 a compare-and-swap without TTL, which makes it permanent.
    fn keep(&self, path: &str, key: &str, name: &str, ttl: u64) -> Result<()> {
        let (value, opts) = if ttl == 0 {
            (
                name,
                WriteOptions {
                    prev_value: Some(name),
                    ..WriteOptions::default()
                },
            )
        } else {
            (
                "",
                WriteOptions {
                    refresh: true,
                    ttl: Some(ttl),
                    prev_value: Some(name),
                    ..WriteOptions::default()
                },
            )
        };
        self.client
            .write(path, value, &opts)
            .map(drop)
            .map_err(|e| self.not_leader(e, key, name))
    }

    /// Waits for the next change of leader of election `key` at or after
    /// etcd index `since` (`None`: from now), at most `timeout`. Returns the
    /// new leader (`None`: the leader resigned or expired) and the index to
    /// pass as `since` next time, so that no change is missed between calls.
    /// Errors: [`Error::WatchTimeout`], request errors.
    pub fn watch(
        &self,
        key: &str,
        since: Option<u64>,
        timeout: Option<Duration>,
    ) -> Result<(Option<String>, u64)> {
        let opts = WatchOptions {
            wait_index: since,
            timeout,
            ..WatchOptions::default()
        };
        let event = self.client.watch(&self.path(key)?, &opts)?;
        let leader = match event.action {
            Action::Delete | Action::Expire | Action::CompareAndDelete => None,
            _ => event.node.value,
        };
        Ok((leader, event.node.modified_index + 1))
    }

    fn not_leader(&self, e: Error, key: &str, name: &str) -> Error {
        match e {
            Error::CompareFailed(_) | Error::KeyNotFound(_) => {
                Error::NotHeld(format!("{name} is not the leader of {key}"))
            }
            e => e,
        }
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidArgument("a candidate needs a name".into()));
    }
    Ok(())
}
