#!/usr/bin/env python3
"""The Python contenders of `make bench`'s v3 (gRPC) rows (benches/run.sh
drives it, through benches/driver.py).

    bench_python_etcd3.py [--client etcd3|etcdc] MODE ARGS...

against $ETCDC_ENDPOINT, with the v3 modes and arguments of
benches/bench_rust.rs (and benches/etcd-client), the same checks of every
answer and the same JSON fields:

    v3-range KEY VALUE_LEN N WARM       N sequential linearizable gets of
                                        KEY (after WARM), `client.get(key)`;
                                        each value VALUE_LEN bytes
    v3-srange KEY VALUE_LEN N WARM      the same, `get(key, serializable=True)`
    v3-put KEY VALUE_LEN N WARM         N sequential `put(key, value)`,
                                        revisions checked increasing
    v3-mrange KEY VALUE_LEN THREADS MS WARM
                                        THREADS threads sharing one client,
                                        WARM gets each, then linearizable
                                        gets for MS milliseconds
    v3-watch KEY N WARM                 `watch(key)` (it returns once etcd
                                        created the watch), its events
                                        iterated on a thread; N + WARM puts
                                        of KEY, values "0", "1", ..., one at
                                        a time, each timed from just before
                                        the put to the event's arrival on
                                        the watching thread
    v3-prefix PREFIX COUNT VALUE_LEN N WARM
                                        N sequential `get_prefix(PREFIX)`
                                        (after WARM), every (value, metadata)
                                        walked; each must yield COUNT keys,
                                        all under PREFIX, every value of
                                        VALUE_LEN bytes (the prefix is seeded
                                        by bench_rust's v3-seed-prefix)

`--client etcd3` (default) runs python-etcd3 0.12.0 (`import etcd3`: grpcio
and protobuf); `--client etcdc` the same code over etcdc's binding (`import
etcdc.etcd3 as etcd3`, python-etcd3's API over libetcdc; it needs
ETCDC_LIBRARY and PYTHONPATH=bindings/python, see py_env() in driver.py).
Only python-etcd3's public API is used, and the one import is the only
difference between the two.

Each mode prints one JSON line: what it measured and `ops`, the gRPC calls
of the counted method (Range, or Put for v3-put and v3-watch) it made,
warm-up included, which the driver checks against etcd's
grpc_server_handled_total. Neither client makes a call of those methods
of its own: creating a client sends nothing (python-etcd3 authenticates at
creation, and etcdc.etcd3 asks for the status, only with user and password,
which the bench does not give); a watch is one Watch stream; get, put and
get_prefix are one Range or Put each. Any failure ends the run with exit
code 1.
"""

import sys
import threading
import time

from bench_py_common import emit, endpoint, fail, make_value, parse_client, pct_ms


client_kind, args = parse_client(sys.argv[1:], "etcd3")
if client_kind == "etcd3":
    import etcd3
elif client_kind == "etcdc":
    import etcdc.etcd3 as etcd3
else:
    fail("unknown client %r (etcd3 or etcdc)" % client_kind)

url = endpoint()

# Every call bounded (a hang fails the run instead of stalling it).
TIMEOUT_S = 30


def client():
    return etcd3.client(host=url.hostname, port=url.port, timeout=TIMEOUT_S)


def count_arg(s):
    try:
        n = int(s)
    except ValueError:
        fail("not a count: %s" % s)
    if n < 0:
        fail("not a count: %s" % s)
    return n


# ---- sequential ranges and puts --------------------------------------------

def range_once(c, key, n, serializable):
    """One Range of key: its value, n bytes (get() answers (None, None) when
    the key is missing; a range of one key holds at most one)."""
    if serializable:
        value, _ = c.get(key, serializable=True)
    else:
        value, _ = c.get(key)
    if value is None or len(value) != n:
        fail("v3 range %s: %s, not a value of %d bytes"
             % (key, "no key" if value is None else "%d bytes" % len(value), n))


def v3_range(key, n, count, warm, serializable):
    n, count, warm = count_arg(n), count_arg(count), count_arg(warm)
    c = client()
    for _ in range(warm):
        range_once(c, key, n, serializable)
    t0 = time.perf_counter()
    for _ in range(count):
        range_once(c, key, n, serializable)
    s = time.perf_counter() - t0
    c.close()
    emit(mode="v3-srange" if serializable else "v3-range", ops=count + warm, n=count,
         seconds=round(s, 6), rate=round(count / s, 1))


def mode_v3_range(key, n, count, warm):
    v3_range(key, n, count, warm, False)


def mode_v3_srange(key, n, count, warm):
    v3_range(key, n, count, warm, True)


def mode_v3_put(key, n, count, warm):
    value, count, warm = make_value(count_arg(n)), count_arg(count), count_arg(warm)
    c = client()
    last = [0]

    def put():
        rev = c.put(key, value).header.revision
        if rev <= last[0]:
            fail("v3 put: revision %d after %d" % (rev, last[0]))
        last[0] = rev

    for _ in range(warm):
        put()
    t0 = time.perf_counter()
    for _ in range(count):
        put()
    s = time.perf_counter() - t0
    c.close()
    emit(mode="v3-put", ops=count + warm, n=count, seconds=round(s, 6), rate=round(count / s, 1))


# ---- ranges from threads sharing one client --------------------------------

def mode_v3_mrange(key, n, threads, ms, warm):
    n, threads, ms, warm = count_arg(n), count_arg(threads), count_arg(ms), count_arg(warm)
    c = client()
    warmed = threading.Barrier(threads + 1)
    go = threading.Barrier(threads + 1)
    stop = threading.Event()
    errors = []
    done = [0] * threads

    def run(i):
        try:
            for _ in range(warm):
                range_once(c, key, n, False)
            warmed.wait()
            go.wait()
            while not stop.is_set():
                range_once(c, key, n, False)
                done[i] += 1
        except BaseException as e:  # reported below, as a failed run
            errors.append(e)
        if errors:
            stop.set()
            # Nobody waits forever for a thread that failed in warm-up.
            warmed.abort()
            go.abort()

    # Fixed duration, as wrk -d and the other contenders' v3-mrange.
    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    def failed():
        if isinstance(errors[0], SystemExit):  # fail() in a thread: it said why
            sys.exit(1)
        fail("v3-mrange: %r" % errors[0])

    try:
        warmed.wait()
        t0 = time.perf_counter()
        go.wait()
    except threading.BrokenBarrierError:
        for t in ts:
            t.join()
        failed()
    stop.wait(ms / 1000)
    stop.set()
    for t in ts:
        t.join()
    s = time.perf_counter() - t0
    if errors:
        failed()
    c.close()
    total = sum(done)
    emit(mode="v3-mrange", threads=threads, ops=threads * warm + total, n=total,
         seconds=round(s, 6), rate=round(total / s, 1))


# ---- watch latency -----------------------------------------------------------

def mode_v3_watch(key, count, warm):
    count, warm = count_arg(count), count_arg(warm)
    total = count + warm
    if count < 1:
        fail("v3-watch: N must be at least 1")
    c = client()
    # Both clients return from watch() once etcd has created the watch
    # (python-etcd3 waits for the "created" answer in add_callback; etcdc's
    # etcdc_v3_watcher_new() likewise): the first put below is seen.
    events_iterator, cancel = c.watch(key)
    arrived = [None] * total
    state = {"received": 0, "error": None}
    cv = threading.Condition()

    def watch():
        try:
            for i in range(total):
                ev = next(events_iterator)
                t = time.perf_counter()
                if not isinstance(ev, etcd3.events.PutEvent) or ev.value != str(i).encode():
                    raise ValueError("event %d: %r %r" % (i, type(ev).__name__,
                                                          getattr(ev, "value", None)))
                with cv:
                    arrived[i] = t
                    state["received"] = i + 1
                    cv.notify_all()
        except BaseException as e:  # StopIteration included: the watch ended
            with cv:
                state["error"] = e
                cv.notify_all()

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    latency, rtt = [], []
    for i in range(total):
        t0 = time.perf_counter()
        c.put(key, str(i))
        rtt.append(time.perf_counter() - t0)
        # One event in flight at a time: each is measured alone.
        deadline = time.monotonic() + 10
        with cv:
            while state["received"] <= i and state["error"] is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("v3-watch: no event %d within 10 s" % i)
                cv.wait(left)
            if state["error"] is not None:
                fail("v3-watch: %r" % (state["error"],))
        latency.append(arrived[i] - t0)
    th.join()
    cancel()
    # No c.close(): python-etcd3's watch thread would try to open a new Watch
    # stream on the closed channel and die with a traceback ("Cannot invoke
    # RPC on closed channel!"); the exit ends the stream (etcd counts it
    # "Watch Canceled", as the driver expects).
    lat = sorted(latency[warm:])
    rtt = sorted(rtt[warm:])
    emit(mode="v3-watch", ops=total, n=count, p50_ms=pct_ms(lat, 50), p99_ms=pct_ms(lat, 99),
         max_ms=round(lat[-1] * 1e3, 4), write_p50_ms=pct_ms(rtt, 50))


# ---- prefix read -------------------------------------------------------------

def prefix_once(c, prefix, keys, n):
    """One get_prefix, every (value, metadata) walked: exactly `keys` keys,
    all under the prefix, every value of n bytes (bench_rust.rs's checks)."""
    p = prefix.encode()
    seen = 0
    for value, meta in c.get_prefix(prefix):
        if len(value) != n or not meta.key.startswith(p):
            fail("v3 prefix %s: key %r with %d bytes" % (prefix, meta.key, len(value)))
        seen += 1
    if seen != keys:
        fail("v3 prefix %s: %d keys, not %d" % (prefix, seen, keys))


def mode_v3_prefix(prefix, keys, n, count, warm):
    keys, n, count, warm = count_arg(keys), count_arg(n), count_arg(count), count_arg(warm)
    if count < 1:
        fail("v3-prefix: N must be at least 1")
    c = client()
    for _ in range(warm):
        prefix_once(c, prefix, keys, n)
    t0 = time.perf_counter()
    for _ in range(count):
        prefix_once(c, prefix, keys, n)
    s = time.perf_counter() - t0
    c.close()
    emit(mode="v3-prefix", ops=count + warm, n=count, keys=keys, seconds=round(s, 6),
         rate=round(count / s, 2), keys_per_s=round(keys * count / s),
         ms_per_read=round(s * 1e3 / count, 3))


MODES = {
    # name: (argument count, function)
    "v3-range": (4, mode_v3_range),
    "v3-srange": (4, mode_v3_srange),
    "v3-put": (4, mode_v3_put),
    "v3-mrange": (5, mode_v3_mrange),
    "v3-watch": (3, mode_v3_watch),
    "v3-prefix": (5, mode_v3_prefix),
}

if not args or args[0] not in MODES:
    fail("usage: bench_python_etcd3.py [--client etcd3|etcdc] %s ARGS" % "|".join(MODES))
argc, run = MODES[args[0]]
if len(args) - 1 != argc:
    # Exit code 2, as bench_rust's and bench_c's: the driver tells an old
    # program (no such mode) from a failed run by it.
    sys.stderr.write("bench_python_etcd3: %s takes %d arguments\n" % (args[0], argc))
    sys.exit(2)
try:
    run(*args[1:])
except SystemExit:
    raise
except BaseException as e:
    fail("%s: %r" % (args[0], e))
