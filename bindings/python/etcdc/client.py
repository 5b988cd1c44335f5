"""etcdc.Client: python-etcd's Client over libetcdc."""

import collections.abc
import ctypes
import json
import os
import threading
import time
import warnings

from . import _lib
from ._handle import Handle
from .exceptions import (
    EtcdCancelled,
    EtcdException,
    EtcdInvalidArgument,
    EtcdKeyNotFound,
    EtcdWatchTimedOut,
    from_status,
)
from .result import take_response

# A blocking call in C delays Python's signal handlers (Ctrl-C) until it
# returns. Watches on the main thread, where those handlers run, are
# therefore polled in slices of this many milliseconds; the watcher resumes
# at the right index, so no event is missed or repeated between slices.
MAIN_THREAD_SLICE_MS = 1000

# read_timeout=0 or None means no timeout (python-etcd); etcdc's 0 is its
# default, so "none" is a very long time (Client._read_timeout_ms).
_FOREVER_MS = 10 * 365 * 24 * 3600 * 1000

# etcdc's rule for every wait (timeout_ms): negative no limit, 0 do not
# wait, positive at most that long.
_NO_LIMIT = -1


def _ms(seconds):
    """Seconds (int or float, > 0) as whole milliseconds, at least 1."""
    return max(1, int(round(float(seconds) * 1000)))


def _utf8(s, what):
    if isinstance(s, bytes):
        b = s
    else:
        b = str(s).encode("utf-8")
    if b"\0" in b:
        raise EtcdInvalidArgument("%s contains a NUL byte, which etcdc cannot send" % what)
    return b


def _path(p, what):
    """A file name (str, bytes or os.PathLike) as bytes."""
    p = os.fspath(p)
    if isinstance(p, str):
        p = os.fsencode(p)
    return _utf8(p, what)


def _key(key):
    if isinstance(key, bytes):
        key = key.decode("utf-8")
    key = str(key)
    if not key.startswith("/"):
        key = "/" + key
    return _utf8(key, "the key")


def _value(value):
    """python-etcd sends str(value); None is no value (etcd stores "")."""
    if value is None:
        return b""
    return _utf8(value, "the value")


def _ttl(ttl):
    if ttl is None:
        return 0
    ttl = int(ttl)
    if ttl < 0:
        raise EtcdInvalidArgument("ttl must not be negative")
    return ttl


def _on_main_thread():
    return threading.current_thread() is threading.main_thread()


def _member_dict(m):
    m = m.contents
    return {
        "id": m.id.decode("utf-8"),
        "name": m.name.decode("utf-8"),
        "peerURLs": [m.peer_urls[i].decode("utf-8") for i in range(m.peer_url_count)],
        "clientURLs": [m.client_urls[i].decode("utf-8") for i in range(m.client_url_count)],
    }


def _take_members(lib, lst):
    try:
        return [
            _member_dict(lib.etcdc_member_list_get(lst, i))
            for i in range(lib.etcdc_member_list_count(lst))
        ]
    finally:
        lib.etcdc_member_list_free(lst)


class Client(object):
    """A client of etcd's v2 API, with python-etcd's interface.

    Arguments are python-etcd's, in its order, with its defaults (port
    4001: pass ``port=2379`` for etcd's own). ``host`` is a host name, or,
    with ``allow_reconnect=True`` (python-etcd raises EtcdException
    otherwise), a tuple of ``(host, port)`` tuples: the members to fail over
    between. ``allow_reconnect`` learns the cluster's members from
    ``/v2/members``.
    ``per_host_pool_size`` and ``assert_hostname`` are accepted and ignored.

    ``srv_domain`` finds the members in DNS (etcd's ``--discovery-srv``):
    the targets of the SRV records ``_etcd-client-ssl._tcp.<srv_domain>``
    (https) and ``_etcd-client._tcp.<srv_domain>`` (http), which replace
    ``host``, ``port`` and ``protocol`` (python-etcd asked the older
    ``_etcd._tcp`` name). They are looked up here, waiting at most
    ``connect_timeout``: no records raises EtcdConnectionFailed naming the
    domain, no answer EtcdTimeout. When every member later fails, a request
    looks them up again once. ``dns_server`` (etcdc's own, e.g.
    ``"127.0.0.1:5353"``) is the DNS server to ask; default: the first
    ``nameserver`` of /etc/resolv.conf.

    TLS, as python-etcd with a current urllib3: ``protocol='https'``;
    ``ca_cert`` a PEM file of the CAs to trust (default: the system's
    store); ``cert`` the client certificate, either a ``(cert_file,
    key_file)`` tuple or one PEM file holding both. The server's certificate
    and host name are always verified; a failure raises
    EtcdConnectionFailed (``status`` says which: 1017 untrusted, 1018 host
    name, 1019 client certificate refused, 1020 other). Unreadable or
    mismatched files raise EtcdInvalidArgument here.

    ``username`` and ``password`` (both, or neither is sent, as python-etcd)
    are sent with every request (HTTP basic auth); they are also attributes,
    which may be set. The password is never shown in an exception or repr.
    A 401 raises EtcdInsufficientPermissions.

    etcdc's own options: ``connect_timeout`` (seconds, default 5),
    ``max_response_bytes`` (default 256 MiB), ``lock_prefix`` (where
    ``get_lock`` keeps its keys, default ``/_locks``),
    ``insecure_skip_verify`` (**insecure, for testing only**: accept any
    server certificate, whoever signed it and whatever name it carries).

    A client may be shared by any number of threads. ``close()`` (or the
    client going away) frees it.
    """

    def __init__(
        self,
        host="127.0.0.1",
        port=4001,
        srv_domain=None,
        version_prefix="/v2",
        read_timeout=60,
        allow_redirect=True,
        protocol="http",
        cert=None,
        ca_cert=None,
        assert_hostname=False,
        username=None,
        password=None,
        allow_reconnect=False,
        use_proxies=False,
        expected_cluster_id=None,
        per_host_pool_size=10,
        connect_timeout=None,
        max_response_bytes=None,
        lock_prefix="/_locks",
        insecure_skip_verify=False,
        dns_server=None,
    ):
        self._h = None
        self._timed = {}  # read(timeout=...): {read_timeout_ms: Handle}
        self._timed_lock = threading.Lock()
        self._seen_cluster_id = None
        lib = _lib.load()
        self._lib = lib
        self._protocol = protocol
        self._read_timeout = read_timeout
        self._allow_redirect = allow_redirect
        self._allow_reconnect = allow_reconnect
        self._use_proxies = use_proxies
        self.version_prefix = version_prefix
        self.expected_cluster_id = expected_cluster_id
        self.lock_prefix = lock_prefix
        self._election = None

        # Everything etcdc_client_new needs, kept so that a client with other
        # credentials (``username``/``password`` set later) or another
        # timeout (``read(timeout=...)``) can be made alike.
        cfg = self._cfg = {
            "srv_domain": srv_domain,
            "dns_server": dns_server,
            "endpoints": None,
            "host": host,
            "port": port,
            "protocol": protocol,
            "connect_timeout": connect_timeout,
            "version_prefix": version_prefix,
            "allow_redirect": allow_redirect,
            "max_response_bytes": max_response_bytes,
            "discover": bool(allow_reconnect and not use_proxies),
            "ca_cert": ca_cert,
            "cert": cert,
            "insecure_skip_verify": insecure_skip_verify,
        }
        if srv_domain is not None:
            self._machines_cache = []  # what the records name, below
        elif isinstance(host, (tuple, list)):
            if isinstance(host, tuple) and not allow_reconnect:
                # python-etcd refuses a tuple of hosts without it.
                raise EtcdException(
                    "A list of hosts to connect to was given, but reconnection not allowed?"
                )
            urls = []
            for h in host:
                if isinstance(h, (tuple, list)):
                    name, p = h
                    name = str(name)
                    if ":" in name and not name.startswith("["):
                        name = "[%s]" % name  # IPv6 literal
                    urls.append("%s://%s:%d" % (protocol, name, int(p)))
                else:
                    urls.append(str(h))  # a URL
            if not urls:
                raise EtcdException("no host given")
            cfg["endpoints"] = urls
            self._machines_cache = urls
        else:
            h = str(host)
            if ":" in h and not h.startswith("["):
                h = "[%s]" % h
            self._machines_cache = ["%s://%s:%d" % (protocol, h, int(port))]

        # python-etcd's plain attributes: both, or neither is sent.
        self._username = self._password = None
        if username and password:
            self._username, self._password = username, password
        elif username or password:
            # python-etcd logs this and sends no credentials.
            warnings.warn(
                "%s provided without %s, both are required for "
                "authentication: no credentials are sent"
                % (("username", "password") if username else ("password", "username")),
                stacklevel=2,
            )
        self._h = self._open(self._read_timeout_ms(read_timeout), expected_cluster_id)
        if srv_domain is not None:
            self._machines_cache = self._endpoints()
            self._protocol = self._machines_cache[0].split("://", 1)[0]

    @staticmethod
    def _read_timeout_ms(read_timeout):
        # read_timeout=0 or None means no timeout (python-etcd); etcdc's 0
        # is its default, so "none" is a very long time.
        if read_timeout is None or read_timeout <= 0:
            return _FOREVER_MS
        return _ms(read_timeout)

    def _open(self, read_timeout_ms, expected_cluster_id, endpoints=None):
        """A new C client (a Handle) with this client's settings, its
        credentials, ``read_timeout_ms``, and ``endpoints`` (URLs, no
        discovery) when given."""
        lib = self._lib
        cfg = self._cfg
        opts = _lib.options(lib, _lib.ClientOptions)
        keep = []  # byte strings that must live until etcdc_client_new returns

        def c(s):
            b = _utf8(s, "an option")
            keep.append(b)
            return b

        urls = endpoints or cfg["endpoints"]
        if endpoints is None and cfg["srv_domain"] is not None:
            opts.srv_domain = c(cfg["srv_domain"])
            if cfg["dns_server"] is not None:
                opts.dns_server = c(cfg["dns_server"])
        elif urls:
            arr = (ctypes.c_char_p * len(urls))(*[c(u) for u in urls])
            keep.append(arr)
            opts.endpoints = arr
            opts.endpoint_count = len(urls)
        else:
            opts.host = c(cfg["host"])
            opts.port = int(cfg["port"])
            opts.protocol = c(cfg["protocol"])
        opts.read_timeout_ms = read_timeout_ms
        if cfg["connect_timeout"] is not None:
            opts.connect_timeout_ms = _ms(cfg["connect_timeout"])
        opts.version_prefix = c(cfg["version_prefix"])
        opts.no_redirect = not cfg["allow_redirect"]
        if cfg["max_response_bytes"]:
            opts.max_response_bytes = int(cfg["max_response_bytes"])
        opts.discover = cfg["discover"] and endpoints is None
        if expected_cluster_id:
            opts.expected_cluster_id = c(expected_cluster_id)
        ca_cert, cert = cfg["ca_cert"], cfg["cert"]
        if ca_cert:
            opts.ca_file = c(_path(ca_cert, "ca_cert"))
        if cert:
            if isinstance(cert, (tuple, list)):
                if len(cert) != 2:
                    raise EtcdInvalidArgument("cert must be a path or a (cert, key) tuple")
                opts.cert_file = c(_path(cert[0], "cert"))
                opts.key_file = c(_path(cert[1], "cert's key"))
            else:
                # python-etcd's "combined certificate": one PEM file with the
                # certificate (chain) and its key; etcdc takes the
                # certificates from it as cert_file and the key as key_file.
                opts.cert_file = opts.key_file = c(_path(cert, "cert"))
        opts.insecure_skip_verify = bool(cfg["insecure_skip_verify"])
        if self._username and self._password:
            opts.username = c(_utf8(self._username, "the username"))
            opts.password = c(_utf8(self._password, "the password"))

        out = _lib.client_p()
        status = lib.etcdc_client_new(ctypes.byref(opts), ctypes.byref(out))
        if status:
            raise from_status(lib, status)
        return Handle(out.value, lib.etcdc_client_free, "client")

    def _endpoints(self, h=None):
        """The endpoints the C client uses now (discovered ones included)."""
        found = _lib.strings_p()
        self._call(self._lib.etcdc_client_endpoints, ctypes.byref(found), h=h)
        return _lib.take_strings(self._lib, found.value)

    def _reopen(self):
        """Replaces the C client (and drops the per-timeout ones) after the
        credentials changed. Calls under way finish on the old one."""
        if self._h is None or self._h.closed:
            return
        endpoints = self._endpoints()
        new = self._open(
            self._read_timeout_ms(self._read_timeout),
            self.expected_cluster_id or self._seen_cluster_id,
            endpoints,
        )
        old, self._h = self._h, new
        old.close()
        self._drop_timed()

    def _drop_timed(self):
        with self._timed_lock:
            timed, self._timed = self._timed, {}
        for h in timed.values():
            h.close()

    def _timed_handle(self, timeout):
        """The C client for requests with ``timeout`` (python-etcd's
        per-request timeout; etcdc's is per client): made on first use, with
        this client's current endpoints and the cluster ID it has seen."""
        ms = self._read_timeout_ms(timeout)
        if ms == self._read_timeout_ms(self._read_timeout):
            return None
        with self._timed_lock:
            h = self._timed.get(ms)
            if h is not None and not h.closed:
                return h
        h = self._open(
            ms, self.expected_cluster_id or self._seen_cluster_id, self._endpoints()
        )
        with self._timed_lock:
            if len(self._timed) >= 4:  # a few timeouts are kept, not one per value
                for old in self._timed.values():
                    old.close()
                self._timed = {}
            other = self._timed.setdefault(ms, h)
        if other is not h:
            h.close()
        return other

    # -- lifetime --------------------------------------------------------

    def close(self):
        """Frees the client (once no thread is inside a call). Results,
        locks and watchers obtained from it stay valid."""
        if self._h is not None:
            self._h.close()
            self._drop_timed()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- calls -----------------------------------------------------------

    def _call(self, fn, *args, h=None):
        """Calls fn(client, *args) on this client's C client (or ``h``);
        raises the exception for its status."""
        h = h or self._h
        ptr = h.enter()
        try:
            status = fn(ptr, *args)
            if status:
                raise from_status(self._lib, status)
        finally:
            h.leave()

    def _keys(self, fn, *args, h=None, event=False):
        """A keys call that answers with a response: its EtcdResult."""
        out = _lib.response_p()
        self._call(fn, *(args + (ctypes.byref(out),)), h=h)
        result = take_response(self._lib, out.value, event=event)
        if result.cluster_id:
            self._seen_cluster_id = result.cluster_id
        return result

    def _string(self, fn, *args):
        out = _lib.owned_str_p()
        self._call(fn, *(args + (ctypes.byref(out),)))
        return _lib.take_string(self._lib, out.value)

    # -- python-etcd's properties ----------------------------------------

    @property
    def base_uri(self):
        """URI of the first endpoint."""
        return self._machines_cache[0]

    @property
    def host(self):
        return self.base_uri.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")

    @property
    def port(self):
        return int(self.base_uri.rsplit(":", 1)[1])

    @property
    def protocol(self):
        return self._protocol

    @property
    def username(self):
        """The user name sent with every request, or None (python-etcd's
        attribute). Credentials are sent when both ``username`` and
        ``password`` are set; setting either takes effect for the next
        request."""
        return self._username

    @username.setter
    def username(self, value):
        self._username = value
        self._reopen()

    @property
    def password(self):
        """The password sent with every request, or None (python-etcd's
        attribute; never shown in a repr or an exception)."""
        return self._password

    @password.setter
    def password(self, value):
        self._password = value
        self._reopen()

    @property
    def read_timeout(self):
        return self._read_timeout

    @property
    def allow_redirect(self):
        return self._allow_redirect

    @property
    def allow_reconnect(self):
        return self._allow_reconnect

    @property
    def key_endpoint(self):
        return self.version_prefix + "/keys"

    def __contains__(self, key):
        try:
            self.get(key)
            return True
        except EtcdKeyNotFound:
            return False

    # -- keys ------------------------------------------------------------

    def write(
        self,
        key,
        value,
        ttl=None,
        dir=False,
        append=False,
        prevValue=None,
        prevIndex=None,
        prevExist=None,
        refresh=False,
        **kwdargs
    ):
        """Writes ``value`` at ``key`` (python-etcd's ``write``).

        ``ttl`` seconds to live; ``dir`` a directory; ``append`` an in-order
        key under the directory ``key``; ``prevValue`` / ``prevIndex`` /
        ``prevExist`` the compare-and-swap conditions; ``refresh`` resets the
        TTL of an existing key without notifying watchers (needs ``ttl``).
        """
        if "prevExists" in kwdargs and prevExist is None:
            # The spelling of python-etcd's README, which python-etcd ignores.
            prevExist = kwdargs.pop("prevExists")
        for k in kwdargs:
            warnings.warn("etcdc.Client.write: ignoring unknown argument %r" % k, stacklevel=2)
        if dir and value:
            raise EtcdException("Cannot create a directory with a value")
        opts = _lib.options(self._lib, _lib.WriteOptions)
        opts.ttl = _ttl(ttl)
        opts.dir = bool(dir)
        opts.append = bool(append)
        opts.refresh = bool(refresh)
        pv = None
        if prevValue is not None:
            pv = _value(prevValue)
            opts.prev_value = pv
        if prevIndex:
            opts.prev_index = int(prevIndex)
        if prevExist is not None:
            if isinstance(prevExist, str):
                prevExist = prevExist.lower() == "true"
            opts.prev_exist = _lib.PREV_EXIST_TRUE if prevExist else _lib.PREV_EXIST_FALSE
        v = None if (dir or (refresh and value is None)) else _value(value)
        return self._keys(self._lib.etcdc_write, _key(key), v, ctypes.byref(opts))

    def set(self, key, value, ttl=None):
        """write(key, value, ttl): python-etcd's compatibility spelling."""
        return self.write(key, value, ttl=ttl)

    def read(
        self,
        key,
        recursive=False,
        sorted=False,
        quorum=False,
        wait=False,
        waitIndex=None,
        timeout=None,
        **kwdargs
    ):
        """Reads ``key`` (a value, or a directory with its children: one
        level, or all with ``recursive``; in key order with ``sorted``;
        through consensus with ``quorum``). With ``wait``, waits for its next
        change instead, as ``watch(key, waitIndex, timeout, recursive)``.
        ``timeout`` (seconds) is this request's timeout, as in python-etcd:
        None the client's ``read_timeout``, 0 none.
        """
        for k in kwdargs:
            warnings.warn("etcdc.Client.read: ignoring unknown argument %r" % k, stacklevel=2)
        if wait:
            return self.watch(key, index=waitIndex, timeout=timeout, recursive=recursive)
        opts = _lib.options(self._lib, _lib.ReadOptions)
        opts.recursive = bool(recursive)
        opts.sorted = bool(sorted)
        opts.quorum = bool(quorum)
        h = self._timed_handle(timeout) if timeout is not None else None
        return self._keys(self._lib.etcdc_read, _key(key), ctypes.byref(opts), h=h)

    def get(self, key):
        """read(key)."""
        return self.read(key)

    def delete(self, key, recursive=False, dir=False, prevValue=None, prevIndex=None, **kwdargs):
        """Deletes ``key`` (a directory with ``dir`` if empty, with
        ``recursive`` whatever it holds), only if its value is ``prevValue``
        / it was last modified at ``prevIndex`` when given. The result's
        ``_prev_node`` is what was removed."""
        for k in kwdargs:
            warnings.warn("etcdc.Client.delete: ignoring unknown argument %r" % k, stacklevel=2)
        opts = _lib.options(self._lib, _lib.DeleteOptions)
        opts.recursive = bool(recursive)
        opts.dir = bool(dir)
        pv = None
        if prevValue is not None:
            pv = _value(prevValue)
            opts.prev_value = pv
        if prevIndex:
            opts.prev_index = int(prevIndex)
        return self._keys(self._lib.etcdc_delete, _key(key), ctypes.byref(opts))

    def pop(self, key, recursive=None, dir=None, **kwdargs):
        """Deletes ``key`` and returns what it was (python-etcd's ``pop``)."""
        if recursive or dir or kwdargs:
            return self.delete(key, recursive=bool(recursive), dir=bool(dir), **kwdargs)._prev_node
        return self._keys(self._lib.etcdc_pop, _key(key))

    def test_and_set(self, key, value, prev_value, ttl=None):
        """Sets ``key`` to ``value`` only if its value is ``prev_value``;
        raises EtcdCompareFailed (a ValueError) otherwise."""
        return self._keys(
            self._lib.etcdc_test_and_set,
            _key(key),
            _value(value),
            _value(prev_value),
            _ttl(ttl),
        )

    def update(self, obj):
        """Writes ``obj.value`` over the node ``obj`` (an EtcdResult that was
        read) only if nobody modified it since (compare-and-swap on its
        ``modifiedIndex``); keeps its TTL as it was when read. Raises
        EtcdCompareFailed if the key changed in between."""
        if obj.dir:
            # prevIndex on a directory is "not a file": only its TTL is set.
            return self.write(obj.key, None, dir=True, ttl=obj.ttl, prevExist=True)
        return self.write(
            obj.key, obj.value, ttl=obj.ttl, prevExist=True, prevIndex=obj.modifiedIndex
        )

    def mkdir(self, key, ttl=None):
        """Creates the directory ``key``; EtcdAlreadyExist if it exists."""
        return self._keys(self._lib.etcdc_mkdir, _key(key), _ttl(ttl))

    def refresh(self, key, ttl):
        """Resets the TTL of an existing key or directory to ``ttl`` seconds
        without changing its value or waking watchers."""
        return self._keys(self._lib.etcdc_refresh, _key(key), _ttl(ttl))

    # -- watches ---------------------------------------------------------

    def watch(self, key, index=None, timeout=None, recursive=False):
        """Waits for the next change of ``key`` (of its subtree with
        ``recursive``), from etcd index ``index`` when given (which may be in
        the past), and returns the event. ``timeout`` in seconds; None means
        the client's ``read_timeout`` and 0 no limit, as in python-etcd.
        Raises EtcdWatchTimedOut when it expires."""
        if timeout is None:
            timeout = self._read_timeout
        if not timeout or timeout < 0:
            timeout = None
        if _on_main_thread():
            # Cancellable slices, so that Ctrl-C is not held up.
            w = Watcher(self, key, index=index, recursive=recursive)
            try:
                return w.next_event(timeout)
            finally:
                w.close()
        opts = _lib.options(self._lib, _lib.WatchOptions)
        opts.recursive = bool(recursive)
        opts.wait_index = int(index or 0)
        wait_ms = _ms(timeout) if timeout else _NO_LIMIT
        return self._keys(
            self._lib.etcdc_watch, _key(key), ctypes.byref(opts), wait_ms, event=True
        )

    def eternal_watch(self, key, index=None, recursive=False):
        """A generator of every change of ``key`` (of its subtree with
        ``recursive``), in order, each exactly once, from ``index`` or from
        now. Closing it (``close()``, or dropping it) cancels and frees the
        watcher; its ``cancel()`` may be called from any thread to end a
        blocked iteration."""
        return Watcher(self, key, index=index, recursive=recursive)

    # -- lock and election -----------------------------------------------

    def get_lock(self, name, ttl=60):
        """A Lock named ``name`` (not acquired yet), whose TTL is ``ttl``
        seconds (python-etcd's README; ``etcdc.Lock(client, name)`` is
        python-etcd 0.4.5's ``etcd.Lock``, with its defaults)."""
        from .lock import Lock

        return Lock(self, name, ttl=ttl)

    @property
    def election(self):
        """Leader election: ``set``, ``get``, ``delete`` (and ``renew``,
        ``watch``)."""
        if self._election is None:
            from .election import LeaderElection

            self._election = LeaderElection(self)
        return self._election

    # -- cluster ---------------------------------------------------------

    @property
    def machines(self):
        """The client URLs of the cluster's members."""
        out = _lib.strings_p()
        self._call(self._lib.etcdc_machines, ctypes.byref(out))
        return _lib.take_strings(self._lib, out.value)

    @property
    def members(self):
        """The cluster's members: {id: {'id', 'name', 'peerURLs', 'clientURLs'}}."""
        lst = _lib.member_list_p()
        self._call(self._lib.etcdc_members, ctypes.byref(lst))
        return {m["id"]: m for m in _take_members(self._lib, lst.value)}

    @property
    def leader(self):
        """The member leading the cluster: {'id', 'name', 'peerURLs', 'clientURLs'}."""
        lst = _lib.member_list_p()
        self._call(self._lib.etcdc_leader, ctypes.byref(lst))
        members = _take_members(self._lib, lst.value)
        return members[0] if members else None

    def add_member(self, peer_urls):
        """Adds a member with these peer URLs; returns it as a member dict."""
        urls = [_utf8(u, "a peer URL") for u in peer_urls]
        arr = (ctypes.c_char_p * len(urls))(*urls)
        lst = _lib.member_list_p()
        self._call(self._lib.etcdc_member_add, arr, len(urls), ctypes.byref(lst))
        members = _take_members(self._lib, lst.value)
        return members[0] if members else None

    def remove_member(self, member_id):
        """Removes the member ``member_id`` (hex) from the cluster."""
        self._call(self._lib.etcdc_member_remove, _utf8(member_id, "the member id"))

    def update_member(self, member_id, peer_urls):
        """Replaces the peer URLs of member ``member_id`` (hex)."""
        urls = [_utf8(u, "a peer URL") for u in peer_urls]
        arr = (ctypes.c_char_p * len(urls))(*urls)
        self._call(
            self._lib.etcdc_member_update, _utf8(member_id, "the member id"), arr, len(urls)
        )

    def _stats(self, which):
        return json.loads(self._string(self._lib.etcdc_stats, which))

    @property
    def stats(self):
        """This member's stats (/v2/stats/self) as a dict."""
        return self._stats(_lib.STATS_SELF)

    @property
    def leader_stats(self):
        """The leader's view of its followers (/v2/stats/leader); only the
        leader answers it."""
        return self._stats(_lib.STATS_LEADER)

    @property
    def store_stats(self):
        """The v2 store's operation counters (/v2/stats/store)."""
        return self._stats(_lib.STATS_STORE)

    def _versions(self):
        server = _lib.owned_str_p()
        cluster = _lib.owned_str_p()
        try:
            self._call(self._lib.etcdc_server_version, ctypes.byref(server), ctypes.byref(cluster))
        finally:
            s = _lib.take_string(self._lib, server.value)
            c = _lib.take_string(self._lib, cluster.value)
        return s, c

    @property
    def version(self):
        """The answering member's etcd version, e.g. '3.4.30'."""
        return self._versions()[0]

    @property
    def cluster_version(self):
        """The cluster's version, e.g. '3.4.0'."""
        return self._versions()[1]

    @property
    def health(self):
        """Whether the answering member is healthy (has a leader)."""
        ok = ctypes.c_bool()
        self._call(self._lib.etcdc_health, ctypes.byref(ok))
        return bool(ok.value)


class Watcher(collections.abc.Generator):
    """An endless watch (``Client.eternal_watch``): a generator of events,
    every change in order, exactly once, across dropped connections.

    ``close()`` (also when the generator is dropped, or ``throw()``) cancels
    and frees the C watcher. ``cancel()`` may be called from any thread: an
    iteration blocked in another thread then ends (StopIteration).
    ``next_event(timeout)`` waits at most ``timeout`` seconds
    (EtcdWatchTimedOut; the watcher stays usable). After
    EtcdEventIndexCleared, re-read and ``resume_from(read.etcd_index + 1)``.
    One thread at a time may iterate.
    """

    def __init__(self, client, key, index=None, recursive=False):
        self._lib = client._lib
        self._closed = True
        self._busy = False
        self._state = threading.Lock()
        opts = _lib.options(self._lib, _lib.WatchOptions)
        opts.recursive = bool(recursive)
        opts.wait_index = int(index or 0)
        out = _lib.watcher_p()
        client._call(self._lib.etcdc_watcher_new, _key(key), ctypes.byref(opts), ctypes.byref(out))
        self._ptr = out.value
        self._closed = False

    def _enter(self):
        with self._state:
            if self._closed:
                raise EtcdCancelled("the watcher is closed")
            if self._busy:
                raise RuntimeError("the watcher is in use by another thread")
            self._busy = True
            return self._ptr

    def _leave(self):
        ptr = None
        with self._state:
            self._busy = False
            if self._closed:
                ptr, self._ptr = self._ptr, None
        if ptr:
            self._lib.etcdc_watcher_free(ptr)

    def next_event(self, timeout=None):
        """The next event as an EtcdResult, waiting at most ``timeout``
        seconds (None or 0: as long as it takes)."""
        lib = self._lib
        ptr = self._enter()
        try:
            deadline = time.monotonic() + timeout if timeout else None
            sliced = _on_main_thread()
            while True:
                wait_ms = _NO_LIMIT
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        e = EtcdWatchTimedOut("watch timed out: no change within %g s" % timeout)
                        e.status = _lib.ERR_WATCH_TIMEOUT
                        raise e
                    wait_ms = _ms(left)
                if sliced and (wait_ms < 0 or wait_ms > MAIN_THREAD_SLICE_MS):
                    wait_ms = MAIN_THREAD_SLICE_MS
                out = _lib.response_p()
                status = lib.etcdc_watcher_next(ptr, wait_ms, ctypes.byref(out))
                if status == _lib.OK:
                    return take_response(lib, out.value, event=True)
                if status == _lib.ERR_WATCH_TIMEOUT and sliced:
                    continue  # the deadline check above decides
                raise from_status(lib, status)
        finally:
            self._leave()

    def send(self, value):
        try:
            return self.next_event(None)
        except EtcdCancelled:
            self.close()
            raise StopIteration

    def throw(self, typ, val=None, tb=None):
        self.close()
        if val is None:
            val = typ() if isinstance(typ, type) else typ
        if tb is not None:
            val = val.with_traceback(tb)
        raise val

    def cancel(self):
        """Ends the watch: a thread blocked in it returns at once. Any
        thread may call it; final."""
        with self._state:
            if self._ptr:
                self._lib.etcdc_watcher_cancel(self._ptr)

    def close(self):
        """Cancels and frees the watcher (once no thread is inside it)."""
        ptr = None
        with self._state:
            if self._closed:
                return
            self._closed = True
            if self._ptr:
                self._lib.etcdc_watcher_cancel(self._ptr)
                if not self._busy:
                    ptr, self._ptr = self._ptr, None
        if ptr:
            self._lib.etcdc_watcher_free(ptr)

    @property
    def next_index(self):
        """The etcd index the next poll starts from (0: from now)."""
        with self._state:
            return self._lib.etcdc_watcher_next_index(self._ptr) if self._ptr else 0

    def resume_from(self, index):
        """Goes on from etcd index ``index`` (after EtcdEventIndexCleared and
        a fresh read: that read's ``etcd_index + 1``)."""
        ptr = self._enter()
        try:
            status = self._lib.etcdc_watcher_resume_from(ptr, int(index))
            if status:
                raise from_status(self._lib, status)
        finally:
            self._leave()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
