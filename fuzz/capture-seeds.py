#!/usr/bin/env python3
"""Captures real etcd replies as fuzz seeds (fuzz/seeds/reply/*.http).

Run through scripts/with-etcd.sh, which sets ETCDC_ENDPOINT:
    scripts/with-etcd.sh python3 fuzz/capture-seeds.py
Each seed is the reply's status line, its header fields (without the
transfer framing: bodies are stored decoded) and its body.
"""
import http.client
import os
import sys
import threading
import urllib.parse

endpoint = urllib.parse.urlparse(os.environ["ETCDC_ENDPOINT"])
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "reply")
os.makedirs(out, exist_ok=True)


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
