"""etcdc.Lock: a fair distributed lock on the keys API (etcdc_lock)."""

import ctypes
import threading

from . import _lib
from .exceptions import EtcdLockExpired, from_status


def _timeout_ms(blocking, timeout):
    """etcdc's wait rule: 0 try once, -1 (negative) as long as it takes,
    else at most that many milliseconds."""
    if not blocking:
        return 0
    if timeout is None or timeout < 0:
        return -1
    if timeout == 0:
        return 0
    return max(1, int(round(float(timeout) * 1000)))


class Lock(object):
    """A distributed lock named ``lock_name`` (python-etcd's Lock).

    Contenders queue as in-order keys with a TTL under
    ``<client.lock_prefix>/<lock_name>``; the first holds the lock, each
    waiter watches its predecessor, so the lock goes in arrival order. A
    holder that dies loses the lock after ``ttl`` seconds.

    ``acquire(blocking=True, lock_ttl=None, timeout=None)`` returns True, or
    False when not acquired in time. ``is_acquired`` / ``is_locked()`` ask
    etcd. ``renew(ttl)``, ``release()``, and use as a context manager.
    One thread at a time uses a Lock (calls from several are serialised);
    ``cancel()`` may be called from any thread to stop a waiting acquire.
    """

    def __init__(self, client, lock_name, ttl=60, prefix=None):
        self._lib = client._lib
        self._ptr = None
        self.client = client
        self.name = lock_name
        self.ttl = int(ttl) if ttl else 60  # etcdc's default; a lock always has a TTL
        self.prefix = prefix or getattr(client, "lock_prefix", "/_locks")
        self.path = "%s/%s" % (self.prefix.rstrip("/"), str(lock_name).strip("/"))
        self.is_taken = False
        self._mutex = threading.RLock()  # one thread at a time in etcdc_lock_*
        self._state = threading.Lock()  # guards _ptr for cancel()
        self._ptr = self._new(self.ttl)

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

    def acquire(self, blocking=True, lock_ttl=None, timeout=None):
        """Takes the lock. ``blocking=False`` tries once; else waits at most
        ``timeout`` seconds (None: as long as it takes; 0: try once).
        ``lock_ttl`` changes the lock's TTL (else the one given to
        ``get_lock``). Returns True when held, False when not acquired in
        time (nothing is left behind). Raises EtcdLockExpired if its key
        vanished while it waited, EtcdCancelled after ``cancel()``."""
        ms = _timeout_ms(blocking, timeout)
        with self._mutex:
            self._alive()
            if lock_ttl and int(lock_ttl) != self.ttl:
                if not self.is_taken:
                    new = self._new(int(lock_ttl))
                    with self._state:
                        old, self._ptr = self._ptr, new
                    self._lib.etcdc_lock_free(old)
                    self.ttl = int(lock_ttl)
                else:
                    self.renew(int(lock_ttl))
            status = self._lib.etcdc_lock_acquire(self._ptr, ms)
            if status == _lib.ERR_ACQUIRE_TIMEOUT:
                self.is_taken = False
                return False
            self._check(status)
            self.is_taken = True
            return True

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
            self.ttl = int(ttl)

    def release(self):
        """Releases the lock, waking the next waiter. Nothing happens if it
        is not held; raises EtcdLockExpired if its key had expired (someone
        else may have held the lock meanwhile)."""
        with self._mutex:
            self._alive()
            status = self._lib.etcdc_lock_release(self._ptr)
            if status == _lib.ERR_NOT_HELD:
                self.is_taken = False
                return
            self.is_taken = False
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
        self.acquire()
        return self

    def __exit__(self, typ, value, tb):
        try:
            self.release()
        except EtcdLockExpired:
            if typ is None:
                raise

    def __del__(self):
        try:
            ptr, self._ptr = self._ptr, None
            if ptr:
                self._lib.etcdc_lock_free(ptr)
        except Exception:
            pass

    def __repr__(self):
        return "<etcdc.Lock %s ttl=%d>" % (self.path, self.ttl)
