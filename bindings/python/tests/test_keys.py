"""Keys: write/set/read/get/delete/pop/test_and_set/update/mkdir/refresh."""

import time

import pytest

import etcdc


def test_write_read_get_set(client, prefix):
    r = client.write(prefix + "/a", 1)
    assert r.action == "set"
    assert r.key == prefix + "/a"
    assert r.value == "1"  # python-etcd sends str(value)
    assert r.dir is False
    assert r.ttl is None and r.expiration is None
    assert r.createdIndex == r.modifiedIndex > 0
    assert r.etcd_index >= r.modifiedIndex
    assert r.raft_index > 0 and r.raft_term > 0
    assert r.cluster_id
    assert r.newKey is True
    assert r._prev_node is None and r.prev_node is None

    r2 = client.set(prefix + "/a", "two")
    assert r2.value == "two" and r2.newKey is False
    assert r2.prev_node.value == "1"
    assert r2._prev_node.modifiedIndex == r.modifiedIndex
    assert r2.createdIndex > r.createdIndex  # etcd: a set makes a new node
    assert r2.modifiedIndex > r.modifiedIndex

    g = client.get(prefix + "/a")
    assert g.action == "get" and g.value == "two"
    assert client.read(prefix + "/a").value == "two"
    assert client.read(prefix + "/a", quorum=True).value == "two"
    assert (prefix + "/a") in client
    assert (prefix + "/nope") not in client


def test_key_without_leading_slash(client, prefix):
    client.write(prefix.lstrip("/") + "/k", "v")
    assert client.get(prefix + "/k").value == "v"


def test_values_unicode_bytes_empty(client, prefix):
    assert client.write(prefix + "/u", "héllo ☃").value == "héllo ☃"
    assert client.get(prefix + "/u").value == "héllo ☃"
    assert client.write(prefix + "/bytes", b"raw").value == "raw"
    assert client.write(prefix + "/none", None).value == ""
    assert client.write(prefix + "/true", True).value == "True"
    assert client.write(prefix + "/spaces and ?&=#%", "x=1&y=2").value == "x=1&y=2"
    assert client.get(prefix + "/spaces and ?&=#%").value == "x=1&y=2"
    with pytest.raises(etcdc.EtcdInvalidArgument):
        client.write(prefix + "/nul", "a\0b")


def test_ttl(client, prefix):
    r = client.write(prefix + "/t", "v", ttl=100)
    assert 0 < r.ttl <= 100
    assert r.expiration is not None
    assert client.get(prefix + "/t").ttl <= 100
    client.write(prefix + "/short", "v", ttl=1)
    time.sleep(2.5)
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.get(prefix + "/short")


def test_dir_mkdir_recursive_sorted(client, prefix):
    d = client.write(prefix + "/d", None, dir=True)
    assert d.dir is True and d.value is None
    with pytest.raises(etcdc.EtcdException):
        client.write(prefix + "/d2", "value", dir=True)  # as python-etcd
    m = client.mkdir(prefix + "/m")
    assert m.dir is True
    with pytest.raises(etcdc.EtcdAlreadyExist):
        client.mkdir(prefix + "/m")
    client.mkdir(prefix + "/mt", ttl=100)
    assert client.get(prefix + "/mt").ttl <= 100

    for k in ("c", "a", "b"):
        client.write(prefix + "/d/" + k, k.upper())
    client.write(prefix + "/d/sub/x", "X")
    client.mkdir(prefix + "/d/empty")

    one = client.read(prefix + "/d", sorted=True)
    assert one.dir
    assert [n.key.rsplit("/", 1)[1] for n in one.nodes] == ["a", "b", "c", "empty", "sub"]
    # One level: unlisted directories are leaves, so children == the listing.
    assert [n.key for n in one.children] == [n.key for n in one.nodes]

    rec = client.read(prefix + "/d", recursive=True, sorted=True)
    leaves = [(n.key.rsplit("/", 1)[1], n.value) for n in rec.leaves]
    assert leaves == [("a", "A"), ("b", "B"), ("c", "C"), ("empty", None), ("x", "X")]
    # python-etcd: children is leaves.
    assert [n.key for n in rec.children] == [n.key for n in rec.leaves]
    # get_subtree: every node, directories included, depth first.
    subtree = [n.key[len(prefix):] for n in rec.get_subtree()]
    assert subtree == ["/d", "/d/a", "/d/b", "/d/c", "/d/empty", "/d/sub", "/d/sub/x"]
    # A value's leaves is itself.
    a = client.get(prefix + "/d/a")
    assert [n.key for n in a.leaves] == [a.key]
    assert a.nodes == []
    # An empty directory's leaves is itself (as python-etcd).
    e = client.get(prefix + "/d/empty")
    assert [n.key for n in e.leaves] == [e.key]

    with pytest.raises(etcdc.EtcdNotFile):
        client.delete(prefix + "/d")
    with pytest.raises(etcdc.EtcdDirNotEmpty):
        client.delete(prefix + "/d", dir=True)
    assert client.delete(prefix + "/d/empty", dir=True).action == "delete"
    r = client.delete(prefix + "/d", recursive=True)
    assert r.action == "delete" and r.dir
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.get(prefix + "/d/a")


def test_root(client, prefix):
    client.write(prefix + "/r", "v")
    root = client.read("/")
    assert root.dir and root.key == "/"
    assert root.createdIndex is None and root.modifiedIndex is None
    assert any(n.key == "/pytest" for n in root.nodes)


def test_append(client, prefix):
    keys = [client.write(prefix + "/q", "job%d" % i, append=True) for i in range(3)]
    assert all(r.action == "create" and r.newKey for r in keys)
    assert [r.key for r in keys] == sorted(r.key for r in keys)
    assert all(r.key.startswith(prefix + "/q/") for r in keys)
    listed = client.read(prefix + "/q", sorted=True)
    assert [n.value for n in listed.children] == ["job0", "job1", "job2"]


def test_compare_and_swap(client, prefix):
    k = prefix + "/cas"
    r = client.write(k, "one")
    with pytest.raises(etcdc.EtcdCompareFailed) as ei:
        client.write(k, "two", prevValue="nope")
    assert isinstance(ei.value, ValueError)
    assert client.write(k, "two", prevValue="one").value == "two"
    with pytest.raises(etcdc.EtcdCompareFailed):
        client.write(k, "three", prevIndex=r.modifiedIndex)
    cur = client.get(k)
    assert client.write(k, "three", prevIndex=cur.modifiedIndex).action == "compareAndSwap"
    with pytest.raises(etcdc.EtcdAlreadyExist):
        client.write(k, "x", prevExist=False)
    assert client.write(k, "four", prevExist=True).action == "update"
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.write(prefix + "/absent", "x", prevExist=True)
    c = client.write(prefix + "/new", "x", prevExist=False)
    assert c.action == "create" and c.newKey
    # python-etcd's README spelling.
    with pytest.raises(etcdc.EtcdAlreadyExist):
        client.write(prefix + "/new", "y", prevExists=False)
    with pytest.warns(UserWarning):
        client.write(prefix + "/new", "z", unknownOption=1)


def test_test_and_set(client, prefix):
    k = prefix + "/tas"
    client.write(k, "old")
    with pytest.raises(etcdc.EtcdCompareFailed):
        client.test_and_set(k, "new", "wrong")
    r = client.test_and_set(k, "new", "old", ttl=100)
    assert r.value == "new" and 0 < r.ttl <= 100
    assert r.action == "compareAndSwap"
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.test_and_set(prefix + "/absent", "a", "b")


def test_update(client, prefix):
    k = prefix + "/upd"
    client.write(k, "bar", ttl=300)
    res = client.read(k)
    res.value += "bar"
    upd = client.update(res)
    assert upd.value == "barbar"
    assert upd.modifiedIndex > res.modifiedIndex
    assert upd.ttl is not None and upd.ttl <= 300  # the TTL is kept
    # Someone else wrote meanwhile: compare failed.
    stale = client.read(k)
    client.write(k, "other")
    stale.value = "lost"
    with pytest.raises(etcdc.EtcdCompareFailed):
        client.update(stale)
    # Gone: key not found.
    cur = client.read(k)
    client.delete(k)
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.update(cur)
    # A directory: its TTL is set.
    client.mkdir(prefix + "/udir", ttl=300)
    d = client.read(prefix + "/udir")
    d.ttl = 500
    assert client.update(d).dir


def test_delete_conditions(client, prefix):
    k = prefix + "/del"
    r = client.write(k, "v")
    with pytest.raises(etcdc.EtcdCompareFailed):
        client.delete(k, prevValue="other")
    with pytest.raises(etcdc.EtcdCompareFailed):
        client.delete(k, prevIndex=r.modifiedIndex + 1000)
    d = client.delete(k, prevValue="v")
    assert d.action == "compareAndDelete"
    assert d.prev_node.value == "v"
    r = client.write(k, "w")
    assert client.delete(k, prevIndex=r.modifiedIndex).action == "compareAndDelete"
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.delete(k)


def test_pop(client, prefix):
    client.write(prefix + "/p", "popped")
    r = client.pop(prefix + "/p")
    assert r.value == "popped" and r.key == prefix + "/p"
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.get(prefix + "/p")
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.pop(prefix + "/p")
    # python-etcd's keyword form goes through delete.
    client.write(prefix + "/p2", "v")
    assert client.pop(prefix + "/p2", prevValue="v").value == "v"


def test_refresh(client, prefix):
    k = prefix + "/ref"
    r = client.write(k, "v", ttl=5)
    f = client.refresh(k, 300)
    assert f.value == "v" and f.ttl > 5
    assert f.modifiedIndex > r.modifiedIndex
    w = client.write(k, None, ttl=400, refresh=True)
    assert w.value == "v" and w.ttl > 300
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.refresh(prefix + "/absent", 10)
    with pytest.raises(etcdc.EtcdInvalidArgument):
        client.refresh(k, 0)


def test_result_equality_and_repr(client, prefix):
    first = client.write(prefix + "/eq", "v")
    assert first.newKey
    a = client.write(prefix + "/eq", "v", prevExist=True)
    b = client.get(prefix + "/eq")
    assert a == b  # python-etcd compares the node properties (newKey too)
    assert first != b
    assert not (a != b)
    c = client.write(prefix + "/eq", "w")
    assert a != c
    assert "EtcdResult" in repr(a)
    # Built by hand, as python-etcd users do in unit tests.
    r = etcdc.EtcdResult("get", {"key": "/x", "value": "1", "modifiedIndex": 3})
    assert r.key == "/x" and r.value == "1" and r.ttl is None and r.dir is False
