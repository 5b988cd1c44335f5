"""python-etcd's README, run verbatim with `import etcdc as etcd`.

Only the host/port (the README's etcd is on localhost:4001) and what the
README leaves to the reader are adapted: /foo is set to 'bar' first (the
README assumes it), a background thread changes /nodes/n1 so that the
README's blocking watches return, `do_stuff()` is defined, and the calls
the README itself says fail (conditions that do not hold) are wrapped in
pytest.raises with the exception python-etcd would name.
"""

import threading
import time

import pytest


def test_python_etcd_readme(host_port, capsys):
    HOST, PORT = host_port

    import etcdc as etcd

    client = etcd.Client()  # this will create a client against etcd server running on localhost on port 4001
    client = etcd.Client(port=4002)
    client = etcd.Client(host='127.0.0.1', port=4003)
    client = etcd.Client(host='127.0.0.1', port=4003, allow_redirect=False)  # wont let you run sensitive commands on non-leader machines, default is true
    # adapted: the test's etcd
    client = etcd.Client(host=HOST, port=PORT)
    client.delete('/nodes', recursive=True) if '/nodes' in client else None

    client.write('/nodes/n1', 1)
    # with ttl
    client.write('/nodes/n2', 2, ttl=4)  # sets the ttl to 4 seconds
    client.set('/nodes/n2', 1)  # Equivalent, for compatibility reasons.
    assert client.read('/nodes/n2').value == '1'
    client.read('/nodes', recursive = True)  # get all the values of a directory, recursively.
    assert client.get('/nodes/n2').value == '1'
    client.delete('/nodes/n1')
    with pytest.raises(etcd.EtcdCompareFailed):  # n2 is 1, not 4
        client.write('/nodes/n2', 2, prevValue = 4)  # will set /nodes/n2 's value to 2 only if its previous value was 4 and
    with pytest.raises(etcd.EtcdAlreadyExist):  # n2 exists
        client.write('/nodes/n2', 2, prevExists = False)  # will set /nodes/n2 's value to 2 only if the key did not exist before
    n2 = client.read('/nodes/n2')
    if n2.modifiedIndex == 30:
        client.write('/nodes/n2', 2, prevIndex = 30)
    else:
        with pytest.raises(etcd.EtcdCompareFailed):
            client.write('/nodes/n2', 2, prevIndex = 30)  # will set /nodes/n2 's value to 2 only if the key was last modified at index 30
    with pytest.raises(etcd.EtcdCompareFailed):
        client.test_and_set('/nodes/n2', 2, 4)  # equivalent to client.write('/nodes/n2', 2, prevValue = 4)

    # You can also atomically update a result:
    client.write('/foo', 'bar')  # adapted: the README assumes /foo is 'bar'
    result = client.read('/foo')
    print(result.value)  # bar
    result.value += u'bar'
    updated = client.update(result)  # if any other client wrote '/foo' in the meantime this will fail
    print(updated.value)  # barbar
    assert capsys.readouterr().out == "bar\nbarbar\n"

    # adapted: someone changes /nodes/n1 so that the watches below return.
    stop = threading.Event()

    def changer():
        other = etcd.Client(host=HOST, port=PORT)
        i = 0
        while not stop.wait(0.2):
            other.write('/nodes/n1', i)
            i += 1

    t = threading.Thread(target=changer, daemon=True)
    t.start()
    try:
        client.read('/nodes/n1', wait = True)  # will wait till the key is changed, and return once its changed
        client.read('/nodes/n1', wait = True, timeout=30)  # will wait till the key is changed, and return once its changed, or exit with an exception after 30 seconds.
        try:
            client.read('/nodes/n1', wait = True, waitIndex = 10)  # get all changes on this key starting from index 10
            client.watch('/nodes/n1')  # equivalent to client.read('/nodes/n1', wait = True)
            client.watch('/nodes/n1', index = 10)
        except etcd.EtcdEventIndexCleared:
            # Index 10 is older than etcd's history of 1,000 events when
            # other tests ran first: python-etcd raises the same.
            assert client.read('/').etcd_index > 1000
            client.watch('/nodes/n1')
    finally:
        stop.set()
        t.join()

    def do_stuff():
        time.sleep(0.01)

    # Initialize the lock object:
    # NOTE: this does not acquire a lock yet
    client = etcd.Client(host=HOST, port=PORT)  # adapted
    lock = client.get_lock('/customer1', ttl=60)
    # Use the lock object:
    lock.acquire(timeout=30)  # returns if lock could not be acquired within 30 seconds
    assert lock.is_locked()  # True
    lock.renew(60)
    lock.release()
    assert not lock.is_locked()  # False
    # The lock object may also be used as a context manager:
    client = etcd.Client(host=HOST, port=PORT)  # adapted
    lock = client.get_lock('/customer1', ttl=60)
    with lock as my_lock:
        do_stuff()
        assert lock.is_locked()  # True
        lock.renew(60)
    assert not lock.is_locked()  # False

    # Set a leader object with a name; if no name is given, the local hostname
    # is used.
    # Zero or no ttl means the leader object is persistent.
    client = etcd.Client(host=HOST, port=PORT)  # adapted
    index = client.election.set('/mysql', name='foo.example.com', ttl=120, timeout=30)  # returns the etcd index
    assert index > 0
    # Get the name
    print(client.election.get('/mysql'))  # 'foo.example.com'
    # Delete it!
    print(client.election.delete('/mysql', name='foo.example.com'))
    assert capsys.readouterr().out == "foo.example.com\nTrue\n"

    assert client.machines == ["http://%s:%d" % (HOST, PORT)]
    assert client.leader["clientURLs"] == ["http://%s:%d" % (HOST, PORT)]
    client.delete('/nodes', recursive=True)
    client.delete('/foo')
