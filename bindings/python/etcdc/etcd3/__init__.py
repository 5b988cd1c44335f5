"""etcdc.etcd3: python-etcd3 0.12.0's API over libetcdc, with no grpcio and
no protobuf.

Switch from python-etcd3 by changing the import::

    import etcdc.etcd3 as etcd3     # was: import etcd3

    etcd = etcd3.client()
    etcd.put('/key', 'dooot')
    value, metadata = etcd.get('/key')

The submodules are python-etcd3's: ``etcd3.exceptions``, ``etcd3.events``,
``etcd3.transactions``, ``etcd3.leases``, ``etcd3.locks``, ``etcd3.members``,
``etcd3.watch``, ``etcd3.utils``, and ``etcd3.etcdrpc`` (the enum values
and the response messages, as plain Python objects). See the binding's
README for what differs, and why.
"""

from __future__ import absolute_import

from . import etcdrpc
from . import events
from . import exceptions
from . import leases
from . import locks
from . import members
from . import transactions
from . import utils
from . import watch
from .client import Etcd3Client
from .client import Transactions
from .client import client
from .exceptions import Etcd3Exception
from .leases import Lease
from .locks import Lock
from .members import Member

# The python-etcd3 release whose API this module follows.
__version__ = '0.12.0'

__all__ = (
    'etcdrpc',
    'Etcd3Client',
    'Etcd3Exception',
    'Transactions',
    'client',
    'Lease',
    'Lock',
    'Member',
)
