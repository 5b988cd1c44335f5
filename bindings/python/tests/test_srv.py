"""DNS SRV discovery (``srv_domain``) against a real DNS server: dnsmasq
(scripts/ensure-tools.sh installs it) on a free loopback port, answering
only from the records each test gives it."""

import os
import shutil
import socket
import subprocess
import time
from urllib.parse import urlparse

import pytest

import etcdc


def _dnsmasq():
    found = os.environ.get("DNSMASQ") or shutil.which("dnsmasq")
    for d in ("/usr/sbin", "/sbin"):
        if not found and os.path.exists(os.path.join(d, "dnsmasq")):
            found = os.path.join(d, "dnsmasq")
    return found


pytestmark = pytest.mark.skipif(
    not _dnsmasq(), reason="dnsmasq not found (run scripts/ensure-tools.sh)"
)


def _free_port():
    """A loopback port free for both TCP and UDP now."""
    while True:
        with socket.socket() as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


class Dns(object):
    """dnsmasq with `records`: (name, target, port, priority, weight)."""

    def __init__(self, records):
        self.port = _free_port()
        args = [
            _dnsmasq(),
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--local=/test/",
            "--pid-file=",
            "--port=%d" % self.port,
        ]
        if os.getuid() == 0:
            args.append("--user=root")
        args += ["--srv-host=%s,%s,%d,%d,%d" % r for r in records]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 5
        while True:
            assert self.proc.poll() is None, "dnsmasq exited"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "dnsmasq does not answer"
                time.sleep(0.02)

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def dns(endpoint):
    port = urlparse(endpoint).port
    with socket.socket() as t:
        t.bind(("127.0.0.1", 0))
        dead = t.getsockname()[1]
    d = Dns(
        [
            ("_etcd-client._tcp.py.test", "127.0.0.1", dead, 0, 0),
            ("_etcd-client._tcp.py.test", "127.0.0.1", port, 1, 0),
        ]
    )
    d.dead = dead
    yield d
    d.stop()


def test_srv_domain_finds_the_members(dns, prefix):
    c = etcdc.Client(srv_domain="py.test", dns_server=dns.server, connect_timeout=2)
    assert c.base_uri == "http://127.0.0.1:%d" % dns.dead
    assert c.protocol == "http"
    # The first member refuses: the write goes on to the live one.
    c.write(prefix + "/k", "found in DNS")
    assert c.read(prefix + "/k").value == "found in DNS"
    c.close()


def test_a_domain_without_records(dns):
    start = time.monotonic()
    with pytest.raises(etcdc.EtcdConnectionFailed) as e:
        etcdc.Client(srv_domain="nothing.test", dns_server=dns.server)
    assert "nothing.test" in str(e.value)
    assert e.value.status == 1001
    assert time.monotonic() - start < 0.5


def test_a_dns_server_that_does_not_answer():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        start = time.monotonic()
        with pytest.raises(etcdc.EtcdConnectionFailed) as e:
            etcdc.Client(
                srv_domain="silent.test",
                dns_server="127.0.0.1:%d" % silent.getsockname()[1],
                connect_timeout=0.5,
            )
        took = time.monotonic() - start
    assert e.value.status == 1002  # EtcdTimeout
    assert 0.45 < took < 1.5


def test_bad_srv_arguments(dns):
    with pytest.raises(etcdc.EtcdInvalidArgument):
        etcdc.Client(srv_domain="a..b", dns_server=dns.server)
    with pytest.raises(etcdc.EtcdInvalidArgument):
        etcdc.Client(srv_domain="py.test", dns_server="localhost")
