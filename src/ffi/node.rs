//! Responses and nodes as C sees them.
//!
//! An `etcdc_response` owns the Rust [`Response`] and a C view of it, built
//! once: every string (NUL-terminated) in one arena, and one flat array of
//! `etcdc_node`s in which each node's children are contiguous. Accessors only
//! read that view, so a response of any size costs two extra allocations, and
//! node pointers stay valid until the response is freed.

use std::ffi::{c_char, CString};
use std::ptr;
use std::sync::OnceLock;

use super::{arg_out, arg_ref, put_box, status};
use crate::node::{Node, Response};

/// One key or directory, borrowed from the `etcdc_response` it came from:
/// valid until that response is freed, never freed on its own. Read-only, so
/// any number of threads may read it at once.
pub struct etcdc_node {
    node: *const Node,
    key: *const c_char,
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
    response: Box<Response>,
    /// Owns the NUL-terminated strings the node views point into.
    _arena: Box<[u8]>,
    nodes: Box<[etcdc_node]>,
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

/// Collects strings into one NUL-separated buffer; offsets until frozen.
#[derive(Default)]
struct Arena(Vec<u8>);

const NONE: usize = usize::MAX;

impl Arena {
    fn add(&mut self, s: &str) -> usize {
        let at = self.0.len();
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        at
    }

    fn add_opt(&mut self, s: Option<&str>) -> usize {
        s.map_or(NONE, |s| self.add(s))
    }
}

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

impl etcdc_response {
    pub(crate) fn new(response: Response) -> etcdc_response {
        let response = Box::new(response);
        let mut arena = Arena::default();
        let action = arena.add(response.action.as_str());
        let cluster_id = arena.add_opt(response.headers.cluster_id.as_deref());
        let mut flat = Vec::new();
        flatten(&response.node, &mut arena, &mut flat);
        let prev_node = response.prev_node.as_ref().map(|prev| {
            let at = flat.len();
            flatten(prev, &mut arena, &mut flat);
            at
        });
        let arena = arena.0.into_boxed_slice();
        let at = |offset: usize| -> *const c_char {
            if offset == NONE {
                ptr::null()
            } else {
                arena[offset..].as_ptr().cast()
            }
        };
        let mut nodes: Box<[etcdc_node]> = flat
            .iter()
            .map(|f| etcdc_node {
                node: f.node,
                key: at(f.key),
                value: at(f.value),
                value_len: f.node.value.as_ref().map_or(0, String::len),
                expiration: at(f.expiration),
                children: ptr::null(),
                child_count: f.node.nodes.len(),
            })
            .collect();
        let base = nodes.as_ptr();
        for (n, f) in nodes.iter_mut().zip(&flat) {
            if n.child_count > 0 {
                // SAFETY: first_child + child_count <= nodes.len() by construction.
                n.children = unsafe { base.add(f.first_child) };
            }
        }
        let (action, cluster_id) = (at(action), at(cluster_id));
        drop(flat);
        etcdc_response {
            response,
            _arena: arena,
            nodes,
            action,
            cluster_id,
            prev_node,
            leaves: OnceLock::new(),
        }
    }

    /// Indices (into `nodes`) of the leaves of the response's node, in
    /// [`Node::leaves`] order.
    fn leaves(&self) -> &[usize] {
        self.leaves.get_or_init(|| {
            let end = self.prev_node.unwrap_or(self.nodes.len());
            let index: std::collections::HashMap<*const Node, usize> = self.nodes[..end]
                .iter()
                .enumerate()
                .map(|(i, n)| (n.node, i))
                .collect();
            self.response
                .node
                .leaves()
                .map(|leaf| index[&(leaf as *const Node)])
                .collect()
        })
    }
}

impl etcdc_node {
    /// The Rust node this view shows.
    pub(crate) fn node(&self) -> &Node {
        // SAFETY: points into the owning response, which outlives `self`.
        unsafe { &*self.node }
    }
}

/// Gives a response to C through `out` (dropped if `out` is NULL).
pub(crate) unsafe fn put_response(out: *mut *mut etcdc_response, response: Response) {
    if !out.is_null() {
        // SAFETY: per the contract.
        unsafe { put_box(out, etcdc_response::new(response)) };
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
    super::boundary(|| {
        if !response.is_null() {
            // SAFETY: a Box given out by this library, freed once.
            drop(unsafe { Box::from_raw(response) });
        }
    })
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
/// is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_etcd_index(response: *const etcdc_response) -> u64 {
    read(response, 0, |r| r.response.headers.etcd_index)
}

/// `X-Raft-Index` (0 if absent or `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_raft_index(response: *const etcdc_response) -> u64 {
    read(response, 0, |r| r.response.headers.raft_index)
}

/// `X-Raft-Term` (0 if absent or `response` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_response_raft_term(response: *const etcdc_response) -> u64 {
    read(response, 0, |r| r.response.headers.raft_term)
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

/// The node's full key, starting with "/" (the root is "/"). Borrowed; NULL
/// only if `node` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_node_key(node: *const etcdc_node) -> *const c_char {
    read(node, ptr::null(), |n| n.key)
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
) -> super::etcdc_status {
    status(|| {
        // SAFETY: per the contract.
        let node = unsafe { arg_ref(node, "node") }?;
        let out = unsafe { arg_out(out, "out") }?;
        let json = serde_json::to_string(node.node())
            .map_err(|e| crate::Error::Protocol(format!("cannot serialise node: {e}")))?;
        // serde_json escapes NUL as \u0000, so the JSON has no NUL byte.
        *out = CString::new(json).unwrap_or_default().into_raw();
        Ok(())
    })
}
