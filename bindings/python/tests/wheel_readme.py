"""python-etcd's README, run by test-wheel.sh in a fresh venv where only the
wheel is installed: no ETCDC_LIBRARY, no build tree, no pytest, the working
directory a temporary one. `import etcdc as etcd`, then the README's code;
only the etcd's address (ETCDC_ENDPOINT, set by scripts/with-etcd.sh) and
what the README leaves to the reader are adapted (see tests/test_readme.py,
the same under pytest)."""

import os
import sys
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlparse

import etcdc as etcd

# The library is the one in the installed package, nothing else.
assert "ETCDC_LIBRARY" not in os.environ
pkg = os.path.dirname(os.path.abspath(etcd.__file__))
assert pkg.startswith(os.path.realpath(sys.prefix)) or pkg.startswith(sys.prefix), pkg
assert etcd.library_path() == os.path.join(pkg, "libetcdc.so"), etcd.library_path()

url = urlparse(os.environ["ETCDC_ENDPOINT"])
HOST, PORT = url.hostname, url.port


@contextmanager
def raises(cls):
    try:
        yield
    except cls:
        return
    raise AssertionError("%s not raised" % cls.__name__)


client = etcd.Client() # this will create a client against etcd server running on localhost on port 4001
assert client.base_uri == 'http://127.0.0.1:4001'
client = etcd.Client(port=4002)
client = etcd.Client(host='127.0.0.1', port=4003)
client = etcd.Client(host='127.0.0.1', port=4003, allow_redirect=False) # wont let you run sensitive commands on non-leader machines, default is true
client = etcd.Client(host=HOST, port=PORT)  # adapted: the test's etcd
client.write('/nodes/n1', 1)
# with ttl
client.write('/nodes/n2', 2, ttl=4) # sets the ttl to 4 seconds
client.set('/nodes/n2', 1) # Equivalent, for compatibility reasons.
assert client.read('/nodes/n2').value == '1'
client.read('/nodes', recursive = True) #get all the values of a directory, recursively.
assert client.get('/nodes/n2').value == '1'
client.delete('/nodes/n1')
with raises(etcd.EtcdCompareFailed):  # n2 is 1, not 4
    client.write('/nodes/n2', 2, prevValue = 4) # will set /nodes/n2 's value to 2 only if its previous value was 4 and
with raises(etcd.EtcdAlreadyExist):  # n2 exists
    client.write('/nodes/n2', 2, prevExists = False) # will set /nodes/n2 's value to 2 only if the key did not exist before
if client.read('/nodes/n2').modifiedIndex == 30:
    client.write('/nodes/n2', 2, prevIndex = 30)
else:
    with raises(etcd.EtcdCompareFailed):
        client.write('/nodes/n2', 2, prevIndex = 30) # will set /nodes/n2 's value to 2 only if the key was last modified at index 30
with raises(etcd.EtcdCompareFailed):
    client.test_and_set('/nodes/n2', 2, 4) #equivalent to client.write('/nodes/n2', 2, prevValue = 4)

# You can also atomically update a result:
client.write('/foo', 'bar')  # adapted: the README assumes /foo is 'bar'
result = client.read('/foo')
print(result.value) # bar
assert result.value == 'bar'
result.value += u'bar'
updated = client.update(result) # if any other client wrote '/foo' in the meantime this will fail
print(updated.value) # barbar
assert updated.value == 'barbar'

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
    client.read('/nodes/n1', wait = True) # will wait till the key is changed, and return once its changed
    client.read('/nodes/n1', wait = True, timeout=30) # will wait till the key is changed, and return once its changed, or exit with an exception after 30 seconds.
    client.read('/nodes/n1', wait = True, waitIndex = 10) # get all changes on this key starting from index 10
    client.watch('/nodes/n1') #equivalent to client.read('/nodes/n1', wait = True)
    client.watch('/nodes/n1', index = 10)
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
lock.acquire(timeout=30) #returns if lock could not be acquired within 30 seconds
assert lock.is_locked() # True
lock.renew(60)
lock.release()
assert not lock.is_locked() # False
# The lock object may also be used as a context manager:
client = etcd.Client(host=HOST, port=PORT)  # adapted
lock = client.get_lock('/customer1', ttl=60)
with lock as my_lock:
    do_stuff()
    assert lock.is_locked() # True
    lock.renew(60)
assert not lock.is_locked() # False

# Set a leader object with a name; if no name is given, the local hostname
# is used.
# Zero or no ttl means the leader object is persistent.
client = etcd.Client(host=HOST, port=PORT)  # adapted
index = client.election.set('/mysql', name='foo.example.com', ttl=120, timeout=30) # returns the etcd index
assert index > 0
# Get the name
print(client.election.get('/mysql')) # 'foo.example.com'
assert client.election.get('/mysql') == 'foo.example.com'
# Delete it!
print(client.election.delete('/mysql', name='foo.example.com'))
client.machines
client.leader
assert client.machines == ["http://%s:%d" % (HOST, PORT)]
assert client.leader["clientURLs"] == ["http://%s:%d" % (HOST, PORT)]
print("wheel: python-etcd's README ran with", etcd.library_path())
