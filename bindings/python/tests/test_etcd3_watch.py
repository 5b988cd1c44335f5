"""etcdc.etcd3 watches: python-etcd3 0.12.0's watch, watch_prefix,
watch_once, watch_response, add_watch_callback and cancel_watch, the
events, and compaction as python-etcd3 reports it; against etcd 3.4 and
3.5.1. etcdctl writes, as in python-etcd3's tests.

Unlike python-etcd3's tests, these do not sleep before writing: a watch
call returns once etcd created the watch, so what is written after it
returns is delivered."""

import logging
import signal
import threading
import time

import pytest

import etcdc.etcd3 as etcd3
import etcdc.etcd3.utils as utils
from etcdc.etcd3.events import DeleteEvent, PutEvent


def later(fn, *args, delay=0.2):
    t = threading.Thread(target=lambda: (time.sleep(delay), fn(*args)), daemon=True)
    t.start()
    return t


def test_watch_key(etcd, v3_server):
    def update_key():
        for v in '0123':
            v3_server.etcdctl('put', '/doot/watch', v)

    change_count = 0
    events_iterator, cancel = etcd.watch(b'/doot/watch')
    t = later(update_key)
    for event in events_iterator:
        assert event.key == b'/doot/watch'
        assert event.value == \
            utils.to_bytes(str(change_count))

        # if cancel worked, we should not receive event 3
        assert event.value != utils.to_bytes('3')

        change_count += 1
        if change_count > 2:
            # if cancel not work, we will block in this for-loop forever
            cancel()

    t.join()
    assert change_count == 3


def test_watch_events(etcd):
    events_iterator, cancel = etcd.watch('/doot/e', prev_kv=True)
    put = etcd.put('/doot/e', 'a')
    etcd.put('/doot/e', 'b')
    etcd.delete('/doot/e')
    e1, e2, e3 = next(events_iterator), next(events_iterator), next(events_iterator)
    cancel()
    assert isinstance(e1, PutEvent) and isinstance(e3, DeleteEvent)
    assert (e1.key, e1.value, e1.version) == (b'/doot/e', b'a', 1)
    assert e1.create_revision == e1.mod_revision == put.header.revision
    assert e1.prev_value == b''  # no previous value: an empty one
    assert (e2.value, e2.prev_value, e2.version) == (b'b', b'a', 2)
    assert e3.value == b'' and e3.prev_value == b'b'
    assert e3.mod_revision == e2.mod_revision + 1
    assert str(e1) == "%s key=b'/doot/e' value=b'a'" % PutEvent
    assert list(events_iterator) == []


def test_watch_filters(etcd):
    nodelete = etcd3.etcdrpc.WatchCreateRequest.NODELETE
    noput = etcd3.etcdrpc.WatchCreateRequest.NOPUT
    puts, cancel_puts = etcd.watch('/doot/f', filters=[nodelete])
    deletes, cancel_deletes = etcd.watch('/doot/f', filters=[noput])
    etcd.put('/doot/f', '1')
    etcd.delete('/doot/f')
    etcd.put('/doot/f', '2')
    assert [e.value for e in (next(puts), next(puts))] == [b'1', b'2']
    assert isinstance(next(deletes), DeleteEvent)
    cancel_puts()
    cancel_deletes()


def test_watch_from_revision(etcd):
    revision = etcd.put('/doot/r', '0').header.revision
    etcd.put('/doot/r', '1')
    events_iterator, cancel = etcd.watch('/doot/r', start_revision=revision)
    assert [next(events_iterator).value for _ in range(2)] == [b'0', b'1']
    cancel()


def test_watch_key_with_revision_compacted(etcd, v3_server):
    v3_server.etcdctl('put', '/random', '1')  # Some data to compact
    compacted = etcd.put('/watchcompation', 'before').header.revision
    etcd.compact(compacted)

    events_iterator, cancel = etcd.watch(b'/watchcompation', start_revision=1)
    error_raised = False
    compacted_revision = 0
    try:
        next(events_iterator)
    except Exception as err:
        error_raised = True
        assert isinstance(err, etcd3.exceptions.RevisionCompactedError)
        compacted_revision = err.compacted_revision

    assert error_raised is True
    assert compacted_revision == compacted
    # The watch is over.
    assert list(events_iterator) == []

    def update_key():
        for v in '0123':
            v3_server.etcdctl('put', '/watchcompation', v)

    change_count = 0
    events_iterator, cancel = etcd.watch(
        b'/watchcompation', start_revision=compacted_revision)
    t = later(update_key)
    values = []
    for event in events_iterator:
        values.append(event.value)
        change_count += 1
        if change_count > 3:
            cancel()
    t.join()
    # From the compaction revision on: the key as it was then, then the
    # changes.
    assert values == [b'before', b'0', b'1', b'2']


def test_watch_callback_with_revision_compacted(etcd):
    compacted = etcd.put('/wc', 'x').header.revision
    etcd.compact(compacted)
    got = []
    done = threading.Event()

    def callback(response_or_error):
        got.append(response_or_error)
        done.set()

    etcd.add_watch_callback('/wc', callback, start_revision=1)
    assert done.wait(10)
    assert isinstance(got[0], etcd3.exceptions.RevisionCompactedError)
    assert got[0].compacted_revision == compacted


def test_watch_prefix(etcd, v3_server):
    def update_key():
        for v in '0123':
            v3_server.etcdctl('put', '/doot/watch/prefix/' + v, v)

    change_count = 0
    events_iterator, cancel = etcd.watch_prefix('/doot/watch/prefix/')
    t = later(update_key)
    for event in events_iterator:
        assert event.key == \
            utils.to_bytes('/doot/watch/prefix/{}'.format(change_count))
        assert event.value == \
            utils.to_bytes(str(change_count))

        # if cancel worked, we should not receive event 3
        assert event.value != utils.to_bytes('3')

        change_count += 1
        if change_count > 2:
            # if cancel not work, we will block in this for-loop forever
            cancel()

    t.join()


def test_watch_range(etcd):
    events_iterator, cancel = etcd.watch('/doot/a', range_end='/doot/c')
    for k in ('/doot/a', '/doot/c', '/doot/b'):
        etcd.put(k, 'x')
    assert [next(events_iterator).key for _ in range(2)] == [b'/doot/a', b'/doot/b']
    cancel()


def test_watch_prefix_callback(etcd, v3_server):
    events = []
    seen = threading.Event()

    def callback(event):
        events.extend(event.events)
        if len(events) >= 2:
            seen.set()

    watch_id = etcd.add_watch_prefix_callback(
        '/doot/watch/prefix/callback/', callback)

    for v in '01':
        v3_server.etcdctl('put', '/doot/watch/prefix/callback/' + v, v)
    assert seen.wait(10)
    etcd.cancel_watch(watch_id)

    assert len(events) == 2
    assert events[0].key.decode() == '/doot/watch/prefix/callback/0'
    assert events[0].value.decode() == '0'
    assert events[1].key.decode() == '/doot/watch/prefix/callback/1'
    assert events[1].value.decode() == '1'


def test_watch_callbacks_run_on_the_clients_thread_in_order(etcd):
    calls = []
    done = threading.Event()

    def callback(response):
        calls.append((threading.current_thread().name, [e.value for e in response.events]))
        if sum(len(v) for _, v in calls) >= 20:
            done.set()

    ids = [etcd.add_watch_callback('/doot/cb', callback),
           etcd.add_watch_callback('/doot/cb', callback)]
    for i in range(10):
        etcd.put('/doot/cb', str(i))
    assert done.wait(10)
    names = {name for name, _ in calls}
    # python-etcd3's thread name: etcd3_watch_<id of the watcher, hex>.
    assert names == {'etcd3_watch_%x' % id(etcd.watcher)}
    assert threading.current_thread().name not in names
    per_watch = [v for _, values in calls for v in values]
    assert sorted(per_watch) == sorted([str(i).encode() for i in range(10)] * 2)
    for watch_id in ids:
        etcd.cancel_watch(watch_id)


def test_no_callback_after_cancel_watch(etcd):
    got = []
    watch_id = etcd.add_watch_callback('/doot/nc', got.append)
    etcd.put('/doot/nc', '1')
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    etcd.cancel_watch(watch_id)
    etcd.put('/doot/nc', '2')
    time.sleep(0.3)
    assert [e.value for r in got for e in r.events] == [b'1']
    etcd.cancel_watch(watch_id)  # again: nothing happens


def test_failing_callback_is_logged_and_the_watch_goes_on(etcd, caplog):
    got = []

    def callback(response):
        got.append(response)
        if len(got) == 1:
            raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="etcdc.etcd3.watch"):
        watch_id = etcd.add_watch_callback('/doot/fail', callback)
        etcd.put('/doot/fail', '1')
        etcd.put('/doot/fail', '2')
        deadline = time.monotonic() + 10
        while sum(len(r.events) for r in got) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    etcd.cancel_watch(watch_id)
    assert sum(len(r.events) for r in got) == 2
    assert "Watch callback failed" in caplog.text


def test_sequential_watch_prefix_once(etcd):
    for _ in range(3):
        try:
            etcd.watch_prefix_once('/doot/', 0.2)
        except etcd3.exceptions.WatchTimedOut:
            pass


def test_watch_once(etcd):
    later(etcd.put, '/doot/once', 'v')
    event = etcd.watch_once('/doot/once', timeout=10)
    assert isinstance(event, PutEvent) and event.value == b'v'
    with pytest.raises(etcd3.exceptions.WatchTimedOut):
        etcd.watch_once('/doot/once', timeout=0.3)
    later(etcd.put, '/doot/p/x', 'w')
    event = etcd.watch_prefix_once('/doot/p/', timeout=10)
    assert event.key == b'/doot/p/x'


def test_watch_responses(etcd):
    # Test watch_response & watch_once_response
    revision = etcd.put('/doot/watch', '0').header.revision
    etcd.put('/doot/watch', '1')
    responses_iterator, cancel = \
        etcd.watch_response('/doot/watch', start_revision=revision)

    response_1 = next(responses_iterator)
    cancel()
    response_2 = etcd.watch_once_response('/doot/watch',
                                          start_revision=revision)

    for response in [response_1, response_2]:
        count = 0
        # check that the response contains the etcd revision
        assert response.header.revision > 0
        assert len(response.events) == 2
        for event in response.events:
            assert event.key == b'/doot/watch'
            assert event.value == utils.to_bytes(str(count))
            count += 1

    # Test watch_prefix_response & watch_prefix_once_response
    success_ops = [etcd.transactions.put('/doot/watch/prefix/0', '0'),
                   etcd.transactions.put('/doot/watch/prefix/1', '1')]
    revision = etcd.transaction([], success_ops,
                                [])[1][0].response_put.header.revision

    responses_iterator, cancel = \
        etcd.watch_prefix_response('/doot/watch/prefix/',
                                   start_revision=revision)

    response_1 = next(responses_iterator)
    cancel()
    response_2 = etcd.watch_prefix_once_response('/doot/watch/prefix/',
                                                 start_revision=revision)

    for response in [response_1, response_2]:
        count = 0
        assert response.header.revision == revision
        assert len(response.events) == 2
        for event in response.events:
            assert event.key == \
                utils.to_bytes('/doot/watch/prefix/{}'.format(count))
            assert event.value == utils.to_bytes(str(count))
            count += 1


def test_cancel_from_another_thread_ends_a_blocked_iteration(etcd):
    events_iterator, cancel = etcd.watch('/doot/blocked')
    later(cancel, delay=0.3)
    start = time.monotonic()
    assert list(events_iterator) == []
    assert time.monotonic() - start < 5


def test_readme_watch_loop(etcd):
    # python-etcd3's README loop: cancel() after 10 events ends it.
    def writer():
        for i in range(15):
            etcd.put("/doot/watch", str(i))

    watch_count = 0
    events_iterator, cancel = etcd.watch("/doot/watch")
    t = later(writer, delay=0.05)
    for event in events_iterator:
        watch_count += 1
        if watch_count > 10:
            cancel()
    t.join()
    assert watch_count == 11


def test_watch_on_the_main_thread_is_interruptible(etcd):
    # A watch blocked on the main thread lets Python run its signal
    # handlers (it waits in slices): SIGALRM's handler raises here.
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread")

    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted()

    old = signal.signal(signal.SIGALRM, handler)
    events_iterator, cancel = etcd.watch('/doot/never')
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        start = time.monotonic()
        with pytest.raises(Interrupted):
            next(events_iterator)
        assert time.monotonic() - start < 3
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        cancel()


def test_watch_survives_the_loss_of_its_member(v3_etcds, etcd_version):
    """A member of a 3-member cluster dies (SIGKILL) under a watch made
    through it: every change made meanwhile through another member is
    delivered, once, in order (python-etcd3 raised ConnectionFailedError
    and lost them)."""
    from conftest import _free_ports

    ports = _free_ports(6)
    names = ["w1", "w2", "w3"]
    peers = ["%s=http://127.0.0.1:%d" % (n, ports[3 + i]) for i, n in enumerate(names)]
    members = []
    try:
        members = [
            v3_etcds.start(etcd_version, name=n, client_port=ports[i], peer_port=ports[3 + i],
                           initial_cluster=",".join(peers))
            for i, n in enumerate(names)
        ]
        for m in members:
            m.wait_ready(30)
        first, rest = members[0], members[1:]
        watching = etcd3.client(endpoints=[m.url for m in members], timeout=10)
        writer = etcd3.client(endpoints=[m.url for m in rest], timeout=10)
        events_iterator, cancel = watching.watch_prefix('/fo/')
        callback_values = []
        watch_id = watching.add_watch_prefix_callback(
            '/fo/', lambda r: callback_values.extend(e.value for e in r.events))

        def put(i):
            # Each key once: a write whose outcome the failover made unknown
            # (AmbiguousOutcomeError) is repeated as a create, which etcd
            # refuses if the first one was applied.
            deadline = time.monotonic() + 30
            while True:
                try:
                    writer.put_if_not_exists('/fo/%d' % i, str(i))
                    return
                except (etcd3.exceptions.ConnectionFailedError,
                        etcd3.exceptions.ConnectionTimeoutError):
                    assert time.monotonic() < deadline
                    time.sleep(0.1)

        for i in range(5):
            put(i)
        first.kill(signal.SIGKILL)
        for i in range(5, 20):
            put(i)
        values = [next(events_iterator).value for _ in range(20)]
        assert values == [str(i).encode() for i in range(20)]
        deadline = time.monotonic() + 20
        while len(callback_values) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert callback_values == [str(i).encode() for i in range(20)]
        cancel()
        watching.cancel_watch(watch_id)
        watching.close()
        writer.close()
    finally:
        for m in members:
            m.stop()
