#!/usr/bin/env python3
"""Runs every contender of `make bench` against one etcd and prints the table.

Started by benches/run.sh, which builds the programs, prepares the Python
venv and starts a throwaway etcd (ETCDC_ENDPOINT). Standard library only.

Rules that keep a row honest:
- every contender sends the same request (same key, same 100-byte value,
  same directory) and checks what comes back (value length, leaf count,
  event values in order);
- each run's own count of requests (warm-up included) must equal what etcd
  counted (/v2/stats/store deltas) -- for wrk, what it reports plus at most
  one request per connection cut off at the end;
- warm-up requests are not timed; each figure is the median of RUNS runs,
  with min and max; runs of the contenders of a row are interleaved, so
  drift in the machine's speed spreads over all of them.

A contender that fails, or whose counts don't match, is an ERROR (exit 1).
A target that is not met is a MISS: a measurement, printed, not a failure.

The v3 (gRPC) rows (issues 19 and 22) come in a second table: etcdc's v3
API against the etcd-client crate (tonic; benches/etcd-client), counts
checked against etcd's grpc_server_handled_total (/metrics; lease
keep-alives by grpc_server_msg_received_total), with etcd's own CPU time
per request: sequential range (linearizable, serializable) and put, range
from 8 threads, watch latency, a prefix read of 10,000 keys, lease
keep-alives over 1,000 leases, lock acquire + release (uncontended, 4
contenders), and what 1,000 watches on one client cost (memory, threads,
connections). BENCH_PART=v2|v3 runs one of the two tables only
(default: both); BENCH_V3_OUT=FILE writes the v3 rows (and errors) to FILE
as JSON instead of target/bench/results.*; BENCH_V3_MORE=FILE[:FILE...] adds
the rows such runs wrote against other etcds (benches/run.sh runs the v3
rows against etcd 3.5.1 that way, first) and fails on their errors.
"""

import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import urllib.request

ENDPOINT = os.environ["ETCDC_ENDPOINT"]
SMOKE = os.environ.get("SMOKE", "") not in ("", "0")
C_BIN = os.environ["BENCH_C"]
RUST_BIN = os.environ["BENCH_RUST"]
VENV_PY = os.environ.get("BENCH_PYTHON", "")  # "" when python-etcd is unavailable
BINDING = os.environ.get("BENCH_BINDING", "") == "1"
WRK = os.environ.get("BENCH_WRK", "")  # "" when wrk is unavailable
TONIC_BIN = os.environ.get("BENCH_TONIC", "")  # "" when benches/etcd-client was not built
# The v3 Python contenders' venv (python-etcd3 0.12.0), "" when unavailable;
# BENCH_BINDING3=1 when etcdc.etcd3 imports under it.
VENV_PY3 = os.environ.get("BENCH_PYTHON3", "")
BINDING3 = os.environ.get("BENCH_BINDING3", "") == "1"
PART = os.environ.get("BENCH_PART", "all")
V3_OUT = os.environ.get("BENCH_V3_OUT", "")
V3_MORE = [f for f in os.environ.get("BENCH_V3_MORE", "").split(":") if f]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "target", "bench")


def env_int(name, full, smoke):
    return int(os.environ.get(name, smoke if SMOKE else full))


RUNS = env_int("RUNS", 5, 1)
VALUE_LEN = 100
KEY = "/bench/k100"
DIR = "/bench/dir"
DIR_COUNT = env_int("BENCH_DIR_COUNT", 10000, 200)
GET_N, GET_WARM = env_int("BENCH_GET_N", 10000, 200), env_int("BENCH_GET_WARM", 500, 20)
PUT_N, PUT_WARM = env_int("BENCH_PUT_N", 3000, 100), env_int("BENCH_PUT_WARM", 100, 10)
THREADS = 8
# The 8-thread row runs for a fixed time, as wrk does (as long as wrk).
MGET_WARM = env_int("BENCH_MGET_WARM", 100, 5)
REC_N, REC_WARM = env_int("BENCH_REC_N", 20, 3), env_int("BENCH_REC_WARM", 2, 1)
WATCH_N, WATCH_WARM = env_int("BENCH_WATCH_N", 1000, 50), env_int("BENCH_WATCH_WARM", 50, 5)
LOCK_N, LOCK4_N = env_int("BENCH_LOCK_N", 300, 20), env_int("BENCH_LOCK4_N", 400, 20)
MEM_N1, MEM_N2 = env_int("BENCH_MEM_N1", 10000, 100), env_int("BENCH_MEM_N2", 100000, 1000)
# Peak RSS after the first, the R1th and the R2th recursive read: flatness is
# judged from R1 on (the second read's peak is higher than the first's: the
# allocator places its buffers beside the first read's freed ones).
MEM_R1, MEM_R2 = 2, env_int("BENCH_MEM_R2", 20, 3)
WRK_SECONDS = env_int("BENCH_WRK_SECONDS", 3, 1)
# As long as wrk's run in a full run; shorter in the smoke run, which only
# checks that the row works.
MGET_MS = env_int("BENCH_MGET_MS", 1000 * WRK_SECONDS, 300)
# The memory rows: growth allowed between the two counts (allocator noise).
FLAT_KB = 128

errors = []


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def find_etcd_pid():
    """The pid of the etcd serving ENDPOINT (read-only: to read its CPU time)."""
    port = ENDPOINT.rsplit(":", 1)[1].encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]).startswith(b"etcd") and any(
                a.endswith(b":" + port) for a in argv):
            return d
    return None


ETCD_PID = find_etcd_pid()

# CPU placement. On this kind of machine (2 vCPUs) a request's round trip
# costs ~4 times more when the client and etcd run on different CPUs (a
# cross-CPU wake-up) than on the same one, and unpinned the scheduler mixes
# both, so figures swing 2-3x from run to run and a row could favour whoever
# was lucky. The single-connection rows therefore run etcd on one CPU and the
# contender on another (as a client on its own core or machine would); the
# 8-thread row, a throughput row, leaves both free to use every CPU.
# BENCH_PIN=0 pins nothing; BENCH_PIN=same puts etcd and the contender on one
# CPU (no cross-CPU wake-ups: the client's own CPU time weighs most).
ALL_CPUS = sorted(os.sched_getaffinity(0))
PIN_MODE = os.environ.get("BENCH_PIN", "1" if len(ALL_CPUS) >= 2 else "0")
PIN = PIN_MODE not in ("", "0")
if PIN_MODE == "same":
    ETCD_CPUS = CLIENT_CPUS = {ALL_CPUS[0]}
elif PIN:
    ETCD_CPUS, CLIENT_CPUS = {ALL_CPUS[0]}, {ALL_CPUS[1]}
else:
    ETCD_CPUS = CLIENT_CPUS = set(ALL_CPUS)
client_cpus = set(ALL_CPUS)


def place(pinned):
    """Pins etcd (every thread of it) and the contenders started from now on
    to separate CPUs, or frees both."""
    global client_cpus
    etcd_cpus, client_cpus = (ETCD_CPUS, CLIENT_CPUS) if pinned else (set(ALL_CPUS),
                                                                       set(ALL_CPUS))
    if ETCD_PID is None:
        return
    for tid in os.listdir("/proc/%s/task" % ETCD_PID):
        try:
            os.sched_setaffinity(int(tid), etcd_cpus)
        except OSError:
            pass  # a thread that just ended


def on_client_cpus():
    os.sched_setaffinity(0, client_cpus)


def etcd_cpu_s():
    """etcd's user + system CPU time so far, in seconds (None if unknown)."""
    if ETCD_PID is None:
        return None
    try:
        with open("/proc/%s/stat" % ETCD_PID) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter:
    """CPU time of the contender (its process, start-up included) and of
    etcd over one run, per request."""

    def __enter__(self):
        self.r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.e0 = etcd_cpu_s()
        return self

    def __exit__(self, *exc):
        self.r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.e1 = etcd_cpu_s()

    def per_request(self, n):
        if not n:
            return {}
        out = {"cpu_user_us": (self.r1.ru_utime - self.r0.ru_utime) / n * 1e6,
               "cpu_sys_us": (self.r1.ru_stime - self.r0.ru_stime) / n * 1e6}
        if self.e0 is not None and self.e1 is not None:
            out["cpu_etcd_us"] = (self.e1 - self.e0) / n * 1e6
        return out


def store_stats():
    with urllib.request.urlopen(ENDPOINT + "/v2/stats/store", timeout=10) as r:
        return json.load(r)


def grpc_stats():
    """etcd's gRPC calls handled so far, from /metrics: {method: count} for
    the ones that ended OK, {"method code": count} for the others. etcd
    counts a stream (Watch, LeaseKeepAlive) when it ends, so for streams
    also the messages received on them, {"method msgs": count}
    (grpc_server_msg_received_total)."""
    with urllib.request.urlopen(ENDPOINT + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        handled = line.startswith("grpc_server_handled_total{")
        if not handled and not line.startswith("grpc_server_msg_received_total{"):
            continue
        labels, value = line.rsplit(" ", 1)
        m = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        key = m.get("grpc_method", "?")
        if not handled:
            if m.get("grpc_type") == "unary":
                continue  # as many as the calls
            key += " msgs"
        elif m.get("grpc_code") != "OK":
            key += " " + m.get("grpc_code", "?")
        out[key] = out.get(key, 0) + int(float(value))
    return out


# Streams that etcd counts as failed when the client ends them: a Watch
# stream cancelled or cut by the program's exit ("Watch Canceled"), and a
# LeaseKeepAlive stream whose context ends before its handler returns,
# which etcd's handler reports as "no leader" ("LeaseKeepAlive
# Unavailable"): etcd-client's keeper streams at the end of a run, and
# etcdc's (its lease keepers', and lease_keep_alive_once's) when the
# client ends. No failures, then: every answer is checked by the
# contender, and the keep-alives are counted by message.
ENDED_STREAMS = ("Watch Canceled", "LeaseKeepAlive Unavailable")


def delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after if isinstance(after[k], int)}


def run_json(cmd, env=None):
    """Runs a contender; returns its JSON line, or None (and records why)."""
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900,
                       preexec_fn=on_client_cpus)
    if p.returncode != 0:
        return None, "exit %d: %s" % (p.returncode, p.stderr.strip()[-500:])
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return None, "no result line: %s" % (p.stdout + p.stderr).strip()[-500:]
    return json.loads(lines[-1]), None


def py_env():
    env = dict(os.environ)
    env["ETCDC_LIBRARY"] = os.path.join(REPO, "target", "release", "libetcdc.so")
    env["PYTHONPATH"] = os.path.join(REPO, "bindings", "python")
    return env


def command(contender, mode, args):
    if contender == "c":
        return [C_BIN, mode] + args, None
    if contender == "rust":
        return [RUST_BIN, mode] + args, None
    if contender == "tonic":
        return [TONIC_BIN, mode] + args, None
    if contender == "tonic-ct":
        return [TONIC_BIN, mode] + args, dict(os.environ, BENCH_TOKIO="current")
    if contender in ("python-etcd3", "py-etcdc3"):
        script3 = os.path.join(REPO, "benches", "bench_python_etcd3.py")
        if contender == "python-etcd3":
            return [VENV_PY3, script3, "--client", "etcd3", mode] + args, None
        return [VENV_PY3, script3, "--client", "etcdc", mode] + args, py_env()
    script = os.path.join(REPO, "benches", "bench_python_etcd.py")
    if contender == "python-etcd":
        return [VENV_PY, script, "--client", "python-etcd", mode] + args, None
    if contender == "binding":
        return [VENV_PY, script, "--client", "etcdc", mode] + args, py_env()
    raise ValueError(contender)


# Which counters a mode's `ops` must match, exactly; (counter, field): that
# counter must match the contender's JSON field `field` instead.
COUNTERS = {
    "get": ["getsSuccess"],
    "mget": ["getsSuccess"],
    "recursive": ["getsSuccess"],
    "memory": ["getsSuccess"],
    "put": ["setsSuccess"],
    "watch": ["setsSuccess"],
    "lock": ["createSuccess", "compareAndDeleteSuccess"],
    # v3: etcd's gRPC calls that ended OK (grpc_stats), by method.
    "v3-range": ["Range"],
    "v3-srange": ["Range"],
    "v3-mrange": ["Range"],
    "v3-put": ["Put"],
    "v3-watch": ["Put"],
    "v3-prefix": ["Range"],
    # Renewals by message (the streams are counted when they end), with
    # tonic's first message of each keeper stream; the leases granted and
    # revoked by call.
    "v3-keepalive": [("LeaseKeepAlive msgs", "ops"), ("LeaseGrant", "grants"),
                     ("LeaseRevoke", "revokes")],
    # The counter's puts (the lock's own writes are txns, or inside etcd).
    "v3-lock": [("Put", "puts")],
    "v3-watches": ["Put"],
}


def measure(contender, mode, args):
    """One run of a program contender, its counts checked against etcd's."""
    cmd, env = command(contender, mode, args)
    counters = grpc_stats if mode.startswith("v3-") else store_stats
    before = counters()
    with CpuMeter() as cpu:
        result, err = run_json(cmd, env)
    d = delta(before, counters())
    if err is None and mode.startswith("v3-"):
        # Streams ended by the client are no failures (ENDED_STREAMS).
        failed = {k: v for k, v in d.items() if " " in k and v and not k.endswith(" msgs")
                  and k not in ENDED_STREAMS}
        if failed:
            err = "etcd counted failed gRPC calls: %s" % failed
    if err is None:
        for entry in COUNTERS[mode]:
            counter, field = entry if isinstance(entry, tuple) else (entry, "ops")
            if d.get(counter) != result.get(field):
                err = "etcd counted %s +%s, the contender reported %s (%s)" % (
                    counter, d.get(counter), result.get(field), field)
    if err is not None:
        errors.append("%s %s: %s" % (contender, mode, err))
        log("  ERROR %s %s: %s" % (contender, mode, err))
        return None
    result["server"] = {k: v for k, v in d.items() if v}
    result.update(cpu.per_request(result["ops"]))
    return result


WRK_LUA_PUT = """-- PUT of the benchmark value, as the other contenders send it.
wrk.method = "PUT"
wrk.body = "value=%s"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""


def wrk_script_path():
    path = os.path.join(OUT_DIR, "wrk-put.lua")
    value = "".join(chr(ord("0") + i % 10) for i in range(VALUE_LEN))
    with open(path, "w") as f:
        f.write(WRK_LUA_PUT % value)
    return path


def wrk_run(kind, threads, conns, path, seconds, check=True):
    """One wrk run; its request count checked against etcd's counters."""
    url = ENDPOINT + path
    cmd = [WRK, "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds]
    if kind == "put":
        cmd += ["-s", wrk_script_path()]
    cmd.append(url)
    counter = "setsSuccess" if kind == "put" else "getsSuccess"
    before = store_stats()
    with CpuMeter() as cpu:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60,
                           preexec_fn=on_client_cpus)
    d = delta(before, store_stats())
    out = p.stdout
    m_rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    m_n = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    err = None
    if p.returncode != 0 or not m_rps or not m_n:
        err = "wrk failed: %s" % (out + p.stderr).strip()[-500:]
    elif "Non-2xx" in out or re.search(r"Socket errors:.*[1-9]", out):
        err = "wrk saw errors: %s" % out.strip()[-300:]
    if err is None and check:
        n = int(m_n.group(1))
        # Requests in flight when wrk stops reach etcd but are not counted.
        if not n <= d.get(counter, 0) <= n + conns:
            err = "etcd counted %s +%s, wrk reported %d requests" % (counter, d.get(counter), n)
    if err is not None:
        errors.append("wrk %s: %s" % (kind, err))
        log("  ERROR wrk %s: %s" % (kind, err))
        return None
    rps = float(m_rps.group(1))
    result = {"rate": rps, "ms_per_read": 1e3 / rps, "ops": int(m_n.group(1)),
              "server": {k: v for k, v in d.items() if v}}
    result.update(cpu.per_request(d.get(counter, 0)))
    return result


# ---- rows -----------------------------------------------------------------

def have(contender):
    if contender in ("python-etcd",):
        return bool(VENV_PY)
    if contender == "binding":
        return bool(VENV_PY) and BINDING
    if contender == "wrk":
        return bool(WRK)
    return True


def run_row(title, jobs):
    """jobs: {contender: callable returning a result dict or None}; runs each
    RUNS times, interleaved. Returns {contender: [results]}."""
    log("== %s" % title)
    t0 = time.time()
    results = {c: [] for c in jobs}
    for i in range(RUNS):
        for contender, job in jobs.items():
            r = job()
            if r is not None:
                results[contender].append(r)
        log("  run %d/%d done" % (i + 1, RUNS))
    log("  (%.0f s)" % (time.time() - t0))
    return results


def warm_wrk(kind, threads, conns, path):
    # One short unmeasured run: wrk has no warm-up of its own.
    if WRK and not SMOKE:
        wrk_run(kind, threads, conns, path, 1, check=False)


def stats(results, field):
    vals = [r[field] for r in results]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "runs": len(vals)}


def fmt_num(x, digits=None):
    if digits is None:
        digits = 0 if abs(x) >= 100 else (1 if abs(x) >= 10 else 2)
    return "{:,.{}f}".format(x, digits)


def cell(s, digits=None):
    if s is None:
        return "ERROR"
    if s["runs"] == 1:
        return fmt_num(s["median"], digits)
    return "%s (%s–%s)" % (fmt_num(s["median"], digits), fmt_num(s["min"], digits),
                           fmt_num(s["max"], digits))


# ---- the v3 (gRPC) rows ----------------------------------------------------
#
# etcdc's v3 API against the etcd-client crate (tonic), the same operations
# on the same key (its 100-byte value put through the v3 API: the v2 and v3
# stores are apart), every answer checked by both; counts checked against
# etcd's grpc_server_handled_total. The sequential rows run etcd and the
# contender on separate CPUs, the 8-thread row on every CPU, as the v2 rows.
#
# etcd-client runs twice: on tokio's multi-thread runtime (what
# #[tokio::main] makes) and on its current-thread one, whichever is faster
# varies by row; etcdc is judged against the better of the two.

V3_CONTENDERS = ("c", "rust", "tonic", "tonic-ct")
V3_TONICS = ("tonic", "tonic-ct")
# From Python, the same rows (but the lease, lock and 1,000-watch ones,
# which benches/bench_python_etcd3.py does not have), in a table of their
# own: etcdc.etcd3 (the binding) against python-etcd3 0.12.0 (grpcio,
# protobuf), the same script with one import changed, with 1/PY_SCALE of
# the counts (Python is slower; the rate is per run).
V3_PY = ("py-etcdc3", "python-etcd3")
V3_PY_MODES = ("v3-range", "v3-srange", "v3-put", "v3-mrange", "v3-watch", "v3-prefix")
PY_SCALE = 5
V3_NAMES = {"py-etcdc3": "etcdc.etcd3", "python-etcd3": "python-etcd3",
            "c": "etcdc C", "rust": "etcdc Rust", "tonic": "tonic mt",
            "tonic-ct": "tonic ct"}
# Issue 22's targets: etcdc's rate over tonic's (medians), and etcd's CPU
# time per request no higher under etcdc than under tonic.
V3_ROWS = (
    # mode, title, minimum ratio
    ("v3-range", "v3 range (linearizable), sequential", 1.1),
    ("v3-srange", "v3 range (serializable), sequential", 1.1),
    ("v3-put", "v3 put, sequential", 1.1),
    ("v3-mrange", "v3 range, 8 threads", 1.0),
)

# The rows of issue 22's second half (all judged at 1.0 × the faster tonic):
# a prefix read of V3_PREFIX_COUNT keys, put once per etcd by bench_rust
# v3-seed-prefix (in txns of 128 puts);
V3_PREFIX = "/bench/v3-prefix/"
V3_PREFIX_COUNT = env_int("BENCH_V3_PREFIX_COUNT", 10000, 200)
V3_PREFIX_N = env_int("BENCH_V3_PREFIX_N", 40, 3)
V3_PREFIX_WARM = env_int("BENCH_V3_PREFIX_WARM", 4, 1)
# lease keep-alives, round-robin over V3_LEASES leases granted (and revoked)
# by each run, untimed; the warm-up is one round;
V3_LEASES = env_int("BENCH_V3_LEASES", 1000, 50)
V3_KEEPALIVE_N = env_int("BENCH_V3_KEEPALIVE_N", 4000, 100)
V3_KEEPALIVE_WARM = env_int("BENCH_V3_KEEPALIVE_WARM", V3_LEASES, V3_LEASES)
# lock acquire + release, uncontended and 4 contenders, WARM untimed cycles
# per contender first (etcd-client's 4-contender rate is bounded by etcd's
# 100 ms loop of unsynced watchers, about 40 acquisitions/s: see the note
# under the table);
V3_LOCK_N = env_int("BENCH_V3_LOCK_N", 300, 20)
V3_LOCK4_N = env_int("BENCH_V3_LOCK4_N", 120, 20)
V3_LOCK_WARM = env_int("BENCH_V3_LOCK_WARM", 2, 1)
# and what V3_WATCHES watches on one client cost (memory, threads,
# connections), which is no rate: its own row.
V3_WATCHES = env_int("BENCH_V3_WATCHES", 1000, 50)
V3_MORE_ROWS = (
    # row id, mode, args, title
    ("v3-prefix", "v3-prefix",
     [V3_PREFIX, V3_PREFIX_COUNT, VALUE_LEN, V3_PREFIX_N, V3_PREFIX_WARM],
     "v3 prefix read of %s keys (%d-byte values), sequential (reads/s)"
     % (fmt_num(V3_PREFIX_COUNT, 0), VALUE_LEN)),
    ("v3-keepalive", "v3-keepalive", [V3_LEASES, V3_KEEPALIVE_N, V3_KEEPALIVE_WARM],
     "v3 lease keep-alive, %s leases round-robin, sequential (renewals/s)"
     % fmt_num(V3_LEASES, 0)),
    ("v3-lock", "v3-lock", ["/bench/v3-lock-%s", 1, V3_LOCK_N, V3_LOCK_WARM],
     "v3 lock acquire + release, uncontended (acquisitions/s)"),
    ("v3-lock4", "v3-lock", ["/bench/v3-lock4-%s", 4, V3_LOCK4_N, V3_LOCK_WARM],
     "v3 lock acquire + release, 4 contenders, each its own client (acquisitions/s)"),
)
# issue 22: 1,000 watches in well under 1,000 threads and connections.
V3_WATCHES_MAX_THREADS, V3_WATCHES_MAX_CONNS = 100, 10


def c_has_v3():
    """Whether bench_c has the v3 modes (v3-seed, v3-range, v3-srange, v3-put,
    v3-mrange, as benches/bench_rust.rs's): `bench_c v3-range` alone says it
    "takes 4 arguments". A bench_c built from an older tree lacks them."""
    try:
        p = subprocess.run([C_BIN, "v3-range"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return p.returncode == 2 and "takes" in p.stderr


def tonic_version():
    """etcd-client's version in benches/etcd-client/Cargo.lock."""
    try:
        with open(os.path.join(REPO, "benches", "etcd-client", "Cargo.lock")) as f:
            m = re.search(r'name = "etcd-client"\nversion = "([^"]+)"', f.read())
        return m.group(1) if m else "?"
    except OSError:
        return "?"


def median_of(results, field):
    vals = [r[field] for r in results if field in r]
    return statistics.median(vals) if vals else None


def v3_row(mode, title, minimum, etcd, res):
    """One row of the v3 table, as data (JSON: it may come from another run)."""
    cells = {c: cell(stats(res[c], "rate")) if res.get(c) else "ERROR" for c in res}
    rate = {c: median_of(res.get(c, []), "rate") for c in res}
    cpu = {c: median_of(res.get(c, []), "cpu_etcd_us") for c in res}
    client_cpu = {c: [median_of(res.get(c, []), "cpu_user_us"),
                      median_of(res.get(c, []), "cpu_sys_us")] for c in res}
    # The bar: the faster tonic, and the tonic under which etcd spent less.
    tonics = [t for t in V3_TONICS if rate.get(t) is not None]
    fast = max(tonics, key=lambda t: rate[t]) if tonics else None
    tonics = [t for t in V3_TONICS if cpu.get(t) is not None]
    frugal = min(tonics, key=lambda t: cpu[t]) if tonics else None
    ratio, cpu_text, verdicts = [], [], []
    for c in ("c", "rust"):
        if rate.get(c) is None or fast is None:
            continue
        r = rate[c] / rate[fast]
        shown = "%.2f" % r
        if (float(shown) >= minimum) != (r >= minimum):
            shown = "%.3f" % r  # so that 1.095 never reads as a PASS of 1.1
        ok = r >= minimum
        ratio.append("%s / %s: %s **%s**" % (V3_NAMES[c], V3_NAMES[fast], shown,
                                             "PASS" if ok else "MISS"))
        verdicts.append({"what": "etcd %s, %s: rate ≥ %.1f × tonic" % (etcd, title, minimum),
                         "who": "%s / %s" % (V3_NAMES[c], V3_NAMES[fast]), "figure": shown,
                         "ok": ok})
    for c in V3_CONTENDERS:
        if cpu.get(c) is not None:
            cpu_text.append("%s %.1f" % (V3_NAMES[c], cpu[c]))
    cpu_verdict = []
    for c in ("c", "rust"):
        if cpu.get(c) is None or frugal is None:
            continue
        if SMOKE:
            cpu_verdict.append("%s: not judged (smoke)" % V3_NAMES[c])
            continue
        ok = cpu[c] <= cpu[frugal]
        cpu_verdict.append("%s / %s: %.2f **%s**" % (V3_NAMES[c], V3_NAMES[frugal],
                                                     cpu[c] / cpu[frugal],
                                                     "PASS" if ok else "MISS"))
        verdicts.append({"what": "etcd %s, %s: etcd CPU per request ≤ tonic's" % (etcd, title),
                         "who": "%s / %s" % (V3_NAMES[c], V3_NAMES[frugal]),
                         "figure": "%.1f / %.1f µs" % (cpu[c], cpu[frugal]), "ok": ok})
    return {"mode": mode, "title": title, "etcd": etcd, "cells": cells,
            "ratio": "<br>".join(ratio) or "—",
            "etcd_cpu": " / ".join(cpu_text) + ("<br>" + "<br>".join(cpu_verdict)
                                                if cpu_verdict else "") or "—",
            "target": "≥ %.1f × tonic; etcd CPU ≤ tonic's" % minimum,
            "verdicts": verdicts, "client_cpu": client_cpu, "etcd_cpu_us": cpu,
            "rate": rate}


def run_v3():
    """Runs the v3 rows against this etcd; returns them as data."""
    etcd = json.load(urllib.request.urlopen(ENDPOINT + "/version", timeout=10)).get(
        "etcdserver", "?")
    have = {"c": c_has_v3(), "rust": True, "tonic": bool(TONIC_BIN),
            "tonic-ct": bool(TONIC_BIN), "python-etcd3": bool(VENV_PY3),
            "py-etcdc3": bool(VENV_PY3) and BINDING3}
    out = {"etcd": etcd, "have": have, "rows": [], "raw": {}, "errors": []}
    n_errors = len(errors)
    log("v3 rows against etcd %s: seeding %s through the v3 API" % (etcd, KEY))
    _, err = run_json([RUST_BIN, "v3-seed", KEY, str(VALUE_LEN)])
    if err:
        errors.append("v3 seed (etcd %s): %s" % (etcd, err))
        out["errors"] = errors[n_errors:]
        return out
    for mode, title, minimum in V3_ROWS:
        if mode == "v3-mrange":
            place(pinned=False)
            args = [KEY, VALUE_LEN, THREADS, MGET_MS, MGET_WARM]
        else:
            place(pinned=True)
            n, warm = (PUT_N, PUT_WARM) if mode == "v3-put" else (GET_N, GET_WARM)
            args = [KEY, VALUE_LEN, n, warm]
        jobs = v3_jobs(mode, args, have)
        res = run_row("%s (etcd %s)" % (title, etcd), jobs)
        out["raw"][mode] = res
        out["rows"].append(v3_row(mode, title, minimum, etcd, res))
    # Watch latency: put -> event, one at a time, each contender its own key.
    place(pinned=True)
    jobs = v3_jobs("v3-watch", ["/bench/v3-watched-%s", WATCH_N, WATCH_WARM], have)
    res = run_row("v3 watch latency (etcd %s)" % etcd, jobs)
    out["raw"]["v3-watch"] = res
    out["watch"] = v3_watch_row(etcd, res)
    # Prefix read, keep-alives, lock: rate rows as the ones above, every
    # contender on one CPU, etcd on the other. The prefix first seeded.
    log("v3 rows against etcd %s: seeding %s (%d keys)" % (etcd, V3_PREFIX, V3_PREFIX_COUNT))
    _, err = run_json([RUST_BIN, "v3-seed-prefix", V3_PREFIX, str(V3_PREFIX_COUNT),
                       str(VALUE_LEN)])
    if err:
        errors.append("v3 prefix seed (etcd %s): %s" % (etcd, err))
    for row, mode, args, title in V3_MORE_ROWS:
        if err and row == "v3-prefix":
            continue
        jobs = v3_jobs(mode, args, have)
        res = run_row("%s (etcd %s)" % (title, etcd), jobs)
        out["raw"][row] = res
        r = v3_row(row, title, 1.0, etcd, res)
        if mode == "v3-lock":
            r["calls"] = calls_per_op(res)
        out["rows"].append(r)
    # What 1,000 watches on one client cost.
    jobs = {c: (lambda c=c: measure(c, "v3-watches", ["/bench/v3-w-%s/" % c, str(V3_WATCHES)]))
            for c in V3_CONTENDERS if have[c]}
    res = run_row("v3 %d watches on one client (etcd %s)" % (V3_WATCHES, etcd), jobs)
    out["raw"]["v3-watches"] = res
    out["watches"] = v3_watches_row(etcd, res)
    place(pinned=False)
    out["errors"] = errors[n_errors:]
    return out


# Which arguments of a mode are counts, scaled down for the Python
# contenders (PY_SCALE).
PY_COUNT_ARGS = {"v3-range": (2, 3), "v3-srange": (2, 3), "v3-put": (2, 3), "v3-watch": (1, 2),
                 "v3-prefix": (3, 4)}


def v3_jobs(mode, args, have):
    """{contender: job} of a v3 row: every contender that has the mode, its
    args as strings ("%s" in one replaced by the contender's name); the
    Python contenders with 1/PY_SCALE of the counts."""
    jobs = {}
    for c in V3_CONTENDERS + V3_PY:
        if not have.get(c) or (c in V3_PY and mode not in V3_PY_MODES):
            continue
        mine = [str(a).replace("%s", c) for a in args]
        if c in V3_PY:
            for i in PY_COUNT_ARGS.get(mode, ()):
                mine[i] = str(max(1, int(mine[i]) // PY_SCALE))
        jobs[c] = (lambda c=c, mine=mine: measure(c, mode, mine))
    return jobs


def calls_per_op(res):
    """{contender: {call: per operation}}: etcd's count of each call (and of
    each stream, by how it ended; not the messages on streams) over the
    whole run, over the run's `ops` (acquisitions), medians of the runs."""
    out = {}
    for c, runs in res.items():
        keys = sorted({k for r in runs for k in r.get("server", {}) if not k.endswith(" msgs")})
        per = {}
        for k in keys:
            per[k] = statistics.median([r["server"].get(k, 0) / r["ops"] for r in runs])
        if per:
            out[c] = per
    return out


def v3_watches_row(etcd, res):
    """The row of V3_WATCHES watches on one client, as data: per contender
    the peak RSS growth (VmHWM - VmRSS before the watches), the process's
    threads and its TCP connections to etcd with every watch open, and the
    time to create them; issue 22's target: well under 1,000 threads and
    connections (judged: fewer than V3_WATCHES_MAX_THREADS threads and
    V3_WATCHES_MAX_CONNS connections, in every run)."""
    def fig(rs, field, digits=0):
        vals = [r[field] for r in rs]
        med = statistics.median(vals)
        text = fmt_num(med, digits)
        if min(vals) != max(vals):
            text += " (%s–%s)" % (fmt_num(min(vals), digits), fmt_num(max(vals), digits))
        return text

    cells = {}
    for c in res:
        rs = res.get(c)
        if not rs:
            cells[c] = "ERROR"
            continue
        cells[c] = "%s MB / %s threads / %s conn.; created in %s ms" % (
            fig(rs, "growth_mb", 1), fig(rs, "threads"), fig(rs, "conns"),
            fig(rs, "create_ms"))
    verdicts, ratio = [], []
    mb = {c: median_of(res.get(c, []), "growth_mb") for c in res}
    tonics = [t for t in V3_TONICS if mb.get(t) is not None]
    lean = min(tonics, key=lambda t: mb[t]) if tonics else None
    for c in ("c", "rust"):
        rs = res.get(c)
        if not rs:
            continue
        threads, conns = max(r["threads"] for r in rs), max(r["conns"] for r in rs)
        ok = threads < V3_WATCHES_MAX_THREADS and conns < V3_WATCHES_MAX_CONNS
        text = "%s: %d threads, %d conn. **%s**" % (V3_NAMES[c], threads, conns,
                                                  "PASS" if ok else "MISS")
        if lean is not None and mb[lean]:
            text += "; MB / %s's: %.2f" % (V3_NAMES[lean], mb[c] / mb[lean])
        ratio.append(text)
        verdicts.append({"what": "etcd %s, %d watches: threads < %d, connections < %d" % (
            etcd, V3_WATCHES, V3_WATCHES_MAX_THREADS, V3_WATCHES_MAX_CONNS),
            "who": V3_NAMES[c], "figure": "%d threads, %d connections" % (threads, conns),
            "ok": ok})
    return {"etcd": etcd, "cells": cells, "ratio": "<br>".join(ratio) or "—",
            "verdicts": verdicts, "watches": V3_WATCHES}


def v3_watch_row(etcd, res):
    """The v3 watch latency row, as data: p50 / p99 (ms) per contender;
    issue 22's target: etcdc's p50 no higher than the faster tonic's."""
    cells = {c: "%s / %s" % (cell(stats(res[c], "p50_ms"), 3), cell(stats(res[c], "p99_ms"), 3))
             if res.get(c) else "ERROR" for c in res}
    p50 = {c: median_of(res.get(c, []), "p50_ms") for c in res}
    tonics = [t for t in V3_TONICS if p50.get(t) is not None]
    best = min(tonics, key=lambda t: p50[t]) if tonics else None
    ratio, verdicts = [], []
    for c in ("c", "rust"):
        if p50.get(c) is None or best is None:
            continue
        ok = p50[c] <= p50[best]
        ratio.append("%s / %s p50: %.2f **%s**" % (V3_NAMES[c], V3_NAMES[best],
                                                  p50[c] / p50[best], "PASS" if ok else "MISS"))
        verdicts.append({"what": "etcd %s, v3 watch: p50 ≤ tonic's" % etcd,
                         "who": "%s / %s" % (V3_NAMES[c], V3_NAMES[best]),
                         "figure": "%.3f / %.3f ms" % (p50[c], p50[best]), "ok": ok})
    return {"etcd": etcd, "cells": cells, "ratio": "<br>".join(ratio) or "—",
            "verdicts": verdicts, "p50": p50}


def v3_table(v3):
    """The lines of the v3 table: this run's rows, then those of BENCH_V3_MORE."""
    runs = [v3] if v3 else []
    for path in V3_MORE:
        try:
            with open(path) as f:
                more = json.load(f)
        except (OSError, ValueError) as e:
            errors.append("v3 rows of another etcd: no results (%s: %s)" % (path, e))
            continue
        runs.append(more)
        for e in more.get("errors", []):
            errors.append("(etcd %s) %s" % (more.get("etcd", "?"), e))
    have_c = any(r["have"].get("c") for r in runs)
    ver = tonic_version()
    lines = ["", "v3 API (gRPC), req/s, median (min–max): etcdc against the etcd-client "
             "%s crate (tonic; benches/etcd-client) on tokio's multi-thread runtime "
             "(\"tonic mt\", as #[tokio::main]) and on its current-thread runtime "
             "(\"tonic ct\"); etcdc is judged against the faster tonic, and its etcd CPU "
             "against the lower of the two." % ver, ""]
    lines.append("| v3 benchmark (req/s unless stated) | etcd | etcdc v3 C API | etcdc v3 Rust API "
                 "| etcd-client %s, tonic mt | etcd-client %s, tonic ct | etcdc / tonic "
                 "| etcd CPU per request (µs) | target (issue 22) |" % (ver, ver))
    lines.append("|---|---|---|---|---|---|---|---|---|")
    verdicts = []

    def cols(run, cs):
        """The four contenders' cells of a row, joined by " | "."""
        missing = {"c": "n/a (bench_c without v3 modes)"}
        return " | ".join(cs.get(c, missing.get(c, "n/a") if not run["have"].get(c) else "ERROR")
                          for c in V3_CONTENDERS)

    for run in runs:
        for row in run["rows"]:
            cs = row["cells"]
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                row["title"], row["etcd"], cols(run, cs), row["ratio"], row["etcd_cpu"],
                row["target"]))
            verdicts.extend(row["verdicts"])
    for run in runs:
        w = run.get("watch")
        if not w:
            continue
        cs = w["cells"]
        lines.append("| v3 watch: put → event, p50 / p99 over %s events (ms) | %s | %s "
                     "| %s | — | etcdc p50 ≤ tonic's |" % (
                         fmt_num(WATCH_N, 0), w["etcd"], cols(run, cs), w["ratio"]))
        verdicts.extend(w["verdicts"])
    for run in runs:
        w = run.get("watches")
        if not w:
            continue
        cs = w["cells"]
        lines.append("| v3: %s watches on one client, each key put once and every event "
                     "awaited: peak RSS growth / threads / TCP connections to etcd | %s | %s "
                     "| %s | — | well under %s threads and connections "
                     "(judged: < %d threads, < %d connections) |" % (
                         fmt_num(w["watches"], 0), w["etcd"], cols(run, cs), w["ratio"],
                         fmt_num(w["watches"], 0), V3_WATCHES_MAX_THREADS,
                         V3_WATCHES_MAX_CONNS))
        verdicts.extend(w["verdicts"])
    lines.append("")
    if verdicts:
        misses = [v for v in verdicts if not v["ok"]]
        lines.append("v3 targets: %d PASS, %d MISS%s." % (
            len(verdicts) - len(misses), len(misses),
            "" if not misses else ": " + "; ".join(
                "%s (%s: %s)" % (v["what"], v["who"], v["figure"]) for v in misses)))
    if not SMOKE:
        for run in runs:
            parts = []
            for row in run["rows"]:
                p = []
                for c in V3_CONTENDERS:
                    u, sy = row["client_cpu"].get(c, [None, None])
                    e = row["etcd_cpu_us"].get(c)
                    if u is not None:
                        p.append("%s %.1f + %.1f%s" % (V3_NAMES[c], u, sy,
                                                        " | etcd %.1f" % e if e is not None else ""))
                if p:
                    parts.append("%s: %s" % (row["title"], "; ".join(p)))
            if parts:
                lines.append("CPU per request, v3, etcd %s (µs, client user + sys | etcd): %s."
                             % (run["etcd"], " — ".join(parts)))
    for run in runs:
        for row in run["rows"]:
            calls = row.get("calls")
            if not calls:
                continue
            parts = []
            for c in V3_CONTENDERS:
                per = calls.get(c)
                if per:
                    parts.append("%s %s (%.1f in all)" % (
                        V3_NAMES[c], " + ".join("%s %.*f" % (k, 2 if v >= 0.1 else 3, v)
                                                for k, v in per.items()),
                        sum(per.values())))
            lines.append("gRPC calls per acquisition, %s, etcd %s (etcd's counters over the "
                         "whole run, the counter's get and put included): %s." % (
                             row["title"], row["etcd"], "; ".join(parts)))
    if any(row["mode"] == "v3-lock4" for run in runs for row in run["rows"]):
        lines.append("Lock, 4 contenders: a waiter watches the key before its own for its "
                     "delete. etcd-client's Lock call runs Go's recipe inside etcd, which "
                     "watches from the revision of its read: etcd serves a watch that starts at "
                     "a past or its current revision from its loop of unsynced watchers, every "
                     "100 ms, so each hand-off waits for that loop (about 10 acquisitions/s per "
                     "contender). etcdc's watch starts at the revision after its read (the "
                     "delete must come later), which etcd serves at once.")
    lines.append("v3 counts checked: every run's calls equal etcd's own "
                 "grpc_server_handled_total (/metrics) for Range or Put (prefix read: Range; "
                 "watches: Put; lock: the counter's Put), lease keep-alives "
                 "grpc_server_msg_received_total of LeaseKeepAlive (and LeaseGrant, "
                 "LeaseRevoke calls), warm-up excluded from timing, no call failed (streams "
                 "the client ended, Watch Canceled and LeaseKeepAlive Unavailable, are no "
                 "failures). One Client per run; etcdc's 8-thread row: 8 threads sharing it; "
                 "etcd-client's: 8 tasks on clones of it (one channel), each loop a spawned "
                 "task. Lock rows: one Client per contender, each holder reads a counter and "
                 "puts it + 1, which ends at the number of acquisitions; etcdc's lock is its "
                 "own (etcd's concurrency recipe: a lease, a txn, reads, a watch while "
                 "waiting), etcd-client's the Lock and Unlock calls of etcd's lock service "
                 "with one lease per contender granted before the run (the recipe runs "
                 "inside etcd, unseen by its counters). Keep-alive rows: etcdc renews with "
                 "lease_keep_alive_once (one stream per client, opened by the first renewal), "
                 "etcd-client on one keeper stream per lease, opened before the timing; etcd CPU per renewal is over the whole "
                 "run, the grants and revokes included. Watches: etcdc shares one stream, "
                 "etcd-client opens one per watch; RSS growth is VmHWM minus VmRSS before "
                 "the first watch, connections are the process's established TCP sockets "
                 "to etcd's port (/proc/self/fd and /proc/self/net/tcp{,6}).")
    lines.extend(v3_py_table(runs))
    if os.environ.get("BENCH_V3_NOTE"):
        lines.append(os.environ["BENCH_V3_NOTE"] + ".")
    if not have_c:
        lines.append("etcdc v3 C API: n/a — this bench_c has no v3 modes "
                     "(see c_has_v3 in benches/driver.py).")
    if v3 and not v3["have"].get("tonic"):
        lines.append("etcd-client (tonic): n/a (benches/etcd-client was not built).")
    return lines

def v3_py_table(runs):
    """The lines of the Python v3 table: etcdc.etcd3 against python-etcd3
    0.12.0 in the rows both ran (a measurement: no target)."""
    rows = []
    for run in runs:
        for row in run["rows"]:
            if row["mode"] in V3_PY_MODES:
                rows.append((row["title"], row["etcd"], row["cells"], row["rate"],
                             row["etcd_cpu_us"], True))
        w = run.get("watch")
        if w:
            rows.append(("v3 watch: put → event, p50 / p99 (ms)", w["etcd"], w["cells"],
                         w.get("p50", {}), {}, False))
    rows = [r for r in rows if any(c in r[2] for c in V3_PY)]
    if not rows:
        return ["", "v3 from Python: n/a (no python-etcd3 venv: see benches/run.sh)."]
    lines = ["", "v3 from Python, the same rows (a measurement, no target): etcdc.etcd3 "
             "(etcdc's binding) against python-etcd3 0.12.0 (grpcio, protobuf 3.20.3), one "
             "script (benches/bench_python_etcd3.py) with one import changed, 1/%d of the "
             "counts above." % PY_SCALE, "",
             "| v3 from Python | etcd | etcdc.etcd3 | python-etcd3 0.12.0 | etcdc.etcd3 / "
             "python-etcd3 | etcd CPU per request (µs), etcdc.etcd3 / python-etcd3 |",
             "|---|---|---|---|---|---|"]
    for title, etcd, cells, fig, cpu, higher in rows:
        a, b = fig.get("py-etcdc3"), fig.get("python-etcd3")
        if a and b:
            ratio = "%.2f" % ((a / b) if higher else (b / a))
            if not higher:
                ratio += " (p50, python-etcd3's / etcdc.etcd3's)"
        else:
            ratio = "—"
        ca, cb = cpu.get("py-etcdc3"), cpu.get("python-etcd3")
        cpu_text = "%.1f / %.1f" % (ca, cb) if ca is not None and cb is not None else "—"
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            title, etcd, cells.get("py-etcdc3", "n/a"), cells.get("python-etcd3", "n/a"),
            ratio, cpu_text))
    return lines


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    t_start = time.time()
    do_v2, do_v3 = PART in ("all", "v2"), PART in ("all", "v3")
    if do_v2:
        log("seeding %s (100-byte value) and %s (%d keys)" % (KEY, DIR, DIR_COUNT))
        seed, err = run_json([C_BIN, "seed", KEY, str(VALUE_LEN), DIR, str(DIR_COUNT), "8"])
        if err:
            log("seed failed: " + err)
            return 1
    available = {c: have(c) for c in ("c", "rust", "binding", "python-etcd", "wrk")}
    rows = []  # (title, {contender: cell text}, target text, [result lines])
    raw = {}

    def prog(contender, mode, args):
        return lambda: measure(contender, mode, [str(a) for a in args])

    def jobs_for(contenders, mode, args, wrk=None):
        jobs = {}
        for c in contenders:
            if c == "wrk":
                if available["wrk"] and wrk is not None:
                    jobs["wrk"] = wrk
            elif available[c]:
                jobs[c] = prog(c, mode, args)
        return jobs

    def verdict(ok):
        return "PASS" if ok else "MISS"

    everyone = ["c", "rust", "binding", "python-etcd", "wrk"]
    names = {"c": "etcdc C", "rust": "etcdc Rust", "binding": "binding",
             "python-etcd": "python-etcd", "wrk": "wrk"}

    def cells(res, field, digits=None, contenders=everyone):
        out = {}
        for c in everyone:
            if c not in contenders:
                out[c] = "—"
            elif c not in res:
                out[c] = "n/a" if not available[c] else "—"
            else:
                out[c] = cell(stats(res[c], field), digits)
        return out

    def med(res, c, field):
        s = stats(res.get(c, []), field)
        return s["median"] if s else None

    def ratio_targets(res, field, pairs, higher_is_better=True):
        """pairs: (num, den, minimum, label); ratio = num/den on medians (for
        times: den/num)."""
        out = []
        for num, den, minimum, label in pairs:
            a, b = med(res, num, field), med(res, den, field)
            if a is None or b is None:
                continue
            r = a / b if higher_is_better else b / a
            shown = "%.2f" % r
            if minimum and (float(shown) >= minimum) != (r >= minimum):
                shown = "%.3f" % r  # so that 0.95 never reads as a MISS of 0.95
            text = "%s / %s: %s" % (names[num], names[den], shown)
            out.append("%s **%s**" % (text, verdict(r >= minimum)) if minimum else text)
        return out

    if do_v2:
        # 1. sequential GET
        place(pinned=True)
        warm_wrk("get", 1, 1, "/v2/keys" + KEY)
        res = run_row("sequential GET", jobs_for(
            everyone, "get", [KEY, VALUE_LEN, GET_N, GET_WARM],
            wrk=lambda: wrk_run("get", 1, 1, "/v2/keys" + KEY, WRK_SECONDS)))
        raw["get"] = res
        rows.append(("sequential GET of a 100-byte value, 1 connection (req/s)",
                     cells(res, "rate"), "etcdc ≥ 0.9 × wrk; ≥ 4 × python-etcd",
                     ratio_targets(res, "rate", [
                         ("c", "wrk", 0.9, ""), ("rust", "wrk", 0.9, ""),
                         ("c", "python-etcd", 4, ""), ("rust", "python-etcd", 4, ""),
                         ("binding", "python-etcd", None, "")])))

        # 2. sequential PUT
        warm_wrk("put", 1, 1, "/v2/keys" + KEY)
        res = run_row("sequential PUT", jobs_for(
            everyone, "put", [KEY, VALUE_LEN, PUT_N, PUT_WARM],
            wrk=lambda: wrk_run("put", 1, 1, "/v2/keys" + KEY, WRK_SECONDS)))
        raw["put"] = res
        rows.append(("sequential PUT of a 100-byte value, 1 connection (req/s)",
                     cells(res, "rate"), "etcdc ≥ 0.95 × wrk",
                     ratio_targets(res, "rate", [
                         ("c", "wrk", 0.95, ""), ("rust", "wrk", 0.95, ""),
                         ("c", "python-etcd", None, ""), ("binding", "python-etcd", None, "")])))

        # 3. GET from 8 threads sharing one client
        place(pinned=False)
        mget_contenders = ["c", "rust", "binding", "wrk"]
        warm_wrk("get", THREADS, THREADS, "/v2/keys" + KEY)
        res = run_row("GET from 8 threads", jobs_for(
            mget_contenders, "mget", [KEY, VALUE_LEN, THREADS, MGET_MS, MGET_WARM],
            wrk=lambda: wrk_run("get", THREADS, THREADS, "/v2/keys" + KEY, WRK_SECONDS)))
        raw["mget"] = res
        rows.append(("GET from 8 threads sharing one client; wrk -t8 -c8 (req/s)",
                     cells(res, "rate", contenders=mget_contenders), "etcdc ≥ 0.8 × wrk",
                     ratio_targets(res, "rate", [
                         ("c", "wrk", 0.8, ""), ("rust", "wrk", 0.8, ""),
                         ("binding", "wrk", None, "")])))

        # 4. recursive read of the directory + walk every leaf
        place(pinned=True)
        rec_path = "/v2/keys%s?recursive=true" % DIR
        warm_wrk("get", 1, 1, rec_path)
        res = run_row("recursive read", jobs_for(
            everyone, "recursive", [DIR, DIR_COUNT, REC_N, REC_WARM],
            wrk=lambda: wrk_run("get", 1, 1, rec_path, WRK_SECONDS)))
        raw["recursive"] = res
        rows.append(("recursive GET of a directory of %s keys: request + parse + walk every leaf "
                     "(ms per read; wrk: the raw fetch, unparsed)" % fmt_num(DIR_COUNT, 0),
                     cells(res, "ms_per_read", 2), "etcdc ≥ 10 × python-etcd (speed)",
                     ratio_targets(res, "ms_per_read", [
                         ("c", "python-etcd", 10, ""), ("rust", "python-etcd", 10, ""),
                         ("c", "wrk", None, ""), ("binding", "python-etcd", None, "")],
                         higher_is_better=False)))

        # 5. watch latency
        watch_contenders = ["c", "rust", "binding", "python-etcd"]
        res = run_row("watch latency", jobs_for(
            watch_contenders, "watch", ["/bench/watched", WATCH_N, WATCH_WARM]))
        raw["watch"] = res
        wcells = {}
        for c in everyone:
            if c not in watch_contenders:
                wcells[c] = "—"
            elif c not in res:
                wcells[c] = "n/a" if not available[c] else "—"
            else:
                wcells[c] = "%s / %s" % (cell(stats(res[c], "p50_ms"), 3),
                                         cell(stats(res[c], "p99_ms"), 3))
        wt = []
        for c in ("c", "rust"):
            p50 = med(res, c, "p50_ms")
            if p50 is not None:
                wt.append("%s p50 %.3f ms **%s**" % (names[c], p50, verdict(p50 < 1.0)))
        rows.append(("watch: write → event delivered, p50 / p99 over %s events (ms)"
                     % fmt_num(WATCH_N, 0), wcells, "etcdc p50 < 1 ms", wt))

        # 6, 7. lock
        for contenders, n, label in ((1, LOCK_N, "uncontended"), (4, LOCK4_N, "4 contenders")):
            res = run_row("lock %s" % label, jobs_for(
                ["c", "rust"], "lock", ["bench-%d" % contenders, contenders, n]))
            raw["lock%d" % contenders] = res
            lcells = {}
            for c in everyone:
                if c not in res:
                    lcells[c] = "—"
                else:
                    lcells[c] = "%s /s; acquire p50 %s ms" % (
                        cell(stats(res[c], "rate")), cell(stats(res[c], "acquire_p50_ms"), 2))
            rows.append(("lock acquire + release, %s (cycles/s; time in acquire)" % label,
                         lcells, "figures", []))

        # 8. memory
        res = run_row("memory", {"c": prog("c", "memory", [KEY, VALUE_LEN, DIR, DIR_COUNT,
                                                          MEM_N1, MEM_N2, MEM_R1, MEM_R2])})
        raw["memory"] = res
        if res["c"]:
            g1, g2 = stats(res["c"], "gets1_hwm_kb"), stats(res["c"], "gets2_hwm_kb")
            h0 = stats(res["c"], "first_read_hwm_kb")
            h1, h2 = stats(res["c"], "reads1_hwm_kb"), stats(res["c"], "reads2_hwm_kb")
            grow_get = g2["median"] - g1["median"]
            grow_read = h2["median"] - h1["median"]
            mem_cells = {c: "—" for c in everyone}
            mem_cells["c"] = "%s → %s" % (cell(g1), cell(g2))
            rows.append(("memory: peak RSS (VmHWM) after %s GETs → after %s (kB)"
                         % (fmt_num(MEM_N1, 0), fmt_num(MEM_N2, 0)), mem_cells,
                         "flat (≤ %d kB growth)" % FLAT_KB,
                         ["+%d kB **%s**" % (grow_get, verdict(grow_get <= FLAT_KB))]))
            mem_cells = {c: "—" for c in everyone}
            mem_cells["c"] = "%s → %s → %s" % (cell(h0), cell(h1), cell(h2))
            rows.append(("memory: peak RSS (VmHWM) after 1 → %d → %d recursive reads of %s keys "
                         "(kB; flat from read %d on)"
                         % (MEM_R1, MEM_R2, fmt_num(DIR_COUNT, 0), MEM_R1), mem_cells,
                         "flat (≤ %d kB growth)" % FLAT_KB,
                         ["+%d kB **%s**" % (grow_read, verdict(grow_read <= FLAT_KB))]))
        else:
            rows.append(("memory", {c: ("ERROR" if c == "c" else "—") for c in everyone},
                         "flat", []))

        place(pinned=False)

    v3 = run_v3() if do_v3 else None
    if V3_OUT:
        # For the run that prints the table (BENCH_V3_MORE): the rows, and
        # the errors, which make that run fail too.
        with open(V3_OUT, "w") as f:
            json.dump(v3, f, indent=1)

    # ---- the table ----
    def cpu_model():
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or "unknown"

    def version_of(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"

    etcd_version = json.load(urllib.request.urlopen(ENDPOINT + "/version", timeout=10))
    rev = version_of(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    if version_of(["git", "-C", REPO, "status", "--porcelain", "--", "src", "Cargo.toml",
                   "Cargo.lock"]) not in ("unknown", ""):
        rev += " with uncommitted changes"
    lines = []
    lines.append("etcdc %s. Machine: %s, %d cores (nproc), Linux %s; etcd %s (one member, "
                 "loopback, data dir on %s); %s; %d run%s per figure: median (min–max)%s. %s"
                 % (rev, cpu_model(), os.cpu_count(), platform.release(),
                    etcd_version.get("etcdserver"), os.environ.get("BENCH_DATA_FS", "?"),
                    version_of([WRK, "-v"]).split(" [")[0] if WRK else "wrk: not installed",
                    RUNS, "" if RUNS == 1 else "s", " — SMOKE run, tiny counts" if SMOKE else "",
                    "Every row but the 8-thread one runs etcd on CPU %d and the contender on "
                    "CPU %d (taskset); the 8-thread row lets both use every CPU."
                    % (min(ETCD_CPUS), min(CLIENT_CPUS)) if PIN else
                    "Nothing pinned to a CPU."))
    if do_v2:
        lines.append("")
        lines.append("| benchmark | etcdc C API | etcdc Rust API | Python binding | python-etcd 0.4.5 "
                     "| wrk | target | ratios of medians |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for title, cs, target, results in rows:
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                title, cs["c"], cs["rust"], cs["binding"], cs["python-etcd"], cs["wrk"],
                target, "<br>".join(results) or "—"))
        lines.append("")
        notes = []
        w = raw.get("watch", {})
        for c in ("c", "rust", "python-etcd"):
            s = stats(w.get(c, []), "write_p50_ms")
            if s:
                notes.append("%s's own write round trip p50 %.3f ms" % (names[c], s["median"]))
        # What the server leaves for any client: wrk spends ~2 µs of user time per
        # request, so wrk / python-etcd is the most a client can be over
        # python-etcd on GET; for the recursive read, wrk's raw fetch (no parsing)
        # is etcd's own time, so python-etcd / wrk is the ceiling of any client.
        ceilings = []
        g = raw.get("get", {})
        if g.get("wrk") and g.get("python-etcd"):
            k = med(g, "wrk", "rate") / med(g, "python-etcd", "rate")
            ceilings.append("sequential GET: wrk itself is %.2f × python-etcd, so ≥ 4 × python-etcd "
                            "asks for ≥ %.2f × wrk" % (k, 4 / k))
        r = raw.get("recursive", {})
        if r.get("wrk") and r.get("python-etcd"):
            ceilings.append("recursive read: etcd alone takes %.2f ms to send it (wrk), so a client that "
                            "parsed in zero time would be %.2f × python-etcd"
                            % (med(r, "wrk", "ms_per_read"),
                               med(r, "python-etcd", "ms_per_read") / med(r, "wrk", "ms_per_read")))
        if ceilings:
            lines.append("Ceilings set by the server: " + "; ".join(ceilings) + ".")
        # Where the time goes: CPU per request of each contender (its whole
        # process, start-up included) and of etcd, medians over the runs.
        # (Not in a smoke run: its counts are too small for the CPU clock.)
        for key, label in () if SMOKE else (("get", "sequential GET"),
                                            ("mget", "GET from 8 threads"),
                                            ("put", "sequential PUT")):
            parts = []
            for c in everyone:
                rs = raw.get(key, {}).get(c, [])
                if not rs or "cpu_user_us" not in rs[0]:
                    continue
                u, sy = med(raw[key], c, "cpu_user_us"), med(raw[key], c, "cpu_sys_us")
                e = med(raw[key], c, "cpu_etcd_us") if "cpu_etcd_us" in rs[0] else None
                parts.append("%s %.1f + %.1f%s" % (names[c], u, sy,
                                                    " | etcd %.1f" % e if e is not None else ""))
            if parts:
                lines.append("CPU per request, %s (µs, client user + sys | etcd): %s."
                             % (label, "; ".join(parts)))
        if notes:
            lines.append("Watch: one event in flight at a time, latency from just before the "
                         "write is sent to the event's return in the watcher thread (so it "
                         "includes etcd's commit); for scale: " + "; ".join(notes) + ".")
        lines.append("Counts checked: every run's requests equal etcd's own counters "
                     "(/v2/stats/store deltas), warm-up excluded from timing; wrk PUT sends "
                     "the same form body through a Lua script (%s)."
                     % os.path.relpath(wrk_script_path(), REPO))
        if not available["binding"]:
            lines.append("Python binding: n/a (bindings/python missing or not importable).")
        if not available["python-etcd"]:
            lines.append("python-etcd: n/a (its venv could not be made).")
        if not available["wrk"]:
            lines.append("wrk: n/a (not installed).")
    if do_v3:
        lines.extend(v3_table(v3))
    if errors:
        lines.append("")
        lines.append("ERRORS:")
        lines.extend("- " + e for e in errors)
    table = "\n".join(lines)
    print(table)
    if not V3_OUT:
        with open(os.path.join(OUT_DIR, "results.md"), "w") as f:
            f.write(table + "\n")
        with open(os.path.join(OUT_DIR, "results.json"), "w") as f:
            json.dump({"smoke": SMOKE, "runs": RUNS, "raw": raw, "v3": v3, "errors": errors},
                      f, indent=1)
    log("bench: %.0f s; results in %s" % (time.time() - t_start,
                                           V3_OUT or os.path.relpath(OUT_DIR, REPO)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
