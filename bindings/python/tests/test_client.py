"""Client options, lifetime, and library loading (the prototypes: test_abi.py)."""

import ctypes
import ctypes.util
import os
import re
import subprocess
import sys
import threading

import pytest

import etcdc
from etcdc import _lib


def test_defaults_as_python_etcd():
    c = etcdc.Client()  # sends nothing
    assert c.host == "127.0.0.1" and c.port == 4001  # python-etcd's README
    assert c.protocol == "http" and c.read_timeout == 60
    assert c.allow_redirect is True and c.allow_reconnect is False
    assert c.base_uri == "http://127.0.0.1:4001"
    assert c.version_prefix == "/v2" and c.key_endpoint == "/v2/keys"
    assert c.expected_cluster_id is None
    c.close()


def test_python_etcd_constructor_forms(host_port):
    h, p = host_port
    etcdc.Client(port=4002)
    etcdc.Client(host="127.0.0.1", port=4003)
    etcdc.Client(host="127.0.0.1", port=4003, allow_redirect=False)
    # Positional, in python-etcd's order.
    c = etcdc.Client(h, p, None, "/v2", 10, True, "http")
    assert c.read("/").dir


def test_default_port_is_4001(tmp_path):
    """Client() talks to 127.0.0.1:4001, python-etcd's default."""
    from conftest import EtcdServer

    try:
        server = EtcdServer(str(tmp_path), client_port=4001)
    except OSError:
        pytest.skip("port 4001 is in use")
    try:
        c = etcdc.Client()
        c.write("/pytest-default-port", "v")
        assert c.read("/pytest-default-port").value == "v"
        assert c.machines == ["http://127.0.0.1:4001"]
        c.close()
    finally:
        server.stop()


def test_host_tuple_needs_allow_reconnect(host_port):
    h, p = host_port
    # python-etcd: "A list of hosts to connect to was given, but
    # reconnection not allowed?"
    with pytest.raises(etcdc.EtcdException, match="reconnection not allowed"):
        etcdc.Client(host=((h, p), (h, p)))
    with pytest.raises(etcdc.EtcdException, match="reconnection not allowed"):
        etcdc.Client(host=((h, p),), allow_reconnect=False)


def test_host_tuple_failover(host_port):
    from test_errors import _free_port

    h, p = host_port
    dead = _free_port()
    c = etcdc.Client(host=((h, dead), (h, p)), allow_reconnect=True)
    assert c.base_uri == "http://%s:%d" % (h, dead)
    # The first member refuses connections: reads and writes go to the next.
    c.write("/pytest-tuple", "v")
    assert c.read("/pytest-tuple").value == "v"
    c.delete("/pytest-tuple")


def test_allow_reconnect_discovers(host_port, endpoint):
    c = etcdc.Client(host=host_port[0], port=host_port[1], allow_reconnect=True)
    assert c.machines == [endpoint]
    assert c.read("/").dir
    with pytest.raises(etcdc.EtcdConnectionFailed):
        from test_errors import _free_port

        etcdc.Client(host="127.0.0.1", port=_free_port(), allow_reconnect=True, read_timeout=2)


def test_expected_cluster_id_ok(client, host_port):
    cid = client.read("/").cluster_id
    c = etcdc.Client(host=host_port[0], port=host_port[1], expected_cluster_id=cid)
    assert c.read("/").cluster_id == cid


def test_version_prefix(host_port):
    c = etcdc.Client(host=host_port[0], port=host_port[1], version_prefix="/nope")
    with pytest.raises(etcdc.EtcdException):
        c.read("/")


def test_ignored_options():
    etcdc.Client(per_host_pool_size=5, assert_hostname=True, use_proxies=True)


def test_tls_and_credentials_options():
    """Sends nothing: https with the system's store, credentials kept by
    etcdc (test_tls.py and test_auth.py use them for real)."""
    c = etcdc.Client(protocol="https", username="u", password="s3cret-pw")
    assert c.base_uri == "https://127.0.0.1:4001" and c.protocol == "https"
    assert c.username == "u" and c.password == "s3cret-pw"  # python-etcd's attributes
    assert "s3cret-pw" not in repr(c) + str(c)
    c2 = etcdc.Client()
    assert c2.username is None and c2.password is None
    # python-etcd: one without the other sends no credentials (and says so).
    with pytest.warns(UserWarning, match="both are required"):
        c3 = etcdc.Client(username="u")
    assert c3.username is None and c3.password is None
    with pytest.warns(UserWarning, match="both are required"):
        c3 = etcdc.Client(password="p")
    assert c3.username is None and c3.password is None
    with pytest.raises(etcdc.EtcdInvalidArgument) as ei:
        etcdc.Client(username="u", password="p\0q")
    assert "p\0q" not in str(ei.value)


def test_close_and_context_manager(host_port):
    with etcdc.Client(host=host_port[0], port=host_port[1]) as c:
        assert c.read("/").dir
    with pytest.raises(etcdc.EtcdException):
        c.read("/")
    c.close()  # twice is fine


def test_close_while_another_thread_calls(host_port, prefix):
    """close() never frees a client another thread is inside of."""
    c = etcdc.Client(host=host_port[0], port=host_port[1])
    done = threading.Event()
    errors = []

    def watch():
        try:
            c.watch(prefix + "/k", timeout=1)
        except etcdc.EtcdWatchTimedOut:
            pass
        except Exception as e:  # pragma: no cover
            errors.append(e)
        done.set()

    t = threading.Thread(target=watch)
    t.start()
    import time

    time.sleep(0.2)
    c.close()  # frees it when the watch returns
    assert c._h._ptr is not None
    t.join(5)
    assert done.is_set() and errors == []
    assert c._h._ptr is None


def test_library_found(request):
    path = etcdc.library_path()
    if os.environ.get("ETCDC_LIBRARY"):
        assert path == os.environ["ETCDC_LIBRARY"]
    version = etcdc.library_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    # The library has the binding's ABI: its soname says so.
    lib = _lib.load()
    loaded = _lib.loaded_file(lib)
    if loaded:
        assert _lib.elf_soname(loaded) == "libetcdc.so.%d" % _lib.ABI_MAJOR


def _run(code, env):
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_library_lookup_order():
    env = dict(os.environ)
    # A bad ETCDC_LIBRARY is an error, not a silent fallback.
    env["ETCDC_LIBRARY"] = "/nonexistent/libetcdc.so"
    r = _run("import etcdc; etcdc.Client()", env)
    assert r.returncode != 0 and "LibraryNotFound" in r.stderr and "ETCDC_LIBRARY" in r.stderr
    # A library of another ABI (its soname says so) is refused, saying why.
    other = _lib.loaded_file(ctypes.CDLL(ctypes.util.find_library("c")))
    if other and _lib.elf_soname(other):
        env["ETCDC_LIBRARY"] = other
        r = _run("import etcdc; etcdc.Client()", env)
        assert r.returncode != 0 and "LibraryNotFound" in r.stderr, r.stderr
        assert "soname is %s" % _lib.elf_soname(other) in r.stderr, r.stderr
        env["ETCDC_LIBRARY"] = "/nonexistent/libetcdc.so"
    # import alone does not need the library.
    r = _run("import etcdc; print('ok')", env)
    assert r.returncode == 0 and r.stdout.strip() == "ok"
    # Without it: the library the package carries (pip install built it
    # into the package), before any installed one or build tree.
    del env["ETCDC_LIBRARY"]
    r = _run("import etcdc; print(etcdc.library_path())", env)
    assert r.returncode == 0, r.stderr
    pkg = os.path.dirname(etcdc.__file__)
    assert r.stdout.strip() == os.path.join(pkg, "libetcdc.so")
    assert _lib.elf_soname(r.stdout.strip()) == "libetcdc.so.%d" % _lib.ABI_MAJOR


def test_abi_check(monkeypatch):
    """The soname decides; without one (not ELF), the version does."""
    lib = _lib.load()
    path = _lib.loaded_file(lib) or etcdc.library_path()
    assert _lib._abi_mismatch(lib, path) is None
    monkeypatch.setattr(_lib, "ABI_MAJOR", _lib.ABI_MAJOR + 1)
    assert "soname is libetcdc.so.%d" % (_lib.ABI_MAJOR - 1) in _lib._abi_mismatch(lib, path)
    monkeypatch.setattr(_lib, "elf_soname", lambda path: None)
    assert _lib._abi_mismatch(lib, path) is None  # its version is recent enough
    monkeypatch.setattr(_lib, "ABI_FIRST_VERSION", (99, 0, 0))
    assert "needs 99.0.0 or later" in _lib._abi_mismatch(lib, path)
