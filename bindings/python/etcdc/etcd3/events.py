"""python-etcd3's ``etcd3.events``: watch events."""

from . import etcdrpc


class Event(object):

    def __init__(self, event):
        self.key = event.kv.key
        self._event = event

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        if name.startswith('prev_'):
            return getattr(self._event.prev_kv, name[5:])
        return getattr(self._event.kv, name)

    def __str__(self):
        return '{type} key={key} value={value}'.format(type=self.__class__,
                                                       key=self.key,
                                                       value=self.value)


class PutEvent(Event):
    pass


class DeleteEvent(Event):
    pass


def new_event(event):
    """
    Wrap a raw event (an ``etcdrpc.Event``) in a friendlier containing class.

    This picks the appropriate class from one of PutEvent or DeleteEvent and
    returns a new instance.
    """
    if event.type == etcdrpc.Event.PUT:
        cls = PutEvent
    elif event.type == etcdrpc.Event.DELETE:
        cls = DeleteEvent
    else:
        raise Exception('Invalid op_name')

    return cls(event)
