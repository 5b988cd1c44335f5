"""Lock: acquire/release/renew/is_locked, context manager, contention."""

import threading
import time

import pytest

import etcdc
from conftest import Background


@pytest.fixture
def name(prefix):
    return prefix.replace("/pytest/", "pytest-")


def test_acquire_release(client, name):
    lock = client.get_lock(name, ttl=60)
    assert isinstance(lock, etcdc.Lock)
    assert lock.is_locked() is False and lock.is_acquired is False
    assert lock.acquire(timeout=30) is True
    assert lock.is_locked() is True and lock.is_acquired is True
    assert lock.is_taken
    # Its key is where python-etcd keeps them.
    assert lock.path == "/_locks/" + name
    assert client.read(lock.path, recursive=True).nodes
    assert lock.acquire() is True  # already held: at once
    lock.renew(120)
    lock.release()
    assert lock.is_locked() is False
    lock.release()  # not held: nothing happens (as python-etcd)
    with pytest.raises(etcdc.EtcdNotHeld):
        lock.renew(10)
    # Can be acquired again.
    assert lock.acquire(blocking=False) is True
    lock.release()
    lock.close()


def test_context_manager(client, name):
    lock = client.get_lock(name, ttl=60)
    with lock as my_lock:
        assert my_lock is lock
        assert lock.is_locked() is True
        lock.renew(60)
    assert lock.is_locked() is False
    with pytest.raises(RuntimeError):
        with lock:
            raise RuntimeError("inside")
    assert lock.is_locked() is False


def test_try_and_timeout(client, name):
    holder = client.get_lock(name)
    other = client.get_lock(name)
    assert holder.acquire()
    assert other.acquire(blocking=False) is False
    t = time.monotonic()
    assert other.acquire(timeout=0.5) is False
    assert 0.4 < time.monotonic() - t < 5
    # A contender that gave up leaves no key behind.
    keys = [n.key for n in client.read(holder.path, recursive=True).leaves]
    assert len(keys) == 1
    holder.release()
    assert other.acquire(blocking=False) is True
    other.release()


def test_waiter_gets_lock_on_release(client, name):
    holder = client.get_lock(name)
    waiter = client.get_lock(name)
    assert holder.acquire()
    bg = Background(waiter.acquire, timeout=20)
    bg.start()
    time.sleep(0.3)
    assert bg.is_alive()
    holder.release()
    assert bg.outcome() is True
    assert waiter.is_locked()
    waiter.release()


def test_contention_between_two_threads(host_port, name):
    """Two threads, each with its own Lock on the same name: never both
    inside."""
    inside = []
    overlaps = []
    counts = {"a": 0, "b": 0}
    shared = {"n": 0}

    def worker(tag):
        c = etcdc.Client(host=host_port[0], port=host_port[1])
        lock = c.get_lock(name, ttl=30)
        for _ in range(15):
            assert lock.acquire(timeout=30)
            inside.append(tag)
            if len(inside) > 1:
                overlaps.append(list(inside))
            n = shared["n"]
            time.sleep(0.002)
            shared["n"] = n + 1  # lost update without mutual exclusion
            counts[tag] += 1
            inside.remove(tag)
            lock.release()
        lock.close()
        c.close()

    threads = [Background(worker, t) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.outcome(timeout=120)
    assert overlaps == []
    assert counts == {"a": 15, "b": 15}
    assert shared["n"] == 30


def test_lock_ttl_change_and_expiry(client, name, caplog):
    lock = client.get_lock(name, ttl=60)
    assert lock.acquire(lock_ttl=1) is True
    assert client.read(lock.lock_key).ttl == 1
    time.sleep(2.5)
    assert lock.is_locked() is False  # its key expired
    # python-etcd's release() passes over a key that is gone (etcdc logs it).
    with caplog.at_level("WARNING", logger="etcdc.lock"):
        lock.release()
    assert "was gone at release" in caplog.text
    assert lock.is_taken is False
    lock2 = client.get_lock(name, ttl=1)
    assert lock2.acquire()
    time.sleep(2.5)
    with pytest.raises(etcdc.EtcdLockExpired):
        lock2.renew(10)
    with client.get_lock(name, ttl=1) as l3:  # its TTL: get_lock's
        time.sleep(2.5)
    assert l3.is_taken is False
    l3.close()


def test_cancel_a_waiting_acquire(client, name):
    holder = client.get_lock(name)
    waiter = client.get_lock(name)
    assert holder.acquire()
    bg = Background(waiter.acquire)  # as long as it takes
    bg.start()
    time.sleep(0.3)
    waiter.cancel()
    with pytest.raises(etcdc.EtcdCancelled):
        bg.outcome(timeout=5)
    holder.release()
    waiter.close()


def test_close_releases(client, name):
    lock = client.get_lock(name)
    assert lock.acquire()
    lock.close()
    other = client.get_lock(name)
    assert other.acquire(blocking=False) is True
    other.release()
    with pytest.raises(ValueError):
        lock.acquire()


def test_lock_outlives_client(host_port, name):
    c = etcdc.Client(host=host_port[0], port=host_port[1])
    lock = c.get_lock(name)
    c.close()
    assert lock.acquire()
    lock.release()


def test_lock_class_as_python_etcd(client, name):
    """python-etcd 0.4.5's etcd.Lock(client, lock_name): acquire(blocking=True,
    lock_ttl=3600, timeout=0); uuid, lock_key; release() of a key that is
    gone does nothing; `with` takes a lock without expiry."""
    lock = etcdc.Lock(client, name)
    assert lock.path == "/_locks/" + name
    with pytest.raises(ValueError, match="No sequence present"):
        lock.lock_key  # python-etcd: before the lock has a key
    assert lock.acquire() is True
    assert lock.is_acquired
    # lock_key is its key under path, uuid the value that key holds.
    assert lock.lock_key.startswith(lock.path + "/")
    node = client.read(lock.lock_key)
    assert lock.uuid and node.value == lock.uuid
    assert 3590 <= node.ttl <= 3600  # lock_ttl's default: 3600
    lock.release()
    assert not lock.is_acquired
    held = lock.lock_key
    # With lock_ttl and timeout, as python-etcd's docstring has them.
    assert lock.acquire(blocking=True, lock_ttl=30, timeout=5)
    assert lock.lock_key != held and 25 <= client.read(lock.lock_key).ttl <= 30
    # Already held: a lock_ttl renews it (python-etcd writes the key again).
    assert lock.acquire(lock_ttl=45) is True
    assert 40 <= client.read(lock.lock_key).ttl <= 45
    # Its key removed behind its back: release() does nothing.
    client.delete(lock.lock_key)
    lock.release()
    assert lock.is_taken is False
    # lock_ttl=None: a lock that does not expire (etcdc: 100 years).
    assert lock.acquire(lock_ttl=None)
    assert client.read(lock.lock_key).ttl > 10 * 365 * 24 * 3600
    lock.release()
    # `with`: python-etcd's acquire(lock_ttl=None).
    with etcdc.Lock(client, name) as inside:
        assert client.read(inside.lock_key).ttl > 10 * 365 * 24 * 3600
    assert client.get_lock(name).ttl == 60  # get_lock(name, ttl=60)


def test_acquire_timeout_zero_waits_as_long_as_it_takes(client, name):
    """python-etcd: timeout=0 (acquire's default) is no limit."""
    holder = etcdc.Lock(client, name)
    waiter = etcdc.Lock(client, name)
    assert holder.acquire(lock_ttl=60)
    bg = Background(waiter.acquire, lock_ttl=60, timeout=0)
    bg.start()
    time.sleep(1.5)
    assert bg.is_alive()  # still waiting, past any "try once"
    holder.release()
    assert bg.outcome() is True
    assert waiter.is_locked()
    waiter.release()


def test_threading_semantics_serialised(client, name):
    """Calls from two threads on one Lock are serialised, never concurrent."""
    lock = client.get_lock(name)
    assert lock.acquire()
    results = []

    def check():
        results.append(lock.is_locked())

    threads = [threading.Thread(target=check) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 8
    lock.release()
