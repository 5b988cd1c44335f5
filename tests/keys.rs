//! The keys API against a real etcd 3.4: every operation and option, the
//! response model, TTLs, awkward keys and values, and a client shared by many
//! threads. Error codes and client failures are in `tests/errors.rs`.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::prefix;
use etcdc::{Action, Client, DeleteOptions, Error, Node, ReadOptions, Response, WriteOptions};

fn ttl_opts<'a>(ttl: u64) -> WriteOptions<'a> {
    WriteOptions {
        ttl: Some(ttl),
        ..WriteOptions::default()
    }
}

fn dir_opts<'a>() -> WriteOptions<'a> {
    WriteOptions {
        dir: true,
        ..WriteOptions::default()
    }
}

fn append_opts<'a>() -> WriteOptions<'a> {
    WriteOptions {
        append: true,
        ..WriteOptions::default()
    }
}

fn sorted() -> ReadOptions {
    ReadOptions {
        sorted: true,
        ..ReadOptions::default()
    }
}

fn recursive_sorted() -> ReadOptions {
    ReadOptions {
        recursive: true,
        sorted: true,
        ..ReadOptions::default()
    }
}

fn assert_not_found(c: &Client, key: &str) {
    match c.get(key) {
        Err(Error::KeyNotFound(e)) => assert_eq!(e.code, 100),
        other => panic!("{key:?} should not exist, got {other:?}"),
    }
}

fn value(c: &Client, key: &str) -> String {
    c.get(key)
        .unwrap_or_else(|e| panic!("get {key:?}: {e}"))
        .node
        .value
        .unwrap_or_else(|| panic!("{key:?} has no value"))
}

/// An RFC 3339 UTC timestamp as etcd writes it: `2026-11-24T22:51:14.146712295Z`.
fn assert_rfc3339(s: &str) {
    let b = s.as_bytes();
    assert!(
        b.len() >= 20
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && s.ends_with('Z'),
        "not an RFC 3339 time: {s:?}"
    );
}

fn keys_of(nodes: &[Node]) -> Vec<&str> {
    nodes.iter().map(|n| n.key.as_str()).collect()
}

// ---------------------------------------------------------------- set / get

#[test]
fn set_creates_then_replaces() {
    let c = common::client();
    let k = format!("{}/k", prefix("set"));

    let r = c.set(&k, "one").unwrap();
    assert_eq!(r.action, Action::Set);
    assert_eq!(r.action.as_str(), "set");
    assert_eq!(r.node.key, k);
    assert_eq!(r.node.value.as_deref(), Some("one"));
    assert!(!r.node.dir);
    assert_eq!(r.node.ttl, None);
    assert_eq!(r.node.expiration, None);
    assert!(r.node.nodes.is_empty());
    assert!(r.node.created_index > 0);
    assert_eq!(r.node.created_index, r.node.modified_index);
    assert_eq!(r.prev_node, None, "a new key has no prevNode");
    assert_eq!(r.headers.etcd_index, r.node.modified_index);

    let r2 = c.set(&k, "two").unwrap();
    assert_eq!(r2.action, Action::Set);
    assert_eq!(r2.node.value.as_deref(), Some("two"));
    assert!(r2.node.modified_index > r.node.modified_index);
    // A plain set replaces the node: etcd gives it a new createdIndex.
    assert_eq!(r2.node.created_index, r2.node.modified_index);
    let prev = r2.prev_node.expect("set over a key returns prevNode");
    assert_eq!(prev.key, k);
    assert_eq!(prev.value.as_deref(), Some("one"));
    assert_eq!(prev.modified_index, r.node.modified_index);

    assert_eq!(value(&c, &k), "two");
}

#[test]
fn get_returns_the_node_as_written() {
    let c = common::client();
    let k = format!("{}/k", prefix("get"));
    let w = c.set(&k, "v").unwrap();
    let r = c.get(&k).unwrap();
    assert_eq!(r.action, Action::Get);
    assert_eq!(r.action.as_str(), "get");
    assert_eq!(r.node, w.node);
    assert_eq!(r.prev_node, None);
    assert!(r.headers.etcd_index >= w.node.modified_index);
    // read with default options is get
    assert_eq!(c.read(&k, &ReadOptions::default()).unwrap().node, w.node);
    // a leading slash is optional, one trailing slash is dropped
    assert_eq!(c.get(k.trim_start_matches('/')).unwrap().node, w.node);
    assert_eq!(c.get(&format!("{k}/")).unwrap().node, w.node);
}

#[test]
fn client_new_and_endpoints() {
    let etcd = common::shared();
    let c = Client::new("127.0.0.1", etcd.port).unwrap();
    assert_eq!(c.endpoints(), [etcd.url.as_str()]);
    let k = format!("{}/k", prefix("client_new"));
    c.set(&k, "v").unwrap();
    assert_eq!(value(&c, &k), "v");
    let c2 = Client::builder()
        .endpoints([format!("{}/", etcd.url)])
        .build()
        .unwrap();
    assert_eq!(c2.endpoints(), [etcd.url.as_str()], "trailing / is dropped");
    assert_eq!(value(&c2, &k), "v");
}

#[test]
fn headers_are_sane_and_etcd_index_grows_with_writes() {
    let c = common::client();
    let k = format!("{}/k", prefix("headers"));
    let w1 = c.set(&k, "1").unwrap();
    let w2 = c.set(&k, "2").unwrap();
    let g = c.get(&k).unwrap();
    for h in [&w1.headers, &w2.headers, &g.headers] {
        assert!(h.etcd_index > 0, "{h:?}");
        assert!(h.raft_index > 0, "{h:?}");
        assert!(h.raft_term >= 1, "{h:?}");
        let id = h.cluster_id.as_deref().expect("X-Etcd-Cluster-Id");
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()) && id != "0",
            "cluster id {id:?}"
        );
    }
    assert_eq!(w1.headers.cluster_id, w2.headers.cluster_id);
    assert_eq!(w1.headers.cluster_id, g.headers.cluster_id);
    assert_eq!(w1.headers.etcd_index, w1.node.modified_index);
    assert_eq!(w2.headers.etcd_index, w2.node.modified_index);
    assert!(w2.headers.etcd_index > w1.headers.etcd_index);
    assert!(w2.headers.raft_index > w1.headers.raft_index);
    assert!(g.headers.etcd_index >= w2.headers.etcd_index);
    assert!(g.headers.raft_index >= w2.headers.raft_index);
    assert!(w2.headers.raft_term >= w1.headers.raft_term);
}

#[test]
fn ttl_fields() {
    let c = common::client();
    let k = format!("{}/k", prefix("ttl_fields"));
    let w = c.write(&k, "v", &ttl_opts(100)).unwrap();
    assert_eq!(w.action, Action::Set);
    assert_eq!(w.node.ttl, Some(100));
    assert_rfc3339(w.node.expiration.as_deref().expect("expiration"));
    let g = c.get(&k).unwrap();
    assert!(matches!(g.node.ttl, Some(95..=100)), "{:?}", g.node.ttl);
    assert_eq!(g.node.expiration, w.node.expiration);
    // a plain set without ttl makes the key permanent again
    let s = c.set(&k, "v2").unwrap();
    assert_eq!(s.node.ttl, None);
    assert_eq!(s.node.expiration, None);
    assert!(s.prev_node.unwrap().ttl.is_some());
}

/// The only test that waits for time to pass: every expiry is checked in one
/// poll loop.
#[test]
fn ttl_expiry_removes_keys_and_directories_but_not_refreshed_ones() {
    let c = common::client();
    let p = prefix("ttl_expiry");
    let k = format!("{p}/k");
    let d = format!("{p}/d");
    let zero = format!("{p}/zero");
    let refreshed = format!("{p}/refreshed");
    let mkdir_ttl = format!("{p}/mkdir");
    c.write(&k, "v", &ttl_opts(1)).unwrap();
    c.write(
        &d,
        "",
        &WriteOptions {
            dir: true,
            ttl: Some(1),
            ..WriteOptions::default()
        },
    )
    .unwrap();
    c.set(&format!("{d}/child"), "x").unwrap();
    c.mkdir(&mkdir_ttl, Some(1)).unwrap();
    // etcd quirk: ttl=0 sets an expiration of "now" and reports no ttl field.
    let z = c.write(&zero, "v", &ttl_opts(0)).unwrap();
    assert_eq!(z.node.ttl, None);
    assert!(z.node.expiration.is_some());
    c.write(&refreshed, "keep", &ttl_opts(1)).unwrap();
    let r = c.refresh(&refreshed, 60).unwrap();
    assert_eq!(r.node.ttl, Some(60));

    let start = Instant::now();
    assert_eq!(value(&c, &k), "v", "a fresh key with ttl=1 is there");
    loop {
        let gone = [&k, &d, &zero, &mkdir_ttl]
            .iter()
            .all(|key| matches!(c.get(key), Err(Error::KeyNotFound(_))));
        if gone {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "ttl=1 keys still there after {:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_not_found(&c, &format!("{d}/child"));
    let kept = c.get(&refreshed).unwrap().node;
    assert_eq!(kept.value.as_deref(), Some("keep"));
    assert!(matches!(kept.ttl, Some(50..=60)), "{:?}", kept.ttl);
}

// ------------------------------------------------------------- directories

#[test]
fn directories_list_one_level_or_recursively() {
    let c = common::client();
    let p = prefix("dirs");
    let d = format!("{p}/d");
    let w = c.write(&d, "", &dir_opts()).unwrap();
    assert_eq!(w.action, Action::Set);
    assert!(w.node.dir);
    assert_eq!(w.node.value, None);
    assert_eq!(w.node.key, d);

    c.set(&format!("{d}/a"), "1").unwrap();
    c.set(&format!("{d}/sub/b"), "2").unwrap();

    let one = c.get(&d).unwrap().node;
    assert!(one.dir);
    assert_eq!(one.value, None);
    let mut children: Vec<&Node> = one.nodes.iter().collect();
    children.sort_by(|x, y| x.key.cmp(&y.key));
    assert_eq!(children.len(), 2);
    assert_eq!(children[0].key, format!("{d}/a"));
    assert_eq!(children[0].value.as_deref(), Some("1"));
    assert_eq!(children[1].key, format!("{d}/sub"));
    assert!(children[1].dir);
    assert!(
        children[1].nodes.is_empty(),
        "a one-level read does not list grandchildren"
    );

    let rec = c
        .read(
            &d,
            &ReadOptions {
                recursive: true,
                ..ReadOptions::default()
            },
        )
        .unwrap()
        .node;
    let sub = rec
        .nodes
        .iter()
        .find(|n| n.key == format!("{d}/sub"))
        .unwrap();
    assert_eq!(keys_of(&sub.nodes), [format!("{d}/sub/b")]);
    assert_eq!(sub.nodes[0].value.as_deref(), Some("2"));

    // intermediate directories are created by a deep set
    let deep = c.get(&format!("{p}/d/sub")).unwrap().node;
    assert!(deep.dir);
}

#[test]
fn sorted_reads_list_children_in_key_order() {
    let c = common::client();
    let p = prefix("sorted");
    // written in reverse: etcd's unsorted listing is a Go map walk
    let names: Vec<String> = (0..20).rev().map(|i| format!("k{i:02}")).collect();
    for n in &names {
        c.set(&format!("{p}/{n}"), n).unwrap();
    }
    c.set(&format!("{p}/m/z"), "z").unwrap();
    c.set(&format!("{p}/m/y"), "y").unwrap();

    let mut expected: Vec<String> = names.iter().map(|n| format!("{p}/{n}")).collect();
    expected.push(format!("{p}/m"));
    expected.sort();

    let s = c.read(&p, &sorted()).unwrap().node;
    assert_eq!(keys_of(&s.nodes), expected);
    assert!(s.nodes.iter().find(|n| n.dir).unwrap().nodes.is_empty());

    let unsorted = c.get(&p).unwrap().node;
    let set: BTreeSet<&str> = keys_of(&unsorted.nodes).into_iter().collect();
    assert_eq!(set, expected.iter().map(String::as_str).collect());

    let rs = c.read(&p, &recursive_sorted()).unwrap().node;
    assert_eq!(keys_of(&rs.nodes), expected);
    let m = rs.nodes.last().unwrap();
    assert_eq!(keys_of(&m.nodes), [format!("{p}/m/y"), format!("{p}/m/z")]);
}

#[test]
fn leaves_walk_a_recursive_read_depth_first() {
    let c = common::client();
    let p = prefix("leaves");
    c.set(&format!("{p}/f"), "4").unwrap();
    c.set(&format!("{p}/b/e"), "3").unwrap();
    c.write(&format!("{p}/b/d"), "", &dir_opts()).unwrap();
    c.set(&format!("{p}/b/c"), "2").unwrap();
    c.set(&format!("{p}/a"), "1").unwrap();

    let tree = c.read(&p, &recursive_sorted()).unwrap().node;
    let leaves: Vec<(&str, Option<&str>, bool)> = tree
        .leaves()
        .map(|n| (n.key.as_str(), n.value.as_deref(), n.dir))
        .collect();
    let k = |s: &str| format!("{p}/{s}");
    assert_eq!(
        leaves,
        [
            (k("a").as_str(), Some("1"), false),
            (k("b/c").as_str(), Some("2"), false),
            (k("b/d").as_str(), None, true),
            (k("b/e").as_str(), Some("3"), false),
            (k("f").as_str(), Some("4"), false),
        ]
    );

    // over a one-level read, a listed directory has no children: it is a leaf
    let flat = c.read(&p, &sorted()).unwrap().node;
    let flat: Vec<&str> = flat.leaves().map(|n| n.key.as_str()).collect();
    assert_eq!(flat, [k("a"), k("b"), k("f")]);

    // a value yields itself
    let one = c.get(&k("a")).unwrap().node;
    let own: Vec<&Node> = one.leaves().collect();
    assert_eq!(own, [&one]);
}

#[test]
fn root_read() {
    let c = common::client();
    c.set(&format!("{}/k", prefix("root")), "v").unwrap();
    for key in ["/", ""] {
        let r = c.get(key).unwrap();
        assert_eq!(r.action, Action::Get);
        assert_eq!(r.node.key, "/");
        assert!(r.node.dir);
        assert_eq!(r.node.value, None);
        assert!(
            r.node.nodes.iter().any(|n| n.key == "/t" && n.dir),
            "root lists /t: {:?}",
            keys_of(&r.node.nodes)
        );
        assert!(r.headers.etcd_index > 0);
    }
    let s = c.read("/", &sorted()).unwrap().node;
    let keys = keys_of(&s.nodes);
    let mut again = keys.clone();
    again.sort();
    assert_eq!(keys, again);
}

/// A quorum read goes through raft: on an otherwise idle etcd it is the only
/// request that moves the raft index.
#[test]
fn quorum_read_goes_through_raft() {
    let etcd = common::Etcd::start();
    let c = etcd.client();
    c.set("/q/k", "v").unwrap();
    c.set("/q/d/x", "x").unwrap();
    let plain1 = c.get("/q/k").unwrap();
    let plain2 = c.get("/q/k").unwrap();
    assert_eq!(plain1.headers.raft_index, plain2.headers.raft_index);
    let quorum = ReadOptions {
        quorum: true,
        ..ReadOptions::default()
    };
    let q = c.read("/q/k", &quorum).unwrap();
    assert_eq!(q.action, Action::Get);
    assert_eq!(q.node.value.as_deref(), Some("v"));
    assert!(
        q.headers.raft_index > plain2.headers.raft_index,
        "quorum read did not go through raft: {:?} then {:?}",
        plain2.headers,
        q.headers
    );
    assert_eq!(
        q.headers.etcd_index, plain2.headers.etcd_index,
        "a read does not move the etcd index"
    );
    let qr = c
        .read(
            "/q",
            &ReadOptions {
                quorum: true,
                recursive: true,
                sorted: true,
            },
        )
        .unwrap()
        .node;
    assert_eq!(keys_of(&qr.nodes), ["/q/d", "/q/k"]);
    assert_eq!(keys_of(&qr.nodes[0].nodes), ["/q/d/x"]);
    match c.read("/q/missing", &quorum) {
        Err(Error::KeyNotFound(e)) => assert_eq!(e.cause, "/q/missing"),
        other => panic!("{other:?}"),
    }
}

// ------------------------------------------------------------------ append

#[test]
fn append_creates_in_order_keys_named_by_index() {
    let c = common::client();
    let q = format!("{}/queue", prefix("append"));
    let mut created = Vec::new();
    for i in 0..5 {
        let r = c.write(&q, &format!("job{i}"), &append_opts()).unwrap();
        assert_eq!(r.action, Action::Create);
        assert_eq!(r.node.key, format!("{q}/{:020}", r.node.created_index));
        assert_eq!(r.node.value.as_deref(), Some(format!("job{i}").as_str()));
        assert_eq!(r.node.created_index, r.node.modified_index);
        assert_eq!(r.headers.etcd_index, r.node.created_index);
        assert_eq!(r.prev_node, None);
        created.push(r.node.key);
    }
    let mut in_order = created.clone();
    in_order.sort();
    assert_eq!(created, in_order, "keys sort in creation order");

    let listed = c.read(&q, &sorted()).unwrap().node;
    assert!(listed.dir);
    assert_eq!(keys_of(&listed.nodes), created);
    let values: Vec<&str> = listed
        .nodes
        .iter()
        .map(|n| n.value.as_deref().unwrap())
        .collect();
    assert_eq!(values, ["job0", "job1", "job2", "job3", "job4"]);

    let t = c
        .write(
            &q,
            "ttl",
            &WriteOptions {
                append: true,
                ttl: Some(60),
                ..WriteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(t.node.ttl, Some(60));
    assert!(t.node.key.starts_with(&format!("{q}/")));

    let d = c
        .write(
            &q,
            "",
            &WriteOptions {
                append: true,
                dir: true,
                ..WriteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(d.action, Action::Create);
    assert!(d.node.dir);
    assert_eq!(d.node.key, format!("{q}/{:020}", d.node.created_index));
}

// ------------------------------------------------------------ conditions

#[test]
fn prev_exist_false_creates_and_true_updates() {
    let c = common::client();
    let p = prefix("prev_exist");
    let k = format!("{p}/k");
    let create = WriteOptions {
        prev_exist: Some(false),
        ..WriteOptions::default()
    };
    let r = c.write(&k, "first", &create).unwrap();
    assert_eq!(r.action, Action::Create);
    assert_eq!(r.action.as_str(), "create");
    assert_eq!(r.node.value.as_deref(), Some("first"));
    assert_eq!(r.prev_node, None);

    let update = WriteOptions {
        prev_exist: Some(true),
        ..WriteOptions::default()
    };
    let u = c.write(&k, "second", &update).unwrap();
    assert_eq!(u.action, Action::Update);
    assert_eq!(u.action.as_str(), "update");
    assert_eq!(u.node.value.as_deref(), Some("second"));
    assert_eq!(
        u.node.created_index, r.node.created_index,
        "update keeps createdIndex"
    );
    assert!(u.node.modified_index > r.node.modified_index);
    assert_eq!(u.prev_node.unwrap().value.as_deref(), Some("first"));

    // prev_exist=false with dir creates a directory
    let d = c
        .write(
            &format!("{p}/d"),
            "",
            &WriteOptions {
                dir: true,
                prev_exist: Some(false),
                ..WriteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(d.action, Action::Create);
    assert!(d.node.dir);
    // the failures (100 and 105) are in tests/errors.rs
}

#[test]
fn prev_value_and_prev_index_compare_and_swap() {
    let c = common::client();
    let k = format!("{}/k", prefix("cas"));
    let w = c.set(&k, "a").unwrap();

    let by_value = c
        .write(
            &k,
            "b",
            &WriteOptions {
                prev_value: Some("a"),
                ..WriteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(by_value.action, Action::CompareAndSwap);
    assert_eq!(by_value.action.as_str(), "compareAndSwap");
    assert_eq!(by_value.node.value.as_deref(), Some("b"));
    assert_eq!(by_value.node.created_index, w.node.created_index);
    assert_eq!(by_value.prev_node.unwrap().value.as_deref(), Some("a"));

    let by_index = c
        .write(
            &k,
            "c",
            &WriteOptions {
                prev_index: Some(by_value.node.modified_index),
                ..WriteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(by_index.action, Action::CompareAndSwap);
    assert_eq!(by_index.node.value.as_deref(), Some("c"));

    let both = c
        .write(
            &k,
            "d",
            &WriteOptions {
                prev_value: Some("c"),
                prev_index: Some(by_index.node.modified_index),
                ttl: Some(100),
                ..WriteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(both.action, Action::CompareAndSwap);
    assert_eq!(both.node.ttl, Some(100));

    // a stale compare fails and changes nothing
    let stale = c.write(
        &k,
        "x",
        &WriteOptions {
            prev_index: Some(by_value.node.modified_index),
            ..WriteOptions::default()
        },
    );
    assert!(matches!(stale, Err(Error::CompareFailed(_))), "{stale:?}");
    let stale = c.write(
        &k,
        "x",
        &WriteOptions {
            prev_value: Some("c"),
            ..WriteOptions::default()
        },
    );
    assert!(matches!(stale, Err(Error::CompareFailed(_))), "{stale:?}");
    assert_eq!(value(&c, &k), "d");
}

#[test]
fn test_and_set_swaps_only_on_match() {
    let c = common::client();
    let k = format!("{}/k", prefix("test_and_set"));
    c.set(&k, "old").unwrap();
    let r = c.test_and_set(&k, "new", "old", None).unwrap();
    assert_eq!(r.action, Action::CompareAndSwap);
    assert_eq!(r.node.value.as_deref(), Some("new"));
    assert_eq!(r.node.ttl, None);
    assert_eq!(r.prev_node.unwrap().value.as_deref(), Some("old"));

    let t = c.test_and_set(&k, "newer", "new", Some(100)).unwrap();
    assert_eq!(t.node.ttl, Some(100));
    assert_eq!(t.node.value.as_deref(), Some("newer"));

    match c.test_and_set(&k, "lost", "new", None) {
        Err(Error::CompareFailed(e)) => assert_eq!(e.cause, "[new != newer]"),
        other => panic!("{other:?}"),
    }
    assert_eq!(value(&c, &k), "newer");
}

// ---------------------------------------------------------------- refresh

#[test]
fn refresh_keeps_value_and_resets_ttl() {
    let c = common::client();
    let p = prefix("refresh");
    let k = format!("{p}/k");
    let w = c.write(&k, "v", &ttl_opts(5)).unwrap();
    let r = c.refresh(&k, 100).unwrap();
    assert_eq!(r.action, Action::Update);
    assert_eq!(r.node.key, k);
    assert_eq!(r.node.value.as_deref(), Some("v"));
    assert_eq!(r.node.ttl, Some(100));
    assert_rfc3339(r.node.expiration.as_deref().unwrap());
    assert_ne!(r.node.expiration, w.node.expiration);
    assert_eq!(r.node.created_index, w.node.created_index);
    assert!(r.node.modified_index > w.node.modified_index);
    let prev = r.prev_node.unwrap();
    assert!(matches!(prev.ttl, Some(1..=5)), "{:?}", prev.ttl);
    let g = c.get(&k).unwrap().node;
    assert_eq!(g.value.as_deref(), Some("v"));
    assert!(matches!(g.ttl, Some(95..=100)), "{:?}", g.ttl);

    // the same through write options
    let r2 = c
        .write(
            &k,
            "",
            &WriteOptions {
                refresh: true,
                ttl: Some(50),
                ..WriteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(r2.node.value.as_deref(), Some("v"));
    assert_eq!(r2.node.ttl, Some(50));
    assert_eq!(value(&c, &k), "v");

    // directories too
    let d = format!("{p}/d");
    c.mkdir(&d, Some(5)).unwrap();
    c.set(&format!("{d}/x"), "x").unwrap();
    let rd = c.refresh(&d, 200).unwrap();
    assert!(rd.node.dir);
    assert_eq!(rd.node.ttl, Some(200));
    assert_eq!(value(&c, &format!("{d}/x")), "x");
    // refresh of a missing key is KeyNotFound: tests/errors.rs
}

// ------------------------------------------------------------------ update

#[test]
fn update_writes_a_changed_node_and_keeps_its_ttl() {
    let c = common::client();
    let p = prefix("update");
    let k = format!("{p}/k");
    c.write(&k, "v1", &ttl_opts(100)).unwrap();
    let mut node = c.get(&k).unwrap().node;
    node.value = Some("v2".into());
    let r = c.update(&node).unwrap();
    assert_eq!(r.action, Action::CompareAndSwap);
    assert_eq!(r.node.value.as_deref(), Some("v2"));
    assert!(matches!(r.node.ttl, Some(95..=100)), "{:?}", r.node.ttl);
    assert_eq!(r.node.created_index, node.created_index);
    assert_eq!(r.prev_node.unwrap().value.as_deref(), Some("v1"));
    let g = c.get(&k).unwrap().node;
    assert_eq!(g.value.as_deref(), Some("v2"));
    assert!(g.ttl.is_some(), "update kept the TTL");

    // a node without a TTL stays without one
    let k2 = format!("{p}/permanent");
    c.set(&k2, "a").unwrap();
    let mut n2 = c.get(&k2).unwrap().node;
    n2.value = Some("b".into());
    let r2 = c.update(&n2).unwrap();
    assert_eq!(r2.node.ttl, None);
    assert_eq!(value(&c, &k2), "b");
}

/// etcd has no compare-and-swap on directories, so `update` of a directory
/// would be unconditional: a stale read's TTL would overwrite another
/// writer's refresh, and a directory deleted and recreated since would get
/// the old TTL. It is refused, and nothing is sent.
#[test]
fn update_refuses_a_directory_so_a_stale_read_changes_nothing() {
    let c = common::client();
    let d = format!("{}/d", prefix("update_dir"));
    c.mkdir(&d, Some(100)).unwrap();
    let stale = c.get(&d).unwrap().node;
    // Another writer sets a longer TTL after our read.
    c.refresh(&d, 1000).unwrap();
    match c.update(&stale) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("directory"), "{m}"),
        other => panic!("{other:?}"),
    }
    let now = c.get(&d).unwrap().node;
    assert!(matches!(now.ttl, Some(990..=1000)), "{:?}", now.ttl);
    assert_eq!(now.modified_index, c.get(&d).unwrap().node.modified_index);
}

#[test]
fn update_fails_if_the_key_changed_or_went_in_between() {
    let c = common::client();
    let p = prefix("update_race");
    let k = format!("{p}/k");
    c.set(&k, "read").unwrap();
    let mut node = c.get(&k).unwrap().node;
    c.set(&k, "concurrent").unwrap(); // someone else writes in between
    node.value = Some("mine".into());
    match c.update(&node) {
        Err(Error::CompareFailed(e)) => {
            assert_eq!(e.code, 101);
            assert!(
                e.cause.contains(&format!("[{} != ", node.modified_index)),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(value(&c, &k), "concurrent");

    let fresh = c.get(&k).unwrap().node;
    c.delete(&k, &DeleteOptions::default()).unwrap();
    match c.update(&fresh) {
        Err(Error::KeyNotFound(e)) => assert_eq!(e.cause, k),
        other => panic!("{other:?}"),
    }
    assert_not_found(&c, &k);
}

// ------------------------------------------------------------------- mkdir

#[test]
fn mkdir_creates_a_directory_once() {
    let c = common::client();
    let p = prefix("mkdir");
    let d = format!("{p}/d");
    let r = c.mkdir(&d, None).unwrap();
    assert_eq!(r.action, Action::Create);
    assert!(r.node.dir);
    assert_eq!(r.node.key, d);
    assert_eq!(r.node.value, None);
    assert_eq!(r.node.ttl, None);
    assert!(c.get(&d).unwrap().node.dir);

    let t = c.mkdir(&format!("{p}/t"), Some(100)).unwrap();
    assert!(t.node.dir);
    assert_eq!(t.node.ttl, Some(100));

    assert!(matches!(c.mkdir(&d, None), Err(Error::NodeExist(_))));
}

// ------------------------------------------------------------------ delete

#[test]
fn delete_a_value() {
    let c = common::client();
    let k = format!("{}/k", prefix("delete"));
    let w = c.set(&k, "v").unwrap();
    let r = c.delete(&k, &DeleteOptions::default()).unwrap();
    assert_eq!(r.action, Action::Delete);
    assert_eq!(r.action.as_str(), "delete");
    assert_eq!(r.node.key, k);
    assert_eq!(r.node.value, None, "the deleted node carries no value");
    assert_eq!(r.node.created_index, w.node.created_index);
    assert!(r.node.modified_index > w.node.modified_index);
    assert_eq!(r.headers.etcd_index, r.node.modified_index);
    let prev = r.prev_node.unwrap();
    assert_eq!(prev.value.as_deref(), Some("v"));
    assert_eq!(prev.modified_index, w.node.modified_index);
    assert_not_found(&c, &k);
}

#[test]
fn delete_directories() {
    let c = common::client();
    let p = prefix("delete_dirs");
    let empty = format!("{p}/empty");
    c.mkdir(&empty, None).unwrap();
    let r = c
        .delete(
            &empty,
            &DeleteOptions {
                dir: true,
                ..DeleteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(r.action, Action::Delete);
    assert!(r.node.dir);
    assert!(r.prev_node.unwrap().dir);
    assert_not_found(&c, &empty);

    let full = format!("{p}/full");
    c.set(&format!("{full}/x/y"), "1").unwrap();
    c.set(&format!("{full}/z"), "2").unwrap();
    let r = c
        .delete(
            &full,
            &DeleteOptions {
                recursive: true,
                ..DeleteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(r.action, Action::Delete);
    assert!(r.node.dir);
    for k in [&full, &format!("{full}/x"), &format!("{full}/x/y")] {
        assert_not_found(&c, k);
    }

    // recursive also deletes a plain value
    let v = format!("{p}/v");
    c.set(&v, "x").unwrap();
    c.delete(
        &v,
        &DeleteOptions {
            recursive: true,
            ..DeleteOptions::default()
        },
    )
    .unwrap();
    assert_not_found(&c, &v);
    // errors (102 without dir/recursive, 108 non-empty with dir): tests/errors.rs
}

#[test]
fn delete_with_conditions_is_compare_and_delete() {
    let c = common::client();
    let p = prefix("cad");
    let k = format!("{p}/k");
    c.set(&k, "v").unwrap();
    let r = c
        .delete(
            &k,
            &DeleteOptions {
                prev_value: Some("v"),
                ..DeleteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(r.action, Action::CompareAndDelete);
    assert_eq!(r.action.as_str(), "compareAndDelete");
    assert_eq!(r.prev_node.unwrap().value.as_deref(), Some("v"));
    assert_not_found(&c, &k);

    let w = c.set(&k, "w").unwrap();
    let bad = c.delete(
        &k,
        &DeleteOptions {
            prev_index: Some(w.node.modified_index - 1),
            ..DeleteOptions::default()
        },
    );
    assert!(matches!(bad, Err(Error::CompareFailed(_))), "{bad:?}");
    let bad = c.delete(
        &k,
        &DeleteOptions {
            prev_value: Some("nope"),
            ..DeleteOptions::default()
        },
    );
    assert!(matches!(bad, Err(Error::CompareFailed(_))), "{bad:?}");
    assert_eq!(value(&c, &k), "w", "a failed compare deletes nothing");

    let r = c
        .delete(
            &k,
            &DeleteOptions {
                prev_index: Some(w.node.modified_index),
                prev_value: Some("w"),
                ..DeleteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(r.action, Action::CompareAndDelete);
    assert_eq!(r.prev_node.unwrap().modified_index, w.node.modified_index);
    assert_not_found(&c, &k);
}

// --------------------------------------------------------------------- pop

#[test]
fn pop_returns_the_removed_value() {
    let c = common::client();
    let k = format!("{}/k", prefix("pop"));
    let w = c.set(&k, "popped").unwrap();
    let r = c.pop(&k).unwrap();
    assert_eq!(r.action, Action::Delete);
    assert_eq!(r.node.key, k);
    assert_eq!(r.node.value.as_deref(), Some("popped"));
    assert_eq!(r.node.modified_index, w.node.modified_index);
    assert_eq!(r.prev_node, None, "prev_node moved into node");
    assert!(r.headers.etcd_index > w.node.modified_index);
    assert_not_found(&c, &k);
    match c.pop(&k) {
        Err(Error::KeyNotFound(e)) => assert_eq!(e.cause, k),
        other => panic!("{other:?}"),
    }
}

// ------------------------------------------------------------- nasty keys

/// Names that must survive path encoding and etcd's decoding exactly.
const NASTY_NAMES: &[&str] = &[
    "a b",
    " lead and trail ",
    "100%",
    "%",
    "%zz",
    "%41",
    "%2F",
    "%2E%2E",
    "%2e",
    "what?",
    "x?recursive=true",
    "d?dir=true&recursive=true",
    "#frag",
    "a#b",
    "a+b",
    "+",
    "x&y",
    "&",
    "k=v",
    "=",
    "✓",
    "日本",
    "emoji 🎉",
    "...",
    ".hidden",
    "a.",
    "a..b",
    "~tilde",
    "semi;colon",
    "colon:",
    "@at",
    "[brackets]",
    "{braces}",
    "<angle>",
    "|pipe|",
    "^caret",
    "`tick`",
    "comma,",
    "$dollar",
    "!bang",
    "*star",
    "(paren)",
    "quote\"'",
    "back\\slash",
    "tab\there",
    "line\nfeed",
    "cr\rreturn",
    "del\u{7f}",
];

#[test]
fn nasty_keys_round_trip_exactly() {
    let c = common::client();
    let p = prefix("nasty_keys");
    let mut expected = BTreeSet::new();
    for name in NASTY_NAMES {
        let key = format!("{p}/{name}");
        let w = c
            .set(&key, name)
            .unwrap_or_else(|e| panic!("set {key:?}: {e}"));
        assert_eq!(w.node.key, key);
        let g = c.get(&key).unwrap_or_else(|e| panic!("get {key:?}: {e}"));
        assert_eq!(g.node.key, key, "read back under its own name");
        assert_eq!(g.node.value.as_deref(), Some(*name));
        expected.insert(key);
    }
    // nested segments, and every other operation on such keys
    let deep = format!("{p}/deep dir/c?d/e#f/✓");
    c.set(&deep, "deep").unwrap();
    assert_eq!(c.get(&deep).unwrap().node.key, deep);
    expected.insert(format!("{p}/deep dir"));

    // the directory holds exactly these children: nothing else was created
    let listed = c.read(&p, &sorted()).unwrap().node;
    let got: BTreeSet<String> = listed.nodes.iter().map(|n| n.key.clone()).collect();
    assert_eq!(got, expected);

    let q = format!("{p}/queue ?&=#%");
    let a = c.write(&q, "x", &append_opts()).unwrap();
    assert!(a.node.key.starts_with(&format!("{q}/")), "{}", a.node.key);
    assert_eq!(c.get(&a.node.key).unwrap().node.value.as_deref(), Some("x"));

    let k = format!("{p}/%2E%2E");
    c.test_and_set(&k, "swapped", "%2E%2E", None).unwrap();
    c.refresh(&k, 100).unwrap();
    assert_eq!(value(&c, &k), "swapped");
    assert_eq!(c.pop(&k).unwrap().node.value.as_deref(), Some("swapped"));
    assert_not_found(&c, &k);
    let d = format!("{p}/dir ?#");
    c.mkdir(&d, None).unwrap();
    c.delete(
        &d,
        &DeleteOptions {
            dir: true,
            ..DeleteOptions::default()
        },
    )
    .unwrap();
    assert_not_found(&c, &d);
}

#[test]
fn a_key_cannot_inject_query_parameters() {
    let c = common::client();
    let p = prefix("inject");
    // reads: `?recursive=true` stays part of the name
    c.set(&format!("{p}/x/child"), "c").unwrap();
    let literal = format!("{p}/x?recursive=true");
    assert_not_found(&c, &literal);
    c.set(&literal, "literal").unwrap();
    assert_eq!(value(&c, &literal), "literal");
    let x = c.get(&format!("{p}/x")).unwrap().node;
    assert!(x.dir);
    assert_eq!(keys_of(&x.nodes), [format!("{p}/x/child")]);

    // deletes: `?recursive=true` does not delete the directory
    let fake = format!("{p}/x?recursive=true&dir=true");
    match c.delete(&fake, &DeleteOptions::default()) {
        Err(Error::KeyNotFound(e)) => assert_eq!(e.cause, fake),
        other => panic!("{other:?}"),
    }
    assert_eq!(value(&c, &format!("{p}/x/child")), "c");

    // writes: `?ttl=1`, `?dir=true` in the key do nothing
    let t = format!("{p}/t?ttl=1&dir=true");
    let w = c.set(&t, "v").unwrap();
    assert_eq!(w.node.key, t);
    assert_eq!(w.node.ttl, None);
    assert!(!w.node.dir);
    assert_not_found(&c, &format!("{p}/t"));
}

#[test]
fn dot_and_empty_segments_are_refused_and_nothing_is_written() {
    let c = common::client();
    let p = prefix("dots");
    // a client with no server behind it: validation happens before sending
    let offline = Client::builder()
        .endpoints([format!("http://127.0.0.1:{}", common::dead_port())])
        .build()
        .unwrap();
    let bad = [
        format!("{p}/a/../b"),
        format!("{p}/./b"),
        format!("{p}//b"),
        format!("{p}/b/.."),
        format!("{p}/b/."),
        format!("{p}/b//"),
        format!("{p}/a/../../b"),
        "..".to_owned(),
        "/..".to_owned(),
        "/.".to_owned(),
        "//".to_owned(),
        "/./t".to_owned(),
        "/t/../t".to_owned(),
    ];
    for key in &bad {
        for client in [&c, &offline] {
            let node = Node {
                key: key.clone(),
                value: Some("v".into()),
                modified_index: 1,
                ..Node::default()
            };
            let results: Vec<(&str, etcdc::Result<Response>)> = vec![
                ("set", client.set(key, "v")),
                ("get", client.get(key)),
                ("read", client.read(key, &recursive_sorted())),
                ("write dir", client.write(key, "", &dir_opts())),
                ("append", client.write(key, "v", &append_opts())),
                ("delete", client.delete(key, &DeleteOptions::default())),
                (
                    "delete recursive",
                    client.delete(
                        key,
                        &DeleteOptions {
                            recursive: true,
                            ..DeleteOptions::default()
                        },
                    ),
                ),
                ("mkdir", client.mkdir(key, None)),
                ("refresh", client.refresh(key, 10)),
                ("pop", client.pop(key)),
                ("test_and_set", client.test_and_set(key, "v", "w", None)),
                ("update", client.update(&node)),
            ];
            for (op, result) in results {
                match result {
                    Err(Error::InvalidArgument(msg)) => assert!(!msg.is_empty()),
                    other => panic!("{op} {key:?}: expected InvalidArgument, got {other:?}"),
                }
            }
        }
    }
    // nothing under the prefix was created, nor the keys the paths clean to
    assert_not_found(&c, &p);
    assert_not_found(&c, &format!("{p}/b"));
    assert_not_found(&c, &format!("{p}/a"));
}

// ------------------------------------------------------------------ values

fn nasty_values() -> Vec<(String, String)> {
    let control: String = (1u8..0x20).map(char::from).collect::<String>() + "\u{7f}";
    let mut big = String::with_capacity(1 << 20);
    let pattern = "a+b&c=d%e f%zz%41\r\n\t{\"x\":1}\\";
    while big.len() < 1 << 20 {
        big.push_str(pattern);
    }
    big.truncate(1 << 20);
    let v = |name: &str, value: &str| (name.to_owned(), value.to_owned());
    vec![
        v("empty", ""),
        v("control", &control),
        v("del", "\u{7f}"),
        v("percent", "%"),
        v("bad-percent", "%zz%4%"),
        v("encoded-looking", "%41%42%2B%26%3D%25"),
        v("double-percent", "%%25"),
        v("plus", "+"),
        v("plus-space", "a+b c"),
        v("amp", "&"),
        v("eq", "="),
        v("form-injection", "v&ttl=1&dir=true&prevExist=false"),
        v("all-separators", "a+b&c=d%e"),
        v(
            "json-object",
            r#"{"action":"get","node":{"key":"/x","value":"y"}}"#,
        ),
        v("json-array", "[1,2,null,\"x\"]"),
        v("json-null", "null"),
        v("true", "true"),
        v("crlf", "\r\n"),
        v("lines", "line1\nline2\r\nline3\r"),
        v("spaces", "  padded  "),
        v("quotes", "\"double\" 'single'"),
        v("backslash", "back\\slash \\u0041 \\n"),
        v("unicode", "✓ 日本 🎉 é"),
        v("html", "<b>&amp;</b>"),
        v("1MiB", &big),
    ]
}

#[test]
fn values_round_trip_exactly() {
    let c = common::client();
    let p = prefix("values");
    for (name, v) in nasty_values() {
        let k = format!("{p}/{name}");
        let w = c.set(&k, &v).unwrap_or_else(|e| panic!("set {name}: {e}"));
        assert!(w.node.value.as_deref() == Some(v.as_str()), "set {name}");
        assert_eq!(w.node.ttl, None, "{name}: no parameter injected");
        assert!(!w.node.dir, "{name}");
        let g = c.get(&k).unwrap();
        assert!(
            g.node.value.as_deref() == Some(v.as_str()),
            "{name}: read back {} bytes, wrote {}",
            g.node.value.as_deref().map_or(0, str::len),
            v.len()
        );
    }
    let big = c.get(&format!("{p}/1MiB")).unwrap();
    assert_eq!(big.node.value.unwrap().len(), 1 << 20);
    // the same values through an in-order POST
    let q = format!("{p}/queue");
    for (name, v) in nasty_values() {
        let a = c.write(&q, &v, &append_opts()).unwrap();
        assert!(a.node.value.as_deref() == Some(v.as_str()), "append {name}");
        assert!(
            c.get(&a.node.key).unwrap().node.value.as_deref() == Some(v.as_str()),
            "append {name}"
        );
    }
}

#[test]
fn prev_value_with_awkward_characters_compares_exactly() {
    let c = common::client();
    let p = prefix("prev_values");
    for (name, v) in nasty_values() {
        if v.is_empty() {
            continue; // an empty prevValue is etcd's error 201: tests/errors.rs
        }
        let k = format!("{p}/{name}");
        c.set(&k, &v).unwrap();
        // a near miss must not match
        let near = format!("{v}x");
        assert!(
            matches!(
                c.test_and_set(&k, "no", &near, None),
                Err(Error::CompareFailed(_))
            ),
            "{name}"
        );
        let r = c
            .test_and_set(&k, &v, &v, None)
            .unwrap_or_else(|e| panic!("test_and_set {name}: {e}"));
        assert_eq!(r.action, Action::CompareAndSwap, "{name}");
        let cad = DeleteOptions {
            prev_value: Some(&v),
            ..DeleteOptions::default()
        };
        if v.len() > MAX_URI / 3 {
            // DELETE carries prevValue in the query string: see
            // `a_url_over_64k_is_refused_before_sending`.
            assert!(
                matches!(c.delete(&k, &cad), Err(Error::InvalidArgument(_))),
                "{name}"
            );
            c.pop(&k).unwrap();
            continue;
        }
        let d = c
            .delete(&k, &cad)
            .unwrap_or_else(|e| panic!("compare-and-delete {name}: {e}"));
        assert_eq!(d.action, Action::CompareAndDelete, "{name}");
        assert!(d.prev_node.unwrap().value.as_deref() == Some(v.as_str()));
        assert_not_found(&c, &k);
    }
}

/// The `http` crate under ureq refuses a URI longer than 65,534 bytes.
const MAX_URI: usize = 65_534;

/// etcd 3.4 serves HTTP behind cmux, which reads only the first 4,096 bytes
/// of a new connection to recognise HTTP/1: when the first request line
/// (CRLF included) is longer, etcd resets the connection. A later request on
/// a kept-alive connection is not limited so (Go's 1 MiB header limit).
const ETCD_FIRST_LINE: usize = 4096;

/// A client with no pooled connection: its next request opens a new one.
fn fresh() -> Client {
    common::client()
}

#[test]
fn long_keys_work_up_to_etcds_first_request_line_limit() {
    let p = prefix("long_keys");
    // `DELETE /v2/keys<key> HTTP/1.1\r\n` is the longest line sent for a key
    let room = ETCD_FIRST_LINE - "DELETE /v2/keys HTTP/1.1\r\n".len() - p.len() - 1;
    let key = format!("{p}/{}", "k".repeat(room));
    let w = fresh().set(&key, "v").unwrap();
    assert_eq!(w.node.key, key);
    assert_eq!(fresh().get(&key).unwrap().node.key, key);
    let r = fresh().pop(&key).unwrap();
    assert_eq!(r.node.value.as_deref(), Some("v"));
    // three-byte characters are nine bytes once percent-encoded
    let wide = format!("{p}/{}", "✓".repeat(room / 9));
    fresh().set(&wide, "w").unwrap();
    assert_eq!(fresh().get(&wide).unwrap().node.key, wide);
    // a compare-and-delete's prevValue travels in the query string
    let k = format!("{p}/k");
    let short_room = ETCD_FIRST_LINE - "DELETE /v2/keys?prevValue= HTTP/1.1\r\n".len() - k.len();
    let v = "v".repeat(short_room);
    fresh().set(&k, &v).unwrap();
    let d = fresh()
        .delete(
            &k,
            &DeleteOptions {
                prev_value: Some(&v),
                ..DeleteOptions::default()
            },
        )
        .unwrap();
    assert_eq!(d.action, Action::CompareAndDelete);
    assert_not_found(&fresh(), &k);
}

/// Over the limit, the outcome must not depend on whether the client happens
/// to hold a kept-alive connection, and must not look like a connection
/// failure (which a caller has to treat as "maybe applied").
#[test]
fn over_etcds_first_request_line_limit_the_outcome_is_consistent() {
    let p = prefix("long_keys_over");
    let warm = common::client();
    warm.get("/").unwrap(); // now holds a kept-alive connection
    let long = |n: &str| format!("{p}/{n}{}", "k".repeat(ETCD_FIRST_LINE));
    let on_fresh = fresh().set(&long("a"), "v");
    let on_warm = warm.set(&long("b"), "v");
    let show = |r: &etcdc::Result<Response>| match r {
        Ok(r) => format!("Ok({:?})", r.action),
        Err(e) => format!("Err({e})"),
    };
    for r in [&on_fresh, &on_warm] {
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "new connection: {}, pooled: {}",
            show(&on_fresh),
            show(&on_warm)
        );
    }
    assert_not_found(&warm, &p);
}

/// A key of 10,000 bytes cannot cross etcd's first-line limit: it is
/// refused with a message that says so, before any connection is made
/// (a client aimed at a closed port gets the same answer), and nothing is
/// written, not even a shorter key.
#[test]
fn a_10000_byte_key_is_refused_by_the_request_line_limit() {
    let p = prefix("key_10k");
    let key = format!("{p}/{}", "k".repeat(10_000 - p.len() - 1));
    assert_eq!(key.len(), 10_000);
    let live = common::client();
    let dead = Client::builder()
        .endpoints([format!("http://127.0.0.1:{}", common::dead_port())])
        .build()
        .unwrap();
    for c in [&live, &dead] {
        for r in [
            c.set(&key, "v"),
            c.get(&key),
            c.delete(&key, &DeleteOptions::default()),
        ] {
            match r {
                Err(Error::InvalidArgument(msg)) => {
                    assert!(msg.contains("4096"), "{msg}")
                }
                other => panic!("expected InvalidArgument, got {other:?}"),
            }
        }
    }
    assert_not_found(&live, &p);
}

#[test]
fn a_url_over_64k_is_refused_before_sending() {
    let c = common::client();
    let p = prefix("uri_limit");
    // a key whose URL is over the limit: refused before sending, nothing written
    let long = format!("{p}/{}", "k".repeat(MAX_URI));
    for r in [
        c.set(&long, "v"),
        c.get(&long),
        c.delete(&long, &DeleteOptions::default()),
    ] {
        match r {
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains("too long"), "{msg}"),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }
    assert_not_found(&c, &p);
    // a compare-and-delete whose prevValue does not fit in a URL
    let k = format!("{p}/k");
    let v = "%".repeat(30_000); // 90,000 bytes once encoded
    c.set(&k, &v).unwrap();
    let r = c.delete(
        &k,
        &DeleteOptions {
            prev_value: Some(&v),
            ..DeleteOptions::default()
        },
    );
    assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
    assert!(value(&c, &k) == v, "nothing was deleted");
    // the same compare as a swap travels in the body: no limit there
    c.test_and_set(&k, "swapped", &v, None).unwrap();
}

// ----------------------------------------------------------------- threads

#[test]
fn many_threads_share_one_client() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 200;
    let c = common::client();
    let p = prefix("threads");
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (c, p) = (&c, &p);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let k = format!("{p}/{t}/{}", i % 10);
                    let v = format!("t{t}-i{i}-{}", "x".repeat(i));
                    let w = c.set(&k, &v).unwrap_or_else(|e| panic!("set {k}: {e}"));
                    assert_eq!(w.node.value.as_deref(), Some(v.as_str()));
                    assert_eq!(w.node.key, k);
                    let g = c.get(&k).unwrap_or_else(|e| panic!("get {k}: {e}"));
                    assert_eq!(g.node.value.as_deref(), Some(v.as_str()));
                    assert_eq!(g.node.modified_index, w.node.modified_index);
                }
            });
        }
    });
    let tree = c.read(&p, &recursive_sorted()).unwrap().node;
    let leaves: Vec<&Node> = tree.leaves().collect();
    assert_eq!(leaves.len(), THREADS * 10);
    for t in 0..THREADS {
        for j in 0..10 {
            let last = ROUNDS - 10 + j;
            let v = format!("t{t}-i{last}-{}", "x".repeat(last));
            assert_eq!(value(&c, &format!("{p}/{t}/{j}")), v);
        }
    }
}
