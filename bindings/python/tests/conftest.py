"""Fixtures: a client of the etcd that scripts/with-etcd.sh started.

ETCDC_ENDPOINT (http://127.0.0.1:PORT) names that etcd; every test works
under a key prefix of its own and removes it afterwards.

``tls_etcd`` and ``auth_etcd`` start etcds of their own, once per session
and only when a test asks for them: one that speaks https only and wants a
client certificate (certificates made with ``openssl`` as
``ETCD_TLS=1 scripts/with-etcd.sh`` makes them), and a plain one for the
auth tests (auth is global state: it must not leak into the other tests).
"""

import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
import uuid
from urllib.parse import urlparse

import pytest

import etcdc


def _endpoint():
    url = os.environ.get("ETCDC_ENDPOINT")
    if not url:
        pytest.exit(
            "ETCDC_ENDPOINT is not set: run the tests under scripts/with-etcd.sh "
            "(bindings/python/run-tests.sh does)",
            returncode=2,
        )
    return url


@pytest.fixture(scope="session")
def endpoint():
    return _endpoint()


@pytest.fixture(scope="session")
def host_port(endpoint):
    u = urlparse(endpoint)
    return u.hostname, u.port


@pytest.fixture
def client(host_port):
    c = etcdc.Client(host=host_port[0], port=host_port[1])
    yield c
    c.close()


@pytest.fixture
def prefix(request, host_port):
    """A key prefix for this test alone, removed afterwards."""
    name = request.node.name.replace("[", "_").replace("]", "_")
    p = "/pytest/%s-%s" % (name, uuid.uuid4().hex[:8])
    yield p
    c = etcdc.Client(host=host_port[0], port=host_port[1])
    try:
        c.delete(p, recursive=True)
    except etcdc.EtcdKeyNotFound:
        pass
    c.close()


def wait_for(cond, timeout=10.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return cond()


def wait_for_watchers(client, n, timeout=10.0):
    """Waits until etcd counts at least n watchers (a watch is registered)."""
    return wait_for(lambda: client.store_stats["watchers"] >= n, timeout)


class Background(threading.Thread):
    """Runs fn in a thread; keeps its result or exception."""

    def __init__(self, fn, *args, **kwargs):
        super().__init__(daemon=True)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self.fn(*self.args, **self.kwargs)
        except BaseException as e:  # noqa: B902 - reported to the test
            self.error = e

    def run_now(self, timeout=20):
        """Runs it in its thread and returns its outcome."""
        self.start()
        return self.outcome(timeout)

    def outcome(self, timeout=20):
        self.join(timeout)
        assert not self.is_alive(), "background call still running"
        if self.error is not None:
            raise self.error
        return self.result


# -- etcds of our own --------------------------------------------------------

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _etcd_binary():
    if os.environ.get("ETCD_BIN"):
        return os.environ["ETCD_BIN"]
    script = os.path.join(REPO, "scripts", "ensure-etcd.sh")
    if os.path.exists(script):
        return subprocess.run(
            [script], check=True, capture_output=True, text=True
        ).stdout.strip()
    found = shutil.which("etcd")
    if not found:
        pytest.skip("no etcd binary (set ETCD_BIN)")
    return found


def _free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Pki(object):
    """Throwaway certificates (EC P-256), as scripts/with-etcd.sh makes them:
    ``ca`` signs ``server`` (subjectAltName IP:127.0.0.1 only) and
    ``client`` (clientAuth); ``other_ca`` signs ``other_client``, a client
    certificate the server does not trust. ``combined`` is the client's
    certificate and key in one file (python-etcd's single-file ``cert``).
    Each name is a path: ``<name>.pem`` and ``<name>.key``."""

    EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def __init__(self, d):
        if not shutil.which("openssl"):
            pytest.skip("the TLS tests need the openssl command")
        self.dir = d
        self._ca("ca")
        self._ca("other_ca")
        self._issue("server", "ca", "subjectAltName=IP:127.0.0.1")
        self._issue("client", "ca", "extendedKeyUsage=clientAuth")
        self._issue("other_client", "other_ca", "extendedKeyUsage=clientAuth")
        self.combined = self.path("combined.pem")
        with open(self.combined, "w") as out:
            for name in ("client.pem", "client.key"):
                with open(self.path(name)) as f:
                    out.write(f.read())

    def path(self, name):
        return os.path.join(self.dir, name)

    def pem(self, name):
        return self.path(name + ".pem")

    def key(self, name):
        return self.path(name + ".key")

    def _run(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)

    def _ca(self, name):
        self._run("req", "-x509", *self.EC, "-keyout", self.key(name), "-out", self.pem(name),
                  "-days", "2", "-subj", "/CN=etcdc-test-" + name)

    def _issue(self, name, ca, ext):
        csr = self.path(name + ".csr")
        extfile = self.path(name + ".ext")
        with open(extfile, "w") as f:
            f.write(ext + "\n")
        self._run("req", *self.EC, "-keyout", self.key(name), "-out", csr, "-subj", "/CN=" + name)
        self._run("x509", "-req", "-in", csr, "-CA", self.pem(ca), "-CAkey", self.key(ca),
                  "-CAcreateserial", "-out", self.pem(name), "-days", "2", "-extfile", extfile)


class EtcdServer(object):
    """An etcd (v2 API on) on free loopback ports with a data dir under
    ``d``; with ``pki``, its client port speaks https only and wants a
    client certificate signed by ``pki``'s CA (--client-cert-auth)."""

    def __init__(self, d, pki=None, client_port=None):
        self.pki = pki
        self.data = os.path.join(d, "data")
        if client_port is not None:
            # A fixed port: OSError if it is taken.
            with socket.socket() as s:
                s.bind(("127.0.0.1", client_port))
            peer_port = _free_ports(1)[0]
        else:
            client_port, peer_port = _free_ports(2)
        self.port = client_port
        self.url = "%s://127.0.0.1:%d" % ("https" if pki else "http", client_port)
        peer = "http://127.0.0.1:%d" % peer_port
        cmd = [
            _etcd_binary(), "--enable-v2=true", "--name", "n1",
            "--data-dir", self.data,
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "n1=" + peer,
        ]
        if pki:
            cmd += ["--cert-file", pki.pem("server"), "--key-file", pki.key("server"),
                    "--trusted-ca-file", pki.pem("ca"), "--client-cert-auth"]
        self.log = open(os.path.join(d, "etcd.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self):
        ctx = None
        if self.pki:
            ctx = ssl.create_default_context(cafile=self.pki.pem("ca"))
            ctx.load_cert_chain(self.pki.pem("client"), self.pki.key("client"))
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(self.url + "/v2/keys/", timeout=1, context=ctx)
                return
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    with open(self.log.name, errors="replace") as f:
                        raise RuntimeError("etcd did not start; its log:\n" + f.read())
                time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)  # etcd preallocates 64 MB of WAL


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return Pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="session")
def tls_etcd(tmp_path_factory, pki):
    """An etcd on https only, with --client-cert-auth (see Pki)."""
    server = EtcdServer(str(tmp_path_factory.mktemp("tls-etcd")), pki)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def auth_etcd(tmp_path_factory):
    """A plain etcd of its own for the auth tests."""
    server = EtcdServer(str(tmp_path_factory.mktemp("auth-etcd")))
    yield server
    server.stop()


# -- etcd 3.4 and 3.5.1 for the etcd3 tests (etcdc.etcd3, the v3 API) ------


def etcd35_dir():
    """The directory of etcd 3.5.1's etcd and etcdctl
    (scripts/ensure-etcd35.sh: the project cache, or $ETCD35_DIR)."""
    script = os.path.join(REPO, "scripts", "ensure-etcd35.sh")
    r = subprocess.run([script], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        pytest.skip("etcd 3.5.1 is not available: %s" % r.stderr.strip())
    return r.stdout.strip()


class V3Etcd(object):
    """An etcd of its own for the etcd3 tests (v3 API only): ``version``
    ('3.4' or '3.5'), ``url``, ``host``, ``port``; ``etcdctl(*args)`` runs
    etcd 3.5.1's etcdctl against it. ``name`` and ``peer_port``/``client_port``
    can be given to make one member of a cluster (``initial_cluster``)."""

    def __init__(self, d, binary, version, etcdctl, name="n1", client_port=None,
                 peer_port=None, initial_cluster=None, extra=()):
        self.version = version
        self.binary = binary
        self.etcdctl_bin = etcdctl
        self.dir = d
        self.data = os.path.join(d, "data-" + name)
        if client_port is None or peer_port is None:
            client_port, peer_port = _free_ports(2)
        self.host, self.port = "127.0.0.1", client_port
        self.url = "http://127.0.0.1:%d" % client_port
        self.peer_url = "http://127.0.0.1:%d" % peer_port
        self.cmd = [
            binary, "--name", name, "--data-dir", self.data,
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", initial_cluster or ("%s=%s" % (name, self.peer_url)),
        ] + list(extra)
        self.log = open(os.path.join(d, "etcd-%s.log" % name), "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if b'"true"' in r.read():
                        return self
            except Exception:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(self.log.name, errors="replace") as f:
                    raise RuntimeError("etcd did not start; its log:\n" + f.read()[-4000:])
            time.sleep(0.05)

    def etcdctl(self, *args, check=True, endpoints=None):
        """etcdctl 3.5.1 (v3) against this etcd; its stdout (parsed JSON
        with ``-w json`` first)."""
        cmd = [self.etcdctl_bin, "--endpoints", endpoints or self.url,
               "--dial-timeout=5s", "--command-timeout=15s"] + [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, env=dict(os.environ, ETCDCTL_API="3"),
                           stdin=subprocess.DEVNULL, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), r.returncode,
                                                         r.stderr.decode(errors="replace")))
        if args[:2] == ("-w", "json"):
            import json
            return json.loads(r.stdout.decode())
        return r.stdout.decode()

    def kill(self, sig=None):
        import signal
        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)


class V3Etcds(object):
    """The etcds of the etcd3 tests, started on first use and kept for the
    session: one plain etcd per version ('3.4': Debian's, '3.5': 3.5.1),
    and others on demand (``start``)."""

    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory
        self.shared = {}
        self.started = []

    def binaries(self, version):
        d = etcd35_dir()
        etcdctl = os.path.join(d, "etcdctl")
        if version == "3.5":
            return os.path.join(d, "etcd"), etcdctl
        return _etcd_binary(), etcdctl

    def start(self, version, **kwargs):
        binary, etcdctl = self.binaries(version)
        d = str(self.tmp.mktemp("etcd3-" + version))
        e = V3Etcd(d, binary, version, etcdctl, **kwargs)
        self.started.append(e)
        return e

    def get(self, version, extra=()):
        """The shared etcd of ``version`` started with ``extra`` arguments."""
        key = (version, tuple(extra))
        if key not in self.shared:
            self.shared[key] = self.start(version, extra=extra).wait_ready()
        return self.shared[key]

    def stop_all(self):
        for e in self.started:
            e.stop()


@pytest.fixture(scope="session")
def v3_etcds(tmp_path_factory):
    etcds = V3Etcds(tmp_path_factory)
    yield etcds
    etcds.stop_all()


@pytest.fixture(scope="session", params=["3.4", "3.5"])
def etcd_version(request):
    """The etcd version a test of the etcd3 module runs against (each runs
    against both)."""
    return request.param


@pytest.fixture
def v3_server(v3_etcds, etcd_version):
    """The shared etcd of this version, every key deleted before and after
    the test (python-etcd3's tests assume an empty keyspace)."""
    server = v3_etcds.get(etcd_version)
    _wipe_v3(server)
    yield server
    _wipe_v3(server)


def _wipe_v3(server):
    import etcdc.etcd3

    with etcdc.etcd3.client(host=server.host, port=server.port, timeout=10) as c:
        c._delete(b"\0", range_end=b"\0")


@pytest.fixture
def etcd(v3_server):
    """python-etcd3's test fixture: a client of the shared etcd (timeout 5 s)."""
    import etcdc.etcd3

    with etcdc.etcd3.client(host=v3_server.host, port=v3_server.port, timeout=5) as c:
        yield c
