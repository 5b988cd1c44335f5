#!/usr/bin/env python3
"""Captures what a real etcd sends over HTTP/2 (gRPC, h2c) as fuzz seeds.

Run through scripts/with-etcd.sh, which sets ETCDC_ENDPOINT:
    scripts/with-etcd.sh python3 fuzz/capture-h2-seeds.py
- fuzz/seeds/h2_frames/*.h2: one byte (the fuzz target's choice of how to
  split the header blocks it re-encodes), then every byte etcd sent on the
  connection (its SETTINGS, ACKs, WINDOW_UPDATEs, HEADERS, DATA, trailers);
- fuzz/seeds/hpack/*.hpack: one byte (the header list limit's choice), then
  each header block etcd sent on that connection, in order, as a 2-byte
  big-endian length and the block (one HPACK table across them);
- fuzz/seeds/grpc/*.grpc: a cut byte, a flags byte (bit 0: the block ends
  the stream), a 2-byte length and that many bytes of header fields (name,
  NUL, value, NUL, ...), then the DATA bytes of one stream (gRPC messages).

The requests are hand-encoded (HPACK literals without indexing, protobuf by
hand): nothing but the standard library is needed.
"""
import os
import socket
import struct
import sys
import time
import urllib.parse

endpoint = urllib.parse.urlparse(os.environ["ETCDC_ENDPOINT"])
seeds = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
for d in ("h2_frames", "hpack", "grpc"):
    os.makedirs(os.path.join(seeds, d), exist_ok=True)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, SETTINGS, PING, CONTINUATION = 0, 1, 4, 6, 9
END_STREAM, END_HEADERS, ACK = 1, 4, 1


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def hpack_literal(name, value):
    # Literal without indexing, new name, no Huffman (lengths < 127).
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def request_head(path):
    block = b""
    for n, v in [
        (b":method", b"POST"),
        (b":scheme", b"http"),
        (b":path", path.encode()),
        (b":authority", endpoint.netloc.encode()),
        (b"content-type", b"application/grpc"),
        (b"te", b"trailers"),
    ]:
        block += hpack_literal(n, v)
    return block


def pb_bytes(field, value):
    return bytes([field << 3 | 2]) + varint(len(value)) + value


def pb_varint(field, value):
    return bytes([field << 3]) + varint(value)


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def grpc_message(m):
    return b"\x00" + struct.pack(">I", len(m)) + m


class Conn:
    def __init__(self):
        self.s = socket.create_connection((endpoint.hostname, endpoint.port), timeout=5)
        self.s.sendall(PREFACE + frame(SETTINGS, 0, 0))
        self.wire = b""
        self.next_id = 1

    def call(self, path, messages, end=True):
        sid = self.next_id
        self.next_id += 2
        out = frame(HEADERS, END_HEADERS, sid, request_head(path))
        for i, m in enumerate(messages):
            last = end and i == len(messages) - 1
            out += frame(DATA, END_STREAM if last else 0, sid, grpc_message(m))
        if end and not messages:
            out += frame(DATA, END_STREAM, sid)
        self.s.sendall(out)
        return sid

    def read(self, quiet=0.5):
        """Reads until the server has been quiet for `quiet` seconds,
        acknowledging its SETTINGS and answering its PINGs."""
        self.s.settimeout(quiet)
        seen = len(self.wire)
        while True:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.wire += chunk
            # Answer control frames among the complete ones.
            at = 0
            while len(self.wire) - at >= 9:
                n = int.from_bytes(self.wire[at:at + 3], "big")
                if len(self.wire) - at < 9 + n:
                    break
                kind, flags = self.wire[at + 3], self.wire[at + 4]
                if at >= seen:
                    if kind == SETTINGS and not flags & ACK:
                        self.s.sendall(frame(SETTINGS, ACK, 0))
                    if kind == PING and not flags & ACK:
                        self.s.sendall(frame(PING, ACK, 0, self.wire[at + 9:at + 9 + n]))
                at += 9 + n
            seen = at

    def close(self):
        self.s.close()


def frames(wire):
    at = 0
    while len(wire) - at >= 9:
        n = int.from_bytes(wire[at:at + 3], "big")
        kind, flags = wire[at + 3], wire[at + 4]
        stream = int.from_bytes(wire[at + 5:at + 9], "big") & 0x7FFFFFFF
        yield kind, flags, stream, wire[at + 9:at + 9 + n]
        at += 9 + n


def unpad_headers(flags, p):
    if flags & 0x8:
        pad = p[0]
        p = p[1:len(p) - pad]
    if flags & 0x20:
        p = p[5:]
    return p


def save(name, wire, cut=7):
    with open(os.path.join(seeds, "h2_frames", name + ".h2"), "wb") as f:
        f.write(bytes([cut]) + wire)
    # Header blocks in order, and each stream's fields and data.
    blocks = []
    streams = {}
    pending = None
    for kind, flags, stream, p in frames(wire):
        if kind == HEADERS:
            pending = (stream, flags & END_STREAM, unpad_headers(flags, p))
        elif kind == CONTINUATION and pending:
            pending = (pending[0], pending[1], pending[2] + p)
        elif kind == DATA:
            d = p
            if flags & 0x8:
                d = p[1:len(p) - p[0]]
            streams.setdefault(stream, [[], b"", False])[1] += d
        if kind in (HEADERS, CONTINUATION) and flags & END_HEADERS and pending:
            blocks.append(pending[2])
            streams.setdefault(pending[0], [[], b"", False])[0].append(pending[2])
            if pending[1]:
                streams[pending[0]][2] = True
            pending = None
    with open(os.path.join(seeds, "hpack", name + ".hpack"), "wb") as f:
        f.write(bytes([0]) + b"".join(struct.pack(">H", len(b)) + b for b in blocks))
    return blocks, streams


def decoded_fields(blocks):
    """The fields of each block, decoded by the tiny HPACK decoder below
    (enough for what grpc-go sends: indexed, literals, Huffman)."""
    d = Hpack()
    return [d.decode(b) for b in blocks]


def save_grpc(name, fields, data, end, cut=3):
    text = b"".join(n + b"\0" + v + b"\0" for n, v in fields)
    with open(os.path.join(seeds, "grpc", name + ".grpc"), "wb") as f:
        f.write(bytes([cut, 1 if end else 0]) + struct.pack(">H", len(text)) + text + data)


# A minimal HPACK decoder, for turning captured blocks into grpc seeds.
STATIC = [
    (b":authority", b""), (b":method", b"GET"), (b":method", b"POST"), (b":path", b"/"),
    (b":path", b"/index.html"), (b":scheme", b"http"), (b":scheme", b"https"),
    (b":status", b"200"), (b":status", b"204"), (b":status", b"206"), (b":status", b"304"),
    (b":status", b"400"), (b":status", b"404"), (b":status", b"500"), (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"), (b"accept-language", b""), (b"accept-ranges", b""),
    (b"accept", b""), (b"access-control-allow-origin", b""), (b"age", b""), (b"allow", b""),
    (b"authorization", b""), (b"cache-control", b""), (b"content-disposition", b""),
    (b"content-encoding", b""), (b"content-language", b""), (b"content-length", b""),
    (b"content-location", b""), (b"content-range", b""), (b"content-type", b""), (b"cookie", b""),
    (b"date", b""), (b"etag", b""), (b"expect", b""), (b"expires", b""), (b"from", b""),
    (b"host", b""), (b"if-match", b""), (b"if-modified-since", b""), (b"if-none-match", b""),
    (b"if-range", b""), (b"if-unmodified-since", b""), (b"last-modified", b""), (b"link", b""),
    (b"location", b""), (b"max-forwards", b""), (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""), (b"range", b""), (b"referer", b""), (b"refresh", b""),
    (b"retry-after", b""), (b"server", b""), (b"set-cookie", b""),
    (b"strict-transport-security", b""), (b"transfer-encoding", b""), (b"user-agent", b""),
    (b"vary", b""), (b"via", b""), (b"www-authenticate", b""),
]
# RFC 7541 Appendix B: (code, bit length) for symbols 0..256.
HUFFMAN = [
    (0x1ff8, 13), (0x7fffd8, 23), (0xfffffe2, 28), (0xfffffe3, 28), (0xfffffe4, 28), (0xfffffe5, 28),
    (0xfffffe6, 28), (0xfffffe7, 28), (0xfffffe8, 28), (0xffffea, 24), (0x3ffffffc, 30),
    (0xfffffe9, 28), (0xfffffea, 28), (0x3ffffffd, 30), (0xfffffeb, 28), (0xfffffec, 28),
    (0xfffffed, 28), (0xfffffee, 28), (0xfffffef, 28), (0xffffff0, 28), (0xffffff1, 28),
    (0xffffff2, 28), (0x3ffffffe, 30), (0xffffff3, 28), (0xffffff4, 28), (0xffffff5, 28),
    (0xffffff6, 28), (0xffffff7, 28), (0xffffff8, 28), (0xffffff9, 28), (0xffffffa, 28),
    (0xffffffb, 28), (0x14, 6), (0x3f8, 10), (0x3f9, 10), (0xffa, 12), (0x1ff9, 13), (0x15, 6),
    (0xf8, 8), (0x7fa, 11), (0x3fa, 10), (0x3fb, 10), (0xf9, 8), (0x7fb, 11), (0xfa, 8), (0x16, 6),
    (0x17, 6), (0x18, 6), (0x0, 5), (0x1, 5), (0x2, 5), (0x19, 6), (0x1a, 6), (0x1b, 6), (0x1c, 6),
    (0x1d, 6), (0x1e, 6), (0x1f, 6), (0x5c, 7), (0xfb, 8), (0x7ffc, 15), (0x20, 6), (0xffb, 12),
    (0x3fc, 10), (0x1ffa, 13), (0x21, 6), (0x5d, 7), (0x5e, 7), (0x5f, 7), (0x60, 7), (0x61, 7),
    (0x62, 7), (0x63, 7), (0x64, 7), (0x65, 7), (0x66, 7), (0x67, 7), (0x68, 7), (0x69, 7),
    (0x6a, 7), (0x6b, 7), (0x6c, 7), (0x6d, 7), (0x6e, 7), (0x6f, 7), (0x70, 7), (0x71, 7),
    (0x72, 7), (0xfc, 8), (0x73, 7), (0xfd, 8), (0x1ffb, 13), (0x7fff0, 19), (0x1ffc, 13),
    (0x3ffc, 14), (0x22, 6), (0x7ffd, 15), (0x3, 5), (0x23, 6), (0x4, 5), (0x24, 6), (0x5, 5),
    (0x25, 6), (0x26, 6), (0x27, 6), (0x6, 5), (0x74, 7), (0x75, 7), (0x28, 6), (0x29, 6),
    (0x2a, 6), (0x7, 5), (0x2b, 6), (0x76, 7), (0x2c, 6), (0x8, 5), (0x9, 5), (0x2d, 6), (0x77, 7),
    (0x78, 7), (0x79, 7), (0x7a, 7), (0x7b, 7), (0x7ffe, 15), (0x7fc, 11), (0x3ffd, 14),
    (0x1ffd, 13), (0xffffffc, 28),
] + [(0, 99)] * 129  # symbols above 127: not expected from etcd


class Hpack:
    def __init__(self):
        self.table = []
        self.codes = {(c, n): i for i, (c, n) in enumerate(HUFFMAN) if n < 99}

    def entry(self, i):
        return STATIC[i - 1] if i <= len(STATIC) else self.table[i - len(STATIC) - 1]

    def int(self, b, at, n):
        v = b[at] & ((1 << n) - 1)
        at += 1
        if v < (1 << n) - 1:
            return v, at
        m = 0
        while True:
            v += (b[at] & 0x7F) << m
            m += 7
            at += 1
            if not b[at - 1] & 0x80:
                return v, at

    def string(self, b, at):
        huff = b[at] & 0x80
        n, at = self.int(b, at, 7)
        s = b[at:at + n]
        if huff:
            out, code, bits = b"", 0, 0
            for byte in s:
                for k in range(7, -1, -1):
                    code = code << 1 | (byte >> k) & 1
                    bits += 1
                    if (code, bits) in self.codes:
                        out += bytes([self.codes[(code, bits)]])
                        code, bits = 0, 0
            s = out
        return s, at + n

    def decode(self, b):
        fields, at = [], 0
        while at < len(b):
            c = b[at]
            if c & 0x80:
                i, at = self.int(b, at, 7)
                fields.append(self.entry(i))
            elif c & 0xE0 == 0x20:
                _, at = self.int(b, at, 5)
            else:
                n = 6 if c & 0x40 else 4
                i, at = self.int(b, at, n)
                if i:
                    name = self.entry(i)[0]
                else:
                    name, at = self.string(b, at)
                value, at = self.string(b, at)
                fields.append((name, value))
                if c & 0x40:
                    self.table.insert(0, (name, value))
        return fields


def capture(name, calls, cut=7):
    """`calls`: (path, messages, end) per stream, all on one connection;
    extra(conn) may do more once they were sent."""
    c = Conn()
    for path, messages, end in calls:
        c.call(path, messages, end)
        c.read(0.3)
    c.read(0.5)
    c.close()
    blocks, streams = save(name, c.wire, cut)
    fields = decoded_fields(blocks)
    # Every stream as a grpc seed: the fields of its blocks (head, then
    # trailers) as one list, and its data.
    by_block = dict(zip(map(id, blocks), fields))
    for sid in sorted(streams):
        heads, data, end = streams[sid]
        save_grpc(f"{name}-{sid}", [f for b in heads for f in by_block[id(b)]], data, end)
    return c.wire


RANGE = "/etcdserverpb.KV/Range"
PUT = "/etcdserverpb.KV/Put"
WATCH = "/etcdserverpb.Watch/Watch"

capture("put", [(PUT, [pb_bytes(1, b"fuzz/a") + pb_bytes(2, b"one")], True)])
capture("range", [(RANGE, [pb_bytes(1, b"fuzz/a")], True)])
capture(
    "range-twice",
    [(RANGE, [pb_bytes(1, b"fuzz/a")], True), (RANGE, [pb_bytes(1, b"fuzz/")
                                                       + pb_bytes(2, b"fuzz0")], True)],
)
capture(
    "put-then-range-prefix",
    [
        (PUT, [pb_bytes(1, b"fuzz/b") + pb_bytes(2, b"x" * 300)], True),
        (RANGE, [pb_bytes(1, b"fuzz/") + pb_bytes(2, b"fuzz0")], True),
    ],
)
# Errors: a Range without a key (InvalidArgument in the trailers), an
# unknown method (trailers-only UNIMPLEMENTED), a lease that does not exist.
capture("range-no-key", [(RANGE, [b""], True)])
capture("unknown-method", [("/etcdserverpb.KV/Nope", [b""], True)])
capture("lease-not-found", [("/etcdserverpb.Lease/LeaseRevoke", [pb_varint(1, 12345)], True)])
# A watch stream: created, then an event from a Put on another stream.
capture(
    "watch",
    [
        (WATCH, [pb_bytes(1, pb_bytes(1, b"fuzz/w"))], False),
        (PUT, [pb_bytes(1, b"fuzz/w") + pb_bytes(2, b"event")], True),
        (PUT, [pb_bytes(1, b"fuzz/w") + pb_bytes(2, b"again")], True),
    ],
)
print("captured", file=sys.stderr)
