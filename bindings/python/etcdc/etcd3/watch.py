"""Watches: python-etcd3's ``etcd3.watch`` over etcdc's v3 watchers.

Each watch is an etcdc v3 watcher (``etcdc_v3_watcher_*``): every change of
its key or range, in order, each once, also across the failure of the member
it watched through (etcdc creates the watch again on another member from the
revision after the last event it delivered). All the watchers of one client
share one gRPC stream and one thread of etcdc's.

- ``client.watch*()`` iterate in the caller's thread: ``next()`` blocks in
  etcdc with the GIL released (on the main thread, in slices of
  ``MAIN_THREAD_SLICE_MS``, so that Ctrl-C is handled; nothing is lost
  between slices).
- ``client.add_watch_callback()`` (``Watcher.add_callback``): a thread of
  this module per watch waits in etcdc and queues its responses; one thread
  per client, named ``etcd3_watch_<id>`` as python-etcd3's, calls the
  callbacks, one at a time, in order, as python-etcd3 does. A callback
  that raises is logged (``etcdc.etcd3.watch``) and the watch goes on.

Compaction is reported as python-etcd3 reports it: the iterator raises
``RevisionCompactedError`` (its ``compacted_revision``: from where etcd
still keeps changes), a callback receives it as its argument, and the watch
ends.

A member failure is not reported: the watch goes on from where it was once
another member answers (python-etcd3 raised ConnectionFailedError and ended
every watch of the client; what changed meanwhile was lost to it). While no
member can be reached, a warning is logged.
"""

import ctypes
import itertools
import logging
import os
import queue
import threading
import time
import weakref

from .. import _lib, _lib3
from . import etcdrpc, events, exceptions
from .utils import _bytes

_log = logging.getLogger(__name__)

# A blocking call into C delays Python's signal handlers until it returns:
# on the main thread, waits are made of slices this long.
MAIN_THREAD_SLICE_MS = 1000

# Statuses of etcdc_v3_watcher_next() that end the watch for good whatever
# else (the others, etcd's refusals, are final when they repeat; the
# connection errors are told and the watcher goes on).
_FINAL = (_lib.ERR_INVALID_ARGUMENT, _lib.ERR_PANIC)


def _on_main_thread():
    return threading.current_thread() is threading.main_thread()


def _ms(seconds):
    return max(0, int(round(float(seconds) * 1000)))


def _kv(p):
    """An etcdrpc.KeyValue copied from a borrowed ``etcdc_v3_kv *`` (an
    empty one for NULL)."""
    if not p:
        return etcdrpc.KeyValue()
    c = p.contents
    return etcdrpc.KeyValue._of(
        _lib3.string_at(c.key, c.key_len),
        _lib3.string_at(c.value, c.value_len),
        c.create_revision,
        c.mod_revision,
        c.version,
        c.lease,
    )


def _take_event(lib, ev):
    """An etcdrpc.Event copied from an owned ``etcdc_v3_event *``, freed."""
    try:
        kind = lib.etcdc_v3_event_type(ev)
        prev = lib.etcdc_v3_event_prev_kv(ev)
        return etcdrpc.Event(
            type=etcdrpc.Event.DELETE if kind == _lib3.V3_EVENT_DELETE else etcdrpc.Event.PUT,
            kv=_kv(lib.etcdc_v3_event_kv(ev)),
            prev_kv=_kv(prev) if prev else None,
        )
    finally:
        lib.etcdc_v3_event_free(ev)


class WatchResponse(object):

    def __init__(self, header, events):
        self.header = header
        self.events = events


def _response(raw_events):
    """A WatchResponse of raw events. etcdc's events carry no header: its
    ``revision`` is the last event's (etcd's is the store's revision when it
    sent them, the same or later); the other fields are 0."""
    header = etcdrpc.ResponseHeader(revision=raw_events[-1].kv.mod_revision)
    return WatchResponse(header, [events.new_event(e) for e in raw_events])


class Watch(object):
    """python-etcd3's Watch (a watch id, its iterator and client)."""

    def __init__(self, watch_id, iterator=None, etcd_client=None):
        self.watch_id = watch_id
        self.etcd_client = etcd_client
        self.iterator = iterator

    def cancel(self):
        self.etcd_client.cancel_watch(self.watch_id)


# Every live C watcher and callback state, for the fork handler.
_live_watchers = weakref.WeakSet()
_live_states = weakref.WeakSet()


class _CWatcher(object):
    """An etcdc_v3_watcher: one thread at a time in next(); cancel() and
    close() from any thread (close frees it once no thread is inside)."""

    def __init__(self, client, key, range_end=None, start_revision=None,
                 filters=None, prev_kv=False, prefix=False, progress_notify=False):
        lib = self._lib = _lib3.load()
        self._ptr = None
        self._closed = True
        self._busy = False
        self._forked = False
        self._mutex = threading.Lock()
        self.key = _bytes(key)
        opts = _lib3.options(lib, _lib3.V3WatchOptions)
        keep = []
        if range_end is not None:
            end = _bytes(range_end, "range_end")
            opts.range_end = _lib3.buffer_pointer(end, keep)
            opts.range_end_len = len(end)
        opts.prefix = bool(prefix)
        if start_revision:
            opts.start_revision = int(start_revision)
        opts.prev_kv = bool(prev_kv)
        for f in filters or ():
            if f == etcdrpc.WatchCreateRequest.NOPUT:
                opts.no_put = True
            elif f == etcdrpc.WatchCreateRequest.NODELETE:
                opts.no_delete = True
            else:
                raise ValueError("unknown watch filter: %r" % (f,))
        # progress_notify: etcdc's watchers take no progress notifications
        # (accepted and ignored).
        out = _lib3.watcher_p()
        try:
            client._call(lib.etcdc_v3_watcher_new, self.key, len(self.key),
                         ctypes.byref(opts), ctypes.byref(out))
        except exceptions.ConnectionTimeoutError as e:
            # python-etcd3: a watch not created within the client's timeout.
            if e.status != _lib.ERR_TIMEOUT:
                raise
            raise exceptions.WatchTimedOut()
        self._ptr = out.value
        self._closed = False
        self._troubled = False
        _live_watchers.add(self)

    def _enter(self):
        with self._mutex:
            if self._closed or not self._ptr:
                raise exceptions.CancelledError("the watch is cancelled")
            if self._busy:
                raise RuntimeError("the watch is being iterated by another thread")
            self._busy = True
            return self._ptr

    def _leave(self):
        ptr = None
        with self._mutex:
            self._busy = False
            if self._closed:
                ptr, self._ptr = self._ptr, None
        if ptr and not self._forked:
            self._lib.etcdc_v3_watcher_free(ptr)

    def next(self, timeout=None, poll=False):
        """The next raw event (an etcdrpc.Event), waiting at most
        ``timeout`` seconds (None: as long as it takes; WatchTimedOut when
        it runs out). ``poll``: only an event already received, else None.
        CancelledError once cancelled; RevisionCompactedError, or etcd's
        refusal, when etcd ended the watch (final)."""
        lib = self._lib
        ptr = self._enter()
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            sliced = _on_main_thread()
            while True:
                if poll:
                    wait_ms = 0
                elif deadline is None:
                    wait_ms = -1
                else:
                    wait_ms = _ms(max(0.0, deadline - time.monotonic()))
                if sliced and (wait_ms < 0 or wait_ms > MAIN_THREAD_SLICE_MS):
                    wait_ms = MAIN_THREAD_SLICE_MS
                out = _lib3.event_p()
                status = lib.etcdc_v3_watcher_next(ptr, wait_ms, ctypes.byref(out))
                if status == _lib.OK:
                    if self._troubled:
                        self._troubled = False
                        _log.warning("watch of %r: etcd answers again; the watch goes on", self.key)
                    return _take_event(lib, out.value)
                if status == _lib.ERR_WATCH_TIMEOUT:
                    if poll:
                        return None
                    if deadline is not None and time.monotonic() >= deadline:
                        raise exceptions.WatchTimedOut()
                    continue
                if status == _lib.ERR_COMPACTED:
                    raise exceptions.RevisionCompactedError(
                        lib.etcdc_v3_watcher_compact_revision(ptr))
                exc = exceptions._from_status(lib, status)
                if status == _lib.ERR_CANCELLED or status in _FINAL:
                    raise exc
                if _lib.ERR_GRPC_CANCELLED <= status <= _lib.ERR_GRPC_UNAUTHENTICATED:
                    # etcd ended the watch (final: the same status again), or
                    # a member refused it on the way (then it is gone).
                    again = lib.etcdc_v3_watcher_next(ptr, 0, ctypes.byref(out))
                    if again == status:
                        raise exc
                    if again == _lib.OK:
                        return _take_event(lib, out.value)
                # No member reached for a while: etcdc goes on trying.
                if not self._troubled:
                    self._troubled = True
                    _log.warning("watch of %r: %s; etcdc goes on trying, no event will be missed",
                                 self.key, exc.detail)
                if poll:
                    return None
        finally:
            self._leave()

    def drain(self):
        """The raw events already received (none waited for)."""
        found = []
        while True:
            try:
                e = self.next(poll=True)
            except exceptions.Etcd3Exception:
                return found  # the next call reports it
            if e is None:
                return found
            found.append(e)

    def cancel(self):
        """Ends the watch: a thread blocked in next() raises CancelledError
        at once. Any thread; final."""
        with self._mutex:
            if self._ptr and not self._forked:
                self._lib.etcdc_v3_watcher_cancel(self._ptr)

    def close(self):
        """Cancels the watch and frees the watcher (once no thread is in
        it)."""
        ptr = None
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            if self._ptr and not self._forked:
                self._lib.etcdc_v3_watcher_cancel(self._ptr)
            if not self._busy:
                ptr, self._ptr = self._ptr, None
        if ptr and not self._forked:
            self._lib.etcdc_v3_watcher_free(ptr)

    def _after_fork_in_child(self):
        # The parent's watch: inert here (etcdc's rule); its memory is left
        # alone (another thread of the parent may have been inside it).
        self._forked = True
        self._mutex = threading.Lock()
        self._closed = True
        self._busy = False
        self._ptr = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class _Stream(object):
    """A watch iterated by its caller (``client.watch*()``): the iterator
    and its ``cancel``."""

    def __init__(self, client, key, kwargs):
        self._pending = None
        self._w = None
        self._cancelled = threading.Event()
        try:
            self._w = _CWatcher(client, key, **kwargs)
        except exceptions.RevisionCompactedError as e:
            # python-etcd3 creates the watch, and its first next() raises.
            self._pending = e

    def cancel(self):
        self._cancelled.set()
        if self._w is not None:
            self._w.close()

    def _next(self, timeout=None):
        if self._pending is not None:
            e, self._pending = self._pending, None
            self.cancel()
            raise e
        if self._cancelled.is_set() or self._w is None:
            raise exceptions.CancelledError("the watch is cancelled")
        try:
            return self._w.next(timeout)
        except exceptions.WatchTimedOut:
            raise
        except exceptions.Etcd3Exception:
            self.cancel()
            raise

    def events(self):
        while True:
            try:
                raw = self._next()
            except exceptions.CancelledError:
                return
            if self._cancelled.is_set():
                return
            yield events.new_event(raw)

    def responses(self):
        while True:
            try:
                raw = [self._next()] + self._w.drain()
            except exceptions.CancelledError:
                return
            if self._cancelled.is_set():
                return
            yield _response(raw)

    def once(self, timeout=None):
        """The first response, waiting at most ``timeout`` seconds; the watch
        is cancelled after it."""
        try:
            return _response([self._next(timeout)] + self._w.drain())
        finally:
            self.cancel()



class _CallbackWatch(object):
    __slots__ = ("watch_id", "callback", "watcher", "thread")

    def __init__(self, watch_id, callback, watcher):
        self.watch_id = watch_id
        self.callback = callback
        self.watcher = watcher
        self.thread = None


class _State(object):
    """What the callback threads share (not the client, so that a client
    dropped while callbacks run can be collected, as python-etcd3's)."""

    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.callbacks = {}
        self.queue = queue.Queue()
        self.thread = None
        self.closed = False
        self.owner_gone = False

    def reset(self):
        self.lock = threading.Lock()
        self.callbacks = {}
        self.queue = queue.Queue()
        self.thread = None

    def stop_if_idle(self):
        """Ends the dispatcher when nobody can add or cancel a watch any
        more and none is left (call with the lock held)."""
        if (self.closed or self.owner_gone) and not self.callbacks and self.thread is not None:
            self.queue.put(None)
            self.thread = None


def _dispatch(state, q):
    """The callback thread: calls the callbacks of the queued responses, in
    order (a response of a watch cancelled meanwhile is dropped)."""
    while True:
        item = q.get()
        if item is None:
            return
        entry, payload, final = item
        if not final:
            with state.lock:
                live = state.callbacks.get(entry.watch_id) is entry
            if not live:
                continue
        _safe_callback(entry.callback, payload)


def _read(state, entry):
    """A watch's thread: waits in etcdc and queues what it gets."""
    w = entry.watcher
    try:
        while True:
            try:
                raw = [w.next()] + w.drain()
            except exceptions.CancelledError:
                return
            except exceptions.Etcd3Exception as e:
                # Final: compaction, or etcd ended the watch. python-etcd3
                # gives the callback the error and cancels the watch.
                _finish(state, entry, e)
                return
            with state.lock:
                if state.callbacks.get(entry.watch_id) is not entry:
                    return
                state.queue.put((entry, _response(raw), False))
    finally:
        w.close()


def _finish(state, entry, err):
    with state.lock:
        if state.callbacks.get(entry.watch_id) is entry:
            del state.callbacks[entry.watch_id]
            state.queue.put((entry, err, True))
        state.stop_if_idle()


class Watcher(object):
    """The watches of one client that call callbacks
    (``client.add_watch_callback``), and python-etcd3's ``client.watcher``."""

    def __init__(self, client, timeout=None):
        self.timeout = timeout
        self._client = weakref.proxy(client)
        self._ids = itertools.count()
        self._state = _State("etcd3_watch_%x" % (id(self),))
        _live_states.add(self._state)

    def add_callback(self, key, callback, range_end=None, start_revision=None,
                     progress_notify=False, filters=None, prev_kv=False, prefix=False):
        """Watches ``key`` (with ``range_end`` its range, with ``prefix``
        its prefix) and calls ``callback`` with each WatchResponse, or with
        the exception that ended the watch. Returns its watch id."""
        state = self._state
        pending = None
        w = None
        try:
            w = _CWatcher(self._client, key, range_end=range_end,
                          start_revision=start_revision, filters=filters,
                          prev_kv=prev_kv, prefix=prefix)
        except exceptions.RevisionCompactedError as e:
            pending = e
        with state.lock:
            if state.closed:
                if w is not None:
                    w.close()
                raise exceptions.Etcd3Exception("the client is closed")
            if state.thread is None or not state.thread.is_alive():
                state.thread = threading.Thread(name=state.name, target=_dispatch,
                                                args=(state, state.queue))
                state.thread.daemon = True
                state.thread.start()
            entry = _CallbackWatch(next(self._ids), callback, w)
            state.callbacks[entry.watch_id] = entry
            if pending is None:
                entry.thread = threading.Thread(
                    name="%s_%d" % (state.name, entry.watch_id), target=_read,
                    args=(state, entry))
                entry.thread.daemon = True
                entry.thread.start()
        if pending is not None:
            _finish(state, entry, pending)
        return entry.watch_id

    def cancel(self, watch_id):
        state = self._state
        with state.lock:
            entry = state.callbacks.pop(watch_id, None)
            state.stop_if_idle()
        if entry is not None and entry.watcher is not None:
            entry.watcher.cancel()

    def close(self):
        """Cancels every watch and ends the callback thread."""
        state = self._state
        with state.lock:
            state.closed = True
            entries = list(state.callbacks.values())
            state.callbacks.clear()
            state.stop_if_idle()
        for entry in entries:
            if entry.watcher is not None:
                entry.watcher.cancel()

    def __del__(self):
        try:
            state = self._state
            with state.lock:
                state.owner_gone = True
                state.stop_if_idle()
        except Exception:
            pass


def _safe_callback(callback, response_or_err):
    try:
        callback(response_or_err)

    except Exception:
        _log.exception('Watch callback failed')


def _after_fork_in_child():
    # Threads do not survive fork(): the callback states start anew (the
    # parent's watches are the parent's: etcdc's watchers are inert in a
    # child), and the inherited watchers are left alone.
    for s in list(_live_states):
        s.reset()
    for w in list(_live_watchers):
        w._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
