"""client.election: set/get/delete, contention, TTL, renew, watch."""

import platform
import time

import pytest

import etcdc
from conftest import Background


@pytest.fixture
def key(prefix):
    return prefix.replace("/pytest/", "/pytest-")


def test_set_get_delete(client, key):
    idx = client.election.set(key, name="foo.example.com", ttl=120, timeout=30)
    assert isinstance(idx, int) and idx > 0
    assert client.election.get(key) == "foo.example.com"
    # Setting again renews.
    assert client.election.set(key, name="foo.example.com", ttl=120) >= idx
    assert client.election.delete(key, name="bar") is False  # not the leader
    assert client.election.get(key) == "foo.example.com"
    assert client.election.delete(key, name="foo.example.com") is True
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.election.get(key)
    assert client.election.delete(key, name="foo.example.com") is False


def test_default_name_is_hostname(client, key):
    client.election.set(key)
    assert client.election.get(key) == platform.node()
    assert client.election.delete(key) is True


def test_contention(host_port, key):
    a = etcdc.Client(host=host_port[0], port=host_port[1])
    b = etcdc.Client(host=host_port[0], port=host_port[1])
    a.election.set(key, name="a", ttl=0)
    with pytest.raises(etcdc.EtcdAcquireTimeout):
        b.election.set(key, name="b", timeout=0.5)
    with pytest.raises(etcdc.EtcdAcquireTimeout):
        b.election.set(key, name="b", blocking=False)
    bg = Background(b.election.set, key, name="b", timeout=20)
    bg.start()
    time.sleep(0.3)
    assert bg.is_alive()
    assert a.election.get(key) == "a"
    assert a.election.delete(key, "a") is True
    assert bg.outcome() > 0
    assert a.election.get(key) == "b"
    b.election.delete(key, "b")


def test_ttl_expiry_and_renew(client, key):
    client.election.set(key, name="short", ttl=2)
    client.election.renew(key, name="short", ttl=5)
    time.sleep(2.5)
    assert client.election.get(key) == "short"  # renewed
    with pytest.raises(etcdc.EtcdNotHeld):
        client.election.renew(key, name="other", ttl=5)
    client.election.renew(key, name="short", ttl=1)
    time.sleep(2.5)
    with pytest.raises(etcdc.EtcdKeyNotFound):
        client.election.get(key)


def test_watch_leader(client, key):
    client.election.set(key, name="first")
    bg = Background(client.election.watch, key, 0, 20)
    bg.start()
    time.sleep(0.3)
    client.election.delete(key, "first")
    leader, nxt = bg.outcome()
    assert leader is None and nxt > 0
    client.election.set(key, name="second")
    leader, nxt2 = client.election.watch(key, nxt, timeout=10)
    assert leader == "second" and nxt2 > nxt
    with pytest.raises(etcdc.EtcdWatchTimedOut):
        client.election.watch(key, nxt2, timeout=0.3)
    client.election.delete(key, "second")
