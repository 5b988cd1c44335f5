"""EtcdResult: python-etcd's result object, filled from an etcdc response.

The data is copied out of the C response (``etcdc_node_to_json`` gives the
node and its listed subtree in etcd's own JSON form, which is what
python-etcd builds its results from) and the response is freed at once: a
result holds no C handle.
"""

import ctypes
import json

from . import _lib
from .exceptions import from_status


class EtcdResult(object):
    """A key or directory as etcd returned it (python-etcd's EtcdResult).

    Attributes: ``action``, ``key``, ``value``, ``expiration``, ``ttl``,
    ``modifiedIndex``, ``createdIndex``, ``newKey``, ``dir``, ``etcd_index``,
    ``raft_index``, ``_prev_node`` (also ``prev_node``); etcdc adds
    ``raft_term`` and ``cluster_id``.
    """

    _node_props = {
        "key": None,
        "value": None,
        "expiration": None,
        "ttl": None,
        "modifiedIndex": None,
        "createdIndex": None,
        "newKey": False,
        "dir": False,
    }

    def __init__(self, action=None, node=None, prevNode=None, **kwdargs):
        node = node or {}
        self.action = action
        for key, default in self._node_props.items():
            setattr(self, key, node.get(key, default))
        self._children = []
        if self.dir and "nodes" in node:
            # Raw dicts, as python-etcd keeps them; turned into results on demand.
            self._children = node["nodes"]
        self._prev_node = None
        if prevNode:
            self._prev_node = EtcdResult(None, node=prevNode)
            # python-etcd's issue 38: a write over a directory.
            if self._prev_node.dir and not self.dir:
                self.dir = True
        self.etcd_index = kwdargs.get("etcd_index")
        self.raft_index = kwdargs.get("raft_index")
        self.raft_term = kwdargs.get("raft_term")
        self.cluster_id = kwdargs.get("cluster_id")

    @property
    def prev_node(self):
        """The node before the change (None when etcd sent none)."""
        return self._prev_node

    def get_subtree(self, leaves_only=False):
        """Every node of the listed subtree, depth first; with
        ``leaves_only`` only the nodes without children. A node without
        children yields itself (as python-etcd)."""
        if not self._children:
            yield self
            return
        if not leaves_only:
            yield self
        for n in self._children:
            for child in EtcdResult(None, n).get_subtree(leaves_only=leaves_only):
                yield child

    @property
    def leaves(self):
        """Every node without children under this one (itself if it has
        none): the values of a recursive read, and empty directories."""
        return self.get_subtree(leaves_only=True)

    @property
    def children(self):
        """As python-etcd: the same as ``leaves`` (python-etcd deprecated it
        for ``leaves``). For a one-level read of a directory that is its
        listed children; ``nodes`` gives the listed children of any read."""
        return self.leaves

    @property
    def nodes(self):
        """The directly listed children (one level), as results."""
        return [EtcdResult(None, n) for n in self._children]

    def __eq__(self, other):
        if type(self) is not type(other):
            return False
        for k in self._node_props:
            if getattr(self, k, None) != getattr(other, k, None):
                return False
        return True

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self):
        return "%s(%r)" % (self.__class__, self.__dict__)


def _node_dict(lib, node):
    if not node:
        return None
    out = _lib.owned_str_p()
    status = lib.etcdc_node_to_json(node, ctypes.byref(out))
    if status:
        raise from_status(lib, status)
    return json.loads(_lib.take_string(lib, out.value))


def _top(d):
    # etcd sends no indexes for the root; etcdc fills in 0. python-etcd has None.
    if d is not None:
        for k in ("createdIndex", "modifiedIndex"):
            if d.get(k) == 0:
                d[k] = None
    return d


def take_response(lib, resp, event=False):
    """Copies a response into an EtcdResult and frees it (whatever happens).
    ``event``: the response is a watch's event."""
    try:
        action = lib.etcdc_response_action(resp)
        node = _top(_node_dict(lib, lib.etcdc_response_node(resp)))
        prev = _top(_node_dict(lib, lib.etcdc_response_prev_node(resp)))
        cluster_id = lib.etcdc_response_cluster_id(resp)
        result = EtcdResult(
            action.decode("utf-8") if action is not None else None,
            node,
            prev,
            etcd_index=lib.etcdc_response_etcd_index(resp),
            raft_index=lib.etcdc_response_raft_index(resp),
            raft_term=lib.etcdc_response_raft_term(resp),
            cluster_id=cluster_id.decode("ascii") if cluster_id is not None else None,
        )
    finally:
        lib.etcdc_response_free(resp)
    # python-etcd's newKey: the answer was 201 Created, which etcd sends
    # when a write created the key; a watch's event comes in a 200, whatever
    # its action, so its newKey is False.
    result.newKey = not event and (
        result.action == "create" or (result.action == "set" and result._prev_node is None)
    )
    return result
