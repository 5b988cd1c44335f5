"""python-etcd3's ``Etcd3Client`` and ``client()`` over libetcdc's v3 API."""

import ctypes
import os
import threading
import weakref

from .. import _lib, _lib3
from .._handle import Handle
from ..exceptions import EtcdException
from . import etcdrpc
from . import exceptions
from . import leases
from . import locks
from . import members
from . import transactions
from . import utils
from . import watch
from .utils import _bytes


class Transactions(object):
    def __init__(self):
        self.value = transactions.Value
        self.version = transactions.Version
        self.create = transactions.Create
        self.mod = transactions.Mod
        # etcdc's addition: compare a key's lease.
        self.lease = transactions.Lease

        self.put = transactions.Put
        self.get = transactions.Get
        self.delete = transactions.Delete
        self.txn = transactions.Txn


class KVMetadata(object):
    def __init__(self, keyvalue, header):
        self.key = keyvalue.key
        self.create_revision = keyvalue.create_revision
        self.mod_revision = keyvalue.mod_revision
        self.version = keyvalue.version
        self.lease_id = keyvalue.lease
        self.response_header = header


class Status(object):
    def __init__(self, version, db_size, leader, raft_index, raft_term):
        self.version = version
        self.db_size = db_size
        self.leader = leader
        self.raft_index = raft_index
        self.raft_term = raft_term


class Alarm(object):
    def __init__(self, alarm_type, member_id):
        self.alarm_type = alarm_type
        self.member_id = member_id


# -- reading etcdc's answers into etcdrpc messages ---------------------------


def _header(p):
    if not p:
        return etcdrpc.ResponseHeader()
    c = p.contents
    return etcdrpc.ResponseHeader(cluster_id=c.cluster_id, member_id=c.member_id,
                                  revision=c.revision, raft_term=c.raft_term)


_kv = watch._kv


def _range_response(lib, r):
    return etcdrpc.RangeResponse(
        header=_header(lib.etcdc_v3_range_response_header(r)),
        kvs=[_kv(lib.etcdc_v3_range_response_kv(r, i))
             for i in range(lib.etcdc_v3_range_response_kv_count(r))],
        more=bool(lib.etcdc_v3_range_response_more(r)),
        count=lib.etcdc_v3_range_response_count(r),
    )


def _put_response(lib, r):
    prev = lib.etcdc_v3_put_response_prev_kv(r)
    return etcdrpc.PutResponse(header=_header(lib.etcdc_v3_put_response_header(r)),
                               prev_kv=_kv(prev) if prev else None)


def _delete_response(lib, r):
    return etcdrpc.DeleteRangeResponse(
        header=_header(lib.etcdc_v3_delete_response_header(r)),
        deleted=lib.etcdc_v3_delete_response_deleted(r),
        prev_kvs=[_kv(lib.etcdc_v3_delete_response_prev_kv(r, i))
                  for i in range(lib.etcdc_v3_delete_response_prev_kv_count(r))],
    )


def _txn_response(lib, r):
    responses = []
    for i in range(lib.etcdc_v3_txn_response_op_count(r)):
        kind = lib.etcdc_v3_txn_response_op_kind(r, i)
        if kind == _lib3.V3_OP_RANGE:
            op = etcdrpc.ResponseOp(
                response_range=_range_response(lib, lib.etcdc_v3_txn_response_op_range(r, i)))
        elif kind == _lib3.V3_OP_PUT:
            op = etcdrpc.ResponseOp(
                response_put=_put_response(lib, lib.etcdc_v3_txn_response_op_put(r, i)))
        elif kind == _lib3.V3_OP_DELETE:
            op = etcdrpc.ResponseOp(
                response_delete_range=_delete_response(
                    lib, lib.etcdc_v3_txn_response_op_delete(r, i)))
        elif kind == _lib3.V3_OP_TXN:
            op = etcdrpc.ResponseOp(
                response_txn=_txn_response(lib, lib.etcdc_v3_txn_response_op_txn(r, i)))
        else:
            op = etcdrpc.ResponseOp()
        responses.append(op)
    return etcdrpc.TxnResponse(header=_header(lib.etcdc_v3_txn_response_header(r)),
                               succeeded=bool(lib.etcdc_v3_txn_response_succeeded(r)),
                               responses=responses)


def _text(b):
    return (b or b"").decode("utf-8", "replace")


def _members(lib, lst, etcd_client):
    out = []
    for i in range(lib.etcdc_v3_member_list_count(lst)):
        out.append(members.Member(
            lib.etcdc_v3_member_list_id(lst, i),
            _text(lib.etcdc_v3_member_list_name(lst, i)),
            [_text(lib.etcdc_v3_member_list_peer_url(lst, i, j))
             for j in range(lib.etcdc_v3_member_list_peer_url_count(lst, i))],
            [_text(lib.etcdc_v3_member_list_client_url(lst, i, j))
             for j in range(lib.etcdc_v3_member_list_client_url_count(lst, i))],
            etcd_client=etcd_client,
        ))
    return out


def _alarms(lib, lst):
    return [Alarm(lib.etcdc_v3_alarm_list_kind(lst, i), lib.etcdc_v3_alarm_list_member_id(lst, i))
            for i in range(lib.etcdc_v3_alarm_list_count(lst))]


_SORT_ORDERS = {
    None: _lib3.V3_SORT_NONE,
    'ascend': _lib3.V3_SORT_ASCEND,
    'descend': _lib3.V3_SORT_DESCEND,
}
_SORT_TARGETS = {
    None: _lib3.V3_SORT_BY_KEY,
    'key': _lib3.V3_SORT_BY_KEY,
    'version': _lib3.V3_SORT_BY_VERSION,
    'create': _lib3.V3_SORT_BY_CREATE_REVISION,
    'mod': _lib3.V3_SORT_BY_MOD_REVISION,
    'value': _lib3.V3_SORT_BY_VALUE,
}
_COMPARE_OPS = {
    etcdrpc.Compare.EQUAL: _lib3.V3_EQUAL,
    etcdrpc.Compare.GREATER: _lib3.V3_GREATER,
    etcdrpc.Compare.LESS: _lib3.V3_LESS,
    etcdrpc.Compare.NOT_EQUAL: _lib3.V3_NOT_EQUAL,
}


def _endpoint_url(e, scheme):
    """An endpoint ('http://h:p', 'h:p' or (host, port)) as a URL."""
    if isinstance(e, (tuple, list)):
        host, port = e
    else:
        e = str(e)
        if "://" in e:
            return e
        host, _, port = e.rpartition(":")
        if not host:
            raise ValueError("endpoint %r: expected host:port or a URL" % e)
    host = str(host)
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host  # an IPv6 literal
    return "%s://%s:%d" % (scheme, host, int(port))


class Etcd3Client(object):
    """A client of etcd's v3 API with python-etcd3 0.12.0's interface.

    ``host``, ``port``: the etcd to talk to. ``endpoints`` (etcdc's, keyword
    only) replaces them with several: a list of URLs (``'http://h:2379'``),
    ``'host:port'`` strings or ``(host, port)`` tuples; requests go to the
    first and, when a member fails, to the next (a read is sent again, a
    write whose outcome is unknown raises AmbiguousOutcomeError).
    ``ca_cert`` (a PEM file) makes the connection TLS, verifying the
    server's certificate and host name; ``cert_cert`` and ``cert_key`` (both
    or neither) are the client certificate. ``timeout`` (seconds) bounds
    every request, failover included (None: etcdc's default, 60 s).
    ``user`` and ``password`` (both or neither) authenticate with etcd's
    auth; etcdc renews the token when it expires. ``grpc_options`` is
    accepted and ignored (there is no gRPC channel to configure: etcdc
    speaks HTTP/2 itself).

    A client may be shared by any number of threads; every call into
    libetcdc releases the GIL. ``close()`` (or ``with``) frees it.
    """

    def __init__(self, host='localhost', port=2379,
                 ca_cert=None, cert_key=None, cert_cert=None, timeout=None,
                 user=None, password=None, grpc_options=None, endpoints=None):
        self._h = None
        self._streams = weakref.WeakSet()
        self._streams_lock = threading.Lock()
        lib = self._lib = _lib3.load()

        cert_params = [c is not None for c in (cert_cert, cert_key)]
        if ca_cert is not None:
            if any(cert_params) and not all(cert_params):
                raise ValueError(
                    'to use a secure channel ca_cert is required by itself, '
                    'or cert_cert and cert_key must both be specified.')
            self.uses_secure_channel = True
        else:
            self.uses_secure_channel = False

        cred_params = [c is not None for c in (user, password)]
        if any(cred_params) and not all(cred_params):
            raise Exception(
                'if using authentication credentials both user and password '
                'must be specified.'
            )

        self.timeout = timeout
        self.grpc_options = grpc_options
        scheme = "https" if self.uses_secure_channel else "http"
        if endpoints:
            if isinstance(endpoints, (str, bytes)):
                endpoints = [endpoints]
            urls = [_endpoint_url(e, scheme) for e in endpoints]
        else:
            urls = [_endpoint_url((host, port), scheme)]
        self._url = urls[0].split("://", 1)[1]

        opts = _lib.options(lib, _lib.ClientOptions)
        keep = []

        def c(s):
            b = os.fsencode(s) if not isinstance(s, bytes) else s
            keep.append(b)
            return b

        arr = (ctypes.c_char_p * len(urls))(*[c(u) for u in urls])
        keep.append(arr)
        opts.endpoints = arr
        opts.endpoint_count = len(urls)
        if timeout:
            opts.read_timeout_ms = max(1, int(round(float(timeout) * 1000)))
            opts.connect_timeout_ms = min(5000, opts.read_timeout_ms)
        if ca_cert is not None:
            opts.ca_file = c(ca_cert)
            if cert_cert is not None:
                opts.cert_file = c(cert_cert)
                opts.key_file = c(cert_key)
        if user is not None:
            opts.username = c(user)
            opts.password = c(password)
        out = _lib.client_p()
        status = lib.etcdc_client_new(ctypes.byref(opts), ctypes.byref(out))
        if status:
            raise exceptions._from_status(lib, status)
        self._h = Handle(out.value, lib.etcdc_client_free, "client")

        self.transactions = Transactions()
        self.watcher = watch.Watcher(self, timeout=self.timeout)
        if user is not None:
            # python-etcd3 authenticates here: wrong credentials fail now,
            # not at the first call.
            self._status_response()

    # -- lifetime ------------------------------------------------------------

    def close(self):
        """Frees the client: cancels its watches (callbacks and iterators),
        and frees the C client once no thread is inside a call."""
        w = getattr(self, "watcher", None)
        if w is not None:
            w.close()
        with self._streams_lock:
            streams = list(self._streams)
        for s in streams:
            s.cancel()
        if self._h is not None:
            self._h.close()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def __del__(self):
        try:
            if self._h is not None:
                self._h.close()
        except Exception:
            pass

    @property
    def endpoints(self):
        """The endpoints (URLs) this client talks to, the one it sends to
        first, first (etcdc's addition)."""
        found = _lib.strings_p()
        self._call(self._lib.etcdc_client_endpoints, ctypes.byref(found))
        return _lib.take_strings(self._lib, found.value)

    # -- calls ---------------------------------------------------------------

    def _call(self, fn, *args):
        """fn(client, *args); raises the exception for its status."""
        try:
            ptr = self._h.enter()
        except EtcdException:
            raise exceptions.Etcd3Exception("this client is closed")
        try:
            status = fn(ptr, *args)
            if status:
                raise exceptions._from_status(self._lib, status)
        finally:
            self._h.leave()

    # -- keys ----------------------------------------------------------------

    def _range_options(self, keep, range_end=None, limit=None, revision=None,
                       sort_order=None, sort_target='key', serializable=False,
                       keys_only=False, count_only=None, min_mod_revision=None,
                       max_mod_revision=None, min_create_revision=None,
                       max_create_revision=None, prefix=False):
        opts = _lib3.options(self._lib, _lib3.V3RangeOptions)
        if range_end is not None:
            end = _bytes(range_end, "range_end")
            opts.range_end = _lib3.buffer_pointer(end, keep)
            opts.range_end_len = len(end)
        opts.prefix = bool(prefix)
        if sort_order not in _SORT_ORDERS:
            raise ValueError('unknown sort order: "{}"'.format(sort_order))
        opts.sort_order = _SORT_ORDERS[sort_order]
        if sort_target not in _SORT_TARGETS:
            raise ValueError('sort_target must be one of "key", '
                             '"version", "create", "mod" or "value"')
        opts.sort_target = _SORT_TARGETS[sort_target]
        opts.serializable = bool(serializable)
        opts.keys_only = bool(keys_only)
        opts.count_only = bool(count_only)
        opts.limit = int(limit or 0)
        opts.revision = int(revision or 0)
        opts.min_mod_revision = int(min_mod_revision or 0)
        opts.max_mod_revision = int(max_mod_revision or 0)
        opts.min_create_revision = int(min_create_revision or 0)
        opts.max_create_revision = int(max_create_revision or 0)
        return opts

    def _range(self, key, **kwargs):
        keep = []
        opts = self._range_options(keep, **kwargs)
        k = _bytes(key)
        out = _lib3.range_response_p()
        self._call(self._lib.etcdc_v3_range, k, len(k), ctypes.byref(opts), ctypes.byref(out))
        try:
            return _range_response(self._lib, out.value)
        finally:
            self._lib.etcdc_v3_range_response_free(out.value)

    def get_response(self, key, serializable=False):
        """Get the value of a key from etcd."""
        return self._range(key, serializable=serializable)

    def get(self, key, **kwargs):
        """
        Get the value of a key from etcd.

        :param key: key in etcd to get
        :param serializable: whether to allow serializable reads. This can
            result in stale reads
        :returns: value of key and metadata, ``(None, None)`` if absent
        :rtype: bytes, ``KVMetadata``
        """
        range_response = self.get_response(key, **kwargs)
        if range_response.count < 1:
            return None, None
        else:
            kv = range_response.kvs.pop()
            return kv.value, KVMetadata(kv, range_response.header)

    def get_prefix_response(self, key_prefix, **kwargs):
        """Get a range of keys with a prefix."""
        if any(kwarg in kwargs for kwarg in ("key", "range_end")):
            raise TypeError("Don't use key or range_end with prefix")
        return self._range(key_prefix, prefix=True, **kwargs)

    def get_prefix(self, key_prefix, **kwargs):
        """
        Get a range of keys with a prefix.

        :param key_prefix: first key in range
        :param keys_only: if True, retrieve only the keys, not the values

        :returns: sequence of (value, metadata) tuples
        """
        range_response = self.get_prefix_response(key_prefix, **kwargs)
        return (
            (kv.value, KVMetadata(kv, range_response.header))
            for kv in range_response.kvs
        )

    def get_range_response(self, range_start, range_end, sort_order=None,
                           sort_target='key', **kwargs):
        """Get a range of keys."""
        return self._range(range_start, range_end=range_end, sort_order=sort_order,
                           sort_target=sort_target, **kwargs)

    def get_range(self, range_start, range_end, **kwargs):
        """
        Get a range of keys.

        :param range_start: first key in range
        :param range_end: last key in range
        :returns: sequence of (value, metadata) tuples
        """
        range_response = self.get_range_response(range_start, range_end,
                                                 **kwargs)
        for kv in range_response.kvs:
            yield (kv.value, KVMetadata(kv, range_response.header))

    def get_all_response(self, sort_order=None, sort_target='key',
                         keys_only=False):
        """Get all keys currently stored in etcd."""
        return self._range(b'\0', range_end=b'\0', sort_order=sort_order,
                           sort_target=sort_target, keys_only=keys_only)

    def get_all(self, **kwargs):
        """
        Get all keys currently stored in etcd.

        :param keys_only: if True, retrieve only the keys, not the values
        :returns: sequence of (value, metadata) tuples
        """
        range_response = self.get_all_response(**kwargs)
        for kv in range_response.kvs:
            yield (kv.value, KVMetadata(kv, range_response.header))

    def _put_options(self, lease=None, prev_kv=False):
        opts = _lib3.options(self._lib, _lib3.V3PutOptions)
        opts.lease = utils.lease_to_id(lease)
        opts.prev_kv = bool(prev_kv)
        return opts

    def put(self, key, value, lease=None, prev_kv=False):
        """
        Save a value to etcd.

        :param key: key in etcd to set
        :param value: value to set key to
        :type value: bytes
        :param lease: Lease to associate with this key.
        :type lease: either :class:`.Lease`, or int (ID of lease)
        :param prev_kv: return the previous key-value pair
        :type prev_kv: bool
        :returns: a response containing a header and the prev_kv
        :rtype: :class:`.etcdrpc.PutResponse`
        """
        opts = self._put_options(lease, prev_kv)
        k, v = _bytes(key), _bytes(value, "the value")
        out = _lib3.put_response_p()
        self._call(self._lib.etcdc_v3_put, k, len(k), v, len(v), ctypes.byref(opts),
                   ctypes.byref(out))
        try:
            return _put_response(self._lib, out.value)
        finally:
            self._lib.etcdc_v3_put_response_free(out.value)

    def _swap(self, fn, *args):
        out = _lib3.swap_response_p()
        self._call(fn, *(args + (ctypes.byref(out),)))
        try:
            return bool(self._lib.etcdc_v3_swap_response_succeeded(out.value))
        finally:
            self._lib.etcdc_v3_swap_response_free(out.value)

    def put_if_not_exists(self, key, value, lease=None):
        """
        Atomically puts a value only if the key previously had no value.

        This is the etcdv3 equivalent to setting a key with the etcdv2
        parameter prevExist=false.

        :returns: ``True`` if the put was successful, ``False`` otherwise
        :rtype: bool
        """
        k, v = _bytes(key), _bytes(value, "the value")
        return self._swap(self._lib.etcdc_v3_put_if_absent, k, len(k), v, len(v),
                          utils.lease_to_id(lease))

    def replace(self, key, initial_value, new_value):
        """
        Atomically replace the value of a key with a new value, if it is
        ``initial_value``.

        :returns: ``True`` if the replace was successful, ``False`` otherwise
        :rtype: bool
        """
        k = _bytes(key)
        old, new = _bytes(initial_value, "initial_value"), _bytes(new_value, "new_value")
        return self._swap(self._lib.etcdc_v3_put_if_value, k, len(k), old, len(old),
                          new, len(new))

    def _delete_options(self, keep, range_end=None, prev_kv=False, prefix=False):
        opts = _lib3.options(self._lib, _lib3.V3DeleteOptions)
        if range_end is not None:
            end = _bytes(range_end, "range_end")
            opts.range_end = _lib3.buffer_pointer(end, keep)
            opts.range_end_len = len(end)
        opts.prefix = bool(prefix)
        opts.prev_kv = bool(prev_kv)
        return opts

    def _delete(self, key, **kwargs):
        keep = []
        opts = self._delete_options(keep, **kwargs)
        k = _bytes(key)
        out = _lib3.delete_response_p()
        self._call(self._lib.etcdc_v3_delete, k, len(k), ctypes.byref(opts), ctypes.byref(out))
        try:
            return _delete_response(self._lib, out.value)
        finally:
            self._lib.etcdc_v3_delete_response_free(out.value)

    def delete(self, key, prev_kv=False, return_response=False):
        """
        Delete a single key in etcd.

        :param key: key in etcd to delete
        :param prev_kv: return the deleted key-value pair
        :type prev_kv: bool
        :param return_response: return the full response
        :type return_response: bool
        :returns: True if the key has been deleted when
                  ``return_response`` is False and a response containing
                  a header, the number of deleted keys and prev_kvs when
                  ``return_response`` is True
        """
        delete_response = self._delete(key, prev_kv=prev_kv)
        if return_response:
            return delete_response
        return delete_response.deleted >= 1

    def delete_prefix(self, prefix):
        """Delete a range of keys with a prefix in etcd."""
        return self._delete(prefix, prefix=True)

    # -- status, watches ---------------------------------------------------

    def _status_response(self):
        out = _lib3.status_response_p()
        self._call(self._lib.etcdc_v3_status, None, ctypes.byref(out))
        lib = self._lib
        try:
            return (
                _text(lib.etcdc_v3_status_response_version(out.value)),
                lib.etcdc_v3_status_response_db_size(out.value),
                lib.etcdc_v3_status_response_leader(out.value),
                lib.etcdc_v3_status_response_raft_index(out.value),
                lib.etcdc_v3_status_response_raft_term(out.value),
            )
        finally:
            lib.etcdc_v3_status_response_free(out.value)

    def status(self):
        """Get the status of the responding member."""
        version, db_size, leader_id, raft_index, raft_term = self._status_response()
        for m in self.members:
            if m.id == leader_id:
                leader = m
                break
        else:
            leader = None
        return Status(version, db_size, leader, raft_index, raft_term)

    def add_watch_callback(self, *args, **kwargs):
        """
        Watch a key or range of keys and call a callback on every response.

        ``add_watch_callback(key, callback, range_end=None,
        start_revision=None, progress_notify=False, filters=None,
        prev_kv=False)``: ``callback`` is called, on the client's callback
        thread, with each ``WatchResponse`` (its ``events``), or with the
        exception that ended the watch (``RevisionCompactedError``).
        If the watch cannot be created within the client's timeout,
        raises ``WatchTimedOut``.

        :returns: watch_id. Later it could be used for cancelling watch.
        """
        return self.watcher.add_callback(*args, **kwargs)

    def add_watch_prefix_callback(self, key_prefix, callback, **kwargs):
        """
        Watch a prefix and call a callback on every response.

        :returns: watch_id. Later it could be used for cancelling watch.
        """
        kwargs.pop('range_end', None)
        return self.add_watch_callback(key_prefix, callback, prefix=True, **kwargs)

    def _stream(self, key, kwargs):
        s = watch._Stream(self, key, kwargs)
        with self._streams_lock:
            self._streams.add(s)
        return s

    def watch_response(self, key, **kwargs):
        """
        Watch a key.

        :returns: tuple of ``responses_iterator`` and ``cancel``.
                  Use ``responses_iterator`` to get the watch responses,
                  each of which contains a header and a list of events.
                  Use ``cancel`` to cancel the watch request.
        """
        s = self._stream(key, kwargs)
        return s.responses(), s.cancel

    def watch(self, key, **kwargs):
        """
        Watch a key.

        Example usage:

        .. code-block:: python
            events_iterator, cancel = etcd.watch('/doot/key')
            for event in events_iterator:
                print(event)

        :param key: key to watch
        :param range_end, start_revision, prev_kv, filters: as etcd's
        :returns: tuple of ``events_iterator`` and ``cancel``.
                  Use ``events_iterator`` to get the events of key changes
                  and ``cancel`` to cancel the watch request.
        """
        s = self._stream(key, kwargs)
        return s.events(), s.cancel

    def watch_prefix_response(self, key_prefix, **kwargs):
        """
        Watch a range of keys with a prefix.

        :returns: tuple of ``responses_iterator`` and ``cancel``.
        """
        kwargs.pop('range_end', None)
        kwargs['prefix'] = True
        return self.watch_response(key_prefix, **kwargs)

    def watch_prefix(self, key_prefix, **kwargs):
        """
        Watch a range of keys with a prefix.

        :returns: tuple of ``events_iterator`` and ``cancel``.
        """
        kwargs.pop('range_end', None)
        kwargs['prefix'] = True
        return self.watch(key_prefix, **kwargs)

    def watch_once_response(self, key, timeout=None, **kwargs):
        """
        Watch a key and stop after the first response.

        If the timeout was specified and response didn't arrive method
        will raise ``WatchTimedOut`` exception.

        :returns: ``WatchResponse``
        """
        return watch._Stream(self, key, kwargs).once(timeout)

    def watch_once(self, key, timeout=None, **kwargs):
        """
        Watch a key and stop after the first event.

        If the timeout was specified and event didn't arrive method
        will raise ``WatchTimedOut`` exception.

        :returns: ``Event``
        """
        response = self.watch_once_response(key, timeout=timeout, **kwargs)
        return response.events[0]

    def watch_prefix_once_response(self, key_prefix, timeout=None, **kwargs):
        """
        Watch a range of keys with a prefix and stop after the first response.
        """
        kwargs.pop('range_end', None)
        kwargs['prefix'] = True
        return self.watch_once_response(key_prefix, timeout=timeout, **kwargs)

    def watch_prefix_once(self, key_prefix, timeout=None, **kwargs):
        """
        Watch a range of keys with a prefix and stop after the first event.
        """
        kwargs.pop('range_end', None)
        kwargs['prefix'] = True
        return self.watch_once(key_prefix, timeout=timeout, **kwargs)

    def cancel_watch(self, watch_id):
        """
        Stop watching a key or range of keys.

        :param watch_id: watch_id returned by ``add_watch_callback`` method
        """
        self.watcher.cancel(watch_id)

    # -- transactions --------------------------------------------------------

    def _add_compare(self, txn, compare, keep):
        lib = self._lib
        msg = compare.build_message()
        opts = _lib3.options(lib, _lib3.V3CompareOptions)
        if msg.range_end:
            opts.range_end = _lib3.buffer_pointer(msg.range_end, keep)
            opts.range_end_len = len(msg.range_end)
        op = _COMPARE_OPS[msg.result]
        k = msg.key
        t = msg.target
        if t == etcdrpc.Compare.VALUE:
            st = lib.etcdc_v3_txn_compare_value(txn, k, len(k), op, msg.value, len(msg.value),
                                                ctypes.byref(opts))
        elif t == etcdrpc.Compare.VERSION:
            st = lib.etcdc_v3_txn_compare_version(txn, k, len(k), op, msg.version,
                                                  ctypes.byref(opts))
        elif t == etcdrpc.Compare.CREATE:
            st = lib.etcdc_v3_txn_compare_create_revision(txn, k, len(k), op,
                                                          msg.create_revision,
                                                          ctypes.byref(opts))
        elif t == etcdrpc.Compare.MOD:
            st = lib.etcdc_v3_txn_compare_mod_revision(txn, k, len(k), op, msg.mod_revision,
                                                       ctypes.byref(opts))
        elif t == etcdrpc.Compare.LEASE:
            st = lib.etcdc_v3_txn_compare_lease(txn, k, len(k), op, msg.lease,
                                                ctypes.byref(opts))
        else:
            raise ValueError("unknown compare target %r" % (t,))
        if st:
            raise exceptions._from_status(lib, st)

    def _add_ops(self, txn, branch, ops, keep):
        lib = self._lib
        for op in ops or ():
            if isinstance(op, transactions.Put):
                opts = self._put_options(op.lease, op.prev_kv)
                k, v = _bytes(op.key), _bytes(op.value, "the value")
                st = lib.etcdc_v3_txn_add_put(txn, branch, k, len(k), v, len(v),
                                              ctypes.byref(opts))
            elif isinstance(op, transactions.Get):
                opts = self._range_options(keep, range_end=op.range_end)
                k = _bytes(op.key)
                st = lib.etcdc_v3_txn_add_range(txn, branch, k, len(k), ctypes.byref(opts))
            elif isinstance(op, transactions.Delete):
                opts = self._delete_options(keep, range_end=op.range_end, prev_kv=op.prev_kv)
                k = _bytes(op.key)
                st = lib.etcdc_v3_txn_add_delete(txn, branch, k, len(k), ctypes.byref(opts))
            elif isinstance(op, transactions.Txn):
                nested = self._build_txn(op.compare, op.success, op.failure)
                try:
                    st = lib.etcdc_v3_txn_add_txn(txn, branch, nested)
                finally:
                    lib.etcdc_v3_txn_free(nested)
            else:
                raise Exception(
                    'Unknown request class {}'.format(op.__class__))
            if st:
                raise exceptions._from_status(lib, st)

    def _build_txn(self, compare, success, failure):
        """A new etcdc_v3_txn (the caller frees it)."""
        lib = self._lib
        out = _lib3.txn_p()
        st = lib.etcdc_v3_txn_new(ctypes.byref(out))
        if st:
            raise exceptions._from_status(lib, st)
        txn = out.value
        keep = []
        try:
            for c in compare or ():
                self._add_compare(txn, c, keep)
            self._add_ops(txn, _lib3.V3_ON_SUCCESS, success, keep)
            self._add_ops(txn, _lib3.V3_ON_FAILURE, failure, keep)
        except BaseException:
            lib.etcdc_v3_txn_free(txn)
            raise
        return txn

    def transaction(self, compare, success=None, failure=None):
        """
        Perform a transaction.

        Example usage:

        .. code-block:: python

            etcd.transaction(
                compare=[
                    etcd.transactions.value('/doot/testing') == 'doot',
                    etcd.transactions.version('/doot/testing') > 0,
                ],
                success=[
                    etcd.transactions.put('/doot/testing', 'success'),
                ],
                failure=[
                    etcd.transactions.put('/doot/testing', 'failure'),
                ]
            )

        :param compare: A list of comparisons to make
        :param success: A list of operations to perform if all the comparisons
                        are true
        :param failure: A list of operations to perform if any of the
                        comparisons are false
        :return: A tuple of (operation status, responses): a range's
                 response is a list of (value, metadata) tuples, the others
                 ``etcdrpc.ResponseOp`` (``response_put``,
                 ``response_delete_range``, ``response_txn``)
        """
        lib = self._lib
        txn = self._build_txn(compare, success, failure)
        out = _lib3.txn_response_p()
        try:
            self._call(lib.etcdc_v3_txn_commit, txn, ctypes.byref(out))
        finally:
            lib.etcdc_v3_txn_free(txn)
        try:
            txn_response = _txn_response(lib, out.value)
        finally:
            lib.etcdc_v3_txn_response_free(out.value)

        responses = []
        for response in txn_response.responses:
            response_type = response.WhichOneof('response')
            if response_type in ['response_put', 'response_delete_range',
                                 'response_txn']:
                responses.append(response)

            elif response_type == 'response_range':
                range_kvs = []
                for kv in response.response_range.kvs:
                    range_kvs.append((kv.value,
                                      KVMetadata(kv, txn_response.header)))

                responses.append(range_kvs)

        return txn_response.succeeded, responses

    # -- leases ------------------------------------------------------------

    def lease(self, ttl, lease_id=None):
        """
        Create a new lease.

        All keys attached to this lease will be expired and deleted if the
        lease expires. A lease can be sent keep alive messages to refresh the
        ttl.

        :param ttl: Requested time to live
        :param lease_id: Requested ID for the lease

        :returns: new lease
        :rtype: :class:`.Lease`
        """
        granted_id = ctypes.c_int64()
        granted_ttl = ctypes.c_int64()
        self._call(self._lib.etcdc_v3_lease_grant, int(ttl), int(lease_id or 0),
                   ctypes.byref(granted_id), ctypes.byref(granted_ttl))
        return leases.Lease(lease_id=granted_id.value,
                            ttl=granted_ttl.value,
                            etcd_client=self)

    def revoke_lease(self, lease_id):
        """
        Revoke a lease.

        :param lease_id: ID of the lease to revoke.
        """
        self._call(self._lib.etcdc_v3_lease_revoke, int(lease_id), None)

    def refresh_lease(self, lease_id):
        """Refresh a lease once (a generator of one
        ``etcdrpc.LeaseKeepAliveResponse``: ``ID``, ``TTL``; TTL 0 when the
        lease no longer exists, as etcd answers)."""
        ttl = ctypes.c_int64()
        try:
            self._call(self._lib.etcdc_v3_lease_keep_alive_once, int(lease_id),
                       ctypes.byref(ttl))
        except exceptions.RpcError as e:
            if e.code() is not exceptions.StatusCode.NOT_FOUND:
                raise
            ttl.value = 0
        yield etcdrpc.LeaseKeepAliveResponse(ID=int(lease_id), TTL=ttl.value)

    def get_lease_info(self, lease_id):
        """The lease's ``etcdrpc.LeaseTimeToLiveResponse``: ``ID``, ``TTL``
        (-1 once it expired), ``grantedTTL``, ``keys``."""
        lib = self._lib
        out = _lib3.lease_ttl_response_p()
        self._call(lib.etcdc_v3_lease_time_to_live, int(lease_id), True, ctypes.byref(out))
        r = out.value
        try:
            return etcdrpc.LeaseTimeToLiveResponse(
                header=_header(lib.etcdc_v3_lease_ttl_response_header(r)),
                ID=lib.etcdc_v3_lease_ttl_response_id(r),
                TTL=lib.etcdc_v3_lease_ttl_response_ttl(r),
                grantedTTL=lib.etcdc_v3_lease_ttl_response_granted_ttl(r),
                keys=[_lib3.string_at(lib.etcdc_v3_lease_ttl_response_key(r, i),
                                      lib.etcdc_v3_lease_ttl_response_key_len(r, i))
                      for i in range(lib.etcdc_v3_lease_ttl_response_key_count(r))],
            )
        finally:
            lib.etcdc_v3_lease_ttl_response_free(r)

    # -- lock ----------------------------------------------------------------

    def lock(self, name, ttl=60):
        """
        Create a new lock.

        :param name: name of the lock
        :type name: string or bytes
        :param ttl: length of time for the lock to live for in seconds. The
                    lock will be released after this time elapses, unless
                    refreshed
        :type ttl: int
        :returns: new lock
        :rtype: :class:`.Lock`
        """
        return locks.Lock(name, ttl=ttl, etcd_client=self)

    # -- cluster -------------------------------------------------------------

    def _member_call(self, fn, *args):
        lst = _lib3.member_list_p()
        self._call(fn, *(args + (ctypes.byref(lst),)))
        try:
            return _members(self._lib, lst.value, self)
        finally:
            self._lib.etcdc_v3_member_list_free(lst.value)

    def add_member(self, urls):
        """
        Add a member into the cluster.

        :returns: new member
        :rtype: :class:`.Member`
        """
        raw = [_bytes(u, "a peer URL") for u in urls]
        arr = (ctypes.c_char_p * len(raw))(*raw)
        new_id = ctypes.c_uint64()
        found = self._member_call(self._lib.etcdc_v3_member_add, arr, len(raw), False,
                                  ctypes.byref(new_id))
        for m in found:
            if m.id == new_id.value:
                return m
        return members.Member(new_id.value, '', list(urls), [], etcd_client=self)

    def remove_member(self, member_id):
        """
        Remove an existing member from the cluster.

        :param member_id: ID of the member to remove
        """
        self._member_call(self._lib.etcdc_v3_member_remove, int(member_id))

    def update_member(self, member_id, peer_urls):
        """
        Update the configuration of an existing member in the cluster.

        :param member_id: ID of the member to update
        :param peer_urls: new list of peer urls the member will use to
                          communicate with the cluster
        """
        raw = [_bytes(u, "a peer URL") for u in peer_urls]
        arr = (ctypes.c_char_p * len(raw))(*raw)
        self._member_call(self._lib.etcdc_v3_member_update, int(member_id), arr, len(raw))

    @property
    def members(self):
        """
        List of all members associated with the cluster.

        :type: sequence of :class:`.Member`

        """
        for m in self._member_call(self._lib.etcdc_v3_members):
            yield m

    # -- maintenance ---------------------------------------------------------

    def compact(self, revision, physical=False):
        """
        Compact the event history in etcd up to a given revision.

        All superseded keys with a revision less than the compaction revision
        will be removed.

        :param revision: revision for the compaction operation
        :param physical: if set to True, the request will wait until the
                         compaction is physically applied to the local database
                         such that compacted entries are totally removed from
                         the backend database
        """
        self._call(self._lib.etcdc_v3_compact, int(revision), bool(physical), None)

    def defragment(self):
        """Defragment a member's backend database to recover storage space."""
        self._call(self._lib.etcdc_v3_defragment, None)

    def hash(self):
        """
        Return the hash of the local KV state.

        :returns: kv state hash
        :rtype: int
        """
        h = ctypes.c_uint32()
        self._call(self._lib.etcdc_v3_hash, ctypes.byref(h), None)
        return h.value

    @staticmethod
    def _alarm_type(alarm_type):
        if alarm_type == 'none':
            return etcdrpc.NONE
        elif alarm_type == 'no space':
            return etcdrpc.NOSPACE
        raise ValueError('Unknown alarm type: {}'.format(alarm_type))

    def create_alarm(self, member_id=0):
        """Create an alarm: raise NOSPACE on member ``member_id`` (etcd
        records it under that id, 0 included). Until it is disarmed etcd
        refuses puts and lease grants (RESOURCE_EXHAUSTED).

        :returns: list of :class:`.Alarm`
        """
        lst = _lib3.alarm_list_p()
        self._call(self._lib.etcdc_v3_alarm_activate, int(member_id), _lib3.V3_ALARM_NOSPACE,
                   ctypes.byref(lst))
        try:
            return _alarms(self._lib, lst.value)
        finally:
            self._lib.etcdc_v3_alarm_list_free(lst.value)

    def list_alarms(self, member_id=0, alarm_type='none'):
        """List the activated alarms (etcd lists those of every member;
        ``alarm_type`` 'no space' keeps the NOSPACE ones).

        :returns: sequence of :class:`.Alarm`
        """
        wanted = self._alarm_type(alarm_type)
        lst = _lib3.alarm_list_p()
        self._call(self._lib.etcdc_v3_alarms, ctypes.byref(lst))
        try:
            found = _alarms(self._lib, lst.value)
        finally:
            self._lib.etcdc_v3_alarm_list_free(lst.value)
        for alarm in found:
            if wanted == etcdrpc.NONE or alarm.alarm_type == wanted:
                yield alarm

    def disarm_alarm(self, member_id=0):
        """Cancel the NOSPACE alarm of member ``member_id``.

        :returns: List of :class:`.Alarm` disarmed
        """
        lst = _lib3.alarm_list_p()
        self._call(self._lib.etcdc_v3_alarm_disarm, int(member_id), _lib3.V3_ALARM_NOSPACE,
                   ctypes.byref(lst))
        try:
            return _alarms(self._lib, lst.value)
        finally:
            self._lib.etcdc_v3_alarm_list_free(lst.value)

    def snapshot(self, file_obj):
        """Take a snapshot of the database.

        :param file_obj: A file-like object to write the database contents in.
        """
        failure = []

        def write(data, length, _userdata):
            try:
                file_obj.write(ctypes.string_at(data, length))
                return 0
            except BaseException as e:  # noqa: B902 - raised again below
                failure.append(e)
                return 1

        cb = _lib3.SNAPSHOT_CALLBACK(write)
        timeout_ms = -1
        if self.timeout:
            timeout_ms = max(1, int(round(float(self.timeout) * 1000)))
        try:
            self._call(self._lib.etcdc_v3_snapshot, cb, None, timeout_ms, None)
        except exceptions.CancelledError:
            if failure:
                raise failure[0]
            raise


def client(host='localhost', port=2379,
           ca_cert=None, cert_key=None, cert_cert=None, timeout=None,
           user=None, password=None, grpc_options=None, endpoints=None):
    """Return an instance of an Etcd3Client."""
    return Etcd3Client(host=host,
                       port=port,
                       ca_cert=ca_cert,
                       cert_key=cert_key,
                       cert_cert=cert_cert,
                       timeout=timeout,
                       user=user,
                       password=password,
                       grpc_options=grpc_options,
                       endpoints=endpoints)
