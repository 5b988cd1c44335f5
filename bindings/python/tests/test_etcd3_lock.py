"""etcdc.etcd3's Lock: python-etcd3 0.12.0's lock(name, ttl), acquire
(timeout), release, refresh, is_acquired, the context manager; etcd's lock
recipe underneath, so that it excludes and is excluded by `etcdctl lock`
(3.5.1's); against etcd 3.4 and 3.5.1."""

import multiprocessing
import os
import signal
import subprocess
import threading
import time

import pytest

import etcdc.etcd3 as etcd3
from etcdc import _lib3

pytestmark = pytest.mark.skipif(not _lib3.has_lock(), reason="this libetcdc has no v3 lock")


def test_lock_acquire(etcd):
    lock = etcd.lock('lock-1', ttl=10)
    assert isinstance(lock, etcd3.Lock)
    assert lock.acquire() is True
    assert etcd.get(lock.key)[0] is not None
    assert lock.acquire(timeout=0) is False
    assert lock.acquire(timeout=1) is False
    assert lock.release() is True


def test_lock_release(etcd):
    lock = etcd.lock('lock-2', ttl=10)
    assert lock.acquire() is True
    assert etcd.get(lock.key)[0] is not None
    assert lock.release() is True
    v, _ = etcd.get(lock.key)
    assert v is None
    assert lock.acquire() is True
    assert lock.release() is True
    assert lock.acquire(timeout=None) is True
    assert lock.release() is True
    assert lock.release() is False


def test_lock_key_and_lease(etcd):
    lock = etcd.lock('lock-k', ttl=10)
    assert lock.key == '/locks/lock-k'
    assert lock.lease is None
    lock.acquire()
    # etcd's recipe: /locks/<name>/<lease id in hex>, an empty value.
    assert lock.key == '/locks/lock-k/%x' % lock.lease.id
    assert etcd.get(lock.key)[0] == b''
    assert etcd.get(lock.key)[1].lease_id == lock.lease.id
    assert lock.revision == etcd.get(lock.key)[1].create_revision
    assert 0 < lock.lease.remaining_ttl <= 10
    lock.release()
    assert lock.lease is None and lock.key == '/locks/lock-k'


def test_lock_is_kept_alive(etcd):
    # python-etcd3's lock expires after its TTL unless refreshed; etcdc's
    # lease is renewed while the lock is held.
    lock = etcd.lock('lock-3', ttl=2)
    assert lock.acquire() is True
    time.sleep(3.5)
    assert etcd.get(lock.key)[0] is not None
    assert lock.is_acquired() is True
    lock.release()


def test_lock_refresh(etcd):
    lock = etcd.lock('lock-4', ttl=3)
    with pytest.raises(ValueError):
        lock.refresh()
    assert lock.acquire() is True
    assert etcd.get(lock.key)[0] is not None
    responses = lock.refresh()
    assert responses[0].TTL == 3 and responses[0].ID == lock.lease.id
    assert etcd.get(lock.key)[0] is not None
    lock.release()


def test_lock_is_acquired(etcd):
    lock1 = etcd.lock('lock-5', ttl=2)
    assert lock1.is_acquired() is False

    lock2 = etcd.lock('lock-5', ttl=2)
    lock2.acquire()
    assert lock2.is_acquired() is True
    lock2.release()

    lock3 = etcd.lock('lock-5', ttl=2)
    lock3.acquire()
    assert lock3.is_acquired() is True
    assert lock2.is_acquired() is False
    lock3.release()


def test_lock_context_manager(etcd):
    with etcd.lock('lock-6', ttl=2) as lock:
        assert lock.is_acquired() is True
    assert lock.is_acquired() is False


def test_lock_contended(etcd):
    lock1 = etcd.lock('lock-7', ttl=2)
    lock1.acquire()
    lock2 = etcd.lock('lock-7', ttl=2)
    assert lock2.acquire(timeout=0.5) is False
    assert lock1.is_acquired() is True
    assert lock2.is_acquired() is False
    # The waiter gets it once the holder releases.
    waiter = threading.Thread(target=lambda: results.append(lock2.acquire(timeout=10)))
    results = []
    waiter.start()
    time.sleep(0.3)
    lock1.release()
    waiter.join(15)
    assert results == [True]
    assert lock2.is_acquired() is True
    lock2.release()


def test_lock_double_acquire_release(etcd):
    lock = etcd.lock('lock-8', ttl=10)
    assert lock.acquire(0) is True
    assert lock.acquire(0) is False
    assert lock.release() is True


def test_lock_bytes_name(etcd):
    lock = etcd.lock(b'lock-\xff', ttl=5)
    assert lock.acquire(1) is True
    assert isinstance(lock.key, bytes) and lock.key.startswith(b'/locks/lock-\xff/')
    lock.release()


def test_lock_excludes_threads_in_order(etcd):
    counter = {'n': 0, 'inside': 0, 'max_inside': 0}

    def worker():
        lock = etcd.lock('lock-count', ttl=5)
        for _ in range(5):
            with lock:
                counter['inside'] += 1
                counter['max_inside'] = max(counter['max_inside'], counter['inside'])
                n = counter['n']
                time.sleep(0.001)
                counter['n'] = n + 1
                counter['inside'] -= 1
        lock.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert counter['n'] == 20
    assert counter['max_inside'] == 1


def test_cancel_from_another_thread(etcd):
    holder = etcd.lock('lock-c', ttl=5)
    holder.acquire()
    waiter = etcd.lock('lock-c', ttl=5)
    threading.Timer(0.3, waiter.cancel).start()
    start = time.monotonic()
    assert waiter.acquire(timeout=None) is False
    assert time.monotonic() - start < 5
    holder.release()
    # Nothing of the waiter is left behind.
    assert len(list(etcd.get_prefix('/locks/lock-c/'))) == 0


def test_acquire_on_the_main_thread_is_interruptible(etcd):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread")
    holder = etcd.lock('lock-i', ttl=5)
    holder.acquire()

    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted()

    old = signal.signal(signal.SIGALRM, handler)
    waiter = etcd.lock('lock-i', ttl=5)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Interrupted):
            waiter.acquire(timeout=None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert len(list(etcd.get_prefix('/locks/lock-i/'))) == 1
    holder.release()
    # The interrupted Lock can wait again.
    assert waiter.acquire(5) is True
    waiter.release()


def _etcdctl_cmd(server, *args):
    return [server.etcdctl_bin, '--endpoints', server.url] + list(args)


def test_etcdctl_lock_waits_for_ours(etcd, v3_server, tmp_path):
    lock = etcd.lock('shared', ttl=10)
    assert lock.acquire() is True
    marker = tmp_path / 'etcdctl-got-it'
    p = subprocess.Popen(_etcdctl_cmd(v3_server, 'lock', '/locks/shared', 'touch', str(marker)),
                         env=dict(os.environ, ETCDCTL_API='3'), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        time.sleep(1)
        assert p.poll() is None and not marker.exists()
        # etcdctl waits behind us: its key is there.
        assert len(list(etcd.get_prefix('/locks/shared/'))) == 2
        assert lock.release() is True
        assert p.wait(15) == 0
        assert marker.exists()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_ours_waits_for_etcdctl_lock(etcd, v3_server):
    p = subprocess.Popen(_etcdctl_cmd(v3_server, 'lock', '/locks/shared2'),
                         env=dict(os.environ, ETCDCTL_API='3'), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        # etcdctl prints its key once it holds the lock.
        held = p.stdout.readline().decode().strip()
        assert held.startswith('/locks/shared2/')
        lock = etcd.lock('shared2', ttl=10)
        assert lock.acquire(timeout=0.5) is False
        assert lock.is_acquired() is False
        p.send_signal(signal.SIGINT)  # etcdctl releases and exits
        p.wait(15)
        assert lock.acquire(timeout=10) is True
        assert etcd.get(held) == (None, None)
        lock.release()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def _hold_forever(host, port, q):
    c = etcd3.client(host=host, port=port, timeout=10)
    lock = c.lock('dies', ttl=2)
    lock.acquire()
    q.put(lock.key)
    time.sleep(3600)


def test_a_dead_holders_lock_passes_after_its_ttl(etcd, v3_server):
    ctx = multiprocessing.get_context('fork')
    q = ctx.Queue()
    p = ctx.Process(target=_hold_forever, args=(v3_server.host, v3_server.port, q))
    p.start()
    try:
        key = q.get(timeout=30)
        lock = etcd.lock('dies', ttl=2)
        assert lock.acquire(timeout=0.5) is False
        os.kill(p.pid, signal.SIGKILL)
        p.join(10)
        start = time.monotonic()
        assert lock.acquire(timeout=15) is True
        # Not before the dead holder's lease expired.
        assert time.monotonic() - start > 0.5
        assert etcd.get(key) == (None, None)
        lock.release()
    finally:
        if p.is_alive():
            p.kill()
            p.join()
