"""python-etcd3's README (tests/etcd3_readme.py: its import changed to
etcdc.etcd3, its etcd's address adapted) runs as a program against etcd
3.4 and 3.5.1."""

import os
import subprocess
import sys

import pytest

from etcdc import _lib3

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.skipif(not _lib3.has_lock(), reason="this libetcdc has no v3 lock")
def test_python_etcd3_readme(v3_server):
    r = subprocess.run([sys.executable, os.path.join(HERE, "etcd3_readme.py")],
                       env=dict(os.environ, ETCDC_ENDPOINT=v3_server.url),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "etcd3 README: ok" in r.stdout
    lines = r.stdout.splitlines()
    assert sum("PutEvent" in line and "/doot/watch'" in line for line in lines) == 11
    assert sum("PutEvent" in line and "/doot/watch/prefix/" in line for line in lines) == 11
