"""etcdc: python-etcd's API over libetcdc, a C client for etcd's v2 API.

Switch from python-etcd by changing the import::

    import etcdc as etcd
    client = etcd.Client(host='127.0.0.1', port=2379)
    client.write('/nodes/n1', 1)
    print(client.read('/nodes/n1').value)

The library (libetcdc.so) is loaded with ctypes on first use: from
``$ETCDC_LIBRARY``, else the one the wheel carries in this package, else the
installed one, else a build tree above this package (``target/release`` or
``target/debug``).
"""

from . import auth
from .client import Client, Watcher
from .election import LeaderElection
from .exceptions import (
    EtcdAcquireTimeout,
    EtcdAlreadyExist,
    EtcdAmbiguousOutcome,
    EtcdCancelled,
    EtcdClusterIdChanged,
    EtcdCompareFailed,
    EtcdConnectionFailed,
    EtcdDirNotEmpty,
    EtcdError,
    EtcdEventIndexCleared,
    EtcdException,
    EtcdInsufficientPermissions,
    EtcdInvalidArgument,
    EtcdKeyError,
    EtcdKeyNotFound,
    EtcdLeaderElectionInProgress,
    EtcdLockExpired,
    EtcdNotDir,
    EtcdNotFile,
    EtcdNotHeld,
    EtcdProtocolError,
    EtcdRootReadOnly,
    EtcdTimeout,
    EtcdV2NotEnabled,
    EtcdValueError,
    EtcdWatchTimedOut,
    EtcdWatcherCleared,
)
from .lock import Lock
from .result import EtcdResult
from ._lib import LibraryNotFound, library_path

__version__ = "0.2.0"


def library_version():
    """The loaded libetcdc's version, e.g. '0.2.0'."""
    from . import _lib

    return _lib.load().etcdc_version().decode("ascii")


__all__ = [
    "Client",
    "auth",
    "EtcdResult",
    "Lock",
    "LeaderElection",
    "Watcher",
    "LibraryNotFound",
    "library_path",
    "library_version",
    "EtcdAcquireTimeout",
    "EtcdAlreadyExist",
    "EtcdAmbiguousOutcome",
    "EtcdCancelled",
    "EtcdClusterIdChanged",
    "EtcdCompareFailed",
    "EtcdConnectionFailed",
    "EtcdDirNotEmpty",
    "EtcdError",
    "EtcdEventIndexCleared",
    "EtcdException",
    "EtcdInsufficientPermissions",
    "EtcdInvalidArgument",
    "EtcdKeyError",
    "EtcdKeyNotFound",
    "EtcdLeaderElectionInProgress",
    "EtcdLockExpired",
    "EtcdNotDir",
    "EtcdNotFile",
    "EtcdNotHeld",
    "EtcdProtocolError",
    "EtcdRootReadOnly",
    "EtcdTimeout",
    "EtcdV2NotEnabled",
    "EtcdValueError",
    "EtcdWatchTimedOut",
    "EtcdWatcherCleared",
]
