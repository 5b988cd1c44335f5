"""etcdc.etcd3's client: python-etcd3 0.12.0's client() arguments (TLS,
credentials, timeout, grpc_options), several endpoints, the exceptions,
close(), threads and the GIL, and the multiprocessing fork pattern; against
etcd 3.4 and 3.5.1."""

import multiprocessing
import os
import socket
import threading
import time

import pytest

import etcdc.etcd3 as etcd3
from etcdc.etcd3 import exceptions
from conftest import Background, _free_ports


def test_module_layout():
    # python-etcd3's names, as `import etcd3` gives them.
    for name in ('etcdrpc', 'Etcd3Client', 'Etcd3Exception', 'Transactions', 'client',
                 'Lease', 'Lock', 'Member'):
        assert name in etcd3.__all__ and hasattr(etcd3, name)
    assert callable(etcd3.client)  # the function, as in python-etcd3
    assert etcd3.__version__ == '0.12.0'
    import etcdc.etcd3.events
    import etcdc.etcd3.leases
    import etcdc.etcd3.locks
    import etcdc.etcd3.members
    import etcdc.etcd3.transactions
    import etcdc.etcd3.utils
    import etcdc.etcd3.watch  # noqa: F401 - the modules python-etcd3 has
    assert etcd3.Etcd3Exception is exceptions.Etcd3Exception


def test_exceptions_are_python_etcd3s():
    for name in ('WatchTimedOut', 'InternalServerError', 'ConnectionFailedError',
                 'ConnectionTimeoutError', 'PreconditionFailedError', 'RevisionCompactedError'):
        assert issubclass(getattr(exceptions, name), exceptions.Etcd3Exception)
    assert str(exceptions.ConnectionFailedError()) == "etcd connection failed"
    assert str(exceptions.ConnectionTimeoutError()) == "etcd connection timeout"
    e = exceptions.RevisionCompactedError(42)
    assert e.compacted_revision == 42
    assert issubclass(exceptions.AmbiguousOutcomeError, exceptions.ConnectionFailedError)
    assert issubclass(exceptions.InvalidArgumentError, ValueError)


def test_client_does_not_connect_until_asked():
    port = _free_ports(1)[0]
    c = etcd3.client(host='127.0.0.1', port=port)
    with pytest.raises(exceptions.ConnectionFailedError) as e:
        c.get('/x')
    assert str(e.value).startswith("etcd connection failed")
    assert e.value.detail
    with pytest.raises(exceptions.ConnectionFailedError):
        c.put('/x', 'y')
    c.close()


def test_defaults_and_grpc_options(v3_server):
    c = etcd3.client(host=v3_server.host, port=v3_server.port,
                     grpc_options={'grpc.http2.true_binary': 1}.items())
    assert c.timeout is None
    assert c.uses_secure_channel is False
    assert c.endpoints == [v3_server.url]
    c.put('/g', 'v')
    assert c.get('/g')[0] == b'v'
    c.close()
    c = etcd3.Etcd3Client()
    assert c.endpoints == ['http://localhost:2379']
    c.close()


def test_localhost(v3_server):
    with etcd3.client(host='localhost', port=v3_server.port) as c:
        assert c.get('/nothing') == (None, None)


def test_several_endpoints(v3_server):
    dead = _free_ports(1)[0]
    with etcd3.client(endpoints=['127.0.0.1:%d' % dead, v3_server.url], timeout=10) as c:
        c.put('/e', 'v')
        assert c.get('/e')[0] == b'v'
        assert v3_server.url in c.endpoints
    with etcd3.client(endpoints=[('127.0.0.1', dead), ('127.0.0.1', v3_server.port)]) as c:
        assert c.get('/e')[0] == b'v'


def test_timeout():
    # A server that accepts connections and never answers.
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(16)
    try:
        c = etcd3.client(host='127.0.0.1', port=s.getsockname()[1], timeout=0.5)
        start = time.monotonic()
        with pytest.raises((exceptions.ConnectionTimeoutError,
                            exceptions.ConnectionFailedError)):
            c.get('/x')
        assert time.monotonic() - start < 5
        with pytest.raises(exceptions.WatchTimedOut):
            c.watch('/x')
        c.close()
    finally:
        s.close()


def test_credentials_need_both():
    with pytest.raises(Exception):
        etcd3.client(user='usr')
    with pytest.raises(Exception):
        etcd3.client(password='pwd')


def test_cert_params_need_both():
    with pytest.raises(ValueError):
        etcd3.client(ca_cert='ca.crt', cert_key='client.key', cert_cert=None)
    with pytest.raises(ValueError):
        etcd3.client(ca_cert='ca.crt', cert_key=None, cert_cert='client.crt')


def test_tls(tls_etcd, pki):
    c = etcd3.client(host='127.0.0.1', port=tls_etcd.port, ca_cert=pki.pem('ca'),
                     cert_key=pki.key('client'), cert_cert=pki.pem('client'))
    assert c.uses_secure_channel is True
    assert c.endpoints == [tls_etcd.url]
    c.put('/tls', 'v')
    assert c.get('/tls')[0] == b'v'
    c.delete('/tls')
    c.close()
    # No client certificate: etcd (--client-cert-auth) refuses.
    c = etcd3.client(host='127.0.0.1', port=tls_etcd.port, ca_cert=pki.pem('ca'))
    assert c.uses_secure_channel is True
    with pytest.raises(exceptions.ConnectionFailedError):
        c.get('/tls')
    c.close()
    # A CA that did not sign the server's certificate.
    c = etcd3.client(host='127.0.0.1', port=tls_etcd.port, ca_cert=pki.pem('other_ca'),
                     cert_key=pki.key('client'), cert_cert=pki.pem('client'))
    with pytest.raises(exceptions.ConnectionFailedError):
        c.get('/tls')
    c.close()
    with pytest.raises(exceptions.InvalidArgumentError):
        etcd3.client(ca_cert='/nonexistent/ca.pem')


@pytest.fixture
def auth_server(v3_etcds, etcd_version):
    server = v3_etcds.start(etcd_version).wait_ready()
    server.etcdctl('user', 'add', 'root:pwd')
    server.etcdctl('user', 'grant-role', 'root', 'root')
    server.etcdctl('role', 'add', 'reader')
    server.etcdctl('role', 'grant-permission', 'reader', 'read', '/pub/', '--prefix')
    server.etcdctl('user', 'add', 'reader:rpw')
    server.etcdctl('user', 'grant-role', 'reader', 'reader')
    server.etcdctl('auth', 'enable')
    yield server
    server.stop()


def test_user_password_auth(auth_server):
    s = auth_server
    with etcd3.client(host=s.host, port=s.port, user='root', password='pwd') as root:
        root.put('/pub/x', 'v')
        root.put('/private', 'p')
        assert root.get('/private')[0] == b'p'
    with etcd3.client(host=s.host, port=s.port, user='reader', password='rpw') as reader:
        assert reader.get('/pub/x')[0] == b'v'
        with pytest.raises(exceptions.RpcError) as e:
            reader.get('/private')
        assert e.value.code() is exceptions.StatusCode.PERMISSION_DENIED
    # python-etcd3 authenticates in client(): a wrong password fails there.
    with pytest.raises(exceptions.RpcError) as e:
        etcd3.client(host=s.host, port=s.port, user='root', password='wrong')
    assert e.value.code() is exceptions.StatusCode.INVALID_ARGUMENT
    assert 'wrong' not in str(e.value)
    with etcd3.client(host=s.host, port=s.port) as anonymous:
        with pytest.raises(exceptions.RpcError):
            anonymous.get('/pub/x')


def test_close(v3_server):
    c = etcd3.client(host=v3_server.host, port=v3_server.port)
    c.put('/c', 'v')
    events_iterator, cancel = c.watch('/c')
    got = []
    c.add_watch_callback('/c', got.append)
    c.close()
    assert list(events_iterator) == []
    with pytest.raises(exceptions.Etcd3Exception):
        c.get('/c')
    c.close()  # again: nothing
    with etcd3.client(host=v3_server.host, port=v3_server.port) as c:
        assert c.get('/c')[0] == b'v'
    with pytest.raises(exceptions.Etcd3Exception):
        c.get('/c')


def test_threads_share_a_client_and_the_gil_is_released(etcd):
    # A thread blocked in etcdc (a watch) does not hold up the others.
    waiting = Background(etcd.watch_once, '/t/never', 1.5)
    waiting.start()
    time.sleep(0.1)
    start = time.monotonic()
    results = []

    def writer(n):
        for i in range(20):
            etcd.put('/t/%d/%d' % (n, i), str(i))
        results.append(n)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2, 3]
    assert time.monotonic() - start < 1.4
    assert len(list(etcd.get_prefix('/t/'))) == 80
    with pytest.raises(exceptions.WatchTimedOut):
        waiting.outcome(10)


def _child_own_client(host, port, n, q):
    try:
        c = etcd3.client(host=host, port=port, timeout=10)
        c.put('/fork/child%d' % n, 'own')
        q.put((n, c.get('/fork/parent')[0]))
        c.close()
    except BaseException as e:  # noqa: B902
        q.put((n, repr(e)))


def _child_inherited_client(c, n, q):
    try:
        c.put('/fork/inherited%d' % n, 'inherited')
        # A watch of its own in the child (the parent's are the parent's).
        events_iterator, cancel = c.watch('/fork/child-watch%d' % n)
        c.put('/fork/child-watch%d' % n, 'w')
        q.put((n, next(events_iterator).value))
        cancel()
    except BaseException as e:  # noqa: B902
        q.put((n, repr(e)))


def test_fork_pattern(etcd, v3_server):
    """The parent uses its client (and a watch), forks workers that make
    their own clients (and workers that use the inherited one), then goes
    on with its client and its watch."""
    ctx = multiprocessing.get_context('fork')
    etcd.put('/fork/parent', 'p')
    parent_events = []
    watch_id = etcd.add_watch_prefix_callback(
        '/fork/', lambda r: parent_events.extend(e.key for e in r.events))
    events_iterator, cancel = etcd.watch_prefix('/fork/')
    q = ctx.Queue()
    procs = [ctx.Process(target=_child_own_client, args=(v3_server.host, v3_server.port, n, q))
             for n in range(3)]
    procs += [ctx.Process(target=_child_inherited_client, args=(etcd, n, q)) for n in range(2)]
    for p in procs:
        p.start()
    results = sorted((q.get(timeout=30) for _ in procs), key=repr)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert sorted(results, key=repr) == sorted(
        [(n, b'p') for n in range(3)] + [(n, b'w') for n in range(2)], key=repr)
    for n in range(3):
        assert etcd.get('/fork/child%d' % n)[0] == b'own'
    for n in range(2):
        assert etcd.get('/fork/inherited%d' % n)[0] == b'inherited'
    # The parent's watches saw the children's writes (3 + 2 + 2).
    keys = [next(events_iterator).key for _ in range(7)]
    assert len(set(keys)) == 7
    deadline = time.monotonic() + 10
    while len(parent_events) < 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(parent_events) == sorted(keys)
    cancel()
    etcd.cancel_watch(watch_id)


def test_fork_child_exits_cleanly_with_live_watches(etcd):
    # A child that inherited running watches (and their threads, which it
    # does not have) exits without hanging.
    etcd.add_watch_callback('/fork/x', lambda r: None)
    events_iterator, cancel = etcd.watch('/fork/x')
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            etcd.put('/fork/x', 'from child')
            etcd.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert next(events_iterator).value == b'from child'
    cancel()
