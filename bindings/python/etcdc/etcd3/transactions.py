"""python-etcd3's ``etcd3.transactions``: compares and ops of a transaction.

``client.transactions.value(key) == b'x'`` (``!=``, ``<``, ``>``) makes a
compare; ``put``, ``get``, ``delete`` and ``txn`` make the ops of a branch.
``Lease`` (``client.transactions.lease(key) == lease_id``) is etcdc's
addition: etcd compares a key's lease too.
"""

from . import etcdrpc
from . import utils

_OPERATORS = {
    etcdrpc.Compare.EQUAL: "==",
    etcdrpc.Compare.NOT_EQUAL: "!=",
    etcdrpc.Compare.LESS: "<",
    etcdrpc.Compare.GREATER: ">"
}


class BaseCompare(object):
    def __init__(self, key, range_end=None):
        self.key = key
        self.range_end = range_end
        self.value = None
        self.op = None

    # TODO check other is of correct type for compare
    # Version, Mod and Create can only be ints
    def __eq__(self, other):
        self.value = other
        self.op = etcdrpc.Compare.EQUAL
        return self

    def __ne__(self, other):
        self.value = other
        self.op = etcdrpc.Compare.NOT_EQUAL
        return self

    def __lt__(self, other):
        self.value = other
        self.op = etcdrpc.Compare.LESS
        return self

    def __gt__(self, other):
        self.value = other
        self.op = etcdrpc.Compare.GREATER
        return self

    def __repr__(self):
        if self.range_end is None:
            keys = self.key
        else:
            keys = "[{}, {})".format(self.key, self.range_end)
        return "{}: {} {} '{}'".format(self.__class__, keys,
                                       _OPERATORS.get(self.op),
                                       self.value)

    def build_message(self):
        """The compare as sent: an ``etcdrpc.Compare`` (key, range_end,
        result, target and the value compared with)."""
        if self.op is None:
            raise ValueError('op must be one of =, !=, < or >')
        range_end = b""
        if self.range_end is not None:
            range_end = utils.to_bytes(self.range_end)
        return etcdrpc.Compare(key=utils.to_bytes(self.key), range_end=range_end,
                               result=self.op, target=self.target,
                               value=self.build_value())


class Value(BaseCompare):
    target = etcdrpc.Compare.VALUE

    def build_value(self):
        return utils.to_bytes(self.value)


class Version(BaseCompare):
    target = etcdrpc.Compare.VERSION

    def build_value(self):
        return int(self.value)


class Create(BaseCompare):
    target = etcdrpc.Compare.CREATE

    def build_value(self):
        return int(self.value)


class Mod(BaseCompare):
    target = etcdrpc.Compare.MOD

    def build_value(self):
        return int(self.value)


class Lease(BaseCompare):
    """The key's lease (a Lease or its id; 0: none). etcdc's addition."""

    target = etcdrpc.Compare.LEASE

    def build_value(self):
        return utils.lease_to_id(self.value)


class Put(object):
    def __init__(self, key, value, lease=None, prev_kv=False):
        self.key = key
        self.value = value
        self.lease = lease
        self.prev_kv = prev_kv


class Get(object):
    def __init__(self, key, range_end=None):
        self.key = key
        self.range_end = range_end


class Delete(object):
    def __init__(self, key, range_end=None, prev_kv=False):
        self.key = key
        self.range_end = range_end
        self.prev_kv = prev_kv


class Txn(object):
    def __init__(self, compare, success=None, failure=None):
        self.compare = compare
        self.success = success
        self.failure = failure
