"""A C handle shared by threads, freed only once no thread is inside a call."""

import threading

from .exceptions import EtcdException


class Handle(object):
    """Owns one C pointer and its free function.

    ``enter()`` hands the pointer to a call and counts it; ``leave()`` ends
    the call. ``close()`` frees the pointer at once if no call is under way,
    else when the last one leaves: a ``close()`` from one thread never frees
    a handle another thread is using.
    """

    __slots__ = ("_ptr", "_free", "_mutex", "_users", "_closed", "_what")

    def __init__(self, ptr, free, what):
        self._ptr = ptr
        self._free = free
        self._mutex = threading.Lock()
        self._users = 0
        self._closed = False
        self._what = what

    def enter(self):
        with self._mutex:
            if self._closed:
                raise EtcdException("this %s is closed" % self._what)
            self._users += 1
            return self._ptr

    def leave(self):
        ptr = None
        with self._mutex:
            self._users -= 1
            if self._closed and self._users == 0:
                ptr, self._ptr = self._ptr, None
        if ptr:
            self._free(ptr)

    def peek(self, fn):
        """Calls fn(ptr) under the handle's mutex if it is not freed yet
        (for the thread-safe cancel functions)."""
        with self._mutex:
            if self._ptr:
                fn(self._ptr)

    @property
    def closed(self):
        return self._closed

    def close(self):
        ptr = None
        with self._mutex:
            self._closed = True
            if self._users == 0:
                ptr, self._ptr = self._ptr, None
        if ptr:
            self._free(ptr)
