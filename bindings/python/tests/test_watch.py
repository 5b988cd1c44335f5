"""Watches: read(wait=True), watch, eternal_watch; the GIL; Ctrl-C."""

import os
import signal
import threading
import time

import pytest

import etcdc
from conftest import Background, wait_for, wait_for_watchers


def _later(delay, fn, *args, **kwargs):
    t = threading.Timer(delay, fn, args, kwargs)
    t.daemon = True
    t.start()
    return t


def test_watch_main_thread(client, prefix):
    k = prefix + "/w"
    client.write(k, "0")
    _later(0.3, client.write, k, "1")
    r = client.watch(k, timeout=10)
    assert r.action == "set" and r.value == "1"
    assert r.prev_node.value == "0"
    _later(0.3, client.write, k, "2")
    r = client.read(k, wait=True, timeout=10)
    assert r.value == "2"


def test_watch_in_thread(client, prefix):
    """The other path: etcdc_watch on a non-main thread."""
    k = prefix + "/w"
    base = client.store_stats["watchers"]
    bg = Background(client.watch, k, timeout=10)
    bg.start()
    assert wait_for_watchers(client, base + 1)
    client.write(k, "x")
    assert bg.outcome().value == "x"
    bg = Background(client.read, k, wait=True, timeout=0.3)
    bg.start()
    with pytest.raises(etcdc.EtcdWatchTimedOut):
        bg.outcome()


def test_watch_from_index(client, prefix):
    k = prefix + "/idx"
    a = client.write(k, "a")
    client.write(k, "b")
    # Both from the past: the first change at or after the index.
    assert client.watch(k, index=a.modifiedIndex).value == "a"
    assert client.read(k, wait=True, waitIndex=a.modifiedIndex + 1).value == "b"
    bg = Background(client.watch, k, index=a.modifiedIndex, timeout=10)
    bg.start()
    assert bg.outcome().value == "a"


def test_watch_recursive(client, prefix):
    _later(0.3, client.write, prefix + "/dir/deep/key", "v")
    r = client.watch(prefix + "/dir", recursive=True, timeout=10)
    assert r.key == prefix + "/dir/deep/key"
    _later(0.3, client.delete, prefix + "/dir/deep/key")
    r = client.read(prefix + "/dir", wait=True, recursive=True, timeout=10)
    assert r.action == "delete" and r.prev_node.value == "v"


def test_watch_timeout_default_is_read_timeout(host_port, prefix):
    c = etcdc.Client(host=host_port[0], port=host_port[1], read_timeout=0.5)
    t = time.monotonic()
    with pytest.raises(etcdc.EtcdWatchTimedOut):
        c.watch(prefix + "/k")
    assert time.monotonic() - t < 5


def test_watch_timeout_zero_is_forever(client, prefix):
    c = client
    _later(1.5, c.write, prefix + "/z", "v")  # later than one main-thread slice
    assert c.watch(prefix + "/z", timeout=0).value == "v"


def test_watch_timeout_zero_is_forever_in_thread(client, prefix):
    """The other path: etcdc_watch with no limit (timeout_ms -1)."""
    k = prefix + "/z"
    base = client.store_stats["watchers"]
    bg = Background(client.watch, k, timeout=0)
    bg.start()
    assert wait_for_watchers(client, base + 1)
    time.sleep(1.2)  # longer than a main-thread slice, for good measure
    assert bg.is_alive()
    client.write(k, "v")
    assert bg.outcome().value == "v"


def test_next_event_without_limit_in_thread(client, prefix):
    """etcdc_watcher_next with no limit (timeout_ms -1) waits for the event."""
    k = prefix + "/n"
    gen = client.eternal_watch(k)
    base = client.store_stats["watchers"]
    bg = Background(gen.next_event)
    bg.start()
    assert wait_for_watchers(client, base + 1)
    time.sleep(1.2)
    assert bg.is_alive()
    client.write(k, "v")
    assert bg.outcome().value == "v"
    gen.close()


def test_eternal_watch_in_order_once(client, prefix):
    k = prefix + "/e"
    gen = client.eternal_watch(k)
    assert iter(gen) is gen
    import collections.abc

    assert isinstance(gen, collections.abc.Generator)

    def writer():
        for i in range(50):
            client.write(k, str(i))

    _later(0.2, writer)
    values = [next(gen).value for _ in range(50)]
    assert values == [str(i) for i in range(50)]
    gen.close()
    with pytest.raises(StopIteration):
        next(gen)


def test_eternal_watch_from_index_recursive(client, prefix):
    first = client.write(prefix + "/r/a", "1")
    client.write(prefix + "/r/b", "2")
    client.delete(prefix + "/r/a")
    gen = client.eternal_watch(prefix + "/r", index=first.modifiedIndex, recursive=True)
    events = [next(gen) for _ in range(3)]
    assert [(e.action, e.key.rsplit("/", 1)[1]) for e in events] == [
        ("set", "a"),
        ("set", "b"),
        ("delete", "a"),
    ]
    assert gen.next_index == events[-1].modifiedIndex + 1
    gen.close()


def test_eternal_watch_for_loop_and_break(client, prefix):
    k = prefix + "/loop"

    def writer():
        for i in range(5):
            client.write(k, str(i))
            time.sleep(0.02)

    _later(0.3, writer)
    seen = []
    for event in client.eternal_watch(k):  # python-etcd's usage
        seen.append(event.value)
        if len(seen) == 5:
            break
    assert seen == ["0", "1", "2", "3", "4"]


def test_eternal_watch_cancel_from_other_thread(client, prefix):
    base = client.store_stats["watchers"]
    gen = client.eternal_watch(prefix + "/never")
    bg = Background(lambda: list(gen))  # blocks until cancelled
    bg.start()
    assert wait_for_watchers(client, base + 1)
    time.sleep(0.2)
    assert bg.is_alive()
    t = time.monotonic()
    gen.cancel()
    assert bg.outcome(timeout=5) == []  # ended with StopIteration
    assert time.monotonic() - t < 2
    gen.close()


def test_eternal_watch_close_from_other_thread_while_blocked(client, prefix):
    base = client.store_stats["watchers"]
    gen = client.eternal_watch(prefix + "/never")
    bg = Background(next, gen, None)
    bg.start()
    assert wait_for_watchers(client, base + 1)
    gen.close()  # cancels; the blocked thread frees it when it returns
    assert bg.outcome(timeout=5) is None
    assert gen._ptr is None


def test_eternal_watch_throw_and_timeout(client, prefix):
    gen = client.eternal_watch(prefix + "/t")
    with pytest.raises(etcdc.EtcdWatchTimedOut):
        gen.next_event(timeout=0.2)
    _later(0.2, client.write, prefix + "/t", "still usable")
    assert gen.next_event(timeout=10).value == "still usable"
    with pytest.raises(KeyError):
        gen.throw(KeyError("boom"))
    with pytest.raises(StopIteration):
        next(gen)


def test_eternal_watch_index_cleared_and_resume(client, prefix):
    k = prefix + "/cl"
    first = client.write(k, "first")
    for i in range(1010):
        client.write(k, str(i))
    gen = client.eternal_watch(k, index=first.modifiedIndex)
    with pytest.raises(etcdc.EtcdEventIndexCleared):
        next(gen)
    fresh = client.read(k)
    gen.resume_from(fresh.etcd_index + 1)
    _later(0.2, client.write, k, "after")
    assert next(gen).value == "after"
    gen.close()


def test_dropped_watcher_is_freed(client, prefix):
    gen = client.eternal_watch(prefix + "/drop")
    _later(0.2, client.write, prefix + "/drop", "v")
    assert next(gen).value == "v"
    del gen  # __del__ cancels and frees


def test_gil_released_while_watch_blocks(client, prefix):
    """A watch blocked in C (one thread) does not stop other Python threads."""
    k = prefix + "/gil"
    base = client.store_stats["watchers"]
    w1 = Background(client.watch, k, timeout=30)
    w2 = Background(lambda: next(client.eternal_watch(k)))
    w1.start()
    w2.start()
    assert wait_for_watchers(client, base + 2)
    # Both threads are now inside etcdc, blocked. Pure Python work here must
    # progress at full speed, and so must other etcdc calls.
    t = time.monotonic()
    n = 0
    while time.monotonic() - t < 0.5:
        n += 1
    assert n > 50000, "the main thread barely ran: is the GIL held?"
    for i in range(20):
        client.write(prefix + "/other", str(i))
    assert w1.is_alive() and w2.is_alive()
    client.write(k, "wake")
    assert w1.outcome().value == "wake"
    assert w2.outcome().value == "wake"


@pytest.fixture
def python_handles_sigint():
    """Python's own SIGINT handler, as in an interactive program: a shell
    starts background jobs (CI under nohup, `make test &`) with SIGINT
    ignored, and Python then keeps it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_interrupts_a_main_thread_watch(client, prefix, python_handles_sigint):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are handled on the main thread only")
    _later(0.3, os.kill, os.getpid(), signal.SIGINT)
    t = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        client.watch(prefix + "/forever", timeout=0)
    assert time.monotonic() - t < 3
    gen = client.eternal_watch(prefix + "/forever")
    _later(0.3, os.kill, os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        next(gen)
    gen.close()
    # No watcher is left behind in etcd.
    assert wait_for(lambda: client.store_stats["watchers"] == 0, 5)


def test_event_newkey_is_false_as_python_etcd(client, prefix):
    """python-etcd sets newKey from the answer's 201 Created: a write that
    creates the key has it, a watch's event (a 200) never, whatever its
    action; EtcdResult == compares newKey too."""
    k = prefix + "/new"
    created = client.write(k, "v")
    assert created.newKey is True and created.action == "set"
    # A watch from the creation's index: the same node, as an event.
    for event in (
        client.watch(k, index=created.modifiedIndex),
        client.read(k, wait=True, waitIndex=created.modifiedIndex),
        Background(client.watch, k, index=created.modifiedIndex).run_now(),
        next(iter(client.eternal_watch(k, index=created.modifiedIndex))),
    ):
        assert event.action == "set" and event._prev_node is None
        assert event.newKey is False
        assert event == client.read(k)  # the node, as read
        assert event != created  # newKey differs
    appended = client.write(prefix + "/q", "x", append=True)
    assert appended.newKey is True and appended.action == "create"
    event = client.watch(appended.key, index=appended.modifiedIndex)
    assert event.action == "create" and event.newKey is False
