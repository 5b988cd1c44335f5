"""python-etcd3's ``etcd3.locks.Lock``, on libetcdc's v3 lock.

The lock is etcd's own recipe (that of ``etcdctl lock`` and Go's
``concurrency.Mutex``), not python-etcd3's: lock ``name`` is the prefix
``Lock.lock_prefix + name`` (``/locks/<name>``), each contender has a key
``/locks/<name>/<its lease id in hex>`` there, the first one created holds
the lock, and the others wait in arrival order. So it excludes, and is
excluded by, ``etcdctl lock /locks/<name>``.

Its lease is kept alive by a thread of libetcdc from the first
``acquire()`` until the Lock is closed or garbage-collected (a release
deletes the key only; the next acquire uses the lease again, as Go's
session): the lock is held until ``release()`` (or the close), however
long, as long as this process runs and reaches etcd. ``ttl`` is how long
the others wait for a holder that died or lost etcd before the lock
passes. (python-etcd3's lease is not renewed: its lock expires ``ttl``
seconds after ``acquire()`` unless ``refresh()`` is called in time.)
"""

import ctypes
import logging
import os
import threading
import uuid
import weakref

from .. import _lib, _lib3
from . import exceptions
from . import leases
from .utils import _bytes

_log = logging.getLogger(__name__)


def _on_main_thread():
    return threading.current_thread() is threading.main_thread()


class Lock(object):
    """
    A distributed lock.

    This can be used as a context manager, with the lock being acquired and
    released as you would expect:

    .. code-block:: python

        etcd = etcd3.client()

        # create a lock that passes 20 seconds after its holder died
        with etcd.lock('toot', ttl=20) as lock:
            # do something that requires the lock
            print(lock.is_acquired())

            # refresh the timeout on the lease (etcdc keeps it alive anyway)
            lock.refresh()

    :param name: name of the lock
    :type name: string or bytes
    :param ttl: the time to live of the lock's lease, in seconds: how long
                the lock outlives a holder that died or lost etcd
    :type ttl: int
    """

    lock_prefix = '/locks/'

    def __init__(self, name, ttl=60, etcd_client=None):
        self.name = name
        self.ttl = ttl
        if etcd_client is not None:
            self.etcd_client = etcd_client

        self.key = self._prefix()
        self.lease = None
        # python-etcd3's contender id; etcd's recipe keys contenders by
        # their lease (the key's value is empty): kept for compatibility.
        self.uuid = uuid.uuid1().bytes
        self._lib = _lib3.load()
        if not _lib3.has_lock():
            raise NotImplementedError(
                "this libetcdc (%s) has no v3 lock (etcdc_v3_lock_*)" % _lib.library_path())
        self._ptr = None
        self._mutex = threading.RLock()  # one thread at a time in etcdc_v3_lock_*
        self._state = threading.Lock()  # guards _ptr for cancel() and close()
        self._revision = 0
        _live_locks.add(self)

    def _prefix(self):
        prefix, name = self.lock_prefix, self.name
        if isinstance(name, str) and isinstance(prefix, str):
            return prefix + name
        return _bytes(prefix) + _bytes(name, "the lock's name")

    def _handle(self):
        """The C lock, made on first use (with the client as it is then)."""
        if self._ptr is None:
            lib = self._lib
            opts = _lib3.options(lib, _lib3.V3LockOptions)
            opts.ttl = int(self.ttl or 0)
            name = _bytes(self._prefix(), "the lock's name")
            out = _lib3.lock_p()
            self.etcd_client._call(lib.etcdc_v3_lock_new, name, len(name), ctypes.byref(opts),
                                   ctypes.byref(out))
            with self._state:
                self._ptr = out.value
        return self._ptr

    def _took(self, ptr):
        lib = self._lib
        key = _lib3.string_at(lib.etcdc_v3_lock_key(ptr), lib.etcdc_v3_lock_key_len(ptr))
        self.key = key.decode('utf-8', 'surrogateescape') if isinstance(self.name, str) else key
        self.lease = leases.Lease(lease_id=lib.etcdc_v3_lock_lease_id(ptr), ttl=self.ttl,
                                  etcd_client=self.etcd_client)
        self._revision = lib.etcdc_v3_lock_revision(ptr)

    def _dropped(self):
        self.key = self._prefix()
        self.lease = None
        self._revision = 0

    def _is_held(self, ptr):
        held = ctypes.c_bool()
        status = self._lib.etcdc_v3_lock_is_held(ptr, ctypes.byref(held))
        if status:
            raise exceptions._from_status(self._lib, status)
        return bool(held.value)

    def _wait(self, ptr, timeout_ms):
        """etcdc_v3_lock_acquire(ptr, timeout_ms): its status and exception.
        On the main thread, a thread of its own waits in etcdc, so that
        Ctrl-C (any signal handler that raises) cancels the wait."""
        lib = self._lib
        if timeout_ms == 0 or not _on_main_thread():
            status = lib.etcdc_v3_lock_acquire(ptr, timeout_ms)
            return status, (exceptions._from_status(lib, status) if status else None)
        outcome = []
        done = threading.Event()

        def wait():
            status = lib.etcdc_v3_lock_acquire(ptr, timeout_ms)
            outcome.append((status, exceptions._from_status(lib, status) if status else None))
            done.set()

        t = threading.Thread(target=wait, name="etcd3_lock_acquire")
        t.daemon = True
        t.start()
        try:
            while not done.wait(0.5):
                pass
        except BaseException:
            # Interrupted: stop waiting (its key is removed), and do not
            # keep a lock taken at that very moment.
            lib.etcdc_v3_lock_cancel(ptr)
            t.join()
            if outcome[0][0] == _lib.OK:
                lib.etcdc_v3_lock_release(ptr)
            # Cancelled for good: the next acquire makes a new handle.
            self.close()
            raise
        t.join()
        return outcome[0]

    def acquire(self, timeout=10):
        """Acquire the lock.

        :params timeout: Maximum time to wait before returning. `None` means
                         forever, any other value equal or greater than 0 is
                         the number of seconds.
        :returns: True if the lock has been acquired, False otherwise (also
                  when this Lock holds it already, as in python-etcd3).

        """
        with self._mutex:
            ptr = self._handle()
            if self.lease is not None:
                # Held by this Lock already: as another contender would,
                # it cannot take it (python-etcd3 waits its timeout first).
                if self._is_held(ptr):
                    return False
                self._release(ptr)
            timeout_ms = -1 if timeout is None else max(0, int(round(float(timeout) * 1000)))
            status, exc = self._wait(ptr, timeout_ms)
            if status == _lib.OK:
                self._took(ptr)
                return True
            if status in (_lib.ERR_ACQUIRE_TIMEOUT, _lib.ERR_CANCELLED):
                return False
            raise exc

    def _release(self, ptr):
        status = self._lib.etcdc_v3_lock_release(ptr)
        self._dropped()
        if status == _lib.OK:
            return True
        if status == _lib.ERR_NOT_HELD:
            return False
        exc = exceptions._from_status(self._lib, status)
        if status == _lib.ERR_LOCK_EXPIRED:
            _log.warning("lock %r was lost before its release (%s): another contender "
                         "may have held it meanwhile", self._prefix(), exc.detail)
            return False
        raise exc

    def release(self):
        """Release the lock: True if this Lock held it, False otherwise."""
        with self._mutex:
            if self._ptr is None:
                return False
            return self._release(self._ptr)

    def refresh(self):
        """Refresh the time to live on this lock (etcdc's thread renews it
        anyway): the lease's ``refresh()``."""
        if self.lease is not None:
            return self.lease.refresh()
        else:
            raise ValueError('No lease associated with this lock - have you '
                             'acquired the lock yet?')

    def is_acquired(self):
        """Check if this lock is currently acquired (asks etcd)."""
        with self._mutex:
            if self._ptr is None:
                return False
            return self._is_held(self._ptr)

    @property
    def revision(self):
        """etcdc's addition: the create revision of the held lock's key, a
        fencing token (it grows with every new holder); 0 when not held."""
        return self._revision

    def cancel(self):
        """etcdc's addition: makes a thread waiting in ``acquire()`` return
        False at once (any thread may call it). Final for this Lock's
        waits; a lock held stays held."""
        with self._state:
            if self._ptr is not None:
                self._lib.etcdc_v3_lock_cancel(self._ptr)

    def close(self):
        """etcdc's addition: frees the lock, releasing it if held (also done
        when the Lock is garbage-collected)."""
        with self._mutex:  # after a wait under way (cancel() ends it)
            with self._state:
                ptr, self._ptr = self._ptr, None
            if ptr is not None:
                self._lib.etcdc_v3_lock_free(ptr)
            self._dropped()

    def __enter__(self):
        # python-etcd3 waits 10 s and goes on without the lock if it is not
        # acquired by then; this waits as long as it takes.
        self.acquire(timeout=None)
        return self

    def __exit__(self, exception_type, exception_value, traceback):
        self.release()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


_live_locks = weakref.WeakSet()


def _after_fork_in_child():
    # A thread of the parent may have held a Lock's mutexes at the fork: the
    # child's copies start unlocked (the inherited C locks are inert there).
    for lock in list(_live_locks):
        lock._mutex = threading.RLock()
        lock._state = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
