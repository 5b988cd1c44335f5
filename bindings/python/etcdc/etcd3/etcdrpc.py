"""What python-etcd3's ``etcd3.etcdrpc`` (etcd's generated protobuf modules)
gives its users, without protobuf: the enum values used with the public API,
and the response messages it returns, as plain Python objects.

The messages have the fields (and field names) of etcd's rpc.proto and
kv.proto that the answers carry; a message field that the answer does not
set reads as an empty message, as with protobuf (``PutResponse().prev_kv.value
== b''``); ``HasField(name)`` tells whether it was set. They are values:
compared field by field, and printed with their fields.
"""


class _Message(object):
    """A protobuf-like message: ``_FIELDS`` names its fields and their
    defaults (a class: an empty message of that class; a list: a new list)."""

    _FIELDS = ()
    _NAMES = frozenset()
    # (name, default, how): how 0 = the default itself (immutable), 1 = a
    # new message of that class, 2 = a new list. Made per class from
    # _FIELDS (__init_subclass__): a KeyValue is made per key of a range.
    _MAKE = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._NAMES = frozenset(name for name, _ in cls._FIELDS)
        cls._MAKE = tuple(
            (name, default, 1 if isinstance(default, type) else 2 if isinstance(default, list) else 0)
            for name, default in cls._FIELDS)

    def __init__(self, **fields):
        if fields and not self._NAMES.issuperset(fields):
            unknown = set(fields) - self._NAMES
            raise TypeError("%s has no field %s"
                            % (type(self).__name__, ", ".join(sorted(unknown))))
        attrs = self.__dict__
        given = set()
        for name, default, how in self._MAKE:
            value = fields.get(name)
            if value is not None:
                given.add(name)
            elif how == 0:
                value = default
            elif how == 1:
                value = default()
            else:
                value = list(default)
            attrs[name] = value
        self._set = given

    def HasField(self, name):
        """Whether the message field ``name`` was set (protobuf's
        HasField)."""
        if name not in self._NAMES:
            raise ValueError('Protocol message has no "%s" field.' % name)
        return name in self._set

    def _values(self):
        return tuple(getattr(self, name) for name, _ in self._FIELDS)

    def __eq__(self, other):
        return type(self) is type(other) and self._values() == other._values()

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __repr__(self):
        return "%s(%s)" % (
            type(self).__name__,
            ", ".join("%s=%r" % (name, getattr(self, name)) for name, _ in self._FIELDS),
        )


class ResponseHeader(_Message):
    _FIELDS = (("cluster_id", 0), ("member_id", 0), ("revision", 0), ("raft_term", 0))


class KeyValue(_Message):
    _FIELDS = (
        ("key", b""),
        ("create_revision", 0),
        ("mod_revision", 0),
        ("version", 0),
        ("value", b""),
        ("lease", 0),
    )

    @classmethod
    def _of(cls, key, value, create_revision, mod_revision, version, lease):
        """A KeyValue with every field given (what a range answers), made
        without __init__'s checks: one per key of a range."""
        kv = cls.__new__(cls)
        kv.__dict__.update(key=key, create_revision=create_revision,
                           mod_revision=mod_revision, version=version, value=value,
                           lease=lease, _set=cls._NAMES)
        return kv


class RangeRequest(object):
    """The sort orders and targets of a range (``get_*(sort_order=...,
    sort_target=...)`` take their names: 'ascend', 'key', ...)."""

    NONE = 0
    ASCEND = 1
    DESCEND = 2
    KEY = 0
    VERSION = 1
    CREATE = 2
    MOD = 3
    VALUE = 4


class RangeResponse(_Message):
    _FIELDS = (("header", ResponseHeader), ("kvs", []), ("more", False), ("count", 0))


class PutResponse(_Message):
    _FIELDS = (("header", ResponseHeader), ("prev_kv", KeyValue))


class DeleteRangeResponse(_Message):
    _FIELDS = (("header", ResponseHeader), ("deleted", 0), ("prev_kvs", []))


class CompactionResponse(_Message):
    _FIELDS = (("header", ResponseHeader),)


class TxnResponse(_Message):
    _FIELDS = (("header", ResponseHeader), ("succeeded", False), ("responses", []))


class ResponseOp(_Message):
    _FIELDS = (
        ("response_range", RangeResponse),
        ("response_put", PutResponse),
        ("response_delete_range", DeleteRangeResponse),
        ("response_txn", TxnResponse),
    )

    def WhichOneof(self, oneof_group):
        """The name of the response this op holds (protobuf's WhichOneof on
        the oneof ``response``)."""
        if oneof_group != "response":
            raise ValueError('Protocol message has no "%s" field.' % oneof_group)
        for name, _ in self._FIELDS:
            if name in self._set:
                return name
        return None

    def __repr__(self):
        which = self.WhichOneof("response")
        if which is None:
            return "ResponseOp()"
        return "ResponseOp(%s=%r)" % (which, getattr(self, which))


class Compare(object):
    """A compare's operators (``result``) and targets."""

    EQUAL = 0
    GREATER = 1
    LESS = 2
    NOT_EQUAL = 3
    VERSION = 0
    CREATE = 1
    MOD = 2
    VALUE = 3
    LEASE = 4

    def __init__(self, key=b"", range_end=b"", result=0, target=0, value=None):
        # What transactions' build_message() returns: the compare as it is
        # sent (``value`` is the bytes, version or revision compared with).
        self.key = key
        self.range_end = range_end
        self.result = result
        self.target = target
        self.version = self.create_revision = self.mod_revision = self.lease = 0
        self.value = b""
        if target == Compare.VALUE:
            self.value = value
        elif target == Compare.VERSION:
            self.version = value
        elif target == Compare.CREATE:
            self.create_revision = value
        elif target == Compare.MOD:
            self.mod_revision = value
        elif target == Compare.LEASE:
            self.lease = value

    def __repr__(self):
        return "Compare(key=%r, range_end=%r, result=%r, target=%r)" % (
            self.key,
            self.range_end,
            self.result,
            self.target,
        )


class Event(_Message):
    """A raw watch event: ``type`` (PUT or DELETE), ``kv``, ``prev_kv``."""

    PUT = 0
    DELETE = 1
    _FIELDS = (("type", 0), ("kv", KeyValue), ("prev_kv", KeyValue))


class WatchCreateRequest(object):
    """The filters of a watch (``watch(..., filters=[NOPUT])``)."""

    NOPUT = 0
    NODELETE = 1


class LeaseKeepAliveResponse(_Message):
    _FIELDS = (("header", ResponseHeader), ("ID", 0), ("TTL", 0))


class LeaseTimeToLiveResponse(_Message):
    _FIELDS = (
        ("header", ResponseHeader),
        ("ID", 0),
        ("TTL", 0),
        ("grantedTTL", 0),
        ("keys", []),
    )


class AlarmRequest(object):
    GET = 0
    ACTIVATE = 1
    DEACTIVATE = 2


# etcd's AlarmType.
NONE = 0
NOSPACE = 1
CORRUPT = 2
