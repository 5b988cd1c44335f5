"""Fixtures: a client of the etcd that scripts/with-etcd.sh started.

ETCDC_ENDPOINT (http://127.0.0.1:PORT) names that etcd; every test works
under a key prefix of its own and removes it afterwards.
"""

import os
import threading
import time
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

    def outcome(self, timeout=20):
        self.join(timeout)
        assert not self.is_alive(), "background call still running"
        if self.error is not None:
            raise self.error
        return self.result
