"""etcdc.auth: python-etcd's ``etcd.auth`` (etcd's v2 auth API) over libetcdc.

    from etcdc import auth

    root = auth.EtcdUser(client, 'root')
    root.password = 'secret'
    root.write()                          # creates the user "root"
    auth.Auth(client).active = True      # auth on: needs the user "root"

    admin = etcdc.Client(..., username='root', password='secret')
    role = auth.EtcdRole(admin, 'app-reader')
    role.grant('/app/*', 'R')            # 'R', 'W' or 'RW'
    role.write()
    user = auth.EtcdUser(admin, 'reader')
    user.password = 'reader-pw'
    user.roles = ['app-reader']
    user.write()

``EtcdUser`` and ``EtcdRole`` are local objects: ``read()`` fills them from
etcd, ``write()`` makes etcd match them (creating the user or role if
needed), ``delete()`` removes them. Managing users and roles needs the root
role once auth is on; without it they raise EtcdInsufficientPermissions.
Other failures of ``read``/``write``/``delete`` raise EtcdException, as in
python-etcd, with etcdc's ``status`` and ``etcd_code`` of the underlying
failure (which is also the exception's ``__cause__``).
"""

import ctypes
import json

from . import _lib
from .client import _utf8
from .exceptions import (
    EtcdException,
    EtcdInsufficientPermissions,
    EtcdInvalidArgument,
    EtcdKeyNotFound,
)


def _name(name, what):
    if name is None:
        raise EtcdInvalidArgument("the %s has no name" % what)
    return _utf8(name, "the %s name" % what)


def _array(items, what):
    items = [_name(i, what) for i in items]
    return (ctypes.c_char_p * len(items))(*items), len(items)


def _strings(client, fn, *args):
    """Calls a function that answers with an etcdc_strings list."""
    out = _lib.strings_p()
    client._call(fn, *(args + (ctypes.byref(out),)))
    return _lib.take_strings(client._lib, out.value)


def _wrapped(e, message):
    """python-etcd's generic EtcdException for a failed auth operation,
    keeping etcdc's detail of the failure."""
    w = EtcdException("%s: %s" % (message, e), getattr(e, "payload", None))
    w.status = getattr(e, "status", None)
    w.etcd_code = getattr(e, "etcd_code", None)
    return w


class EtcdAuthBase(object):
    """What users and roles share: ``client``, ``name``, ``uri``, ``names``,
    ``read()``, ``write()``, ``delete()``."""

    entity = "example"

    def __init__(self, client, name):
        self.client = client
        self.name = name
        self.uri = "{}/auth/{}s/{}".format(self.client.version_prefix, self.entity, self.name)

    @property
    def names(self):
        """The names of all users (of all roles, for EtcdRole)."""
        return _strings(self.client, self._list_fn())

    def read(self):
        """Fills this object from etcd."""
        try:
            self._read()
        except (EtcdInsufficientPermissions, EtcdKeyNotFound):
            raise
        except EtcdException as e:
            raise _wrapped(e, "Could not fetch {} '{}'".format(self.entity, self.name)) from e

    def write(self):
        """Makes etcd's user (role) match this object, creating it if it
        does not exist."""
        try:
            self._write()
        except EtcdInsufficientPermissions:
            raise
        except EtcdException as e:
            raise _wrapped(e, "Could not write {} '{}'".format(self.entity, self.name)) from e

    def delete(self):
        """Deletes the user (role) from etcd."""
        try:
            self.client._call(self._delete_fn(), _name(self.name, self.entity))
        except (EtcdInsufficientPermissions, EtcdKeyNotFound):
            raise
        except EtcdException as e:
            raise _wrapped(e, "Could not delete {} '{}'".format(self.entity, self.name)) from e

    def _exists(self, name):
        """Whether etcd has this user (role), from the list of all: etcdc
        does not tell a missing one (etcd's 404) from other failures."""
        return name.decode("utf-8", "replace") in self.names


class EtcdUser(EtcdAuthBase):
    """An etcd user: ``name``, ``roles`` (a set of role names; assigning any
    iterable works) and a write-only ``password`` (reads as None; sent by
    the next ``write()``, then forgotten even if the write fails)."""

    entity = "user"

    def __init__(self, client, name):
        super(EtcdUser, self).__init__(client, name)
        self._roles = set()
        self._password = None

    def _list_fn(self):
        return self.client._lib.etcdc_users

    def _delete_fn(self):
        return self.client._lib.etcdc_user_delete

    def _read(self):
        lib = self.client._lib
        self.roles = _strings(self.client, lib.etcdc_user_get, _name(self.name, "user"))

    def _write(self):
        lib = self.client._lib
        # As python-etcd: the password is forgotten before anything is sent,
        # so that it does not stay around even if the write fails.
        password, self._password = self._password, None
        name = _name(self.name, "user")
        if self._exists(name):
            old = set(_strings(self.client, lib.etcdc_user_get, name))
            if password:
                self.client._call(lib.etcdc_user_set, name, _password(password))
        else:
            # etcd refuses to create a user without a password.
            self.client._call(lib.etcdc_user_set, name, _password(password or ""))
            old = set()
        grant = sorted(self._roles - old)
        revoke = sorted(old - self._roles)
        if grant:
            self.client._call(lib.etcdc_user_grant_roles, name, *_array(grant, "role"))
        if revoke:
            self.client._call(lib.etcdc_user_revoke_roles, name, *_array(revoke, "role"))
        # As python-etcd, which takes the user from etcd's answer: etcd may
        # add roles of its own (the user "root" gets the role "root").
        try:
            self._read()
        except EtcdInsufficientPermissions:
            # The client's own password just changed: its credentials are
            # stale, but the write went through.
            if not (password and self.name == self.client.username):
                raise

    @property
    def roles(self):
        return self._roles

    @roles.setter
    def roles(self, val):
        self._roles = set(val)

    @property
    def password(self):
        """Write-only: always None."""
        return None

    @password.setter
    def password(self, new_password):
        """Sets the password the next ``write()`` sends."""
        self._password = new_password

    def __str__(self):
        # python-etcd shows the pending password here; etcdc never does.
        return json.dumps({"user": self.name, "roles": sorted(self.roles)})

    def __repr__(self):
        return "<etcdc.auth.EtcdUser %r roles=%r>" % (self.name, sorted(self.roles))


def _password(p):
    if isinstance(p, bytes):
        b = p
    else:
        b = str(p).encode("utf-8")
    if b"\0" in b:
        raise EtcdInvalidArgument("the password contains a NUL byte")
    return b


def _permission(read, write):
    if read and write:
        return _lib.PERM_READWRITE
    return _lib.PERM_READ if read else _lib.PERM_WRITE


class EtcdRole(EtcdAuthBase):
    """An etcd role: ``name`` and the key patterns it may read and write,
    as ``acls`` (``{pattern: 'R' | 'W' | 'RW'}``), changed locally by
    ``grant(pattern, permission)`` / ``revoke(pattern, permission)`` or by
    assigning ``acls``, and sent by ``write()``. A pattern ending in ``*``
    covers every key that starts with what comes before it."""

    entity = "role"

    def __init__(self, client, name):
        super(EtcdRole, self).__init__(client, name)
        self._read_paths = set()
        self._write_paths = set()

    def _list_fn(self):
        return self.client._lib.etcdc_roles

    def _delete_fn(self):
        return self.client._lib.etcdc_role_delete

    def _get(self, name):
        lib = self.client._lib
        read = _lib.strings_p()
        write = _lib.strings_p()
        try:
            self.client._call(lib.etcdc_role_get, name, ctypes.byref(read), ctypes.byref(write))
        finally:
            r = _lib.take_strings(lib, read.value)
            w = _lib.take_strings(lib, write.value)
        return set(r), set(w)

    def _read(self):
        self._read_paths, self._write_paths = self._get(_name(self.name, "role"))

    def _change(self, fn, name, read, write):
        """Grants (revokes) read on `read` and write on `write`: one call per
        distinct permission."""
        both = read & write
        for paths, perm in (
            (both, _lib.PERM_READWRITE),
            (read - both, _lib.PERM_READ),
            (write - both, _lib.PERM_WRITE),
        ):
            if paths:
                self.client._call(fn, name, perm, *_array(sorted(paths), "pattern"))

    def _write(self):
        lib = self.client._lib
        name = _name(self.name, "role")
        if self._exists(name):
            old_read, old_write = self._get(name)
        else:
            self.client._call(lib.etcdc_role_create, name)
            old_read, old_write = set(), set()
        # Revokes first, then grants, as python-etcd.
        self._change(
            lib.etcdc_role_revoke, name, old_read - self._read_paths, old_write - self._write_paths
        )
        self._change(
            lib.etcdc_role_grant, name, self._read_paths - old_read, self._write_paths - old_write
        )

    def grant(self, path, permission):
        """Adds read ('R'), write ('W') or both ('RW') on ``path``; sent by
        the next ``write()``."""
        if permission.upper().find("R") >= 0:
            self._read_paths.add(path)
        if permission.upper().find("W") >= 0:
            self._write_paths.add(path)

    def revoke(self, path, permission):
        """Removes read ('R'), write ('W') or both ('RW') on ``path``; sent
        by the next ``write()``."""
        if permission.upper().find("R") >= 0 and path in self._read_paths:
            self._read_paths.remove(path)
        if permission.upper().find("W") >= 0 and path in self._write_paths:
            self._write_paths.remove(path)

    @property
    def acls(self):
        """``{pattern: 'R' | 'W' | 'RW'}``."""
        perms = {}
        for path in self._read_paths:
            perms[path] = "R"
        for path in self._write_paths:
            if path in perms:
                perms[path] += "W"
            else:
                perms[path] = "W"
        return perms

    @acls.setter
    def acls(self, acls):
        self._read_paths = set()
        self._write_paths = set()
        for path, permission in acls.items():
            self.grant(path, permission)

    def __str__(self):
        return json.dumps({"role": self.name, "acls": self.acls})

    def __repr__(self):
        return "<etcdc.auth.EtcdRole %r acls=%r>" % (self.name, self.acls)


class Auth(object):
    """etcd's auth switch: ``active`` (True when auth is on). Setting it
    turns auth on (the user "root" must exist) or off (needs root's
    credentials); setting the value it already has does nothing."""

    def __init__(self, client):
        self.client = client
        self.uri = "{}/auth/enable".format(self.client.version_prefix)

    @property
    def active(self):
        enabled = ctypes.c_bool()
        self.client._call(self.client._lib.etcdc_auth_enabled, ctypes.byref(enabled))
        return bool(enabled.value)

    @active.setter
    def active(self, value):
        if value != self.active:
            lib = self.client._lib
            self.client._call(lib.etcdc_auth_enable if value else lib.etcdc_auth_disable)
