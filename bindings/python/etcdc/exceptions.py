"""Exceptions, named and arranged as python-etcd's, plus etcdc's own.

python-etcd's hierarchy (kept as is, so ``except etcd.EtcdKeyError`` and
friends catch the same things)::

    EtcdException
     +-- EtcdKeyError
     |    +-- EtcdKeyNotFound          (etcd 100)
     |    +-- EtcdNotFile              (etcd 102)
     |    +-- EtcdNotDir               (etcd 104)
     |    +-- EtcdAlreadyExist         (etcd 105)
     |    +-- EtcdRootReadOnly         (etcd 107)
     +-- EtcdValueError (also a ValueError: etcd 200-212)
     |    +-- EtcdCompareFailed        (etcd 101)
     |    +-- EtcdDirNotEmpty          (etcd 108)
     |    +-- EtcdInvalidArgument      (etcdc: refused before sending)
     +-- EtcdInsufficientPermissions   (etcd 110, HTTP 401: credentials
     |                                  wrong or missing, or no permission)
     +-- EtcdLeaderElectionInProgress  (etcd 301)
     +-- EtcdWatcherCleared            (etcd 400)
     +-- EtcdEventIndexCleared         (etcd 401)
     +-- EtcdConnectionFailed          (also every TLS failure: untrusted
     |    |                             certificate, wrong host name, client
     |    |                             certificate refused; see ``status``)
     |    +-- EtcdWatchTimedOut        (a watch saw no change in time)
     |    +-- EtcdTimeout              (etcdc: a request timed out)
     |    +-- EtcdAmbiguousOutcome     (etcdc: a write may have been applied)
     +-- EtcdLockExpired
     +-- EtcdClusterIdChanged
     +-- EtcdCancelled                 (etcdc: cancelled from another thread)
     +-- EtcdAcquireTimeout            (etcdc: leadership not won in time)
     +-- EtcdNotHeld                   (etcdc: lock/leadership not held)
     +-- EtcdV2NotEnabled              (etcdc: the server has no v2 API)
     +-- EtcdProtocolError             (etcdc: an answer not understood)

Each exception has ``payload``: for an error etcd reported, python-etcd's
dict ``{'errorCode', 'message', 'cause', 'index'}``; ``None`` for a failure
of the client itself (as python-etcd's ``EtcdConnectionFailed``). Each also
has ``status`` (etcdc's status number, or None when raised by user code)
and ``etcd_code`` (etcd's errorCode, or None).
"""

from . import _lib


class EtcdException(Exception):
    """Generic etcd exception: the base of every exception of this module."""

    status = None
    etcd_code = None

    def __init__(self, message=None, payload=None):
        super(EtcdException, self).__init__(message)
        self.payload = payload


class EtcdValueError(EtcdException, ValueError):
    """Base class for etcd value-related errors."""


class EtcdCompareFailed(EtcdValueError):
    """Compare-and-swap failure (etcd 101)."""


class EtcdClusterIdChanged(EtcdException):
    """A member answered for another cluster than the expected one."""


class EtcdKeyError(EtcdException):
    """Generic key error."""


class EtcdKeyNotFound(EtcdKeyError):
    """Key not found (etcd 100)."""


class EtcdNotFile(EtcdKeyError):
    """Not a file (etcd 102)."""


class EtcdNotDir(EtcdKeyError):
    """Not a directory (etcd 104)."""


class EtcdAlreadyExist(EtcdKeyError):
    """Key already exists (etcd 105)."""


class EtcdEventIndexCleared(EtcdException):
    """The event index is older than etcd's history (etcd 401)."""


class EtcdConnectionFailed(EtcdException):
    """Connection to etcd failed."""

    def __init__(self, message=None, payload=None, cause=None):
        super(EtcdConnectionFailed, self).__init__(message=message, payload=payload)
        self.cause = cause


class EtcdInsufficientPermissions(EtcdException):
    """Missing credentials or permission (etcd 110)."""


class EtcdWatchTimedOut(EtcdConnectionFailed):
    """A watch timed out without an event."""


class EtcdWatcherCleared(EtcdException):
    """The watcher was cleared by etcd's recovery (etcd 400)."""


class EtcdLeaderElectionInProgress(EtcdException):
    """A leader election is in progress (etcd 301)."""


class EtcdRootReadOnly(EtcdKeyError):
    """The root is read only (etcd 107)."""


class EtcdDirNotEmpty(EtcdValueError):
    """Directory not empty (etcd 108)."""


class EtcdLockExpired(EtcdException):
    """The lock's key is gone (its TTL ran out): the lock is not held."""


# etcdc's own, where python-etcd has none.


class EtcdInvalidArgument(EtcdValueError):
    """An argument was refused before anything was sent."""


class EtcdTimeout(EtcdConnectionFailed):
    """A request did not complete within the client's read timeout (a write
    may have been applied)."""


class EtcdAmbiguousOutcome(EtcdConnectionFailed):
    """A write was sent and the connection broke or timed out before etcd
    answered: it may or may not have been applied. Read the key to know."""


class EtcdCancelled(EtcdException):
    """A watcher or lock wait was cancelled from another thread."""


class EtcdAcquireTimeout(EtcdException):
    """Leadership (or a lock) was not won within the time given."""


class EtcdNotHeld(EtcdException):
    """The operation needs a lock or leadership that is not held."""


class EtcdV2NotEnabled(EtcdException):
    """The server has no v2 API (etcd without --enable-v2, or 3.6+)."""


class EtcdProtocolError(EtcdException):
    """The server's answer could not be understood."""


# etcd's error codes, as python-etcd maps them (its EtcdError.error_exceptions,
# with 211 and 212, which etcd added later, also EtcdValueError; 300, raft's
# internal error, has no class of its own there).
_BY_ETCD_CODE = {
    100: EtcdKeyNotFound,
    101: EtcdCompareFailed,
    102: EtcdNotFile,
    104: EtcdNotDir,
    105: EtcdAlreadyExist,
    107: EtcdRootReadOnly,
    108: EtcdDirNotEmpty,
    110: EtcdInsufficientPermissions,
    301: EtcdLeaderElectionInProgress,
    400: EtcdWatcherCleared,
    401: EtcdEventIndexCleared,
}
for _code in range(200, 213):
    _BY_ETCD_CODE[_code] = EtcdValueError

# Every status of include/etcdc.h but OK: the exception raised for it
# (tests/test_abi.py checks that none is missing). EtcdException itself is
# the class for failures python-etcd has no class for either.
_BY_STATUS = {
    # etcd's errors: python-etcd's classes, by etcd's code (= the status).
    _lib.ERR_KEY_NOT_FOUND: EtcdKeyNotFound,
    _lib.ERR_COMPARE_FAILED: EtcdCompareFailed,
    _lib.ERR_NOT_FILE: EtcdNotFile,
    _lib.ERR_NOT_DIR: EtcdNotDir,
    _lib.ERR_NODE_EXIST: EtcdAlreadyExist,
    _lib.ERR_ROOT_READ_ONLY: EtcdRootReadOnly,
    _lib.ERR_DIR_NOT_EMPTY: EtcdDirNotEmpty,
    # Also a 401 without etcd's errorCode (the auth API answers so).
    _lib.ERR_UNAUTHORIZED: EtcdInsufficientPermissions,
    _lib.ERR_VALUE_REQUIRED: EtcdValueError,
    _lib.ERR_PREV_VALUE_REQUIRED: EtcdValueError,
    _lib.ERR_TTL_NAN: EtcdValueError,
    _lib.ERR_INDEX_NAN: EtcdValueError,
    _lib.ERR_INVALID_FIELD: EtcdValueError,
    _lib.ERR_INVALID_FORM: EtcdValueError,
    _lib.ERR_REFRESH_VALUE: EtcdValueError,
    _lib.ERR_REFRESH_TTL_REQUIRED: EtcdValueError,
    _lib.ERR_RAFT_INTERNAL: EtcdException,
    _lib.ERR_LEADER_ELECT: EtcdLeaderElectionInProgress,
    _lib.ERR_WATCHER_CLEARED: EtcdWatcherCleared,
    _lib.ERR_EVENT_INDEX_CLEARED: EtcdEventIndexCleared,
    # An etcd code etcdc does not know: python-etcd's class for that code
    # if it has one (from_status looks it up), else this.
    _lib.ERR_ETCD_OTHER: EtcdException,
    # etcdc's own.
    _lib.ERR_INVALID_ARGUMENT: EtcdInvalidArgument,
    _lib.ERR_CONNECTION: EtcdConnectionFailed,
    _lib.ERR_TIMEOUT: EtcdTimeout,
    _lib.ERR_PROTOCOL: EtcdProtocolError,
    _lib.ERR_V2_NOT_ENABLED: EtcdV2NotEnabled,
    # A 404 among these is EtcdKeyNotFound, as in python-etcd (from_status).
    _lib.ERR_HTTP_STATUS: EtcdException,
    _lib.ERR_REDIRECT: EtcdException,
    _lib.ERR_RESPONSE_TOO_LARGE: EtcdException,
    _lib.ERR_PANIC: EtcdException,
    _lib.ERR_WATCH_TIMEOUT: EtcdWatchTimedOut,
    _lib.ERR_CANCELLED: EtcdCancelled,
    _lib.ERR_ACQUIRE_TIMEOUT: EtcdAcquireTimeout,
    _lib.ERR_LOCK_EXPIRED: EtcdLockExpired,
    _lib.ERR_NOT_HELD: EtcdNotHeld,
    _lib.ERR_AMBIGUOUS: EtcdAmbiguousOutcome,
    _lib.ERR_CLUSTER_ID_MISMATCH: EtcdClusterIdChanged,
    # python-etcd raises EtcdConnectionFailed for every SSL error; `status`
    # tells them apart.
    _lib.ERR_TLS_UNTRUSTED: EtcdConnectionFailed,
    _lib.ERR_TLS_HOSTNAME: EtcdConnectionFailed,
    _lib.ERR_TLS_CLIENT_CERT: EtcdConnectionFailed,
    _lib.ERR_TLS: EtcdConnectionFailed,
    _lib.ERR_STALE_MEMBER: EtcdConnectionFailed,
    _lib.ERR_COMPACTED: EtcdException,
    # v3 calls (the etcd3 module has python-etcd3's classes for them).
    _lib.ERR_GRPC_CANCELLED: EtcdException,
    _lib.ERR_GRPC_UNKNOWN: EtcdException,
    _lib.ERR_GRPC_INVALID_ARGUMENT: EtcdException,
    _lib.ERR_GRPC_DEADLINE_EXCEEDED: EtcdException,
    _lib.ERR_GRPC_NOT_FOUND: EtcdException,
    _lib.ERR_GRPC_ALREADY_EXISTS: EtcdException,
    _lib.ERR_GRPC_PERMISSION_DENIED: EtcdException,
    _lib.ERR_GRPC_RESOURCE_EXHAUSTED: EtcdException,
    _lib.ERR_GRPC_FAILED_PRECONDITION: EtcdException,
    _lib.ERR_GRPC_ABORTED: EtcdException,
    _lib.ERR_GRPC_OUT_OF_RANGE: EtcdException,
    _lib.ERR_GRPC_UNIMPLEMENTED: EtcdException,
    _lib.ERR_GRPC_INTERNAL: EtcdException,
    _lib.ERR_GRPC_UNAVAILABLE: EtcdException,
    _lib.ERR_GRPC_DATA_LOSS: EtcdException,
    _lib.ERR_GRPC_UNAUTHENTICATED: EtcdException,
}


def _text(b):
    return (b or b"").decode("utf-8", "replace")


def from_status(lib, status):
    """The exception for a failed call's status, with this thread's detail.

    Must be called on the thread that made the failed call, right after it
    (etcdc keeps the detail per thread, until that thread's next failure).
    """
    err = lib.etcdc_error_last()
    if err and err.contents.status == status:
        e = err.contents
        text = _text(e.message)
        cause = _text(e.cause)
        server = _text(e.server_message)
        code = int(e.etcd_code)
        index = int(e.index)
        http_status = int(e.http_status)
    else:
        text = _text(lib.etcdc_status_str(status))
        cause, server, code, index, http_status = "", "", 0, 0, 0
    if code:
        # etcd's error: python-etcd's payload (etcd's own message) and text.
        cls = _BY_ETCD_CODE.get(code) or _BY_STATUS.get(status, EtcdException)
        payload = {"errorCode": code, "message": server, "cause": cause, "index": index}
        exc = cls("%s : %s" % (server, cause), payload)
    elif http_status == 404:
        # python-etcd's rule for answers without an errorCode (the auth and
        # members APIs): a 404 is "not found"; the payload has what the
        # server said.
        exc = EtcdKeyNotFound(text, {"message": server or text, "status": 404})
    else:
        exc = _BY_STATUS.get(status, EtcdException)(text)
    exc.status = status
    exc.etcd_code = code or None
    return exc


class EtcdError(object):
    """python-etcd's decoder of etcd's error payloads, for code that uses it
    directly: ``EtcdError.handle(payload)`` raises the matching exception."""

    error_exceptions = dict(_BY_ETCD_CODE)

    @classmethod
    def handle(cls, payload):
        error_code = payload.get("errorCode")
        message = payload.get("message")
        cause = payload.get("cause")
        status = payload.get("status")
        if status == 404:
            error_code = 100
        elif status == 401:
            error_code = 110
        exc = cls.error_exceptions.get(error_code, EtcdException)
        raise exc("{} : {}".format(message, cause), payload)
