"""TLS: python-etcd's protocol='https', cert and ca_cert, against an etcd of
its own that speaks https only and wants a client certificate
(--client-cert-auth). Its certificate names IP:127.0.0.1 only, so
https://localhost is a host-name mismatch.

python-etcd 0.4.5 (with a current urllib3) verifies the server's
certificate and host name, against ca_cert or else the system's store, and
raises EtcdConnectionFailed for every SSL failure; so does etcdc, with the
reason in ``status``.
"""

import time

import pytest

import etcdc
from etcdc import _lib


def https(tls_etcd, host="127.0.0.1", **kw):
    kw.setdefault("read_timeout", 10)
    return etcdc.Client(host=host, port=tls_etcd.port, protocol="https", **kw)


def refused(client, status):
    """Reads and writes both fail with EtcdConnectionFailed and `status`,
    promptly."""
    for op in (lambda: client.read("/"), lambda: client.write("/pytest-tls/refused", "v")):
        t = time.monotonic()
        with pytest.raises(etcdc.EtcdConnectionFailed) as ei:
            op()
        assert time.monotonic() - t < 5
        # A write refused at the handshake was never sent: not ambiguous.
        assert type(ei.value) is etcdc.EtcdConnectionFailed
        assert ei.value.status == status, str(ei.value)
        assert ei.value.payload is None
    return ei.value


def test_right_ca_and_client_cert(tls_etcd, pki):
    c = https(tls_etcd, ca_cert=pki.pem("ca"), cert=(pki.pem("client"), pki.key("client")))
    assert c.protocol == "https" and c.base_uri == tls_etcd.url
    first = c.write("/pytest-tls/k", "v")
    assert c.read("/pytest-tls/k").value == "v"
    assert c.machines == [tls_etcd.url]
    # A watch over its own https connection.
    w = c.eternal_watch("/pytest-tls/k", index=first.modifiedIndex + 1)
    c.write("/pytest-tls/k", "v2")
    try:
        assert w.next_event(5).value == "v2"
    finally:
        w.close()
    c.delete("/pytest-tls", recursive=True)


def test_combined_cert_file(tls_etcd, pki):
    """python-etcd's cert='one file' holding the certificate and its key."""
    c = https(tls_etcd, ca_cert=pki.pem("ca"), cert=pki.combined)
    assert c.read("/").dir


def test_host_tuple_https(tls_etcd, pki):
    c = etcdc.Client(
        host=(("127.0.0.1", tls_etcd.port),),
        allow_reconnect=True,  # python-etcd refuses a tuple without it
        protocol="https",
        ca_cert=pki.pem("ca"),
        cert=(pki.pem("client"), pki.key("client")),
    )
    assert c.base_uri == tls_etcd.url
    assert c.read("/").dir


def test_missing_client_cert(tls_etcd, pki):
    refused(https(tls_etcd, ca_cert=pki.pem("ca")), _lib.ERR_TLS_CLIENT_CERT)


def test_client_cert_of_another_ca(tls_etcd, pki):
    c = https(tls_etcd, ca_cert=pki.pem("ca"),
              cert=(pki.pem("other_client"), pki.key("other_client")))
    refused(c, _lib.ERR_TLS_CLIENT_CERT)


def test_wrong_ca(tls_etcd, pki):
    c = https(tls_etcd, ca_cert=pki.pem("other_ca"),
              cert=(pki.pem("client"), pki.key("client")))
    e = refused(c, _lib.ERR_TLS_UNTRUSTED)
    assert "untrusted" in str(e)


def test_no_ca_cert_is_the_system_store(tls_etcd, pki):
    """Without ca_cert, python-etcd (urllib3) verifies against the system's
    store, which does not know the test CA; so does etcdc."""
    refused(https(tls_etcd, cert=(pki.pem("client"), pki.key("client"))), _lib.ERR_TLS_UNTRUSTED)


def test_host_name_mismatch(tls_etcd, pki):
    c = https(tls_etcd, host="localhost", ca_cert=pki.pem("ca"),
              cert=(pki.pem("client"), pki.key("client")))
    e = refused(c, _lib.ERR_TLS_HOSTNAME)
    assert "localhost" in str(e)


def test_insecure_skip_verify(tls_etcd, pki):
    """etcdc's own option: any server certificate, any name (the client
    certificate is still needed)."""
    c = https(tls_etcd, host="localhost", ca_cert=pki.pem("other_ca"),
              cert=(pki.pem("client"), pki.key("client")), insecure_skip_verify=True)
    assert c.read("/").dir
    # Without a client certificate etcd still refuses. (etcdc does not
    # always tell why then: a write may come back as EtcdAmbiguousOutcome,
    # a broken pipe, instead of status 1019; see the README.)
    c = https(tls_etcd, host="localhost", insecure_skip_verify=True)
    with pytest.raises(etcdc.EtcdConnectionFailed):
        c.read("/")
    with pytest.raises(etcdc.EtcdConnectionFailed):
        c.write("/pytest-tls/insecure", "v")


def test_http_to_https_port(tls_etcd, pki):
    c = etcdc.Client(host="127.0.0.1", port=tls_etcd.port, read_timeout=5)
    with pytest.raises(etcdc.EtcdConnectionFailed):
        c.read("/")


def test_https_to_http_port(host_port, pki):
    c = etcdc.Client(host=host_port[0], port=host_port[1], protocol="https",
                     ca_cert=pki.pem("ca"), read_timeout=5)
    with pytest.raises(etcdc.EtcdConnectionFailed) as ei:
        c.read("/")
    assert ei.value.status == _lib.ERR_TLS


def test_unusable_files_refused_at_construction(pki):
    with pytest.raises(etcdc.EtcdInvalidArgument) as ei:
        etcdc.Client(protocol="https", ca_cert="/nonexistent/ca.pem")
    assert "/nonexistent/ca.pem" in str(ei.value)
    with pytest.raises(etcdc.EtcdInvalidArgument) as ei:
        etcdc.Client(protocol="https", cert=pki.pem("client"))  # no key in it
    assert pki.pem("client") in str(ei.value)
    with pytest.raises(etcdc.EtcdInvalidArgument):
        etcdc.Client(protocol="https", cert=(pki.pem("client"), pki.key("other_client")))
    with pytest.raises(etcdc.EtcdInvalidArgument):
        etcdc.Client(protocol="https", cert=(pki.pem("client"),))


def test_basic_auth_over_tls(tls_etcd, pki):
    """Credentials and a client certificate together: root turns auth on and
    off over https (this etcd's auth is back off when the test ends)."""
    from etcdc import auth

    tls = dict(ca_cert=pki.pem("ca"), cert=(pki.pem("client"), pki.key("client")))
    anon = https(tls_etcd, **tls)
    root_user = auth.EtcdUser(anon, "root")
    root_user.password = "tls-root-pw"
    root_user.write()
    root = https(tls_etcd, username="root", password="tls-root-pw", **tls)
    wrong = https(tls_etcd, username="root", password="not-it", **tls)
    auth.Auth(anon).active = True
    try:
        guest = auth.EtcdRole(root, "guest")
        guest.read()
        guest.revoke("/*", "RW")
        guest.write()
        root.write("/pytest-tls-auth", "v")
        assert root.read("/pytest-tls-auth").value == "v"
        with pytest.raises(etcdc.EtcdInsufficientPermissions):
            anon.read("/pytest-tls-auth")
        with pytest.raises(etcdc.EtcdInsufficientPermissions) as ei:
            wrong.read("/pytest-tls-auth")
        assert "not-it" not in str(ei.value)
    finally:
        auth.Auth(root).active = False
    assert anon.read("/pytest-tls-auth").value == "v"
    anon.delete("/pytest-tls-auth")
    auth.EtcdUser(anon, "root").delete()
