"""etcd's auth: python-etcd's username/password and etcd.auth (Auth,
EtcdUser, EtcdRole), against an etcd of their own (auth is global state).

Each test starts with auth off, no user and the default roles, and leaves it
so (the ``ac`` fixture turns auth off and removes users and roles).
"""

import pytest

import etcdc
from etcdc import _lib, auth

ROOT_PW = "r00t-Pa55-7f3a"
READER_PW = "reader-Pa55-91c2"
WRONG_PW = "wrong-Pa55-c0de"
SECRETS = (ROOT_PW, READER_PW, WRONG_PW)


class Clients(object):
    def __init__(self, server):
        self.server = server
        self.anon = self.as_user(None, None)

    def as_user(self, user, password):
        return etcdc.Client(
            host="127.0.0.1", port=self.server.port, username=user, password=password,
            read_timeout=10,
        )

    @property
    def root(self):
        return self.as_user("root", ROOT_PW)

    def enable(self):
        """Creates root and turns auth on; returns root's client."""
        u = auth.EtcdUser(self.anon, "root")
        u.password = ROOT_PW
        u.write()
        auth.Auth(self.anon).active = True
        return self.root

    def lock_out_guest(self, root):
        """Requests without credentials lose the guest role's rights."""
        guest = auth.EtcdRole(root, "guest")
        guest.read()
        guest.revoke("/*", "RW")
        guest.write()

    def reset(self):
        if auth.Auth(self.anon).active:
            auth.Auth(self.root).active = False
        c = self.anon
        for name in auth.EtcdUser(c, "").names:
            auth.EtcdUser(c, name).delete()
        for name in auth.EtcdRole(c, "").names:
            if name != "root":
                # guest too: etcd makes a fresh one (read and write on /*)
                # when auth is next turned on.
                auth.EtcdRole(c, name).delete()
        try:
            c.delete("/app", recursive=True)
        except etcdc.EtcdKeyNotFound:
            pass


@pytest.fixture
def ac(auth_etcd):
    clients = Clients(auth_etcd)
    clients.reset()
    yield clients
    clients.reset()


def test_auth_active_round_trip(ac):
    a = auth.Auth(ac.anon)
    assert a.uri == "/v2/auth/enable"
    assert a.active is False
    a.active = False  # already off: nothing sent (etcd would answer 409)
    with pytest.raises(etcdc.EtcdException) as ei:
        a.active = True  # no user "root" yet
    assert ei.value.status == _lib.ERR_HTTP_STATUS
    root = ac.enable()
    assert a.active is True and auth.Auth(root).active is True
    a.active = True  # already on: nothing sent
    with pytest.raises(etcdc.EtcdInsufficientPermissions):
        a.active = False  # needs root
    assert a.active is True
    auth.Auth(root).active = False
    assert a.active is False


def test_root_can_do_everything(ac):
    root = ac.enable()
    ac.lock_out_guest(root)
    root.write("/app/a", "1")
    root.mkdir("/app/dir")
    assert root.read("/app", recursive=True, sorted=True).leaves
    root.write("/other", "x")
    assert root.read("/other").value == "x"
    root.delete("/other")
    w = root.eternal_watch("/app/a", index=root.read("/app/a").modifiedIndex + 1)
    root.write("/app/a", "2")
    try:
        assert w.next_event(5).value == "2"
    finally:
        w.close()
    assert root.members and root.version and root.health
    assert auth.EtcdUser(root, "root").names == ["root"]
    assert set(auth.EtcdRole(root, "root").names) == {"guest", "root"}
    u = auth.EtcdUser(root, "root")
    u.read()
    assert u.roles == {"root"}
    # ...but not everything etcd forbids:
    with pytest.raises(etcdc.EtcdException):
        auth.EtcdRole(root, "root").delete()  # etcd: 403, the root role


def test_read_only_role(ac):
    root = ac.enable()
    role = auth.EtcdRole(root, "app-reader")
    role.grant("/app/*", "R")
    role.write()
    user = auth.EtcdUser(root, "reader")
    user.password = READER_PW
    user.roles = ["app-reader"]
    user.write()
    ac.lock_out_guest(root)
    root.write("/app/config", "v1")
    root.write("/other", "x")

    reader = ac.as_user("reader", READER_PW)
    assert reader.read("/app/config").value == "v1"
    assert reader.get("/app/config").value == "v1"
    for denied in (
        lambda: reader.write("/app/config", "v2"),
        lambda: reader.delete("/app/config"),
        lambda: reader.write("/app/new", "v"),
        lambda: reader.read("/other"),
        lambda: reader.write("/other", "y"),
        lambda: auth.EtcdUser(reader, "reader").names,
        lambda: auth.EtcdUser(reader, "reader").read(),
        lambda: auth.Auth(reader).__setattr__("active", False),
    ):
        with pytest.raises(etcdc.EtcdInsufficientPermissions) as ei:
            denied()
        assert ei.value.status == _lib.ERR_UNAUTHORIZED
    assert root.read("/app/config").value == "v1"
    # Without credentials: nothing (the guest role lost its rights).
    with pytest.raises(etcdc.EtcdInsufficientPermissions) as ei:
        ac.anon.read("/app/config")
    assert ei.value.etcd_code == 110 and ei.value.payload["errorCode"] == 110
    root.delete("/other")


def test_wrong_password(ac):
    root = ac.enable()
    ac.lock_out_guest(root)
    root.write("/app/k", "v")
    for wrong in (ac.as_user("root", WRONG_PW), ac.as_user("nobody", WRONG_PW)):
        for op in (
            lambda: wrong.read("/app/k"),
            lambda: wrong.write("/app/k", "x"),
            lambda: auth.EtcdUser(wrong, "root").read(),
        ):
            with pytest.raises(etcdc.EtcdInsufficientPermissions) as ei:
                op()
            assert WRONG_PW not in str(ei.value)
    assert root.read("/app/k").value == "v"


def test_credentials_are_attributes(ac):
    """python-etcd's client.username and client.password: read, and set
    (the next request sends them; both, or none)."""
    root = ac.enable()
    ac.lock_out_guest(root)
    root.write("/app/k", "v")
    c = ac.as_user("root", WRONG_PW)
    assert c.username == "root" and c.password == WRONG_PW
    with pytest.raises(etcdc.EtcdInsufficientPermissions):
        c.read("/app/k")
    c.password = ROOT_PW
    assert c.read("/app/k").value == "v"
    c.username = None  # one of the two: no credentials are sent
    with pytest.raises(etcdc.EtcdInsufficientPermissions):
        c.read("/app/k")
    c.username = "root"
    assert c.read("/app/k", timeout=5).value == "v"
    anon = ac.as_user(None, None)
    assert anon.username is None and anon.password is None
    anon.username, anon.password = "root", ROOT_PW
    assert anon.read("/app/k").value == "v"
    root.delete("/app/k")


def test_user_round_trip(ac):
    root = ac.enable()
    for name in ("r1", "r2", "r3"):
        auth.EtcdRole(root, name).write()
    u = auth.EtcdUser(root, "alice")
    assert u.uri == "/v2/auth/users/alice"
    u.password = "alice-pw-1"
    assert u.password is None  # write-only, as python-etcd
    u.roles.add("r1")
    u.roles.add("r2")
    u.write()
    assert u._password is None  # forgotten once sent
    assert sorted(u.names) == ["alice", "root"]

    got = auth.EtcdUser(root, "alice")
    got.read()
    assert got.name == "alice" and got.roles == {"r1", "r2"}
    assert str(got) == '{"user": "alice", "roles": ["r1", "r2"]}'

    # Roles as any iterable: r3 granted, r1 revoked.
    got.roles = ["r2", "r3"]
    got.write()
    again = auth.EtcdUser(root, "alice")
    again.read()
    assert again.roles == {"r2", "r3"}

    # A new password: the old one no longer works.
    ac.lock_out_guest(root)
    root.write("/app/k", "v")
    role = auth.EtcdRole(root, "r3")
    role.grant("/app/*", "R")
    role.write()
    assert ac.as_user("alice", "alice-pw-1").read("/app/k").value == "v"
    again.password = "alice-pw-2"
    again.write()
    assert again.roles == {"r2", "r3"}
    assert ac.as_user("alice", "alice-pw-2").read("/app/k").value == "v"
    with pytest.raises(etcdc.EtcdInsufficientPermissions):
        ac.as_user("alice", "alice-pw-1").read("/app/k")

    # etcd refuses a new user without a password: python-etcd's message.
    with pytest.raises(etcdc.EtcdException) as ei:
        auth.EtcdUser(root, "nopw").write()
    assert str(ei.value).startswith("Could not write user 'nopw': ")

    u.delete()
    assert sorted(u.names) == ["root"]
    with pytest.raises(etcdc.EtcdException):
        u.read()
    with pytest.raises(etcdc.EtcdException):
        u.delete()


def test_user_changes_its_own_password(ac):
    """Root changes root's password with root's client: the write goes
    through although the client's credentials are now stale."""
    root = ac.enable()
    me = auth.EtcdUser(root, "root")
    me.read()
    me.password = ROOT_PW + "-new"
    me.write()
    assert me.roles == {"root"}
    with pytest.raises(etcdc.EtcdInsufficientPermissions):
        auth.EtcdUser(root, "root").read()
    newroot = ac.as_user("root", ROOT_PW + "-new")
    me = auth.EtcdUser(newroot, "root")
    me.read()  # else write() would revoke the role root (the object has none)
    me.password = ROOT_PW
    me.write()
    auth.EtcdUser(ac.root, "root").read()


def test_role_round_trip(ac):
    root = ac.enable()
    r = auth.EtcdRole(root, "test_role")
    assert r.uri == "/v2/auth/roles/test_role"
    r.acls = {"*": "R", "/test/*": "RW", "/w": "W"}
    r.write()
    r1 = auth.EtcdRole(root, "test_role")
    r1.read()
    assert r1.acls == r.acls == {"*": "R", "/test/*": "RW", "/w": "W"}
    assert "test_role" in r1.names
    # python-etcd's own test, step by step.
    r.revoke("/test/*", "W")
    r.write()
    r1.read()
    assert r1.acls == {"*": "R", "/test/*": "R", "/w": "W"}
    r.grant("/pub/*", "rw")
    r.revoke("/w", "RW")
    r.write()
    r1.read()
    assert r1.acls == {"*": "R", "/test/*": "R", "/pub/*": "RW"}
    assert r1.acls["/pub/*"] == "RW"
    assert str(r1).startswith('{"role": "test_role", "acls": ')
    # write() makes etcd's role match the object: a fresh one revokes all.
    auth.EtcdRole(root, "test_role").write()
    r1.read()
    assert r1.acls == {}  # the object written had no acls: all revoked
    r1.name = None
    with pytest.raises(etcdc.EtcdException):
        r1.write()
    r.delete()
    assert "test_role" not in r.names
    with pytest.raises(etcdc.EtcdException):
        r.read()


def test_disable_restores_anonymous_access(ac):
    root = ac.enable()
    ac.lock_out_guest(root)
    root.write("/app/k", "v")
    with pytest.raises(etcdc.EtcdInsufficientPermissions):
        ac.anon.read("/app/k")
    auth.Auth(root).active = False
    assert ac.anon.read("/app/k").value == "v"
    ac.anon.write("/app/k", "w")
    # Users and roles can be managed by anyone again.
    assert "root" in auth.EtcdUser(ac.anon, "root").names


def test_missing_user_or_role_is_key_not_found(ac):
    """As python-etcd: etcd's 404 for a missing user or role (no errorCode)
    is EtcdKeyNotFound, the HTTP status kept in the C error detail."""
    for obj in (auth.EtcdUser(ac.anon, "nobody"), auth.EtcdRole(ac.anon, "nobody")):
        for op in (obj.read, obj.delete):
            with pytest.raises(etcdc.EtcdKeyNotFound) as ei:
                op()
            assert ei.value.status == _lib.ERR_HTTP_STATUS
            assert "nobody" in str(ei.value)
            # etcd's own words (etcdc_error.server_message), as python-etcd's
            # payload has them.
            assert ei.value.payload["status"] == 404
            assert "nobody" in ei.value.payload["message"]
            assert "HTTP" not in ei.value.payload["message"]


def _texts(e):
    """Everything an exception shows: str, repr, args, payload, and the
    same of its cause and context, recursively."""
    out = [str(e), repr(e), repr(e.args), repr(getattr(e, "payload", None))]
    for inner in (e.__cause__, e.__context__, getattr(e, "cause", None)):
        if isinstance(inner, BaseException):
            out.extend(_texts(inner))
    return out


def test_password_in_no_exception_text(ac, tls_etcd, pki):
    from test_errors import _free_port

    errors = []

    def collect(fn):
        try:
            fn()
        except etcdc.EtcdException as e:
            errors.append(e)
        else:
            raise AssertionError("expected a failure")

    root = ac.enable()
    ac.lock_out_guest(root)
    wrong = ac.as_user("root", WRONG_PW)
    collect(lambda: wrong.read("/app/k"))
    collect(lambda: wrong.write("/app/k", "v"))
    collect(lambda: wrong.watch("/app/k", timeout=1))
    collect(lambda: wrong.get_lock("l").acquire(timeout=1))
    collect(lambda: auth.Auth(wrong).__setattr__("active", False))
    collect(lambda: auth.EtcdUser(wrong, "x").names)
    u = auth.EtcdUser(wrong, "reader")
    u.password = READER_PW
    collect(u.write)  # the password it would have set
    u = auth.EtcdUser(root, "re/ader")  # a name etcdc refuses
    u.password = READER_PW
    collect(u.write)
    # Other failures of clients that hold credentials.
    dead = etcdc.Client(port=_free_port(), username="root", password=ROOT_PW, read_timeout=2)
    collect(lambda: dead.read("/"))
    collect(lambda: etcdc.Client(protocol="https", ca_cert="/nonexistent.pem",
                                 username="root", password=ROOT_PW))
    tls = etcdc.Client(port=tls_etcd.port, protocol="https", ca_cert=pki.pem("other_ca"),
                       username="root", password=ROOT_PW, read_timeout=5)
    collect(lambda: tls.read("/"))
    collect(lambda: etcdc.Client(username="root", password=ROOT_PW + "\0"))
    auth.Auth(root).active = False

    assert len(errors) == 12
    for e in errors:
        for text in _texts(e):
            for secret in SECRETS:
                assert secret not in text, (type(e).__name__, text)
    # Nor in the repr of clients and auth objects.
    u = auth.EtcdUser(root, "reader")
    u.password = READER_PW
    for obj in (root, wrong, tls, u, auth.EtcdRole(root, "r"), auth.Auth(root)):
        for text in (repr(obj), str(obj)):
            for secret in SECRETS:
                assert secret not in text
