#!/usr/bin/env python3
"""Captures real etcd replies as fuzz seeds.

Run through scripts/with-etcd.sh, which sets ETCDC_ENDPOINT:
    scripts/with-etcd.sh python3 fuzz/capture-seeds.py
- fuzz/seeds/reply/*.http: the reply's status line, its header fields
  (without the transfer framing: bodies are stored decoded) and its body;
- fuzz/seeds/http/*.wire: one byte (how the fuzz target cuts the rest into
  reads), then the answer exactly as etcd sent it, framing and all.
"""
import http.client
import os
import socket
import sys
import threading
import urllib.parse

endpoint = urllib.parse.urlparse(os.environ["ETCDC_ENDPOINT"])
seeds = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
out = os.path.join(seeds, "reply")
wire_out = os.path.join(seeds, "http")
os.makedirs(out, exist_ok=True)
os.makedirs(wire_out, exist_ok=True)


def wire(name, method, path, form=None, cut=7, times=1):
    """One request on a fresh connection; the answer's bytes until etcd
    closes (`times` answers back to back when times > 1)."""
    body = urllib.parse.urlencode(form).encode() if form else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: {endpoint.netloc}\r\n"
    if form:
        head += "Content-Type: application/x-www-form-urlencoded\r\n"
    head += f"Content-Length: {len(body)}\r\n"
    request = (head + "\r\n").encode() + body
    last = (head + "Connection: close\r\n\r\n").encode() + body
    with socket.create_connection((endpoint.hostname, endpoint.port), timeout=10) as s:
        s.sendall(request * (times - 1) + last)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    with open(os.path.join(wire_out, name + ".wire"), "wb") as f:
        f.write(bytes([cut]) + data)


def call(name, method, path, form=None):
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=10)
    body = urllib.parse.urlencode(form) if form else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    head = f"HTTP/1.1 {r.status} {r.reason}\r\n"
    for k, v in r.getheaders():
        if k.lower() not in ("transfer-encoding", "date"):
            head += f"{k}: {v}\r\n"
    with open(os.path.join(out, name + ".http"), "wb") as f:
        f.write(head.encode() + b"\r\n" + data)
    conn.close()
    return data


k = "/v2/keys/seed"
call("set", "PUT", k + "/a", {"value": "one"})
call("set-ttl", "PUT", k + "/t", {"value": "x", "ttl": "300"})
call("update-prev", "PUT", k + "/a", {"value": "two"})
call("cas-ok", "PUT", k + "/a", {"value": "3", "prevValue": "two"})
call("cas-fail", "PUT", k + "/a", {"value": "4", "prevValue": "nope"})
call("create-exists", "PUT", k + "/a", {"value": "4", "prevExist": "false"})
call("mkdir", "PUT", k + "/d", {"dir": "true"})
call("post-inorder", "POST", k + "/q", {"value": "job"})
call("unicode", "PUT", k + "/%E2%9C%93%20x", {"value": "\u00e9\u2713\n\"quoted\""})
for i in range(3):
    call(f"nested-{i}", "PUT", k + f"/d/sub{i}/leaf", {"value": str(i)})
call("get", "GET", k + "/a")
call("get-dir", "GET", k + "/d")
call("get-recursive-sorted", "GET", k + "?recursive=true&sorted=true")
call("not-found", "GET", k + "/missing")
call("not-dir", "GET", k + "/a/b")
call("not-file", "PUT", k + "/d", {"value": "x"})
call("dir-not-empty", "DELETE", k + "/d?dir=true")
call("root-read-only", "DELETE", "/v2/keys/?recursive=true")
call("ttl-nan", "PUT", k + "/x", {"value": "x", "ttl": "abc"})
call("index-nan", "PUT", k + "/x", {"value": "x", "prevIndex": "abc"})
call("refresh-value", "PUT", k + "/t", {"value": "x", "ttl": "30", "refresh": "true"})
call("delete", "DELETE", k + "/a")
call("delete-dir", "DELETE", k + "/d?recursive=true")

# A watch answered by a write, and one from a cleared index.
got = {}
t = threading.Thread(target=lambda: got.update(w=call("watch", "GET", k + "/w?wait=true")))
t.start()
import time
time.sleep(0.3)
call("watch-trigger", "PUT", k + "/w", {"value": "event"})
t.join()
for i in range(1100):
    call("churn", "PUT", k + "/c", {"value": str(i)})
os.remove(os.path.join(out, "churn.http"))
call("event-index-cleared", "GET", k + "/c?wait=true&waitIndex=1")

# Raw answers: a length-framed one, two on one connection, an error, a
# chunked watch event, a directory, the small APIs.
wire("get", "GET", k + "/c", cut=1)
wire("get-twice", "GET", k + "/c", cut=13, times=2)
wire("not-found", "GET", k + "/missing", cut=3)
wire("set", "PUT", k + "/c", {"value": "wired"}, cut=29)
wire("watch-index", "GET", k + "/c?wait=true&waitIndex=" + str(1100), cut=5)
wire("get-recursive", "GET", k + "?recursive=true&sorted=true", cut=255)
wire("members", "GET", "/v2/members", cut=64)
wire("version", "GET", "/version", cut=2)
t = threading.Thread(target=lambda: wire("watch-wait", "GET", k + "/w2?wait=true", cut=9))
t.start()
time.sleep(0.3)
call("watch-trigger-2", "PUT", k + "/w2", {"value": "event"})
t.join()
os.remove(os.path.join(out, "watch-trigger-2.http"))

call("members", "GET", "/v2/members")
call("machines", "GET", "/v2/machines")
call("stats-self", "GET", "/v2/stats/self")
call("stats-store", "GET", "/v2/stats/store")
call("stats-leader", "GET", "/v2/stats/leader")
call("version", "GET", "/version")
call("health", "GET", "/health")
call("member-missing", "DELETE", "/v2/members/abcdef")
call("no-such-api", "GET", "/v3/nothing")
print(f"seeds in {out}: {len(os.listdir(out))}", file=sys.stderr)
print(f"seeds in {wire_out}: {len(os.listdir(wire_out))}", file=sys.stderr)
