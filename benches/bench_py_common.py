"""What the Python bench contenders (bench_python_etcd.py, v2;
bench_python_etcd3.py, v3) share: failing, the arguments and endpoint,
the value sent, the result line, percentiles as bench_rust.rs computes them.
Standard library only (each runs in a venv of its own)."""

import json
import os
import sys
from urllib.parse import urlsplit

PROG = os.path.splitext(os.path.basename(sys.argv[0]))[0]


def fail(what):
    sys.stderr.write("%s: %s\n" % (PROG, what))
    sys.exit(1)


def parse_client(args, default):
    """(the --client value or `default`, the other arguments)."""
    if args[:1] == ["--client"]:
        return args[1], args[2:]
    return default, args


def endpoint():
    """$ETCDC_ENDPOINT, split (hostname, port)."""
    return urlsplit(os.environ.get("ETCDC_ENDPOINT") or fail("ETCDC_ENDPOINT is not set"))


def make_value(n):
    """n bytes of "0123456789...", as the other contenders send."""
    return "".join(chr(ord("0") + i % 10) for i in range(n))


def emit(**fields):
    print(json.dumps(fields), flush=True)


def pct_ms(sorted_s, p):
    """The p-th percentile (nearest rank) of sorted seconds, in ms, as
    bench_rust.rs computes it."""
    n = len(sorted_s)
    i = min(max(int(-(-p * n // 100)), 1), n) - 1
    return round(sorted_s[i] * 1e3, 4)
