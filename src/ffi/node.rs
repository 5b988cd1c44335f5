//! Responses and their nodes: what the keys and watch calls return. A
//! response owns its nodes and strings: every pointer read from it stays
//! valid until `etcdc_response_free()`, and reading allocates nothing.

// An `etcdc_response` owns the Rust [`Response`] and a C view of it, built
// once: every string (NUL-terminated) in one arena, and one flat array of
// `etcdc_node`s in which each node's children are contiguous. Accessors only
// read that view, so a response of any size costs two extra allocations.

use std::ffi::c_char;
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

use super::arena::{Arena, Strings};
use super::{etcdc_status, status};
use crate::v2::node::{Node, Response};

/// One key or directory, borrowed from the `etcdc_response` it came from:
/// valid until that response is freed, never freed on its own. Read-only, so
/// any number of threads may read it at once.
pub struct etcdc_node {
    node: *const Node,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
    expiration: *const c_char,
    children: *const etcdc_node,
    child_count: usize,
}

/// The answer to a keys request: action, node, previous node, and the index
/// headers. Owned by the caller, released with `etcdc_response_free()`. Not
/// changed by any accessor, so any number of threads may read it at once.
pub struct etcdc_response {
    /// The Rust response, from `Box::into_raw` (freed in `Drop`): a raw owner,
    /// so that moving this struct does not invalidate the node pointers into it.
    response: NonNull<Response>,
    /// Owns the NUL-terminated strings the node views point into.
    _arena: Strings,
    nodes: Vec<etcdc_node>,
    action: *const c_char,
    cluster_id: *const c_char,
    prev_node: Option<usize>,
    leaves: OnceLock<Vec<usize>>,
}

// SAFETY: the raw pointers point into data owned by the same struct, which is
// never mutated after construction.
unsafe impl Send for etcdc_response {}
// SAFETY: as above; `leaves` is a OnceLock.
unsafe impl Sync for etcdc_response {}

/// A node of the flat layout, with arena offsets and child indices.
struct Flat<'a> {
    node: &'a Node,
    key: usize,
    value: usize,
    expiration: usize,
    first_child: usize,
}

/// Lays out `root`'s tree breadth first, so each node's children are contiguous.
fn flatten<'a>(root: &'a Node, arena: &mut Arena, out: &mut Vec<Flat<'a>>) {
    let start = out.len();
    out.push(Flat {
        node: root,
        key: 0,
        value: 0,
        expiration: 0,
        first_child: 0,
    });
    let mut i = start;
    while i < out.len() {
        let node = out[i].node;
        out[i].key = arena.add(&node.key);
        out[i].value = arena.add_opt(node.value.as_deref());
        out[i].expiration = arena.add_opt(node.expiration.as_deref());
        out[i].first_child = out.len();
        for child in &node.nodes {
            out.push(Flat {
                node: child,
                key: 0,
                value: 0,
                expiration: 0,
                first_child: 0,
            });
        }
        i += 1;
    }
}

/// Adds the nodes of `node`'s tree and the bytes of their strings (NULs
/// included) to the totals, so that the view is allocated once. Recursive:
/// serde_json's depth limit bounds the depth of a parsed tree.
fn size(node: &Node, nodes: &mut usize, bytes: &mut usize) {
    let text = |s: Option<&String>| s.map_or(0, |s| s.len() + 1);
    *nodes += 1;
    *bytes += node.key.len() + 1 + text(node.value.as_ref()) + text(node.expiration.as_ref());
    for child in &node.nodes {
        size(child, nodes, bytes);
    }
}

impl etcdc_response {
    pub(crate) fn new(response: Response) -> etcdc_response {
        let owner = NonNull::from(Box::leak(Box::new(response)));
        // SAFETY: `owner` is valid and not mutated for the life of the handle;
        // every pointer below is derived from it, or from the Vecs' raw
        // buffers, after they reach their final contents.
        let response = unsafe { owner.as_ref() };
        let (mut count, mut bytes) = (0, response.action.as_str().len() + 1);
        bytes += response
            .headers
            .cluster_id
            .as_ref()
            .map_or(0, |s| s.len() + 1);
        size(&response.node, &mut count, &mut bytes);
        if let Some(prev) = &response.prev_node {
            size(prev, &mut count, &mut bytes);
        }
        let mut arena = Arena::with_capacity(bytes);
        let action = arena.add(response.action.as_str());
        let cluster_id = arena.add_opt(response.headers.cluster_id.as_deref());
        let mut flat = Vec::with_capacity(count);
        flatten(&response.node, &mut arena, &mut flat);
        let prev_node = response.prev_node.as_ref().map(|prev| {
            let at = flat.len();
            flatten(prev, &mut arena, &mut flat);
            at
        });
        debug_assert_eq!((arena.len(), flat.len()), (bytes, count));
        let strings = arena.freeze();
        let at = |offset: usize| strings.ptr(offset);
        let (action, cluster_id) = (at(action), at(cluster_id));
        let mut nodes: Vec<etcdc_node> = flat
            .iter()
            .map(|f| etcdc_node {
                node: f.node,
                key: at(f.key),
                key_len: f.node.key.len(),
                value: at(f.value),
                value_len: f.node.value.as_ref().map_or(0, String::len),
                expiration: at(f.expiration),
                children: ptr::null(),
                child_count: f.node.nodes.len(),
            })
            .collect();
        let base = nodes.as_mut_ptr();
        for (i, f) in flat.iter().enumerate() {
            // SAFETY: i < nodes.len(); first_child + child_count <= nodes.len()
            // by construction. Only raw pointers touch the buffer here.
            unsafe {
                let node = base.add(i);
                if (*node).child_count > 0 {
                    (*node).children = base.add(f.first_child);
                }
            }
        }
        etcdc_response {
            response: owner,
            _arena: strings,
            nodes,
            action,
            cluster_id,
            prev_node,
            leaves: OnceLock::new(),
        }
    }

    /// The Rust response.
    pub(crate) fn rust(&self) -> &Response {
        // SAFETY: owned by `self` (see the field), freed only in Drop.
        unsafe { self.response.as_ref() }
    }

    /// Indices (into `nodes`) of the leaves of the response's node, in
    /// [`Node::leaves`] order.
    fn leaves(&self) -> &[usize] {
        self.leaves.get_or_init(|| {
            // The response's node is nodes[0]; the walk is Leaves' own: pop
            // a node, yield it if it has no children, else push them reversed.
            let base = self.nodes.as_ptr();
            let (mut leaves, mut stack) = (Vec::new(), vec![0]);
            while let Some(i) = stack.pop() {
                let node = &self.nodes[i];
                if node.child_count == 0 {
                    leaves.push(i);
                    continue;
                }
                // SAFETY: `children` points into `nodes` (see `new`).
                let first = unsafe { node.children.offset_from(base) } as usize;
                stack.extend((first..first + node.child_count).rev());
            }
            leaves
        })
    }
}

impl Drop for etcdc_response {
    fn drop(&mut self) {
        // SAFETY: from Box::leak in `new`, freed once, here; the views that
        // point into it are dropped with `self`.
        drop(unsafe { Box::from_raw(self.response.as_ptr()) });
    }
}

impl etcdc_node {
    /// The Rust node this view shows.
    pub(crate) fn node(&self) -> &Node {
        // SAFETY: points into the owning response, which outlives `self`.
        unsafe { &*self.node }
    }
}

/// Reads a field of a handle, or returns `default` when the handle is NULL.
fn read<T: super::OnPanic, H>(handle: *const H, default: T, f: impl FnOnce(&H) -> T) -> T {
    super::boundary(|| {
        // SAFETY: callers of the accessors pass a live handle or NULL.
        match unsafe { handle.as_ref() } {
            Some(h) => f(h),
            None => default,
        }
    })
}

/// Frees a response and every node borrowed from it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_free(response: *mut etcdc_response) {
    free!(response)
}

/// etcd's action: "get", "set", "create", "update", "delete",
/// "compareAndSwap", "compareAndDelete", "expire"… Borrowed from the response;
/// NULL if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_action(response: *const etcdc_response) -> *const c_char {
    read(response, ptr::null(), |r| r.action)
}

/// The node the request is about (for a write, after the change; for
/// `etcdc_pop()`, the removed node). Borrowed from the response; NULL only if
/// `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_node(response: *const etcdc_response) -> *const etcdc_node {
    read(response, ptr::null(), |r| &r.nodes[0] as *const etcdc_node)
}

/// The node before the change (writes over an existing key, deletes,
/// expiries), or NULL when etcd sent none. Borrowed from the response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_prev_node(
    response: *const etcdc_response,
) -> *const etcdc_node {
    read(response, ptr::null(), |r| {
        r.prev_node
            .map_or(ptr::null(), |i| &r.nodes[i] as *const etcdc_node)
    })
}

/// `X-Etcd-Index`: etcd's index when it answered (0 if absent or `response`
/// is NULL). For a watch event it is the index when the watch *started*,
/// usually lower than the event's modified index.
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_etcd_index(response: *const etcdc_response) -> u64 {
    read(response, 0, |r| r.rust().headers.etcd_index)
}

/// `X-Raft-Index` (0 if absent or `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_raft_index(response: *const etcdc_response) -> u64 {
    read(response, 0, |r| r.rust().headers.raft_index)
}

/// `X-Raft-Term` (0 if absent or `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_raft_term(response: *const etcdc_response) -> u64 {
    read(response, 0, |r| r.rust().headers.raft_term)
}

/// `X-Etcd-Cluster-Id` as etcd sent it (hex), or NULL if absent. Borrowed from
/// the response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_cluster_id(
    response: *const etcdc_response,
) -> *const c_char {
    read(response, ptr::null(), |r| r.cluster_id)
}

/// Number of leaves of the response's node: every node under it without
/// children (the values of a recursive read, and empty directories), or 1 —
/// the node itself — when it has no children. 0 if `response` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_leaf_count(response: *const etcdc_response) -> usize {
    read(response, 0, |r| r.leaves().len())
}

/// Leaf `i` (0-based, depth first in etcd's order — key order for a `sorted`
/// read), or NULL if `i` is out of range. Borrowed from the response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_leaf(
    response: *const etcdc_response,
    i: usize,
) -> *const etcdc_node {
    read(response, ptr::null(), |r| {
        r.leaves()
            .get(i)
            .map_or(ptr::null(), |&n| &r.nodes[n] as *const etcdc_node)
    })
}

/// The node's full key, starting with "/" (the root is "/"), NUL-terminated.
/// Borrowed; NULL only if `node` is NULL. A key written by another client
/// may contain NUL bytes (a C caller cannot write one): use
/// `etcdc_node_key_len()` for its full length.
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_key(node: *const etcdc_node) -> *const c_char {
    read(node, ptr::null(), |n| n.key)
}

/// Length of the key in bytes, without the terminating NUL (0 for a NULL
/// `node`).
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_key_len(node: *const etcdc_node) -> usize {
    read(node, 0, |n| n.key_len)
}

/// The node's value, NUL-terminated, or NULL for a directory. Borrowed. A
/// value may itself contain NUL bytes (written by another client): use
/// `etcdc_node_value_len()` for its full length.
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_value(node: *const etcdc_node) -> *const c_char {
    read(node, ptr::null(), |n| n.value)
}

/// Length of the value in bytes, without the terminating NUL (0 for a
/// directory or NULL `node`).
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_value_len(node: *const etcdc_node) -> usize {
    read(node, 0, |n| n.value_len)
}

/// Whether the node is a directory (false for NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_is_dir(node: *const etcdc_node) -> bool {
    read(node, false, |n| n.node().dir)
}

/// Seconds the node has left to live, or 0 if it has no TTL (or `node` is
/// NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_ttl(node: *const etcdc_node) -> i64 {
    read(node, 0, |n| n.node().ttl.unwrap_or(0))
}

/// When the node expires (RFC 3339, UTC), or NULL if it has no TTL.
/// Borrowed.
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_expiration(node: *const etcdc_node) -> *const c_char {
    read(node, ptr::null(), |n| n.expiration)
}

/// The etcd index that created the node (0 for the root or NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_created_index(node: *const etcdc_node) -> u64 {
    read(node, 0, |n| n.node().created_index)
}

/// The etcd index that last modified the node (0 for the root or NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_modified_index(node: *const etcdc_node) -> u64 {
    read(node, 0, |n| n.node().modified_index)
}

/// Number of children of a listed directory (0 for a value, an unlisted
/// directory, or NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_child_count(node: *const etcdc_node) -> usize {
    read(node, 0, |n| n.child_count)
}

/// Child `i` (0-based, in etcd's order), or NULL if out of range. Borrowed
/// from the same response.
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_child(node: *const etcdc_node, i: usize) -> *const etcdc_node {
    read(node, ptr::null(), |n| {
        if i < n.child_count {
            // SAFETY: children has child_count elements.
            unsafe { n.children.add(i) }
        } else {
            ptr::null()
        }
    })
}

/// The node and its listed subtree as etcd-style JSON
/// (`{"key":…,"value":…,"nodes":[…]}`), in a new string that the caller
/// frees with `etcdc_string_free()`. On failure `*out` is untouched.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for a NULL argument.
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_to_json(
    node: *const etcdc_node,
    out: *mut *mut c_char,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let json = serde_json::to_string(arg!(node).node())
            .map_err(|e| crate::Error::Protocol(format!("cannot serialise node: {e}")))?;
        // serde_json escapes NUL as \u0000, so the JSON has no NUL byte.
        *out = super::args::malloc_string(&json);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::node::Headers;
    use std::ffi::CStr;

    fn text(p: *const c_char) -> &'static str {
        assert!(!p.is_null());
        // SAFETY: test pointers come from a live response below.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap()
    }

    /// Walks the whole C view of a nested response; also the target of
    /// `cargo +nightly miri test ffi::node` for the pointer provenance.
    /// Leaves come depth first, as `Node::leaves` gives them, although the
    /// flat array is laid out breadth first: a directory listed before a
    /// key yields its own leaves (and an empty directory itself) first.
    #[test]
    fn c_leaves_are_depth_first() {
        let body = br#"{"action":"get","node":{"key":"/d","dir":true,"nodes":[
            {"key":"/d/s","dir":true,"nodes":[
              {"key":"/d/s/t","dir":true,"nodes":[{"key":"/d/s/t/x","value":"1"}]},
              {"key":"/d/s/e","dir":true}]},
            {"key":"/d/a","value":"2"}]}}"#;
        let response = Response::parse(body, Headers::default()).unwrap();
        let want: Vec<String> = response.node.leaves().map(|n| n.key.clone()).collect();
        assert_eq!(want, ["/d/s/t/x", "/d/s/e", "/d/a"]);
        let handle = Box::into_raw(Box::new(etcdc_response::new(response)));
        // SAFETY: `handle` is live until freed at the end.
        unsafe {
            let got: Vec<&str> = (0..etcdc_response_leaf_count(handle))
                .map(|i| text(etcdc_node_key(etcdc_response_leaf(handle, i))))
                .collect();
            assert_eq!(got, want);
            etcdc_response_free(handle);
        }
    }

    #[test]
    fn c_view_of_a_nested_response() {
        let body = br#"{"action":"get","node":{"key":"/d","dir":true,"nodes":[
            {"key":"/d/a","value":"1","modifiedIndex":5,"createdIndex":5},
            {"key":"/d/e","dir":true,"modifiedIndex":6,"createdIndex":6},
            {"key":"/d/s","dir":true,"nodes":[{"key":"/d/s/b","value":"x\u0000y",
              "ttl":7,"expiration":"2030-01-01T00:00:00Z","modifiedIndex":8,"createdIndex":8}],
             "modifiedIndex":7,"createdIndex":7}],"modifiedIndex":4,"createdIndex":4},
            "prevNode":{"key":"/d","dir":true,"modifiedIndex":3,"createdIndex":3}}"#;
        let headers = Headers {
            etcd_index: 9,
            cluster_id: Some("abc".into()),
            ..Headers::default()
        };
        let response = Response::parse(body, headers).unwrap();
        let handle = Box::into_raw(Box::new(etcdc_response::new(response)));
        unsafe {
            assert_eq!(text(etcdc_response_action(handle)), "get");
            assert_eq!(text(etcdc_response_cluster_id(handle)), "abc");
            assert_eq!(etcdc_response_etcd_index(handle), 9);
            let root = etcdc_response_node(handle);
            assert_eq!(text(etcdc_node_key(root)), "/d");
            assert!(etcdc_node_is_dir(root));
            assert!(etcdc_node_value(root).is_null());
            assert_eq!(etcdc_node_child_count(root), 3);
            assert!(etcdc_node_child(root, 3).is_null());
            let sub = etcdc_node_child(root, 2);
            assert_eq!(text(etcdc_node_key(sub)), "/d/s");
            let b = etcdc_node_child(sub, 0);
            assert_eq!(text(etcdc_node_value(b)), "x");
            assert_eq!(etcdc_node_value_len(b), 3);
            assert_eq!(etcdc_node_ttl(b), 7);
            assert_eq!(text(etcdc_node_expiration(b)), "2030-01-01T00:00:00Z");
            let leaves: Vec<&str> = (0..etcdc_response_leaf_count(handle))
                .map(|i| text(etcdc_node_key(etcdc_response_leaf(handle, i))))
                .collect();
            assert_eq!(leaves, ["/d/a", "/d/e", "/d/s/b"]);
            let prev = etcdc_response_prev_node(handle);
            assert_eq!(etcdc_node_modified_index(prev), 3);
            assert_eq!(etcdc_node_child_count(prev), 0);
            // The handle moves (as C code may copy the pointer around): views stay valid.
            let moved = Box::new(std::ptr::read(handle));
            drop(Box::from_raw(
                handle as *mut std::mem::ManuallyDrop<etcdc_response>,
            ));
            let moved = Box::into_raw(moved);
            assert_eq!(
                text(etcdc_node_key(etcdc_response_leaf(moved, 2))),
                "/d/s/b"
            );
            etcdc_response_free(moved);
        }
    }
}
