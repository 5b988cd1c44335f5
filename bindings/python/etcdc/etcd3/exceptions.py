"""python-etcd3's ``etcd3.exceptions``, and the mapping of etcdc's statuses.

python-etcd3 0.12.0's classes, with its names, bases and constructors::

    Etcd3Exception
     +-- WatchTimedOut
     +-- InternalServerError           (etcd's gRPC INTERNAL)
     +-- ConnectionFailedError         (gRPC UNAVAILABLE; here also: no member
     |    |                             reachable, every TLS failure)
     |    +-- AmbiguousOutcomeError    (etcdc: a write may have been applied)
     +-- ConnectionTimeoutError        (gRPC DEADLINE_EXCEEDED; here also: the
     |                                  client's timeout ran out)
     +-- PreconditionFailedError       (gRPC FAILED_PRECONDITION)
     +-- RevisionCompactedError        (compacted_revision)

and etcdc's own, where python-etcd3 let a ``grpc.RpcError`` through (this
package has no grpcio)::

     +-- RpcError                      (any other gRPC status of etcd's:
     |                                  ``code()``, ``details()``)
     +-- InvalidArgumentError          (also a ValueError: refused before
     |                                  anything was sent)
     +-- ClusterIdMismatchError        (a member of another cluster answered)
     +-- CancelledError                (cancelled from another thread)

Every exception raised by this package has ``status`` (etcdc's status number,
None when raised by user code) and ``detail`` (etcdc's message, with etcd's
own words when etcd refused; None likewise).
"""

import enum
import re

from .. import _lib


class Etcd3Exception(Exception):
    status = None
    detail = None


class WatchTimedOut(Etcd3Exception):
    pass


class InternalServerError(Etcd3Exception):
    pass


class ConnectionFailedError(Etcd3Exception):
    def __str__(self):
        # python-etcd3's text, and what etcdc knows of the failure.
        if self.detail:
            return "etcd connection failed: %s" % self.detail
        return "etcd connection failed"


class ConnectionTimeoutError(Etcd3Exception):
    def __str__(self):
        if self.detail:
            return "etcd connection timeout: %s" % self.detail
        return "etcd connection timeout"


class PreconditionFailedError(Etcd3Exception):
    pass


class RevisionCompactedError(Etcd3Exception):
    def __init__(self, compacted_revision):
        self.compacted_revision = compacted_revision
        super(RevisionCompactedError, self).__init__()


# -- etcdc's own ---------------------------------------------------------


class StatusCode(enum.Enum):
    """gRPC's status codes, by grpc.StatusCode's names: ``(number, name)``."""

    OK = (0, "ok")
    CANCELLED = (1, "cancelled")
    UNKNOWN = (2, "unknown")
    INVALID_ARGUMENT = (3, "invalid argument")
    DEADLINE_EXCEEDED = (4, "deadline exceeded")
    NOT_FOUND = (5, "not found")
    ALREADY_EXISTS = (6, "already exists")
    PERMISSION_DENIED = (7, "permission denied")
    RESOURCE_EXHAUSTED = (8, "resource exhausted")
    FAILED_PRECONDITION = (9, "failed precondition")
    ABORTED = (10, "aborted")
    OUT_OF_RANGE = (11, "out of range")
    UNIMPLEMENTED = (12, "unimplemented")
    INTERNAL = (13, "internal")
    UNAVAILABLE = (14, "unavailable")
    DATA_LOSS = (15, "data loss")
    UNAUTHENTICATED = (16, "unauthenticated")


_CODES = {c.value[0]: c for c in StatusCode}


class RpcError(Etcd3Exception):
    """etcd refused the call with a gRPC status python-etcd3 has no class
    for (python-etcd3 raised grpc.RpcError): ``code()`` is the status (a
    ``StatusCode``, named as grpc.StatusCode's members), ``details()``
    etcd's words (e.g. "etcdserver: mvcc: required revision has been
    compacted")."""

    _code = None
    _details = None

    def code(self):
        return self._code

    def details(self):
        return self._details


class AmbiguousOutcomeError(ConnectionFailedError):
    """A write was sent and no certain answer came (the connection broke or
    timed out, or etcd could not complete it): it may or may not have been
    applied. etcdc never sends it twice: read to learn its outcome."""


class InvalidArgumentError(Etcd3Exception, ValueError):
    """An argument was refused before anything was sent."""


class ClusterIdMismatchError(Etcd3Exception):
    """A member answered for another cluster than the one this client talks
    to."""


class CancelledError(Etcd3Exception):
    """A wait (a watch, a lock's acquire) was cancelled from another
    thread."""


class LockNotHeldError(Etcd3Exception):
    """The lock is not held (its lease is lost or was never granted)."""


# etcdc's statuses (other than etcd's gRPC codes, below) and their classes.
_BY_STATUS = {
    _lib.ERR_INVALID_ARGUMENT: InvalidArgumentError,
    _lib.ERR_CONNECTION: ConnectionFailedError,
    _lib.ERR_TIMEOUT: ConnectionTimeoutError,
    _lib.ERR_AMBIGUOUS: AmbiguousOutcomeError,
    _lib.ERR_WATCH_TIMEOUT: WatchTimedOut,
    _lib.ERR_CANCELLED: CancelledError,
    _lib.ERR_CLUSTER_ID_MISMATCH: ClusterIdMismatchError,
    _lib.ERR_TLS_UNTRUSTED: ConnectionFailedError,
    _lib.ERR_TLS_HOSTNAME: ConnectionFailedError,
    _lib.ERR_TLS_CLIENT_CERT: ConnectionFailedError,
    _lib.ERR_TLS: ConnectionFailedError,
    # A member cut off from the majority, and no better one: as gRPC's
    # UNAVAILABLE.
    _lib.ERR_STALE_MEMBER: ConnectionFailedError,
    _lib.ERR_NOT_HELD: LockNotHeldError,
    _lib.ERR_LOCK_EXPIRED: LockNotHeldError,
    # The v3 calls answer a response etcdc could not read as AMBIGUOUS for a
    # write; for a read it is this.
    _lib.ERR_PROTOCOL: Etcd3Exception,
}

# etcd's gRPC statuses that python-etcd3 translates (client._EXCEPTIONS_BY_CODE).
_BY_GRPC = {
    13: InternalServerError,  # INTERNAL
    14: ConnectionFailedError,  # UNAVAILABLE
    4: ConnectionTimeoutError,  # DEADLINE_EXCEEDED
    9: PreconditionFailedError,  # FAILED_PRECONDITION
}

_GRPC_BASE = 2000


def _text(b):
    return (b or b"").decode("utf-8", "replace")


def _compacted_revision(message):
    """The revision in etcdc's "... etcd keeps changes from revision N on"."""
    m = re.search(r"revision (\d+)", message or "")
    return int(m.group(1)) if m else 0


def _from_status(lib, status, compacted_revision=None):
    """The exception for a failed call's status, with this thread's detail
    (call it on the thread of the failed call, right after it)."""
    err = lib.etcdc_error_last()
    if err and err.contents.status == status:
        message = _text(err.contents.message)
        server = _text(err.contents.server_message)
    else:
        message = _text(lib.etcdc_status_str(status))
        server = ""
    if status == _lib.ERR_COMPACTED:
        if compacted_revision is None:
            compacted_revision = _compacted_revision(message)
        exc = RevisionCompactedError(compacted_revision)
    elif _GRPC_BASE < status <= _GRPC_BASE + 16:
        code = status - _GRPC_BASE
        cls = _BY_GRPC.get(code, RpcError)
        exc = cls(message)
        if cls is RpcError:
            exc._code = _CODES.get(code)
            exc._details = server or message
    else:
        exc = _BY_STATUS.get(status, Etcd3Exception)(message)
    exc.status = status
    exc.detail = message
    return exc
