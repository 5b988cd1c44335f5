"""Every handle is freed: RSS stays flat over long loops."""

import gc
import os

import pytest

import etcdc

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _flat(fn, warmup, n, limit_bytes):
    for _ in range(warmup):
        fn()
    gc.collect()
    before = rss()
    for _ in range(n):
        fn()
    gc.collect()
    grown = rss() - before
    assert grown < limit_bytes, "RSS grew by %d KiB over %d calls" % (grown // 1024, n)
    return grown


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_rss_flat_over_20000_gets(client, prefix):
    client.write(prefix + "/k", "x" * 200)
    client.write(prefix + "/d/a", "1")
    client.write(prefix + "/d/b", "2")
    # A leaked response (node, strings, JSON) is >= 300 bytes: 20,000 of them
    # would be over 6 MB.
    _flat(lambda: client.get(prefix + "/k"), 2000, 20000, 2 * 1024 * 1024)
    _flat(lambda: client.read(prefix + "/d", recursive=True), 500, 5000, 1024 * 1024)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_rss_flat_over_errors_and_handles(client, prefix):
    def missing():
        try:
            client.get(prefix + "/missing")
        except etcdc.EtcdKeyNotFound:
            pass

    _flat(missing, 500, 5000, 1024 * 1024)

    def watcher():
        client.eternal_watch(prefix + "/w").close()

    _flat(watcher, 200, 2000, 1024 * 1024)

    def lock():
        client.get_lock("pytest-leak").close()

    _flat(lock, 200, 2000, 1024 * 1024)

    def cluster():
        client.members
        client.leader
        client.machines
        client.version

    _flat(cluster, 100, 1000, 1024 * 1024)

    def clients():
        etcdc.Client(host="127.0.0.1", port=2379).close()

    _flat(clients, 200, 2000, 1024 * 1024)

    def auth_lists():
        # etcdc_strings lists (users, roles, a role's patterns) and the
        # error of a missing user, auth being off on this etcd.
        etcdc.auth.EtcdUser(client, "x").names
        r = etcdc.auth.EtcdRole(client, "root")
        r.names
        r.read()
        try:
            etcdc.auth.EtcdUser(client, "pytest-leak-nobody").read()
        except etcdc.EtcdException:
            pass

    _flat(auth_lists, 100, 1000, 1024 * 1024)

    def tls_clients():
        # A CA file read and a TLS configuration built, then freed.
        etcdc.Client(protocol="https", ca_cert=CA_BUNDLE, username="u", password="p").close()

    if os.path.exists(CA_BUNDLE):
        _flat(tls_clients, 50, 500, 2 * 1024 * 1024)


CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
