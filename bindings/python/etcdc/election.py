"""client.election: leader election on the keys API (etcdc_election_*)."""

import ctypes
import platform

from . import _lib
from .client import _utf8
from .exceptions import EtcdKeyNotFound, EtcdNotHeld
from .lock import _timeout_ms

# The election options: NULL, etcdc's defaults (keys under /_elections), as
# python-etcd's election has no prefix to set.
_DEFAULTS = None


class LeaderElection(object):
    """python-etcd's ``client.election``: one key per election, created only
    if absent; resigning and renewing compare the leader's name, so a
    non-leader cannot remove the leader."""

    def __init__(self, client):
        self.client = client
        self._lib = client._lib

    def set(self, key, name=None, ttl=0, timeout=None, blocking=True):
        """Makes ``name`` (default: this host's name) the leader of ``key``,
        waiting at most ``timeout`` seconds (None: as long as it takes; 0 or
        ``blocking=False``: try once) for the current leader to resign or
        expire; renews it if ``name`` already leads. ``ttl`` seconds without
        renewal end the leadership; 0 makes it last until ``delete``.
        Returns the etcd index at which leadership was won; raises
        EtcdAcquireTimeout when not won in time."""
        name = name or platform.node()
        index = ctypes.c_uint64()
        self.client._call(
            self._lib.etcdc_election_set,
            _utf8(key, "the key"),
            _utf8(name, "the name"),
            int(ttl or 0),
            _DEFAULTS,
            _timeout_ms(blocking, timeout),
            ctypes.byref(index),
        )
        return int(index.value)

    def get(self, key):
        """The name of the leader of ``key``; EtcdKeyNotFound when there is
        none (python-etcd raises EtcdException then)."""
        out = _lib.owned_str_p()
        self.client._call(
            self._lib.etcdc_election_get, _utf8(key, "the key"), _DEFAULTS, ctypes.byref(out)
        )
        name = _lib.take_string(self._lib, out.value)
        if name is None:
            raise EtcdKeyNotFound("Leader path %s not found" % key)
        return name

    def delete(self, key, name=None):
        """Ends ``name``'s leadership of ``key`` (default name: this host's).
        Returns True, or False if ``name`` was not the leader (nothing
        changes then)."""
        name = name or platform.node()
        try:
            self.client._call(
                self._lib.etcdc_election_delete,
                _utf8(key, "the key"),
                _utf8(name, "the name"),
                _DEFAULTS,
            )
        except EtcdNotHeld:
            return False
        return True

    def renew(self, key, name=None, ttl=60):
        """Keeps ``name``'s leadership of ``key`` for ``ttl`` more seconds;
        EtcdNotHeld if it does not lead."""
        name = name or platform.node()
        self.client._call(
            self._lib.etcdc_election_renew,
            _utf8(key, "the key"),
            _utf8(name, "the name"),
            int(ttl),
            _DEFAULTS,
        )

    def watch(self, key, index=0, timeout=None):
        """Waits for the next change of leader of ``key`` at or after etcd
        index ``index`` (0: from now), at most ``timeout`` seconds (None: as
        long as it takes). Returns ``(leader, next_index)``: the new leader's
        name (None when it resigned or expired) and the index to pass next
        time so that no change is missed. EtcdWatchTimedOut on timeout."""
        out = _lib.owned_str_p()
        nxt = ctypes.c_uint64()
        ms = -1 if timeout is None else max(0, int(round(float(timeout) * 1000)))
        self.client._call(
            self._lib.etcdc_election_watch,
            _utf8(key, "the key"),
            int(index or 0),
            _DEFAULTS,
            ms,
            ctypes.byref(out),
            ctypes.byref(nxt),
        )
        return _lib.take_string(self._lib, out.value), int(nxt.value)
