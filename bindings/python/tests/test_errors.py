"""Exceptions: python-etcd's hierarchy, payloads, and each raised for real."""

import socket
import threading
import time

import pytest

import etcdc

# python-etcd's hierarchy (src/etcd/__init__.py), child -> parents.
PYTHON_ETCD = {
    "EtcdKeyError": ("EtcdException",),
    "EtcdKeyNotFound": ("EtcdKeyError",),
    "EtcdValueError": ("EtcdException", "ValueError"),
    "EtcdCompareFailed": ("EtcdValueError",),
    "EtcdAlreadyExist": ("EtcdKeyError",),
    "EtcdNotFile": ("EtcdKeyError",),
    "EtcdNotDir": ("EtcdKeyError",),
    "EtcdDirNotEmpty": ("EtcdValueError",),
    "EtcdRootReadOnly": ("EtcdKeyError",),
    "EtcdInsufficientPermissions": ("EtcdException",),
    "EtcdConnectionFailed": ("EtcdException",),
    "EtcdWatchTimedOut": ("EtcdConnectionFailed",),
    "EtcdWatcherCleared": ("EtcdException",),
    "EtcdEventIndexCleared": ("EtcdException",),
    "EtcdLeaderElectionInProgress": ("EtcdException",),
    "EtcdLockExpired": ("EtcdException",),
    "EtcdClusterIdChanged": ("EtcdException",),
}
ETCDC_OWN = {
    "EtcdAmbiguousOutcome": "EtcdConnectionFailed",
    "EtcdTimeout": "EtcdConnectionFailed",
    "EtcdCancelled": "EtcdException",
    "EtcdAcquireTimeout": "EtcdException",
    "EtcdNotHeld": "EtcdException",
    "EtcdInvalidArgument": "EtcdValueError",
    "EtcdV2NotEnabled": "EtcdException",
    "EtcdProtocolError": "EtcdException",
}


def _cls(name):
    return ValueError if name == "ValueError" else getattr(etcdc, name)


@pytest.mark.parametrize("name", sorted(PYTHON_ETCD))
def test_python_etcd_hierarchy(name):
    cls = getattr(etcdc, name)
    assert cls.__bases__ == tuple(_cls(p) for p in PYTHON_ETCD[name])
    assert issubclass(cls, etcdc.EtcdException)


@pytest.mark.parametrize("name", sorted(ETCDC_OWN))
def test_etcdc_own_exceptions(name):
    cls = getattr(etcdc, name)
    assert issubclass(cls, _cls(ETCDC_OWN[name]))
    assert issubclass(cls, etcdc.EtcdException)


def test_exception_constructors_as_python_etcd():
    e = etcdc.EtcdKeyNotFound("msg", {"errorCode": 100})
    assert str(e) == "msg" and e.payload == {"errorCode": 100}
    assert etcdc.EtcdException().payload is None
    c = etcdc.EtcdConnectionFailed("down", cause=OSError("x"))
    assert isinstance(c.cause, OSError) and c.payload is None
    assert issubclass(etcdc.EtcdValueError, ValueError)


def test_key_not_found_payload(client, prefix):
    client.mkdir(prefix)  # etcd's cause is the first missing part of the key
    with pytest.raises(etcdc.EtcdKeyNotFound) as ei:
        client.read(prefix + "/missing")
    e = ei.value
    assert isinstance(e, etcdc.EtcdKeyError) and not isinstance(e, ValueError)
    assert str(e) == "Key not found : %s/missing" % prefix  # python-etcd's format
    assert e.payload["errorCode"] == 100
    assert e.payload["message"] == "Key not found"
    assert e.payload["cause"] == prefix + "/missing"
    assert e.payload["index"] > 0
    assert e.status == 100 and e.etcd_code == 100


def test_compare_failed_payload(client, prefix):
    client.write(prefix + "/k", "a")
    with pytest.raises(etcdc.EtcdCompareFailed) as ei:
        client.write(prefix + "/k", "b", prevValue="z")
    p = ei.value.payload
    assert p["errorCode"] == 101 and p["message"] == "Compare failed"
    assert "z" in p["cause"] and "a" in p["cause"]


def test_not_dir_not_file_root(client, prefix):
    client.write(prefix + "/file", "v")
    with pytest.raises(etcdc.EtcdNotDir):
        client.write(prefix + "/file/child", "v")
    client.mkdir(prefix + "/dir")
    with pytest.raises(etcdc.EtcdNotFile):
        client.write(prefix + "/dir", "v", prevValue="x")
    with pytest.raises(etcdc.EtcdRootReadOnly) as ei:
        client.delete("/", recursive=True)
    assert ei.value.payload["errorCode"] == 107


def test_invalid_argument(client, prefix):
    for bad in (prefix + "//x", prefix + "/../x", prefix + "/./x"):
        with pytest.raises(etcdc.EtcdInvalidArgument) as ei:
            client.write(bad, "v")
        assert isinstance(ei.value, ValueError)
        assert ei.value.payload is None and ei.value.status == 1000
    with pytest.raises(etcdc.EtcdInvalidArgument):
        client.write(prefix + "/t", "v", ttl=etcdc._lib.MAX_TTL + 1)
    with pytest.raises(etcdc.EtcdInvalidArgument):
        client.write(prefix + "/q", "v", append=True, prevExist=False)


def test_event_index_cleared(client, prefix):
    k = prefix + "/hist"
    first = client.write(k, "0")
    for i in range(1010):
        client.write(k, str(i))
    with pytest.raises(etcdc.EtcdEventIndexCleared) as ei:
        client.watch(k, index=first.modifiedIndex)
    assert ei.value.payload["errorCode"] == 401
    assert ei.value.payload["index"] > first.modifiedIndex + 1000


def test_watch_timed_out(client, prefix):
    t = time.monotonic()
    with pytest.raises(etcdc.EtcdWatchTimedOut) as ei:
        client.watch(prefix + "/quiet", timeout=0.3)
    assert isinstance(ei.value, etcdc.EtcdConnectionFailed)  # as python-etcd
    assert 0.25 < time.monotonic() - t < 5


def test_cluster_id_changed(host_port):
    c = etcdc.Client(host=host_port[0], port=host_port[1], expected_cluster_id="deadbeef")
    with pytest.raises(etcdc.EtcdClusterIdChanged):
        c.read("/")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused():
    c = etcdc.Client(host="127.0.0.1", port=_free_port(), read_timeout=2)
    with pytest.raises(etcdc.EtcdConnectionFailed) as ei:
        c.read("/x")
    assert type(ei.value) is etcdc.EtcdConnectionFailed
    assert ei.value.status == 1001 and ei.value.payload is None
    # A write that never left this machine is not ambiguous.
    with pytest.raises(etcdc.EtcdConnectionFailed) as ei:
        c.write("/x", "v")
    assert type(ei.value) is etcdc.EtcdConnectionFailed


class FakeServer(object):
    """A TCP server on loopback that answers each connection with
    ``respond(request_bytes) -> bytes or None`` (None: close without an
    answer; "hang": keep it open without answering)."""

    def __init__(self, respond):
        self.respond = respond
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            answer = self.respond(data)
            if answer == "hang":
                continue
            if answer is not None:
                try:
                    conn.sendall(answer)
                except OSError:
                    pass
            conn.close()

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture
def fake():
    servers = []

    def make(respond):
        s = FakeServer(respond)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_ambiguous_write_and_failed_read(fake):
    srv = fake(lambda req: None)  # reads the request, closes without answer
    c = etcdc.Client(host="127.0.0.1", port=srv.port, read_timeout=3)
    with pytest.raises(etcdc.EtcdAmbiguousOutcome) as ei:
        c.write("/x", "v")
    assert isinstance(ei.value, etcdc.EtcdConnectionFailed)
    assert ei.value.status == 1015
    with pytest.raises(etcdc.EtcdConnectionFailed) as ei:
        c.read("/x")
    assert not isinstance(ei.value, etcdc.EtcdAmbiguousOutcome)


def test_timeout(fake):
    srv = fake(lambda req: "hang")
    c = etcdc.Client(host="127.0.0.1", port=srv.port, read_timeout=0.3)
    t = time.monotonic()
    with pytest.raises(etcdc.EtcdTimeout) as ei:
        c.read("/x")
    assert time.monotonic() - t < 5
    assert isinstance(ei.value, etcdc.EtcdConnectionFailed) and ei.value.status == 1002
    with pytest.raises(etcdc.EtcdAmbiguousOutcome):
        c.write("/x", "v")


def test_read_timeout_per_request(fake, client, prefix):
    """python-etcd: read(key, timeout=...) is that request's timeout (None:
    the client's read_timeout, 0: none), also on a plain read."""
    srv = fake(lambda req: "hang")
    c = etcdc.Client(host="127.0.0.1", port=srv.port, read_timeout=60)
    t = time.monotonic()
    with pytest.raises(etcdc.EtcdConnectionFailed) as ei:
        c.read("/x", timeout=0.5)
    assert 0.4 < time.monotonic() - t < 5
    assert isinstance(ei.value, etcdc.EtcdTimeout)
    c.close()
    # Against etcd: the same reads answer, with any timeout.
    client.write(prefix + "/k", "v")
    for timeout in (None, 0, 5, 0.5):
        assert client.read(prefix + "/k", timeout=timeout).value == "v"
    assert client.read(prefix, timeout=5, recursive=True).nodes[0].value == "v"


def _http(status, body, ctype="application/json"):
    return (
        "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (status, ctype, len(body), body)
    ).encode()


def test_v2_not_enabled(fake):
    srv = fake(lambda req: _http("404 Not Found", "404 page not found\n", "text/plain"))
    c = etcdc.Client(host="127.0.0.1", port=srv.port, read_timeout=3)
    with pytest.raises(etcdc.EtcdV2NotEnabled):
        c.read("/x")


def test_protocol_error(fake):
    srv = fake(lambda req: _http("200 OK", "this is not json"))
    c = etcdc.Client(host="127.0.0.1", port=srv.port, read_timeout=3)
    with pytest.raises(etcdc.EtcdProtocolError):
        c.read("/x")


@pytest.mark.parametrize(
    "code,cls",
    [
        (110, etcdc.EtcdInsufficientPermissions),
        (202, etcdc.EtcdValueError),
        (209, etcdc.EtcdValueError),
        (301, etcdc.EtcdLeaderElectionInProgress),
        (400, etcdc.EtcdWatcherCleared),
        (300, etcdc.EtcdException),
        (999, etcdc.EtcdException),
    ],
)
def test_etcd_codes_map_as_python_etcd(fake, code, cls):
    body = '{"errorCode":%d,"message":"Some message","cause":"/the/key","index":42}' % code
    srv = fake(lambda req: _http("400 Bad Request", body))
    c = etcdc.Client(host="127.0.0.1", port=srv.port, read_timeout=3)
    with pytest.raises(cls) as ei:
        c.write("/the/key", "v")
    e = ei.value
    assert type(e) is cls
    assert e.payload == {
        "errorCode": code,
        "message": "Some message",
        "cause": "/the/key",
        "index": 42,
    }
    assert str(e) == "Some message : /the/key"
    assert e.etcd_code == code


def test_etcd_error_handle_as_python_etcd():
    with pytest.raises(etcdc.EtcdCompareFailed) as ei:
        etcdc.EtcdError.handle({"errorCode": 101, "message": "Compare failed", "cause": "[a != b]"})
    assert str(ei.value) == "Compare failed : [a != b]"
    with pytest.raises(etcdc.EtcdKeyNotFound):
        etcdc.EtcdError.handle({"message": "x", "status": 404})
    with pytest.raises(etcdc.EtcdException):
        etcdc.EtcdError.handle({"errorCode": 12345})
