"""python-etcd3 0.12.0's README ("Basic usage"), with its import changed to
`import etcdc.etcd3 as etcd3`. Run as a program: by tests/test_etcd3_readme.py
against etcd 3.4 and 3.5.1, and by test-wheel.sh from the installed wheel
(where there is no grpcio and no protobuf).

Adapted, and only that: the etcd's address (ETCDC_ENDPOINT; the README's is
localhost:2379), `pass` in the README's empty `with` block (a comment alone
is no Python), and a thread that writes the keys the README watches, so that
its watch loops see their 11 events and end.
"""

import os
import sys
import threading
import time
from urllib.parse import urlparse

import etcdc.etcd3 as etcd3

url = urlparse(os.environ.get("ETCDC_ENDPOINT", "http://localhost:2379"))

# The README's etcd (localhost:2379) is the one given.
_client = etcd3.client
etcd3.client = lambda *a, **kw: _client(host=url.hostname, port=url.port)

stop = threading.Event()


def writer():
    c = _client(host=url.hostname, port=url.port)
    i = 0
    while not stop.is_set():
        c.put("/doot/watch", str(i))
        c.put("/doot/watch/prefix/%d" % (i % 3), str(i))
        i += 1
        time.sleep(0.02)
    c.close()


threading.Thread(target=writer, daemon=True).start()

# ---- python-etcd3's README -------------------------------------------------

etcd = etcd3.client()

etcd.get('foo')
etcd.put('bar', 'doot')
etcd.delete('bar')

# locks
lock = etcd.lock('thing')
lock.acquire()
# do something
lock.release()

with etcd.lock('doot-machine') as lock:
    # do something
    pass

# transactions
etcd.transaction(
    compare=[
        etcd.transactions.value('/doot/testing') == 'doot',
        etcd.transactions.version('/doot/testing') > 0,
    ],
    success=[
        etcd.transactions.put('/doot/testing', 'success'),
    ],
    failure=[
        etcd.transactions.put('/doot/testing', 'failure'),
    ]
)

# watch key
watch_count = 0
events_iterator, cancel = etcd.watch("/doot/watch")
for event in events_iterator:
    print(event)
    watch_count += 1
    if watch_count > 10:
        cancel()

# watch prefix
watch_count = 0
events_iterator, cancel = etcd.watch_prefix("/doot/watch/prefix/")
for event in events_iterator:
    print(event)
    watch_count += 1
    if watch_count > 10:
        cancel()

# recieve watch events via callback function
def watch_callback(event):
    print(event)

watch_id = etcd.add_watch_callback("/anotherkey", watch_callback)

# cancel watch
etcd.cancel_watch(watch_id)

# recieve watch events for a prefix via callback function
def watch_callback(event):
    print(event)

watch_id = etcd.add_watch_prefix_callback("/doot/watch/prefix/", watch_callback)

# cancel watch
etcd.cancel_watch(watch_id)

# ---- end of the README -----------------------------------------------------

stop.set()
assert etcd.get('/doot/testing')[0] == b'failure'
assert etcd.get('bar') == (None, None)
print("etcd3 README: ok")
sys.stdout.flush()
