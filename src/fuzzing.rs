//! Entry points for the fuzz targets in `fuzz/`: everything that reads what
//! a server sends, driven from one reply. Built only with the `fuzzing`
//! feature; not part of the API.

use std::ffi::CStr;

use crate::ffi::cluster::etcdc_member_list;
use crate::ffi::node::{etcdc_node, etcdc_response};
use crate::ffi::{self, client::etcdc_string_free, etcdc_status};
use crate::transport::health::parse_health;
use crate::transport::http1::{self as http, Fields};
use crate::transport::Reply;
use crate::v2::cluster;
use crate::v2::cluster::Member;
use crate::v2::node::Response;
use crate::v2::reply::{etcd_index, into_success};
use ureq::unversioned::transport::{Buffers, LazyBuffers, NextTimeout, Transport};

/// One target's input: a reply as raw HTTP/1.1 bytes (status line, header
/// fields, blank line, body taken as already de-framed), its head parsed by
/// the client's parser and fed to [`reply`]. Bytes that are no HTTP head are
/// ignored: returns whether there was one.
pub fn reply_bytes(data: &[u8]) -> bool {
    let Ok(Some((head, len))) = http::parse_head(data) else {
        return false;
    };
    reply(head.status, head.fields, &data[len..]);
    true
}

/// The `http` target's input: one byte that chooses how the rest, the
/// bytes a server sends, is cut into reads, then those bytes. They go through
/// the client's exchange (head parser, body framing, keep-alive decision)
/// three times: whole; cut that way; and cut that way with deadlines
/// between reads, each of which ends an [`http::Exchange::advance`] that
/// the next one resumes (a watcher's poll across short waits). All must end
/// the same (but for whether bytes past the answer were seen: that depends
/// on the reads, as it does on a socket), the head must be seen once, and
/// an answer must be consistent with its framing. Returns whether there was
/// an answer.
pub fn http_bytes(data: &[u8]) -> bool {
    let Some((&cut, wire)) = data.split_first() else {
        return false;
    };
    let outcomes = [
        exchange_script(wire, 0, false),
        exchange_script(wire, cut, false),
        exchange_script(wire, cut, true),
    ];
    let mut seen = Vec::new();
    for outcome in &outcomes {
        match outcome {
            Ok((answer, left)) => {
                assert!(answer.body.len() <= wire.len());
                if let http::Framing::Length(n) = answer.head.framing {
                    assert_eq!(answer.body.len() as u64, n);
                }
                // A connection kept for the next request holds nothing of
                // this one.
                assert!(!answer.head.keep_alive || *left == 0);
                let head = http::Head {
                    keep_alive: false,
                    ..answer.head.clone()
                };
                seen.push(format!("{head:?} {:?}", answer.body));
            }
            Err(e) => seen.push(format!("{e:?}")),
        }
    }
    assert_eq!(seen[0], seen[1], "cut by {cut}");
    assert_eq!(seen[0], seen[2], "cut by {cut}, with deadlines");
    outcomes[0].is_ok()
}

/// The largest body [`http_bytes`] accepts: small, so that the limit is hit.
const FUZZ_MAX_BODY: u64 = 4096;

/// Runs one exchange against a server that sends `wire` in reads whose sizes
/// `cut` chooses (0: all at once), then closes. With `deadlines`, some reads
/// find the deadline come instead (as a socket timeout), and the exchange
/// is advanced again, as a watcher resumes its poll. Returns the answer and
/// the bytes left unread in the connection's buffer.
fn exchange_script(
    wire: &[u8],
    cut: u8,
    deadlines: bool,
) -> std::result::Result<(http::Answer, usize), http::ExchangeError> {
    let mut conn = Script {
        buffers: LazyBuffers::new(128 * 1024, 16 * 1024),
        wire: wire.to_vec(),
        at: 0,
        cut,
        reads: 0,
        deadlines,
        timed_out: false,
    };
    let mut head = Vec::new();
    http::encode_head(
        &mut head,
        "GET",
        "/v2/keys/k",
        "127.0.0.1:2379",
        None,
        http::Payload::Empty,
    );
    let mut heads = 0;
    let mut on_head = |_: &http::Head| heads += 1;
    let answer = if deadlines {
        let mut exchange = http::Exchange::send(&mut conn, &head, b"", None, FUZZ_MAX_BODY)?;
        let mut advances = 0;
        loop {
            // Each advance meets its deadline at the first read that times
            // out (every other read at most).
            let deadline = Some(std::time::Instant::now());
            if let Some(answer) = exchange.advance(&mut conn, deadline, &mut on_head)? {
                break answer;
            }
            advances += 1;
            assert!(advances <= 2 * wire.len() + 2, "no progress");
        }
    } else {
        http::exchange(&mut conn, &head, b"", None, FUZZ_MAX_BODY, &mut on_head)?
    };
    assert_eq!(heads, 1, "the head is seen once");
    let left = conn.buffers.input().len();
    Ok((answer, left))
}

/// A server that sends a script of bytes in reads of chosen sizes.
#[derive(Debug)]
struct Script {
    buffers: LazyBuffers,
    wire: Vec<u8>,
    at: usize,
    cut: u8,
    reads: usize,
    /// Some reads time out instead (never two in a row).
    deadlines: bool,
    timed_out: bool,
}

impl Transport for Script {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(
        &mut self,
        _: usize,
        _: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        Ok(())
    }

    fn await_input(&mut self, _: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        let rest = &self.wire[self.at..];
        // Sizes from 1 to `cut`, varied by a small generator.
        self.reads += 1;
        let mix = self.reads.wrapping_mul(2_654_435_761) >> 7;
        if self.deadlines && !self.timed_out && mix % 3 != 0 {
            self.timed_out = true;
            return Err(ureq::Error::Timeout(ureq::Timeout::Global));
        }
        self.timed_out = false;
        let size = match self.cut {
            0 => rest.len(),
            c => 1 + (self.reads.wrapping_mul(2_654_435_761) >> 7) % usize::from(c),
        };
        let free = self.buffers.input_append_buf();
        let n = size.min(rest.len()).min(free.len());
        free[..n].copy_from_slice(&rest[..n]);
        self.buffers.input_appended(n);
        self.at += n;
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        false
    }
}

/// The other target's input: a key, a NUL byte, a value (the whole input is
/// the key without one), fed to [`request_target`] when both are UTF-8:
/// returns whether they were.
pub fn request_target_bytes(data: &[u8]) -> bool {
    let (key, value) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    if let (Ok(key), Ok(value)) = (std::str::from_utf8(key), std::str::from_utf8(value)) {
        request_target(key, value);
        return true;
    }
    false
}

/// Feeds one server reply (status, header fields, body) through every
/// parser the client applies to a reply: the keys/watch path into a
/// `Response`, its C view walked through the C accessors, the error
/// mapping with its C status and message, and the cluster parsers
/// (members, machines, stats, version, health). Panics only on a bug.
fn reply(status: u16, fields: Fields, body: &[u8]) {
    let _ = etcd_index(&fields);
    let reply = Reply {
        status,
        headers: fields,
        body: body.to_vec(),
        endpoint: "http://127.0.0.1:2379".into(),
        // Both readings of an error answer: to a read and to a write.
        write: body.len() % 2 == 1,
    };
    match into_success(reply) {
        Ok(success) => {
            if let Ok(response) = Response::parse(&success.body, success.headers) {
                walk_c_view(response);
            }
        }
        Err(e) => {
            let status = ffi::error::status_of(&e) as std::ffi::c_int;
            // Every status has a description, and every message is text.
            // SAFETY: etcdc_status_str returns a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(ffi::error::etcdc_status_str(status)) };
            assert!(!text.to_bytes().is_empty());
            let _ = (e.to_string(), e.etcd());
        }
    }
    if let Ok(members) = cluster::parse_members(body) {
        walk_member_list(&members);
    }
    let _ = cluster::parse_member(body);
    let _ = cluster::parse_machines(body.to_vec());
    let _ = cluster::parse_leader_id(body);
    let _ = cluster::parse_version(body);
    let _ = cluster::json(body);
    let _ = parse_health(body);
    let _ = crate::v2::auth::parse_user(body);
    let _ = crate::v2::auth::parse_role(body);
    let _ = crate::v2::auth::parse_user_names(body);
    let _ = crate::v2::auth::parse_role_names(body);
    let _ = crate::v2::auth::parse_enabled(body);
}

/// Builds the C view of `response` and reads every node through the C
/// accessors, checking what they return against the Rust tree.
fn walk_c_view(response: Response) {
    let view = Box::into_raw(Box::new(etcdc_response::new(response)));
    // The Rust leaves, in order, as addresses: the C view must give the
    // views of the same nodes in the same order.
    // SAFETY: `view` is live until freed below.
    let expected: Vec<*const crate::v2::node::Node> = unsafe { &*view }
        .rust()
        .node
        .leaves()
        .map(|n| n as *const _)
        .collect();
    // SAFETY: `view` is a live response until freed at the end; node
    // pointers come from its accessors.
    unsafe {
        let _ = CStr::from_ptr(ffi::node::etcdc_response_action(view));
        walk_node(ffi::node::etcdc_response_node(view));
        let prev = ffi::node::etcdc_response_prev_node(view);
        if !prev.is_null() {
            walk_node(prev);
        }
        let leaves = ffi::node::etcdc_response_leaf_count(view);
        assert_eq!(leaves, expected.len());
        for (i, &want) in expected.iter().enumerate() {
            let leaf = ffi::node::etcdc_response_leaf(view, i);
            assert!(!leaf.is_null());
            assert_eq!(ffi::node::etcdc_node_child_count(leaf), 0);
            assert!(std::ptr::eq((*leaf).node(), want), "leaf {i} out of order");
        }
        ffi::node::etcdc_response_free(view);
    }
}

/// Reads `node` and its subtree through the C accessors, iteratively.
///
/// # Safety
/// `node` is a live node of a live response.
unsafe fn walk_node(node: *const etcdc_node) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        // SAFETY: per the contract; children come from the same response.
        unsafe {
            let rust = (*n).node();
            let key = ffi::node::etcdc_node_key(n);
            let key_len = ffi::node::etcdc_node_key_len(n);
            let key = std::slice::from_raw_parts(key.cast::<u8>(), key_len + 1);
            assert_eq!(&key[..key_len], rust.key.as_bytes());
            assert_eq!(key[key_len], 0);
            let value = ffi::node::etcdc_node_value(n);
            let len = ffi::node::etcdc_node_value_len(n);
            match &rust.value {
                Some(v) => {
                    assert_eq!(len, v.len());
                    let bytes = std::slice::from_raw_parts(value.cast::<u8>(), len + 1);
                    assert_eq!(&bytes[..len], v.as_bytes());
                    assert_eq!(bytes[len], 0);
                }
                None => assert!(value.is_null()),
            }
            let mut json = std::ptr::null_mut();
            assert_eq!(
                ffi::node::etcdc_node_to_json(n, &mut json),
                etcdc_status::ETCDC_OK
            );
            let parsed: serde_json::Value =
                serde_json::from_slice(CStr::from_ptr(json).to_bytes()).expect("valid JSON");
            assert!(parsed.is_object());
            etcdc_string_free(json);
            let count = ffi::node::etcdc_node_child_count(n);
            assert_eq!(count, rust.nodes.len());
            for i in 0..count {
                stack.push(ffi::node::etcdc_node_child(n, i));
            }
            assert!(ffi::node::etcdc_node_child(n, count).is_null());
        }
    }
}

/// Builds the C member list and reads it back through the C accessors.
fn walk_member_list(members: &[Member]) {
    let list = Box::into_raw(Box::new(etcdc_member_list::new(members)));
    // SAFETY: `list` is live until freed at the end; the URL arrays have
    // the counts the members give.
    unsafe {
        assert_eq!(ffi::cluster::etcdc_member_list_count(list), members.len());
        for (i, m) in members.iter().enumerate() {
            let c = &*ffi::cluster::etcdc_member_list_get(list, i);
            assert_eq!(CStr::from_ptr(c.id).to_bytes(), m.id.as_bytes());
            assert_eq!(CStr::from_ptr(c.name).to_bytes(), m.name.as_bytes());
            for (urls, count, want) in [
                (c.peer_urls, c.peer_url_count, &m.peer_urls),
                (c.client_urls, c.client_url_count, &m.client_urls),
            ] {
                assert_eq!(count, want.len());
                for (j, w) in want.iter().enumerate() {
                    assert_eq!(CStr::from_ptr(*urls.add(j)).to_bytes(), w.as_bytes());
                }
            }
        }
        assert!(ffi::cluster::etcdc_member_list_get(list, members.len()).is_null());
        ffi::cluster::etcdc_member_list_free(list);
    }
}

/// Builds the request target for `key` with `value` as a query parameter
/// and checks that nothing escapes: the target holds only unreserved
/// characters and escapes, the key's segments decode back exactly, and the
/// value stays one parameter. Panics only on a bug.
pub fn request_target(key: &str, value: &str) {
    let Ok(mut path) = crate::v2::keys::key_path(key) else {
        return;
    };
    let segments = path["/keys".len()..].to_owned();
    crate::v2::keys::Query::new(&mut path).add("prevValue", value);
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"-._~/%?&=".contains(&b);
    assert!(path.bytes().all(safe), "{path:?}");
    let (target, query) = path.split_once('?').expect("one query");
    assert_eq!(path.matches('?').count(), 1);
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .expect("UTF-8")
            .into_owned()
    };
    let want: Vec<&str> = key
        .strip_prefix('/')
        .unwrap_or(key)
        .trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let got: Vec<String> = segments
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    assert_eq!(got, want, "{target:?}");
    let (name, encoded) = query.split_once('=').expect("name=value");
    assert_eq!(name, "prevValue");
    assert!(!encoded.contains(['&', '=']));
    assert_eq!(decode(encoded), value);
}

/// A DNS server's answer to the SRV question for
/// `_etcd-client._tcp.example.test` (id from the first two bytes), through
/// the SRV discovery's parser: an answer or an error, never a panic or a
/// loop; records read are within the answer. Returns whether it parsed.
pub fn dns_bytes(data: &[u8]) -> bool {
    use crate::transport::srv::{parse_response, Answer};
    let name = "_etcd-client._tcp.example.test";
    let id = data
        .get(..2)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    match parse_response(data, id, name) {
        Ok(Answer::Records(records)) => {
            for r in &records {
                assert!(r.target.len() <= 255, "{r:?}");
            }
            true
        }
        Ok(Answer::Truncated) => true,
        Err(_) => false,
    }
}

/// The header list the HTTP/2 targets keep, at most: small, so that the
/// limit is hit.
const FUZZ_MAX_HEADER_LIST: usize = 4096;

/// The `h2_frames` target's input: one byte (the frame size the header
/// blocks are re-split at), then what an HTTP/2 server sends after the
/// preface. The bytes are read as the connection's reader reads them: frame
/// after frame (none over the 16 KiB we accept), each parsed, HEADERS and
/// CONTINUATION gathered into header blocks that one HPACK decoder (one
/// table, as on a connection) decodes. Every error is a clean connection
/// error with a code the peer can be told; every frame the client can
/// encode re-encodes to the same frame (and to the same bytes when it was
/// written as our encoder writes it); every decoded header list is within
/// its limit and re-encodes to the same fields. Returns whether the bytes
/// were frames to the end (a last frame may be incomplete).
pub fn h2_frames_bytes(data: &[u8]) -> bool {
    use crate::transport::http2::frame::{self, ConnError, Frame, Head};
    use crate::transport::http2::hpack::Decoder;
    let Some((&split, wire)) = data.split_first() else {
        return false;
    };
    let max_frame = frame::DEFAULT_MAX_FRAME as usize;
    let mut decoder = Decoder::new(FUZZ_MAX_HEADER_LIST);
    // A header block waiting for its CONTINUATIONs: stream, fragments.
    let mut pending: Option<(u32, Vec<u8>)> = None;
    let mut at = 0;
    let outcome: Result<(), ConnError> = loop {
        let Some(head) = Head::parse(&wire[at..]) else {
            break Ok(());
        };
        let len = head.len as usize;
        if len > max_frame {
            break Err(ConnError::new(
                frame::FRAME_SIZE_ERROR,
                "a frame over 16 KiB",
            ));
        }
        let Some(raw) = wire.get(at..at + frame::HEADER_LEN + len) else {
            break Ok(());
        };
        at += raw.len();
        let parsed = match frame::parse(&head, &raw[frame::HEADER_LEN..]) {
            Ok(f) => f,
            Err(e) => break Err(e),
        };
        frame_round_trip(&head, raw, &parsed, split);
        if let Some((stream, _)) = &pending {
            if !matches!(parsed, Frame::Continuation { stream: s, .. } if s == *stream) {
                break Err(ConnError::new(
                    frame::PROTOCOL_ERROR,
                    "a header block interrupted",
                ));
            }
        }
        let block = match parsed {
            Frame::Headers {
                stream,
                block,
                end_headers,
                ..
            } => {
                if !end_headers {
                    pending = Some((stream, block.to_vec()));
                    continue;
                }
                block.to_vec()
            }
            Frame::Continuation {
                block, end_headers, ..
            } => {
                let Some((stream, mut acc)) = pending.take() else {
                    break Err(ConnError::new(
                        frame::PROTOCOL_ERROR,
                        "CONTINUATION without HEADERS",
                    ));
                };
                acc.extend_from_slice(block);
                if acc.len() > decoder.max_block() {
                    break Err(ConnError::new(frame::PROTOCOL_ERROR, "a long header block"));
                }
                if !end_headers {
                    pending = Some((stream, acc));
                    continue;
                }
                acc
            }
            Frame::Settings(entries) => {
                assert_eq!(frame::settings_entries(entries).count() * 6, entries.len());
                continue;
            }
            _ => continue,
        };
        if let Err(e) = decode_block(&mut decoder, &block, split) {
            break Err(e);
        }
    };
    match outcome {
        Ok(()) => true,
        Err(e) => {
            assert!(
                [
                    frame::PROTOCOL_ERROR,
                    frame::FRAME_SIZE_ERROR,
                    frame::COMPRESSION_ERROR
                ]
                .contains(&e.code),
                "{e}"
            );
            // The reason fits in a GOAWAY.
            let mut goaway = Vec::new();
            frame::put_goaway(&mut goaway, 0, e.code, e.reason.as_bytes());
            assert!(goaway.len() <= frame::HEADER_LEN + max_frame, "{e}");
            false
        }
    }
}

/// Decodes one header block and checks what came out: within the list
/// limit, and our encoder's block of the same fields (plain or secret, as
/// `how` chooses) decodes to them again on a fresh connection.
fn decode_block(
    decoder: &mut crate::transport::http2::hpack::Decoder,
    block: &[u8],
    how: u8,
) -> Result<(), crate::transport::http2::frame::ConnError> {
    use crate::transport::http2::frame::COMPRESSION_ERROR;
    use crate::transport::http2::hpack::{encode_field, field_size, Decoder, Sensitivity};
    let decoded = decoder.decode(block).inspect_err(|e| {
        assert_eq!(e.code, COMPRESSION_ERROR, "{e}");
    })?;
    let size: usize = decoded.fields.iter().map(|(n, v)| field_size(n, v)).sum();
    assert!(size <= FUZZ_MAX_HEADER_LIST, "{size}");
    let mut again = Vec::new();
    for (i, (name, value)) in decoded.fields.iter().enumerate() {
        let secret = how.rotate_right(i as u32) & 1 == 1;
        let sensitivity = if secret {
            Sensitivity::Secret
        } else {
            Sensitivity::Plain
        };
        encode_field(&mut again, name, value, sensitivity);
    }
    let round = Decoder::new(FUZZ_MAX_HEADER_LIST)
        .decode(&again)
        .expect("our own header block decodes");
    assert!(!round.oversized);
    assert_eq!(round.fields, decoded.fields);
    Ok(())
}

/// A frame the client has an encoder for, encoded again: it parses to the
/// same frame, and to the same bytes (`raw`) when those have only the flags
/// the encoder sets and no reserved bit. HEADERS are also re-split at
/// `split` bytes into HEADERS and CONTINUATIONs that carry the same block.
fn frame_round_trip(
    head: &crate::transport::http2::frame::Head,
    raw: &[u8],
    parsed: &crate::transport::http2::frame::Frame<'_>,
    split: u8,
) {
    use crate::transport::http2::frame::*;
    let reparse = |bytes: &[u8]| -> (Vec<u8>, bool) {
        let h = Head::parse(bytes).expect("a header");
        assert_eq!(h.len as usize + HEADER_LEN, bytes.len());
        let again = parse(&h, &bytes[HEADER_LEN..]).expect("our own frame parses");
        // Compare through Debug: the frames borrow different buffers.
        let same = format!("{again:?}");
        (same.into_bytes(), bytes == raw)
    };
    let reserved = raw[5] & 0x80 != 0;
    let mut out = Vec::new();
    // The frame again, and the flags of the frames the encoder writes
    // (`None`: a reserved bit in the payload, the bytes cannot be the same).
    let (want, flags): (String, Option<u8>) = match *parsed {
        Frame::Data {
            stream,
            data,
            end_stream,
            ..
        } => {
            put_data(&mut out, stream, data, end_stream);
            let f = Frame::Data {
                stream,
                data,
                end_stream,
                flow_len: data.len() as u32,
            };
            (format!("{f:?}"), Some(head.flags & FLAG_END_STREAM))
        }
        Frame::Headers {
            stream,
            block,
            end_stream,
            ..
        } => {
            let mut pieces = Vec::new();
            put_headers(&mut pieces, stream, block, end_stream, usize::from(split));
            let (mut at, mut got, mut first) = (0, Vec::new(), true);
            while at < pieces.len() {
                let h = Head::parse(&pieces[at..]).expect("a header");
                let end = at + HEADER_LEN + h.len as usize;
                let last = end == pieces.len();
                match parse(&h, &pieces[at + HEADER_LEN..end]).expect("our own frame") {
                    Frame::Headers {
                        block,
                        end_stream: e,
                        end_headers,
                        ..
                    } => {
                        assert!(first && e == end_stream && end_headers == last);
                        got.extend_from_slice(block);
                    }
                    Frame::Continuation {
                        block, end_headers, ..
                    } => {
                        assert!(!first && end_headers == last);
                        got.extend_from_slice(block);
                    }
                    other => panic!("{other:?}"),
                }
                first = false;
                at = end;
            }
            assert_eq!(got, block);
            put_headers(
                &mut out,
                stream,
                block,
                end_stream,
                DEFAULT_MAX_FRAME as usize,
            );
            let f = Frame::Headers {
                stream,
                block,
                end_stream,
                end_headers: true,
            };
            let canonical = FLAG_END_HEADERS | (head.flags & FLAG_END_STREAM);
            (format!("{f:?}"), Some(canonical))
        }
        Frame::RstStream { stream, code } => {
            put_rst_stream(&mut out, stream, code);
            (format!("{parsed:?}"), Some(0))
        }
        Frame::Settings(entries) => {
            let list: Vec<(u16, u32)> = settings_entries(entries).collect();
            put_settings(&mut out, &list);
            (format!("{parsed:?}"), Some(0))
        }
        Frame::SettingsAck => {
            put_settings_ack(&mut out);
            (format!("{parsed:?}"), Some(FLAG_ACK))
        }
        Frame::Ping { ack, payload } => {
            put_ping(&mut out, ack, payload);
            (format!("{parsed:?}"), Some(head.flags & FLAG_ACK))
        }
        Frame::GoAway {
            last_stream,
            code,
            debug,
        } => {
            put_goaway(&mut out, last_stream, code, debug);
            let reserved_last = raw[HEADER_LEN] & 0x80 != 0;
            (format!("{parsed:?}"), (!reserved_last).then_some(0))
        }
        Frame::WindowUpdate { stream, increment } => {
            put_window_update(&mut out, stream, increment);
            let reserved_inc = raw[HEADER_LEN] & 0x80 != 0;
            (format!("{parsed:?}"), (!reserved_inc).then_some(0))
        }
        Frame::Continuation { .. } | Frame::PushPromise | Frame::Ignored => return,
    };
    let (got, same_bytes) = reparse(&out);
    assert_eq!(String::from_utf8(got).unwrap(), want);
    if !reserved && Some(head.flags) == flags {
        assert!(same_bytes, "{parsed:?}: {raw:?} re-encoded as {out:?}");
    }
}

/// The `hpack` target's input: one byte that chooses the header list
/// limit (64 KiB, the default, halved that many times modulo 16), then
/// header blocks, each a 2-byte big-endian length and that many bytes (the
/// last one what is left), decoded in order by one decoder (one dynamic
/// table, as on a connection) until one fails. Every error is a
/// COMPRESSION_ERROR; a decoded list is within the limit (flagged
/// oversized when it was over); our encoder's block of the same fields
/// decodes to them again. Returns whether every block decoded.
pub fn hpack_bytes(data: &[u8]) -> bool {
    use crate::transport::http2::frame::COMPRESSION_ERROR;
    use crate::transport::http2::hpack::{encode_field, field_size, Decoder, Sensitivity};
    let Some((&choice, mut rest)) = data.split_first() else {
        return false;
    };
    let max = (64usize << 10) >> (choice % 16);
    let mut decoder = Decoder::new(max);
    let mut block_no = 0u32;
    while !rest.is_empty() {
        let block = match rest {
            [hi, lo, tail @ ..] => {
                let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
                rest = &tail[len..];
                &tail[..len]
            }
            _ => std::mem::take(&mut rest),
        };
        let decoded = match decoder.decode(block) {
            Ok(d) => d,
            Err(e) => {
                assert_eq!(e.code, COMPRESSION_ERROR, "{e}");
                assert!(!e.to_string().is_empty());
                return false;
            }
        };
        let size: usize = decoded.fields.iter().map(|(n, v)| field_size(n, v)).sum();
        assert!(size <= max, "{size} > {max}");
        let mut again = Vec::new();
        for (i, (name, value)) in decoded.fields.iter().enumerate() {
            let how = if (choice >> 4).rotate_right(i as u32 + block_no) & 1 == 1 {
                Sensitivity::Secret
            } else {
                Sensitivity::Plain
            };
            encode_field(&mut again, name, value, how);
        }
        let round = Decoder::new(max)
            .decode(&again)
            .expect("our own header block decodes");
        assert!(!round.oversized);
        assert_eq!(round.fields, decoded.fields);
        block_no += 1;
    }
    true
}

/// The largest gRPC message [`grpc_bytes`] accepts: small, so that the
/// limit is hit.
const FUZZ_MAX_MESSAGE: usize = 4096;

/// The `grpc` target's input: a byte that chooses how the DATA bytes are
/// cut, a flags byte (bit 0: the header block ends the stream; bits 1-2:
/// the DATA bytes come 1 to 4 times over), a 2-byte big-endian length and
/// that many bytes of header fields (name, NUL, value, NUL, ...), then a
/// stream's DATA bytes.
///
/// The DATA bytes are cut into gRPC messages whole and cut into pieces:
/// the same messages and the same end (an error, or bytes of a message
/// left or not) either way, and the messages re-framed are the bytes they
/// came from. The fields go through the response head check and the
/// status reading: consistent with each other, every `grpc-message`
/// percent-decoded as grpc-go does, never a panic. Returns whether the
/// messages were read without an error.
pub fn grpc_bytes(data: &[u8]) -> bool {
    use crate::transport::grpc::{fuzz_check_head, fuzz_status_of, percent_decode};
    use crate::transport::grpc::{put_message, Code};
    use crate::transport::http2::hpack::Field;
    use crate::transport::http2::CallError;
    let [cut, flags, hi, lo, rest @ ..] = data else {
        return false;
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
    let (text, wire) = rest.split_at(len);
    let wire = wire.repeat(1 + usize::from(flags >> 1 & 3));

    // The fields.
    let mut parts = text.split(|&b| b == 0);
    let mut fields: Vec<Field> = Vec::new();
    while let Some(name) = parts.next() {
        let value = parts.next().unwrap_or_default();
        if name.is_empty() && value.is_empty() {
            continue;
        }
        fields.push((name.to_vec(), value.to_vec()));
    }
    let end = flags & 1 == 1;
    let value_of = |name: &[u8]| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    };
    for (_, value) in &fields {
        let text = percent_decode(value);
        if !value.contains(&b'%') {
            assert_eq!(text, String::from_utf8_lossy(value));
        }
        // Every byte escaped decodes to the bytes.
        let escaped: Vec<u8> = value
            .iter()
            .flat_map(|b| format!("%{b:02x}").into_bytes())
            .collect();
        assert_eq!(percent_decode(&escaped), String::from_utf8_lossy(value));
    }
    let status = fuzz_status_of(&fields);
    match (&status, value_of(b"grpc-status")) {
        (None, None) => {}
        (Some(Ok(s)), Some(raw)) => {
            let n: u32 = std::str::from_utf8(raw).unwrap().parse().unwrap();
            assert_eq!(s.code, Code::from_u32(n));
            let message = value_of(b"grpc-message").map(percent_decode);
            assert_eq!(s.message, message.unwrap_or_default());
            assert!(!s.to_string().is_empty());
        }
        (Some(Err(CallError::Protocol(e))), Some(_)) => assert!(!e.is_empty()),
        other => panic!("{other:?}"),
    }
    match fuzz_check_head(&fields, end) {
        Ok(None) => assert!(!end),
        Ok(Some(s)) => assert_eq!(status, Some(Ok(s))),
        Err(CallError::Status(s)) => {
            // An HTTP error without a gRPC status.
            assert!(status.is_none() && s.code != Code::Ok, "{s}");
        }
        Err(CallError::Protocol(e)) => assert!(!e.is_empty()),
        Err(e) => panic!("{e:?}"),
    }

    // The messages: whole, then cut.
    let read = |cut: u8| {
        let mut reader = crate::transport::grpc::MessageReader::new(FUZZ_MAX_MESSAGE);
        let mut messages = Vec::new();
        let mut at = 0;
        let mut pieces = 0usize;
        while at < wire.len() {
            pieces += 1;
            let size = match cut {
                0 => wire.len(),
                c => 1 + (pieces.wrapping_mul(2_654_435_761) >> 7) % usize::from(c),
            };
            let piece = &wire[at..wire.len().min(at + size)];
            at += piece.len();
            reader.push(piece.to_vec());
            loop {
                match reader.next_message() {
                    Ok(Some(m)) => messages.push(m),
                    Ok(None) => break,
                    Err(e) => return (messages, Err(e)),
                }
            }
        }
        let partial = reader.is_partial();
        (messages, Ok(partial))
    };
    let whole = read(0);
    let pieces = read(*cut);
    assert_eq!(whole, pieces, "cut by {cut}");
    let (messages, end) = whole;
    let mut framed = Vec::new();
    for m in &messages {
        assert!(m.len() <= FUZZ_MAX_MESSAGE);
        put_message(&mut framed, m).unwrap();
    }
    assert_eq!(framed, wire[..framed.len()]);
    match end {
        Ok(partial) => {
            assert_eq!(partial, framed.len() < wire.len());
            true
        }
        Err(CallError::TooLarge { limit }) => {
            assert_eq!(limit, FUZZ_MAX_MESSAGE);
            false
        }
        Err(CallError::Protocol(e)) => {
            assert!(!e.is_empty());
            false
        }
        Err(e) => panic!("{e:?}"),
    }
}

/// The message kinds of the `v3_answers` target, in the order its first
/// byte names them.
pub const V3_ANSWER_KINDS: [&str; 12] = [
    "RangeResponse",
    "PutResponse",
    "DeleteRangeResponse",
    "TxnResponse",
    "CompactionResponse",
    "LeaseGrantResponse",
    "LeaseRevokeResponse",
    "LeaseKeepAliveResponse",
    "LeaseTimeToLiveResponse",
    "LeaseLeasesResponse",
    "AuthenticateResponse",
    "StatusResponse",
];

/// The `v3_answers` target's input: one byte that names the message the
/// rest is meant to be ([`V3_ANSWER_KINDS`], modulo their number), then a
/// v3 answer as etcd sends it (one gRPC message, unframed).
///
/// The bytes go through everything the client reads an answer with,
/// whatever the first byte says: the transport's header reader (the
/// cluster id and raft term checks, [`crate::v3::GRPC`]), and the decoding
/// of every answer the v3 API reads (KV, Txn, Lease, Authenticate, and
/// Maintenance/Status, the cluster id probe), each message decoded then
/// converted into the public types. Never a panic; a message that decodes
/// carries the header the header reader read (it reads field 1 alone, so
/// it must agree with the whole message), encodes back to a message that
/// decodes to itself, and converts into the public types field for field
/// (a txn's answers recursively, in order). Returns whether the bytes
/// decode as the message the first byte names.
pub fn v3_answers_bytes(data: &[u8]) -> bool {
    use crate::v3::proto::etcdserverpb as pb;
    let Some((&kind, body)) = data.split_first() else {
        return false;
    };
    macro_rules! decode {
        ($message:ident, $check:expr) => {
            v3_answer(body, |m: &pb::$message| m.header, $check)
        };
    }
    let decoded = [
        decode!(RangeResponse, |m| check_range(&m.clone(), &m.into())),
        decode!(PutResponse, |m| check_put(&m.clone(), &m.into())),
        decode!(DeleteRangeResponse, |m| check_delete(&m.clone(), &m.into())),
        decode!(TxnResponse, |m| check_txn(&m.clone(), &m.into())),
        decode!(CompactionResponse, |m| converted_header(m.header)),
        decode!(LeaseGrantResponse, |m| converted_header(m.header)),
        decode!(LeaseRevokeResponse, |m| converted_header(m.header)),
        decode!(LeaseKeepAliveResponse, |m| converted_header(m.header)),
        decode!(LeaseTimeToLiveResponse, |m| converted_header(m.header)),
        decode!(LeaseLeasesResponse, |m| converted_header(m.header)),
        decode!(AuthenticateResponse, |m| converted_header(m.header)),
        decode!(StatusResponse, |m| converted_header(m.header)),
    ];
    decoded[usize::from(kind) % decoded.len()]
}

/// Decodes `body` as an `M`: when it decodes, checks it against the
/// transport's header reader and its own encoding, then hands it to
/// `convert`. Returns whether it decoded.
fn v3_answer<M: prost::Message + Default + PartialEq + Clone>(
    body: &[u8],
    header: impl Fn(&M) -> Option<crate::v3::proto::etcdserverpb::ResponseHeader>,
    convert: impl FnOnce(M),
) -> bool {
    use crate::transport::unary::MemberHeader;
    let read = (crate::v3::GRPC.header)(body);
    let Ok(message) = M::decode(body) else {
        return false;
    };
    let expected = header(&message).map(|h| MemberHeader {
        cluster_id: h.cluster_id,
        raft_term: h.raft_term,
    });
    assert_eq!(read, expected, "the header reader and the message disagree");
    let again = M::decode(message.encode_to_vec().as_slice()).expect("decode what we encoded");
    assert!(again == message, "a message changed through its encoding");
    convert(message);
    true
}

/// A header as the client converts it (for the answers whose other fields
/// the lease, auth and maintenance calls copy one by one).
fn converted_header(from: Option<crate::v3::proto::etcdserverpb::ResponseHeader>) {
    check_header(from, from.into());
}

fn check_header(
    from: Option<crate::v3::proto::etcdserverpb::ResponseHeader>,
    to: crate::v3::Header,
) {
    let from = from.unwrap_or_default();
    assert_eq!(
        (
            from.cluster_id,
            from.member_id,
            from.revision,
            from.raft_term
        ),
        (to.cluster_id, to.member_id, to.revision, to.raft_term)
    );
}

fn check_kvs(from: &[crate::v3::proto::mvccpb::KeyValue], to: &[crate::v3::KeyValue]) {
    assert_eq!(from.len(), to.len());
    for (f, t) in from.iter().zip(to) {
        check_kv(f, t);
    }
}

fn check_kv(from: &crate::v3::proto::mvccpb::KeyValue, to: &crate::v3::KeyValue) {
    assert_eq!(
        (
            &from.key,
            &from.value,
            from.create_revision,
            from.mod_revision,
            from.version,
            from.lease
        ),
        (
            &to.key,
            &to.value,
            to.create_revision,
            to.mod_revision,
            to.version,
            to.lease
        )
    );
}

fn check_range(
    from: &crate::v3::proto::etcdserverpb::RangeResponse,
    to: &crate::v3::RangeResponse,
) {
    check_header(from.header, to.header);
    check_kvs(&from.kvs, &to.kvs);
    assert_eq!((from.more, from.count), (to.more, to.count));
}

fn check_put(from: &crate::v3::proto::etcdserverpb::PutResponse, to: &crate::v3::PutResponse) {
    check_header(from.header, to.header);
    match (&from.prev_kv, &to.prev_kv) {
        (None, None) => {}
        (Some(f), Some(t)) => check_kv(f, t),
        other => panic!("prev_kv {other:?}"),
    }
}

fn check_delete(
    from: &crate::v3::proto::etcdserverpb::DeleteRangeResponse,
    to: &crate::v3::DeleteResponse,
) {
    check_header(from.header, to.header);
    assert_eq!(from.deleted, to.deleted);
    check_kvs(&from.prev_kvs, &to.prev_kvs);
}

/// A txn's answer and its conversion: the same answers in the same order
/// (an answer without a response is left out), nested ones recursively.
fn check_txn(from: &crate::v3::proto::etcdserverpb::TxnResponse, to: &crate::v3::TxnResponse) {
    use crate::v3::proto::etcdserverpb::response_op::Response as R;
    use crate::v3::OpResponse;
    check_header(from.header, to.header);
    assert_eq!(from.succeeded, to.succeeded);
    let from: Vec<&R> = from
        .responses
        .iter()
        .filter_map(|op| op.response.as_ref())
        .collect();
    assert_eq!(from.len(), to.responses.len());
    for (f, t) in from.into_iter().zip(&to.responses) {
        match (f, t) {
            (R::ResponseRange(f), OpResponse::Range(t)) => check_range(f, t),
            (R::ResponsePut(f), OpResponse::Put(t)) => check_put(f, t),
            (R::ResponseDeleteRange(f), OpResponse::Delete(t)) => check_delete(f, t),
            (R::ResponseTxn(f), OpResponse::Txn(t)) => check_txn(f, t),
            (f, t) => panic!("{f:?} became {t:?}"),
        }
    }
}
