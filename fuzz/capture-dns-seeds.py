#!/usr/bin/env python3
"""Captures real DNS answers to the SRV question the `dns` fuzz target
parses (`_etcd-client._tcp.example.test`, as src/fuzzing.rs's dns_bytes
asks it) from dnsmasq, as fuzz/seeds/dns/*.dns: the answer's bytes as the
client reads them (UDP datagram; for TCP, the message without its 2-byte
length).

    python3 fuzz/capture-dns-seeds.py      (needs dnsmasq: apt-get install dnsmasq-base)

dnsmasq runs as tests/common/dns.rs runs it: on a free loopback port,
answering only from the records it is given, stopped (by its pid) at the
end of each capture.
"""
import os
import shutil
import socket
import struct
import subprocess
import time

NAME = "_etcd-client._tcp.example.test"
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "dns")
os.makedirs(out, exist_ok=True)
dnsmasq = os.environ.get("DNSMASQ") or shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def query(name, qid, qtype=33):
    q = struct.pack(">H", qid) + bytes([1, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


def free_port():
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()


def capture(seed, args, qid, tcp=False, name=NAME):
    port = free_port()
    cmd = [dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
           "--no-negcache", "--bind-interfaces", "--listen-address=127.0.0.1", "--local=/test/",
           "--pid-file=", f"--port={port}"] + args
    if os.getuid() == 0:
        cmd.append("--user=root")
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        q = query(name, qid)
        for _ in range(100):
            try:
                if tcp:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                        s.sendall(struct.pack(">H", len(q)) + q)
                        data = b""
                        while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
                            chunk = s.recv(65536)
                            if not chunk:
                                break
                            data += chunk
                        msg = data[2:]
                else:
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                        s.settimeout(0.2)
                        s.sendto(q, ("127.0.0.1", port))
                        msg = s.recv(4096)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit(f"dnsmasq did not answer on {port}")
    finally:
        p.kill()
        p.wait()
    with open(os.path.join(out, seed + ".dns"), "wb") as f:
        f.write(msg)


def srv(target, port, priority=0, weight=0, name=NAME):
    return f"--srv-host={name},{target},{port},{priority},{weight}"


capture("one", [srv("m1.example.test", 2379)], 0x1234)
capture("three", [srv("m1.example.test", 2379, 10, 5), srv("m2.example.test", 22379, 10, 1),
                  srv("m3.example.test", 32379, 20, 0)], 0xBEEF)
# No such service: the target ".".
capture("dot", [f"--srv-host={NAME}"], 7)
# Records for other names only: NXDOMAIN.
capture("nxdomain", [srv("m1.example.test", 2379, name="_etcd-client-ssl._tcp.example.test")], 8)
# Too many for 512 bytes of UDP: truncated; then the whole answer over TCP.
many = [srv(f"member-{i:02}.a-rather-long-subdomain.example.test", 2379 + i, i % 3, i)
        for i in range(24)]
capture("truncated-udp", many, 0x0101)
capture("many-tcp", many, 0x0101, tcp=True)
# An alias: the SRV records of the name a CNAME points to.
capture("cname", ["--cname=_etcd-client._tcp.example.test,_etcd-client._tcp.real.test",
                  srv("m1.real.test", 2379, name="_etcd-client._tcp.real.test")], 0x4242)
print("captured")
