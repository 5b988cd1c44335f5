//! HTTP/2 frames (RFC 9113 §4, §6): the 9-byte frame header, every frame
//! type a client meets, parsed with every length checked (malformed input
//! is an error, never a panic), and the encoders of the frames a client
//! sends.

use std::fmt;

/// The connection preface a client sends first (RFC 9113 §3.4).
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Length of a frame header.
pub(crate) const HEADER_LEN: usize = 9;
/// The smallest MAX_FRAME_SIZE and the default (RFC 9113 §6.5.2).
pub(crate) const DEFAULT_MAX_FRAME: u32 = 16_384;
/// The largest MAX_FRAME_SIZE allowed.
pub(crate) const MAX_MAX_FRAME: u32 = (1 << 24) - 1;
/// The largest flow-control window (RFC 9113 §6.9.1).
pub(crate) const MAX_WINDOW: i64 = (1 << 31) - 1;
/// The initial window of streams and connection before SETTINGS.
pub(crate) const DEFAULT_WINDOW: i64 = 65_535;
/// The largest stream id.
pub(crate) const MAX_STREAM_ID: u32 = (1 << 31) - 1;

pub(crate) const DATA: u8 = 0x0;
pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const PRIORITY: u8 = 0x2;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const SETTINGS: u8 = 0x4;
pub(crate) const PUSH_PROMISE: u8 = 0x5;
pub(crate) const PING: u8 = 0x6;
pub(crate) const GOAWAY: u8 = 0x7;
pub(crate) const WINDOW_UPDATE: u8 = 0x8;
pub(crate) const CONTINUATION: u8 = 0x9;

pub(crate) const FLAG_END_STREAM: u8 = 0x1;
pub(crate) const FLAG_ACK: u8 = 0x1;
pub(crate) const FLAG_END_HEADERS: u8 = 0x4;
pub(crate) const FLAG_PADDED: u8 = 0x8;
pub(crate) const FLAG_PRIORITY: u8 = 0x20;

/// SETTINGS identifiers (RFC 9113 §6.5.2).
pub(crate) const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
pub(crate) const SETTINGS_ENABLE_PUSH: u16 = 0x2;
pub(crate) const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub(crate) const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub(crate) const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
pub(crate) const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// Error codes (RFC 9113 §7).
pub(crate) const NO_ERROR: u32 = 0x0;
pub(crate) const PROTOCOL_ERROR: u32 = 0x1;
pub(crate) const FLOW_CONTROL_ERROR: u32 = 0x3;
pub(crate) const STREAM_CLOSED: u32 = 0x5;
pub(crate) const FRAME_SIZE_ERROR: u32 = 0x6;
pub(crate) const REFUSED_STREAM: u32 = 0x7;
pub(crate) const CANCEL: u32 = 0x8;
pub(crate) const COMPRESSION_ERROR: u32 = 0x9;
#[cfg(test)]
pub(crate) const ENHANCE_YOUR_CALM: u32 = 0xb;

/// The name of an HTTP/2 error code, for messages.
pub(crate) fn error_name(code: u32) -> &'static str {
    match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => "unknown error code",
    }
}

/// A connection error: the connection is unusable, and the peer is told
/// with a GOAWAY carrying `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnError {
    pub code: u32,
    pub reason: String,
}

impl ConnError {
    pub(crate) fn new(code: u32, reason: impl Into<String>) -> ConnError {
        ConnError {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason, error_name(self.code))
    }
}

/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
}

impl Head {
    /// Parses the first 9 bytes of `bytes`; `None` if there are fewer.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Head> {
        let h: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Head {
            len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
            kind: h[3],
            flags: h[4],
            // The reserved bit is ignored (RFC 9113 §4.1).
            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & MAX_STREAM_ID,
        })
    }
}

/// A parsed frame, borrowing its payload.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// Data without padding; `flow_len` is what it counts against flow
    /// control (the whole payload, padding included).
    Data {
        stream: u32,
        data: &'a [u8],
        end_stream: bool,
        flow_len: u32,
    },
    /// A header block fragment (padding and priority removed).
    Headers {
        stream: u32,
        block: &'a [u8],
        end_stream: bool,
        end_headers: bool,
    },
    Continuation {
        stream: u32,
        block: &'a [u8],
        end_headers: bool,
    },
    RstStream {
        stream: u32,
        code: u32,
    },
    /// SETTINGS (not an ACK): the raw 6-byte entries, checked for length.
    Settings(&'a [u8]),
    SettingsAck,
    Ping {
        ack: bool,
        payload: [u8; 8],
    },
    GoAway {
        last_stream: u32,
        code: u32,
        debug: &'a [u8],
    },
    WindowUpdate {
        stream: u32,
        increment: u32,
    },
    PushPromise,
    /// PRIORITY and unknown frame types: ignored (RFC 9113 §4.1, §5.5).
    Ignored,
}

fn need_stream(head: &Head, what: &str) -> Result<u32, ConnError> {
    if head.stream == 0 {
        return Err(ConnError::new(
            PROTOCOL_ERROR,
            format!("{what} frame on stream 0"),
        ));
    }
    Ok(head.stream)
}

fn need_connection(head: &Head, what: &str) -> Result<(), ConnError> {
    if head.stream != 0 {
        return Err(ConnError::new(
            PROTOCOL_ERROR,
            format!("{what} frame on stream {}", head.stream),
        ));
    }
    Ok(())
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Strips padding (PADDED flag): the pad length byte, then the content,
/// then that many pad bytes.
fn unpad<'a>(head: &Head, payload: &'a [u8]) -> Result<&'a [u8], ConnError> {
    if head.flags & FLAG_PADDED == 0 {
        return Ok(payload);
    }
    let (&pad, rest) = payload
        .split_first()
        .ok_or_else(|| ConnError::new(FRAME_SIZE_ERROR, "padded frame without pad length"))?;
    let keep = rest
        .len()
        .checked_sub(usize::from(pad))
        .ok_or_else(|| ConnError::new(PROTOCOL_ERROR, "padding longer than the frame"))?;
    Ok(&rest[..keep])
}

/// Parses one frame: `head` and its whole `payload` (`head.len` bytes).
pub(crate) fn parse<'a>(head: &Head, payload: &'a [u8]) -> Result<Frame<'a>, ConnError> {
    if payload.len() != head.len as usize {
        return Err(ConnError::new(FRAME_SIZE_ERROR, "frame length mismatch"));
    }
    Ok(match head.kind {
        DATA => {
            let stream = need_stream(head, "DATA")?;
            Frame::Data {
                stream,
                data: unpad(head, payload)?,
                end_stream: head.flags & FLAG_END_STREAM != 0,
                flow_len: head.len,
            }
        }
        HEADERS => {
            let stream = need_stream(head, "HEADERS")?;
            let mut block = unpad(head, payload)?;
            if head.flags & FLAG_PRIORITY != 0 {
                block = block.get(5..).ok_or_else(|| {
                    ConnError::new(FRAME_SIZE_ERROR, "HEADERS too short for its priority")
                })?;
            }
            Frame::Headers {
                stream,
                block,
                end_stream: head.flags & FLAG_END_STREAM != 0,
                end_headers: head.flags & FLAG_END_HEADERS != 0,
            }
        }
        CONTINUATION => Frame::Continuation {
            stream: need_stream(head, "CONTINUATION")?,
            block: payload,
            end_headers: head.flags & FLAG_END_HEADERS != 0,
        },
        PRIORITY => {
            need_stream(head, "PRIORITY")?;
            if payload.len() != 5 {
                return Err(ConnError::new(FRAME_SIZE_ERROR, "PRIORITY not 5 bytes"));
            }
            Frame::Ignored
        }
        RST_STREAM => {
            let stream = need_stream(head, "RST_STREAM")?;
            if payload.len() != 4 {
                return Err(ConnError::new(FRAME_SIZE_ERROR, "RST_STREAM not 4 bytes"));
            }
            Frame::RstStream {
                stream,
                code: be32(payload),
            }
        }
        SETTINGS => {
            need_connection(head, "SETTINGS")?;
            if head.flags & FLAG_ACK != 0 {
                if !payload.is_empty() {
                    return Err(ConnError::new(
                        FRAME_SIZE_ERROR,
                        "SETTINGS ACK with payload",
                    ));
                }
                Frame::SettingsAck
            } else {
                if payload.len() % 6 != 0 {
                    return Err(ConnError::new(
                        FRAME_SIZE_ERROR,
                        "SETTINGS not a multiple of 6 bytes",
                    ));
                }
                Frame::Settings(payload)
            }
        }
        PUSH_PROMISE => Frame::PushPromise,
        PING => {
            need_connection(head, "PING")?;
            let payload: [u8; 8] = payload
                .try_into()
                .map_err(|_| ConnError::new(FRAME_SIZE_ERROR, "PING not 8 bytes"))?;
            Frame::Ping {
                ack: head.flags & FLAG_ACK != 0,
                payload,
            }
        }
        GOAWAY => {
            need_connection(head, "GOAWAY")?;
            if payload.len() < 8 {
                return Err(ConnError::new(FRAME_SIZE_ERROR, "GOAWAY under 8 bytes"));
            }
            Frame::GoAway {
                last_stream: be32(payload) & MAX_STREAM_ID,
                code: be32(&payload[4..]),
                debug: &payload[8..],
            }
        }
        WINDOW_UPDATE => {
            if payload.len() != 4 {
                return Err(ConnError::new(
                    FRAME_SIZE_ERROR,
                    "WINDOW_UPDATE not 4 bytes",
                ));
            }
            Frame::WindowUpdate {
                stream: head.stream,
                increment: be32(payload) & MAX_STREAM_ID,
            }
        }
        _ => Frame::Ignored,
    })
}

/// One SETTINGS entry.
pub(crate) fn settings_entries(payload: &[u8]) -> impl Iterator<Item = (u16, u32)> + '_ {
    payload
        .chunks_exact(6)
        .map(|e| (u16::from_be_bytes([e[0], e[1]]), be32(&e[2..])))
}

/// Appends a frame header.
pub(crate) fn put_head(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    debug_assert!(len <= MAX_MAX_FRAME as usize);
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & MAX_STREAM_ID).to_be_bytes());
}

/// Appends a SETTINGS frame with `entries`.
pub(crate) fn put_settings(out: &mut Vec<u8>, entries: &[(u16, u32)]) {
    put_head(out, entries.len() * 6, SETTINGS, 0, 0);
    for (id, value) in entries {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

pub(crate) fn put_settings_ack(out: &mut Vec<u8>) {
    put_head(out, 0, SETTINGS, FLAG_ACK, 0);
}

pub(crate) fn put_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    put_head(out, 4, WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&(increment & MAX_STREAM_ID).to_be_bytes());
}

pub(crate) fn put_ping(out: &mut Vec<u8>, ack: bool, payload: [u8; 8]) {
    put_head(out, 8, PING, if ack { FLAG_ACK } else { 0 }, 0);
    out.extend_from_slice(&payload);
}

pub(crate) fn put_rst_stream(out: &mut Vec<u8>, stream: u32, code: u32) {
    put_head(out, 4, RST_STREAM, 0, stream);
    out.extend_from_slice(&code.to_be_bytes());
}

pub(crate) fn put_goaway(out: &mut Vec<u8>, last_stream: u32, code: u32, debug: &[u8]) {
    put_head(out, 8 + debug.len(), GOAWAY, 0, 0);
    out.extend_from_slice(&(last_stream & MAX_STREAM_ID).to_be_bytes());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(debug);
}

/// Appends a header block as one HEADERS frame and as many CONTINUATION
/// frames as `max_frame` requires.
pub(crate) fn put_headers(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame: usize,
) {
    let max_frame = max_frame.max(1);
    let mut chunks = block.chunks(max_frame).peekable();
    let mut first = true;
    // An empty block is still one HEADERS frame.
    if block.is_empty() {
        let flags = FLAG_END_HEADERS | if end_stream { FLAG_END_STREAM } else { 0 };
        put_head(out, 0, HEADERS, flags, stream);
        return;
    }
    while let Some(chunk) = chunks.next() {
        let mut flags = if chunks.peek().is_none() {
            FLAG_END_HEADERS
        } else {
            0
        };
        let kind = if first {
            if end_stream {
                flags |= FLAG_END_STREAM;
            }
            HEADERS
        } else {
            CONTINUATION
        };
        put_head(out, chunk.len(), kind, flags, stream);
        out.extend_from_slice(chunk);
        first = false;
    }
}

/// Appends one DATA frame (`data` no longer than the peer's frame size).
pub(crate) fn put_data(out: &mut Vec<u8>, stream: u32, data: &[u8], end_stream: bool) {
    put_head(
        out,
        data.len(),
        DATA,
        if end_stream { FLAG_END_STREAM } else { 0 },
        stream,
    );
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Result<Frame<'_>, ConnError> {
        let head = Head::parse(bytes).expect("a header");
        let payload = bytes
            .get(HEADER_LEN..HEADER_LEN + head.len as usize)
            .ok_or_else(|| ConnError::new(FRAME_SIZE_ERROR, "truncated"))?;
        parse(&head, payload)
    }

    #[test]
    fn the_head_round_trips_and_ignores_the_reserved_bit() {
        let mut out = Vec::new();
        put_head(&mut out, 0x12_3456, HEADERS, 0x25, 7);
        assert_eq!(out, [0x12, 0x34, 0x56, 1, 0x25, 0, 0, 0, 7]);
        let mut reserved = out.clone();
        reserved[5] |= 0x80;
        assert_eq!(Head::parse(&reserved).unwrap().stream, 7);
        assert_eq!(Head::parse(&out[..8]), None);
    }

    #[test]
    fn control_frames_round_trip() {
        let mut out = Vec::new();
        put_settings(&mut out, &[(SETTINGS_ENABLE_PUSH, 0), (4, 1 << 20)]);
        let Frame::Settings(p) = one(&out).unwrap() else {
            panic!()
        };
        assert_eq!(
            settings_entries(p).collect::<Vec<_>>(),
            [(2, 0), (4, 1 << 20)]
        );

        out.clear();
        put_settings_ack(&mut out);
        assert_eq!(one(&out).unwrap(), Frame::SettingsAck);

        out.clear();
        put_window_update(&mut out, 3, 1000);
        assert_eq!(
            one(&out).unwrap(),
            Frame::WindowUpdate {
                stream: 3,
                increment: 1000
            }
        );

        out.clear();
        put_ping(&mut out, true, *b"12345678");
        assert_eq!(
            one(&out).unwrap(),
            Frame::Ping {
                ack: true,
                payload: *b"12345678"
            }
        );

        out.clear();
        put_rst_stream(&mut out, 5, CANCEL);
        assert_eq!(
            one(&out).unwrap(),
            Frame::RstStream {
                stream: 5,
                code: CANCEL
            }
        );

        out.clear();
        put_goaway(&mut out, 9, ENHANCE_YOUR_CALM, b"too_many_pings");
        assert_eq!(
            one(&out).unwrap(),
            Frame::GoAway {
                last_stream: 9,
                code: ENHANCE_YOUR_CALM,
                debug: b"too_many_pings"
            }
        );
    }

    #[test]
    fn headers_split_into_continuations_and_data_round_trips() {
        let block: Vec<u8> = (0..40u8).collect();
        let mut out = Vec::new();
        put_headers(&mut out, 1, &block, true, 16);
        let mut at = 0;
        let mut got = Vec::new();
        let mut kinds = Vec::new();
        while at < out.len() {
            let head = Head::parse(&out[at..]).unwrap();
            let payload = &out[at + 9..at + 9 + head.len as usize];
            match parse(&head, payload).unwrap() {
                Frame::Headers {
                    block,
                    end_stream,
                    end_headers,
                    ..
                } => {
                    assert!(end_stream);
                    assert!(!end_headers);
                    kinds.push("H");
                    got.extend_from_slice(block);
                }
                Frame::Continuation {
                    block, end_headers, ..
                } => {
                    kinds.push(if end_headers { "C." } else { "C" });
                    got.extend_from_slice(block);
                }
                other => panic!("{other:?}"),
            }
            at += 9 + head.len as usize;
        }
        assert_eq!(got, block);
        assert_eq!(kinds, ["H", "C", "C."]);

        out.clear();
        put_data(&mut out, 3, b"hello", true);
        assert_eq!(
            one(&out).unwrap(),
            Frame::Data {
                stream: 3,
                data: b"hello",
                end_stream: true,
                flow_len: 5
            }
        );
    }

    #[test]
    fn padding_and_priority_are_removed() {
        // DATA, PADDED: pad length 3, "ab", 3 pad bytes.
        let bytes = [
            0,
            0,
            6,
            DATA,
            FLAG_PADDED,
            0,
            0,
            0,
            1,
            3,
            b'a',
            b'b',
            0,
            0,
            0,
        ];
        assert_eq!(
            one(&bytes).unwrap(),
            Frame::Data {
                stream: 1,
                data: b"ab",
                end_stream: false,
                flow_len: 6
            }
        );
        // HEADERS, PADDED | PRIORITY | END_HEADERS: pad 1, 5 priority bytes, block "x", 1 pad.
        let bytes = [
            0,
            0,
            8,
            HEADERS,
            FLAG_PADDED | FLAG_PRIORITY | FLAG_END_HEADERS,
            0,
            0,
            0,
            1,
            1,
            0,
            0,
            0,
            0,
            16,
            b'x',
            0,
        ];
        assert_eq!(
            one(&bytes).unwrap(),
            Frame::Headers {
                stream: 1,
                block: b"x",
                end_stream: false,
                end_headers: true
            }
        );
        // PRIORITY frames are ignored, unknown types too.
        assert_eq!(
            one(&[0, 0, 5, PRIORITY, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]).unwrap(),
            Frame::Ignored
        );
        assert_eq!(
            one(&[0, 0, 1, 0xfa, 0, 0, 0, 0, 0, 7]).unwrap(),
            Frame::Ignored
        );
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let bad: &[&[u8]] = &[
            // padded DATA, padding longer than the frame
            &[0, 0, 2, DATA, FLAG_PADDED, 0, 0, 0, 1, 5, 0],
            // padded DATA without the pad length
            &[0, 0, 0, DATA, FLAG_PADDED, 0, 0, 0, 1],
            // DATA on stream 0
            &[0, 0, 1, DATA, 0, 0, 0, 0, 0, 1],
            // HEADERS with PRIORITY but too short
            &[0, 0, 2, HEADERS, FLAG_PRIORITY, 0, 0, 0, 1, 0, 0],
            // RST_STREAM of 3 bytes
            &[0, 0, 3, RST_STREAM, 0, 0, 0, 0, 1, 0, 0, 0],
            // SETTINGS of 5 bytes, on a stream, ACK with payload
            &[0, 0, 5, SETTINGS, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0, 0, 0, SETTINGS, 0, 0, 0, 0, 1],
            &[0, 0, 6, SETTINGS, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
            // PING of 7 bytes, on a stream
            &[0, 0, 7, PING, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7],
            &[0, 0, 8, PING, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8],
            // GOAWAY of 7 bytes
            &[0, 0, 7, GOAWAY, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7],
            // WINDOW_UPDATE of 5 bytes
            &[0, 0, 5, WINDOW_UPDATE, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5],
            // PRIORITY of 4 bytes
            &[0, 0, 4, PRIORITY, 0, 0, 0, 0, 1, 0, 0, 0, 0],
        ];
        for bytes in bad {
            assert!(one(bytes).is_err(), "{bytes:?}");
        }
        // A payload that does not match its header's length.
        let head = Head::parse(&[0, 0, 4, PING, 0, 0, 0, 0, 0]).unwrap();
        assert!(parse(&head, &[0; 3]).is_err());
    }

    /// Every prefix and every byte flip of valid frames parses or fails,
    /// never panics.
    #[test]
    fn mangled_frames_never_panic() {
        let mut all = Vec::new();
        put_settings(&mut all, &[(4, 1)]);
        put_headers(&mut all, 1, b"abcdef", false, 4);
        put_data(&mut all, 1, b"xyz", true);
        put_goaway(&mut all, 1, 0, b"d");
        put_ping(&mut all, false, [1; 8]);
        for i in 0..all.len() {
            for flip in [0x01u8, 0x08, 0x20, 0x80, 0xff] {
                let mut m = all.clone();
                m[i] ^= flip;
                let mut at = 0;
                while let Some(head) = Head::parse(&m[at..]) {
                    let Some(payload) = m.get(at + 9..at + 9 + head.len as usize) else {
                        break;
                    };
                    let _ = parse(&head, payload);
                    at += 9 + head.len as usize;
                }
            }
        }
    }
}
