//! The keys API: write, read, delete and the conveniences built on them.

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ureq::http::Method;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::v2::node::{Node, Response};
use crate::v2::reply::into_success;

/// Everything but RFC 3986's unreserved characters is escaped, in paths and in
/// form values alike, so a key or value can never end a segment, start a
/// query or inject a parameter.
const ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest TTL accepted: 100 years. etcd stores a key's expiry instant
/// in signed 64-bit nanoseconds since 1970, which ends in 2262; a TTL that
/// reaches past that is silently dropped (the key becomes permanent), so the
/// cap leaves room for "now" for the next century.
pub const MAX_TTL: u64 = 100 * 365 * 24 * 3600;

/// Options of [`Client::write`]. `Default` is a plain set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions<'a> {
    /// Seconds to live, up to [`MAX_TTL`]; `None` for no TTL. (etcd expires
    /// a key with a TTL of 0 at once.)
    pub ttl: Option<u64>,
    /// Create a directory instead of a value (the value must be empty).
    pub dir: bool,
    /// POST an in-order key under the directory `key`: etcd names it after
    /// its index (`/<key>/00000000000000000042`).
    pub append: bool,
    /// Only if the current value is this (compare-and-swap).
    pub prev_value: Option<&'a str>,
    /// Only if the key was last modified at this index (compare-and-swap).
    /// Not 0: etcd would take it as "no condition".
    pub prev_index: Option<u64>,
    /// `Some(true)`: only if the key exists; `Some(false)`: only if it does not.
    pub prev_exist: Option<bool>,
    /// Reset the TTL of an existing key without changing its value or
    /// notifying watchers (needs `ttl`; the value must be empty).
    pub refresh: bool,
}

/// Options of [`Client::read`]. `Default` reads one node, linearizably only
/// if the member happens to be the leader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// List the whole subtree of a directory (otherwise one level).
    pub recursive: bool,
    /// List children in key order.
    pub sorted: bool,
    /// Read through raft consensus: never a stale value, but slower.
    pub quorum: bool,
}

/// Options of [`Client::delete`]. `Default` deletes a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions<'a> {
    /// Delete a directory and everything under it.
    pub recursive: bool,
    /// Delete an empty directory.
    pub dir: bool,
    /// Only if the current value is this (compare-and-delete).
    pub prev_value: Option<&'a str>,
    /// Only if the key was last modified at this index (compare-and-delete).
    /// Not 0: etcd would take it as "no condition".
    pub prev_index: Option<u64>,
}

impl Client {
    /// Writes `value` at `key` (PUT), or appends an in-order key (POST) with
    /// `append`. For `dir` and `refresh` the value must be empty.
    ///
    /// Errors: etcd's (e.g. [`Error::CompareFailed`], [`Error::NodeExist`],
    /// [`Error::NotFile`]), [`Error::InvalidArgument`] for a bad key or option.
    pub fn write(&self, key: &str, value: &str, opts: &WriteOptions) -> Result<Response> {
        let path = key_path(key)?;
        if (opts.dir || opts.refresh) && !value.is_empty() {
            let what = if opts.dir { "a directory" } else { "a refresh" };
            return Err(Error::InvalidArgument(format!("{what} takes no value")));
        }
        check_prev_index(opts.prev_index)?;
        if opts.ttl.is_some_and(|ttl| ttl > MAX_TTL) {
            return Err(Error::InvalidArgument(format!(
                "ttl {} is over etcd's maximum of {MAX_TTL} seconds",
                opts.ttl.unwrap_or_default()
            )));
        }
        if opts.refresh && opts.ttl.is_none() {
            return Err(Error::InvalidArgument("refresh needs a ttl".into()));
        }
        if opts.append
            && (opts.refresh
                || opts.prev_value.is_some()
                || opts.prev_index.is_some()
                || opts.prev_exist.is_some())
        {
            // etcd would ignore them and create a new key.
            return Err(Error::InvalidArgument(
                "an in-order (append) write takes no refresh or prev_* condition".into(),
            ));
        }
        let mut form = Form::default();
        if !(opts.dir || opts.refresh) {
            form.add("value", value);
        }
        if let Some(ttl) = opts.ttl {
            form.add("ttl", &ttl.to_string());
        }
        if opts.dir {
            form.add("dir", "true");
        }
        if let Some(prev) = opts.prev_value {
            form.add("prevValue", prev);
        }
        if let Some(index) = opts.prev_index {
            form.add("prevIndex", &index.to_string());
        }
        if let Some(exist) = opts.prev_exist {
            form.add("prevExist", if exist { "true" } else { "false" });
        }
        if opts.refresh {
            form.add("refresh", "true");
        }
        let method = if opts.append {
            Method::POST
        } else {
            Method::PUT
        };
        self.keys_request(method, &path, Some(&form.0))
    }

    /// `write(key, value)` with no options (python-etcd's `set`).
    pub fn set(&self, key: &str, value: &str) -> Result<Response> {
        self.write(key, value, &WriteOptions::default())
    }

    /// Reads `key`: a value, or a directory with its children.
    ///
    /// Errors: [`Error::KeyNotFound`], [`Error::InvalidArgument`] for a bad key.
    pub fn read(&self, key: &str, opts: &ReadOptions) -> Result<Response> {
        let mut path = key_path(key)?;
        let mut query = Query::new(&mut path);
        query.flag("recursive", opts.recursive);
        query.flag("sorted", opts.sorted);
        query.flag("quorum", opts.quorum);
        self.keys_request(Method::GET, &path, None)
    }

    /// `read(key)` with no options (python-etcd's `get`).
    pub fn get(&self, key: &str) -> Result<Response> {
        self.read(key, &ReadOptions::default())
    }

    /// Deletes `key`; etcd returns the removed node as `prev_node`.
    ///
    /// Errors: [`Error::KeyNotFound`], [`Error::NotFile`] (a directory without
    /// `dir`/`recursive`), [`Error::DirNotEmpty`], [`Error::CompareFailed`].
    pub fn delete(&self, key: &str, opts: &DeleteOptions) -> Result<Response> {
        check_prev_index(opts.prev_index)?;
        let mut path = key_path(key)?;
        let mut query = Query::new(&mut path);
        query.flag("recursive", opts.recursive);
        query.flag("dir", opts.dir);
        if let Some(prev) = opts.prev_value {
            query.add("prevValue", prev);
        }
        if let Some(index) = opts.prev_index {
            query.add("prevIndex", &index.to_string());
        }
        self.keys_request(Method::DELETE, &path, None)
    }

    /// Sets `key` to `value` only if its current value is `prev_value`
    /// (python-etcd's `test_and_set`); `ttl` as in [`WriteOptions`].
    pub fn test_and_set(
        &self,
        key: &str,
        value: &str,
        prev_value: &str,
        ttl: Option<u64>,
    ) -> Result<Response> {
        let opts = WriteOptions {
            prev_value: Some(prev_value),
            ttl,
            ..WriteOptions::default()
        };
        self.write(key, value, &opts)
    }

    /// Writes a node that was read and changed (python-etcd's `update`), only
    /// if nobody modified it since: a compare-and-swap on its
    /// `modified_index` with its `value`. It is a real write even when the
    /// value is unchanged (a new modified index, watchers woken). The TTL is
    /// re-sent as the node's `ttl`: what was left when it was read, since a
    /// compare-and-swap without a TTL would drop it.
    ///
    /// Errors: [`Error::CompareFailed`] if the key changed in between,
    /// [`Error::KeyNotFound`] if it is gone, [`Error::InvalidArgument`] for
    /// a directory: etcd offers no compare on a directory, so its update
    /// could only be unconditional (a stale read's TTL would overwrite a
    /// newer one); use [`refresh`](Client::refresh) to set a directory's
    /// TTL.
    pub fn update(&self, node: &Node) -> Result<Response> {
        self.update_value(node, node.value.as_deref().unwrap_or(""))
    }

    /// [`update`](Client::update) with `value` instead of `node.value`, for
    /// callers that keep the node as read.
    pub fn update_value(&self, node: &Node, value: &str) -> Result<Response> {
        if node.dir {
            return Err(Error::InvalidArgument(format!(
                "{} is a directory: etcd has no compare-and-swap for directories \
                 (use refresh to set its TTL)",
                node.key
            )));
        }
        let opts = WriteOptions {
            ttl: node.ttl.map(|t| t.max(1) as u64),
            prev_exist: Some(true),
            prev_index: Some(node.modified_index),
            ..WriteOptions::default()
        };
        self.write(&node.key, value, &opts)
    }

    /// Creates the directory `key`, failing with [`Error::NodeExist`] if the
    /// key exists (as `etcdctl mkdir`).
    pub fn mkdir(&self, key: &str, ttl: Option<u64>) -> Result<Response> {
        let opts = WriteOptions {
            dir: true,
            ttl,
            prev_exist: Some(false),
            ..WriteOptions::default()
        };
        self.write(key, "", &opts)
    }

    /// Resets the TTL of an existing key or directory to `ttl` seconds without
    /// changing its value or waking watchers. [`Error::KeyNotFound`] if it is
    /// gone, [`Error::InvalidArgument`] for a `ttl` of 0.
    pub fn refresh(&self, key: &str, ttl: u64) -> Result<Response> {
        if ttl == 0 {
            return Err(Error::InvalidArgument("refresh needs a ttl > 0".into()));
        }
        let opts = WriteOptions {
            ttl: Some(ttl),
            refresh: true,
            prev_exist: Some(true),
            ..WriteOptions::default()
        };
        self.write(key, "", &opts)
    }

    /// Deletes a value and returns it: the response's `node` is the node as it
    /// was before the delete (etcd's `prevNode`), so `pop(k)?.node.value` is
    /// the popped value. [`Error::KeyNotFound`] if there was nothing to pop.
    pub fn pop(&self, key: &str) -> Result<Response> {
        let mut response = self.delete(key, &DeleteOptions::default())?;
        response.node = response
            .prev_node
            .take()
            .ok_or_else(|| Error::Protocol("delete response without prevNode".into()))?;
        Ok(response)
    }

    fn keys_request(&self, method: Method, path: &str, form: Option<&str>) -> Result<Response> {
        let reply = into_success(self.transport.request(method, path, form)?)?;
        Response::parse(&reply.body, reply.headers)
    }
}

/// etcd ignores `prevIndex=0`: refuse it rather than send an unconditional
/// write or delete.
fn check_prev_index(prev_index: Option<u64>) -> Result<()> {
    if prev_index == Some(0) {
        return Err(Error::InvalidArgument(
            "prev_index 0 would make etcd skip the compare".into(),
        ));
    }
    Ok(())
}

/// `/keys/<segments>` with each segment percent-encoded.
///
/// A leading `/` is optional and one trailing `/` is dropped. Empty (`//`),
/// `.` and `..` segments are refused: etcd would answer them with a redirect
/// to another key.
pub(crate) fn key_path(key: &str) -> Result<String> {
    let rest = key.strip_prefix('/').unwrap_or(key);
    let mut path = String::with_capacity(6 + rest.len() * 3 / 2);
    path.push_str("/keys");
    if rest.is_empty() {
        path.push('/');
        return Ok(path);
    }
    for segment in rest.strip_suffix('/').unwrap_or(rest).split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(Error::InvalidArgument(format!(
                "key {key:?} has an empty, \".\" or \"..\" segment"
            )));
        }
        path.push('/');
        path.extend(utf8_percent_encode(segment, ESCAPE));
    }
    Ok(path)
}

/// One percent-encoded path segment for a name (a user, a role): `/`, `.`
/// and `..` are refused, since etcd would take them as path structure.
pub(crate) fn key_path_segment(name: &str) -> Result<String> {
    if name.contains('/') || name == "." || name == ".." {
        return Err(Error::InvalidArgument(format!(
            "name {name:?} cannot be a path segment (it has '/' or is \".\" or \"..\")"
        )));
    }
    Ok(utf8_percent_encode(name, ESCAPE).to_string())
}

/// An `application/x-www-form-urlencoded` body.
#[derive(Default)]
struct Form(String);

impl Form {
    fn add(&mut self, name: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        let _ = write!(self.0, "{name}={}", utf8_percent_encode(value, ESCAPE));
    }
}

/// Appends `?a=b&c=d` parameters to a path.
pub(crate) struct Query<'a> {
    path: &'a mut String,
    first: bool,
}

impl<'a> Query<'a> {
    pub(crate) fn new(path: &'a mut String) -> Self {
        Query { path, first: true }
    }

    pub(crate) fn add(&mut self, name: &str, value: &str) {
        self.path.push(if self.first { '?' } else { '&' });
        self.first = false;
        let _ = write!(self.path, "{name}={}", utf8_percent_encode(value, ESCAPE));
    }

    pub(crate) fn flag(&mut self, name: &str, on: bool) {
        if on {
            self.add(name, "true");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_per_segment() {
        assert_eq!(key_path("/a b/c?d#e").unwrap(), "/keys/a%20b/c%3Fd%23e");
        assert_eq!(key_path("x/y/").unwrap(), "/keys/x/y");
        assert_eq!(key_path("/").unwrap(), "/keys/");
        assert_eq!(key_path("").unwrap(), "/keys/");
        assert_eq!(key_path("/%2F+&=").unwrap(), "/keys/%252F%2B%26%3D");
        assert_eq!(key_path("/✓").unwrap(), "/keys/%E2%9C%93");
        for bad in ["/a//b", "/a/../b", "/.", "..", "//"] {
            assert!(
                matches!(key_path(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn forms_escape_separators() {
        let mut f = Form::default();
        f.add("value", "a+b&c=d%");
        f.add("ttl", "5");
        assert_eq!(f.0, "value=a%2Bb%26c%3Dd%25&ttl=5");
    }
}
