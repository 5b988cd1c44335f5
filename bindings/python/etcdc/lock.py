"""etcdc.Lock: a fair distributed lock on the keys API (etcdc_lock)."""

import ctypes
import logging
import threading

from . import _lib
from .exceptions import EtcdException, from_status


# python-etcd's acquire() default lock_ttl.
DEFAULT_LOCK_TTL = 3600

_UNSET = object()

log = logging.getLogger("etcdc.lock")


def _timeout_ms(blocking, timeout):
    """python-etcd's timeout in etcdc's wait rule: ``blocking=False`` tries
    once (0); ``timeout`` 0 or None waits as long as it takes (-1); else at
    most that many milliseconds."""
    if not blocking:
        return 0
    if not timeout or timeout < 0:
        return -1
    return max(1, int(round(float(timeout) * 1000)))


def _c_ttl(lock_ttl):
    """A lock TTL for etcdc: None or 0 (python-etcd's eternal lock) is
    etcdc's longest TTL, 100 years (an etcdc lock always has one)."""
    if not lock_ttl:
        return _lib.MAX_TTL
    return min(int(lock_ttl), _lib.MAX_TTL)


class Lock(object):
    """A distributed lock named ``lock_name`` (python-etcd's Lock).

    Contenders queue as in-order keys under ``<client.lock_prefix>/<lock_name>``
    (python-etcd's ``path``), each holding its contender's ``uuid``; the
    first holds the lock, each waiter watches its predecessor, so the lock
    goes in arrival order. A holder that dies loses the lock after its TTL.

    ``acquire(blocking=True, lock_ttl=3600, timeout=0)`` as python-etcd:
    ``lock_ttl=None`` for a lock without expiry, ``timeout=0`` to wait as
    long as it takes; returns True, or False when not acquired in time.
    ``ttl`` (``client.get_lock(name, ttl)``) replaces python-etcd's defaults:
    it is then the lock's TTL for ``acquire()`` and ``with lock:``. Without
    it, ``with lock:`` takes a lock without expiry, as python-etcd.
    ``is_acquired`` / ``is_locked()`` ask etcd. ``renew(ttl)``, ``release()``
    (nothing happens if the lock is not held, or its key is gone), and use
    as a context manager. ``lock_key`` and ``uuid``: the key this handle
    holds (or last held) and its value.
    One thread at a time uses a Lock (calls from several are serialised);
    ``cancel()`` may be called from any thread to stop a waiting acquire.
    """

    def __init__(self, client, lock_name, ttl=None, prefix=None):
        self._lib = client._lib
        self._ptr = None
        self.client = client
        self.name = lock_name
        self.ttl = int(ttl) if ttl else None
        self.prefix = prefix or getattr(client, "lock_prefix", "/_locks")
        self.path = "%s/%s" % (self.prefix.rstrip("/"), str(lock_name).strip("/"))
        self.is_taken = False
        self._lock_key = None
        self._uuid = None
        self._mutex = threading.RLock()  # one thread at a time in etcdc_lock_*
        self._state = threading.Lock()  # guards _ptr for cancel()
        self._ptr_ttl = _c_ttl(self._default_ttl())
        self._ptr = self._new(self._ptr_ttl)

    def _default_ttl(self):
        return self.ttl if self.ttl is not None else DEFAULT_LOCK_TTL

    def _new(self, ttl):
        opts = _lib.options(self._lib, _lib.LockOptions)
        opts.ttl = ttl
        prefix = self.prefix.encode("utf-8")
        opts.prefix = prefix
        out = _lib.lock_p()
        self.client._call(
            self._lib.etcdc_lock_new,
            str(self.name).encode("utf-8"),
            ctypes.byref(opts),
            ctypes.byref(out),
        )
        return out.value

    def _check(self, status):
        if status:
            exc = from_status(self._lib, status)
            if status == _lib.ERR_LOCK_EXPIRED:
                self.is_taken = False
            raise exc

    @property
    def lock_key(self):
        """The key this handle holds, or last held (python-etcd's
        ``lock_key``); ValueError before it first acquired the lock."""
        if not self._lock_key:
            raise ValueError("No sequence present.")
        return self._lock_key

    @property
    def uuid(self):
        """The value of this handle's key: what tells it from the other
        contenders (python-etcd's ``uuid``); None before it first acquired
        the lock. etcdc picks it (read-only)."""
        return self._uuid

    def acquire(self, blocking=True, lock_ttl=_UNSET, timeout=0):
        """Takes the lock (python-etcd's arguments and defaults).
        ``blocking=False`` tries once; else waits at most ``timeout``
        seconds (0 or None: as long as it takes). ``lock_ttl`` is the
        lock's TTL in seconds (default 3600, or the ``ttl`` given to
        ``get_lock``; None: no expiry); if the lock is already held, a
        ``lock_ttl`` renews it. Returns True when held, False when not
        acquired in time (nothing is left behind). Raises EtcdLockExpired if
        its key vanished while it waited, EtcdCancelled after ``cancel()``."""
        if lock_ttl is _UNSET:
            lock_ttl = self._default_ttl()
        ms = _timeout_ms(blocking, timeout)
        with self._mutex:
            self._alive()
            ttl = _c_ttl(lock_ttl)
            if self.is_taken:
                if lock_ttl:
                    self.renew(ttl)
            elif ttl != self._ptr_ttl:
                new = self._new(ttl)
                with self._state:
                    old, self._ptr = self._ptr, new
                self._lib.etcdc_lock_free(old)
                self._ptr_ttl = ttl
            status = self._lib.etcdc_lock_acquire(self._ptr, ms)
            if status == _lib.ERR_ACQUIRE_TIMEOUT:
                self.is_taken = False
                return False
            self._check(status)
            if not self.is_taken:
                self._learn_key()
            self.is_taken = True
            return True

    def _learn_key(self):
        """The key etcdc holds the lock with is the first under ``path``:
        it and its value become ``lock_key`` and ``uuid``."""
        try:
            listed = self.client.read(self.path, sorted=True).nodes
        except EtcdException:
            return  # best effort: the lock is held all the same
        if listed:
            self._lock_key, self._uuid = listed[0].key, listed[0].value

    def is_locked(self):
        """Whether this handle holds the lock, as etcd says now."""
        with self._mutex:
            self._alive()
            locked = ctypes.c_bool()
            self._check(self._lib.etcdc_lock_is_locked(self._ptr, ctypes.byref(locked)))
            self.is_taken = bool(locked.value)
            return self.is_taken

    @property
    def is_acquired(self):
        """Whether this handle holds the lock, as etcd says now."""
        return self.is_locked()

    def renew(self, ttl):
        """Resets the held lock's TTL to ``ttl`` seconds from now (and for
        later waits). EtcdNotHeld if not held; EtcdLockExpired if lost."""
        with self._mutex:
            self._alive()
            self._check(self._lib.etcdc_lock_renew(self._ptr, int(ttl)))
            self._ptr_ttl = int(ttl)

    def release(self):
        """Releases the lock, waking the next waiter. Nothing happens if it
        is not held, or if its key is gone (it expired: python-etcd too
        passes over that; it is logged as a warning on ``etcdc.lock``)."""
        with self._mutex:
            self._alive()
            status = self._lib.etcdc_lock_release(self._ptr)
            self.is_taken = False
            if status == _lib.ERR_NOT_HELD:
                return
            if status == _lib.ERR_LOCK_EXPIRED:
                log.warning(
                    "lock %s: its key %s was gone at release (it expired; "
                    "another contender may have held the lock meanwhile)",
                    self.path, self._lock_key or "?",
                )
                return
            self._check(status)

    def cancel(self):
        """Stops a waiting acquire (in any thread) and every later one."""
        with self._state:
            if self._ptr:
                self._lib.etcdc_lock_cancel(self._ptr)

    def close(self):
        """Cancels any wait, then frees the handle, releasing the lock if
        held."""
        self.cancel()
        with self._mutex:
            with self._state:
                ptr, self._ptr = self._ptr, None
            if ptr:
                self._lib.etcdc_lock_free(ptr)
            self.is_taken = False

    def _alive(self):
        if not self._ptr:
            raise ValueError("this lock is closed")

    def __enter__(self):
        # python-etcd: acquire(blocking=True, lock_ttl=None), no expiry;
        # with a ttl given to get_lock, that one.
        self.acquire(blocking=True, lock_ttl=self.ttl)
        return self

    def __exit__(self, typ, value, tb):
        self.release()
        return False

    def __del__(self):
        try:
            ptr, self._ptr = self._ptr, None
            if ptr:
                self._lib.etcdc_lock_free(ptr)
        except Exception:
            pass

    def __repr__(self):
        return "<etcdc.Lock %s ttl=%s>" % (self.path, self.ttl)
