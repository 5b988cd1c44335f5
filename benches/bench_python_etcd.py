#!/usr/bin/env python3
"""The Python side of `make bench` (benches/run.sh drives it).

    bench_python_etcd.py [--client python-etcd|etcdc] MODE ARGS...

against $ETCDC_ENDPOINT, with the modes and arguments of benches/bench_c.c:

    get KEY VALUE_LEN N WARM            N sequential reads (after WARM)
    put KEY VALUE_LEN N WARM            N sequential writes of the same value
    mget KEY VALUE_LEN THREADS MS WARM  THREADS threads sharing one Client,
                                        GETs for MS milliseconds
    recursive DIR COUNT N WARM          N recursive reads, every leaf walked
    watch KEY N WARM                    a writer writes, a watcher thread
                                        timestamps delivery

`--client python-etcd` (default) runs python-etcd 0.4.5 (`import etcd`);
`--client etcdc` the same code over etcdc's Python binding (`import etcdc as
etcd`, python-etcd's API over libetcdc). Each mode prints one JSON line with
what it measured and `ops`, the requests of the counted kind it sent (warm-up
included), which the driver checks against etcd's counters. Any failure ends
the run with exit code 1.
"""

import sys
import threading
import time

from bench_py_common import emit, endpoint, fail, make_value, parse_client, pct_ms


client_kind, args = parse_client(sys.argv[1:], "python-etcd")
if client_kind == "python-etcd":
    import etcd
elif client_kind == "etcdc":
    import etcdc as etcd
else:
    fail("unknown client %r" % client_kind)

url = endpoint()


def client():
    return etcd.Client(host=url.hostname, port=url.port, read_timeout=30)


def get_once(c, key, n):
    v = c.read(key).value
    if v is None or len(v) != n:
        fail("get %s: unexpected value" % key)


def mode_get(key, n, count, warm):
    n, count, warm = int(n), int(count), int(warm)
    c = client()
    for _ in range(warm):
        get_once(c, key, n)
    t0 = time.perf_counter()
    for _ in range(count):
        get_once(c, key, n)
    s = time.perf_counter() - t0
    emit(mode="get", ops=count + warm, n=count, seconds=round(s, 6), rate=round(count / s, 1))


def mode_put(key, n, count, warm):
    value, count, warm = make_value(int(n)), int(count), int(warm)
    c = client()

    def put():
        if c.write(key, value).value != value:
            fail("put %s: etcd echoed another value" % key)

    for _ in range(warm):
        put()
    t0 = time.perf_counter()
    for _ in range(count):
        put()
    s = time.perf_counter() - t0
    emit(mode="put", ops=count + warm, n=count, seconds=round(s, 6), rate=round(count / s, 1))


def mode_mget(key, n, threads, ms, warm):
    n, threads, ms, warm = int(n), int(threads), int(ms), int(warm)
    c = client()
    warmed = threading.Barrier(threads + 1)
    go = threading.Barrier(threads + 1)
    stop = threading.Event()
    errors = []
    done = [0] * threads

    def run(i):
        try:
            for _ in range(warm):
                get_once(c, key, n)
            warmed.wait()
            go.wait()
            while not stop.is_set():
                get_once(c, key, n)
                done[i] += 1
        except BaseException as e:  # reported below, as a failed run
            errors.append(e)
            stop.set()
            # Nobody waits forever for a thread that failed in warm-up.
            warmed.abort()
            go.abort()

    # Fixed duration, as wrk -d: see bench_c.c.
    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    try:
        warmed.wait()
        t0 = time.perf_counter()
        go.wait()
    except threading.BrokenBarrierError:
        for t in ts:
            t.join()
        fail("mget: %r" % errors[0])
    stop.wait(ms / 1000)
    stop.set()
    for t in ts:
        t.join()
    s = time.perf_counter() - t0
    if errors:
        fail("mget: %r" % errors[0])
    total = sum(done)
    emit(mode="mget", threads=threads, ops=threads * warm + total, n=total,
         seconds=round(s, 6), rate=round(total / s, 1))


def read_tree(c, d, leaves):
    r = c.read(d, recursive=True)
    seen = 0
    total = 0
    for leaf in r.leaves:
        v = leaf.value or ""
        total += len(leaf.key) + len(v) + (ord(v[0]) if v else 0)
        seen += 1
    if seen != leaves:
        fail("recursive read of %s: %d leaves, expected %d" % (d, seen, leaves))
    return total


def mode_recursive(d, leaves, count, warm):
    leaves, count, warm = int(leaves), int(count), int(warm)
    c = client()
    check = 0
    for _ in range(warm):
        check += read_tree(c, d, leaves)
    times = []
    t0 = time.perf_counter()
    for _ in range(count):
        t = time.perf_counter()
        check += read_tree(c, d, leaves)
        times.append(time.perf_counter() - t)
    s = time.perf_counter() - t0
    times.sort()
    emit(mode="recursive", ops=count + warm, n=count, leaves=leaves, seconds=round(s, 6),
         ms_per_read=round(s * 1e3 / count, 3), ms_p50=pct_ms(times, 50), check=check)


def mode_watch(key, count, warm):
    count, warm = int(count), int(warm)
    total = count + warm
    writer = client()
    start = writer.write(key, "start")
    sent = [0.0] * total
    latency = [0.0] * total
    state = {"received": 0, "error": None}
    cv = threading.Condition()

    def watch():
        w = client()  # its own connection, as a watcher in another thread would
        index = start.modifiedIndex + 1
        for i in range(total):
            try:
                ev = w.watch(key, index=index, timeout=10)
                t = time.perf_counter()
                if ev.value != str(i):
                    raise ValueError("event %d carried %r" % (i, ev.value))
            except BaseException as e:
                with cv:
                    state["error"] = e
                    cv.notify_all()
                return
            index = ev.modifiedIndex + 1
            with cv:
                latency[i] = t - sent[i]
                state["received"] = i + 1
                cv.notify_all()

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    rtt = []
    for i in range(total):
        with cv:
            sent[i] = time.perf_counter()
        writer.write(key, str(i))
        rtt.append(time.perf_counter() - sent[i])
        # One event in flight at a time: each is measured alone.
        with cv:
            while state["received"] <= i and state["error"] is None:
                cv.wait()
            if state["error"] is not None:
                fail("watch: %r" % state["error"])
    th.join()
    lat = sorted(latency[warm:])
    rtt = sorted(rtt[warm:])
    emit(mode="watch", ops=total + 1, n=count, p50_ms=pct_ms(lat, 50), p99_ms=pct_ms(lat, 99),
         max_ms=round(lat[-1] * 1e3, 4), write_p50_ms=pct_ms(rtt, 50))


MODES = {
    "get": (4, mode_get),
    "put": (4, mode_put),
    "mget": (5, mode_mget),
    "recursive": (4, mode_recursive),
    "watch": (3, mode_watch),
}

if not args or args[0] not in MODES:
    fail("usage: bench_python_etcd.py [--client python-etcd|etcdc] %s ARGS" % "|".join(MODES))
argc, run = MODES[args[0]]
if len(args) - 1 != argc:
    fail("%s takes %d arguments" % (args[0], argc))
try:
    run(*args[1:])
except SystemExit:
    raise
except BaseException as e:
    fail("%s: %r" % (args[0], e))
