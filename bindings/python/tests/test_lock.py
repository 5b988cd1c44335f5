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
    assert other.acquire(timeout=0) is False
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


def test_lock_ttl_change_and_expiry(client, name):
    lock = client.get_lock(name, ttl=60)
    assert lock.acquire(lock_ttl=1) is True
    assert lock.ttl == 1
    time.sleep(2.5)
    assert lock.is_locked() is False  # its key expired
    with pytest.raises(etcdc.EtcdLockExpired):
        lock.release()
    lock2 = client.get_lock(name, ttl=1)
    assert lock2.acquire()
    time.sleep(2.5)
    with pytest.raises(etcdc.EtcdLockExpired):
        lock2.renew(10)
    with pytest.raises(etcdc.EtcdLockExpired):
        with client.get_lock(name, ttl=1) as l3:
            time.sleep(2.5)
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
    lock = etcdc.Lock(client, name)
    assert lock.ttl == 60
    assert lock.acquire(blocking=True, lock_ttl=30, timeout=5)
    assert lock.ttl == 30
    lock.release()
    assert client.get_lock(name, ttl=0).ttl == 60  # a lock always has a TTL


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
