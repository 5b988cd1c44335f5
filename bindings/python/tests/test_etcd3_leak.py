"""etcdc.etcd3 frees every native handle: RSS stays flat over long loops of
every kind of call (responses, transactions, leases, watchers and their
events, member and alarm lists, errors, clients), and the watch threads
end. Against one etcd (3.5.1 without fsync, for speed): the handles are the
binding's, whatever the server."""

import gc
import io
import os
import threading
import time

import pytest

import etcdc.etcd3 as etcd3

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _flat(fn, warmup, n, limit_bytes):
    for _ in range(warmup):
        fn()
    gc.collect()
    before = rss()
    for _ in range(n):
        fn()
    gc.collect()
    grown = rss() - before
    assert grown < limit_bytes, "RSS grew by %d KiB over %d calls" % (grown // 1024, n)


@pytest.fixture
def server(v3_etcds):
    s = v3_etcds.get("3.5", extra=["--unsafe-no-fsync"])
    yield s
    with etcd3.client(host=s.host, port=s.port) as c:
        c.delete_prefix("/leak/")


@pytest.fixture
def etcd(server):
    with etcd3.client(host=server.host, port=server.port, timeout=10) as c:
        yield c


def test_rss_flat_over_keys_and_transactions(etcd):
    for i in range(10):
        etcd.put("/leak/k%d" % i, "x" * 200)
    t = etcd.transactions

    def keys():
        etcd.get("/leak/k1")
        list(etcd.get_prefix("/leak/"))
        etcd.put("/leak/p", "v" * 100, prev_kv=True)
        etcd.delete("/leak/p", prev_kv=True, return_response=True)
        etcd.put_if_not_exists("/leak/k1", "v")
        etcd.replace("/leak/k1", "x" * 200, "x" * 200)

    # A leaked response holds >= 300 bytes (kvs, header): 1500 rounds of 6
    # calls would be over 2.5 MB.
    _flat(keys, 200, 1500, 1024 * 1024)

    def txn():
        etcd.transaction(
            compare=[t.value("/leak/k1") == "x" * 200, t.version("/leak/k2") > 0,
                     t.mod("/leak/k3") > 0, t.create("/leak/k4") > 0, t.lease("/leak/k5") == 0],
            success=[t.get("/leak/k1"), t.get("/leak/", "/leak0"), t.put("/leak/t", "v"),
                     t.delete("/leak/k9", prev_kv=True),
                     t.txn([], [t.get("/leak/k2")], [t.put("/leak/x", "y")])],
            failure=[t.put("/leak/f", "f")],
        )

    _flat(txn, 100, 800, 1024 * 1024)


def test_rss_flat_over_leases_errors_and_lists(etcd):
    def leases():
        lease = etcd.lease(30)
        etcd.put("/leak/l", "v", lease=lease)
        lease.refresh()
        lease.keys
        lease.revoke()
        lease.refresh()  # gone: TTL 0

    _flat(leases, 50, 400, 1024 * 1024)

    def errors():
        for fn in (lambda: etcd.put("/leak/e", "v", lease=0x7777),
                   lambda: etcd.revoke_lease(0x7777),
                   lambda: etcd.put("", "v")):
            try:
                fn()
            except etcd3.exceptions.RpcError:
                pass

    _flat(errors, 100, 800, 1024 * 1024)

    def lists():
        etcd.status()
        list(etcd.members)
        etcd.hash()
        list(etcd.list_alarms())
        etcd.disarm_alarm()

    _flat(lists, 50, 500, 1024 * 1024)


def test_rss_flat_over_watches_and_events(etcd):
    def iterator():
        events_iterator, cancel = etcd.watch("/leak/w", prev_kv=True)
        etcd.put("/leak/w", "v" * 100)
        next(events_iterator)
        cancel()

    _flat(iterator, 50, 500, 1024 * 1024)

    def dropped():
        # Never iterated nor cancelled: freed with the iterator.
        etcd.watch_prefix("/leak/d")

    _flat(dropped, 50, 500, 1024 * 1024)

    def once():
        try:
            etcd.watch_once("/leak/never", timeout=0)
        except etcd3.exceptions.WatchTimedOut:
            pass

    _flat(once, 50, 500, 1024 * 1024)

    threads = threading.active_count()
    done = threading.Event()

    def callbacks():
        done.clear()
        watch_id = etcd.add_watch_callback("/leak/c", lambda r: done.set())
        etcd.put("/leak/c", "v")
        assert done.wait(10)
        etcd.cancel_watch(watch_id)

    _flat(callbacks, 30, 300, 1024 * 1024)
    # Each watch's thread ends once cancelled (the client's callback thread
    # stays, as python-etcd3's).
    deadline = time.monotonic() + 10
    while threading.active_count() > threads + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads + 1


def test_rss_flat_over_clients(server):
    threads = threading.active_count()

    def clients():
        with etcd3.client(host=server.host, port=server.port) as c:
            c.get("/leak/x")
            c.add_watch_callback("/leak/x", lambda r: None)
            c.watch("/leak/x")

    _flat(clients, 30, 200, 2 * 1024 * 1024)

    # A small database to snapshot (large buffers make RSS noisy).
    with etcd3.client(host=server.host, port=server.port) as c:
        c.compact(c.get_response("/leak/x").header.revision, physical=True)
        c.defragment()

    def snapshot():
        with etcd3.client(host=server.host, port=server.port) as c:
            c.snapshot(io.BytesIO())

    _flat(snapshot, 20, 100, 1024 * 1024)
    deadline = time.monotonic() + 10
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == threads
