//! gRPC over HTTP/2 ([`crate::transport::http2`]): the request head, the
//! 5-byte message framing (no compression), the status in the trailers,
//! and the two call shapes etcd uses: unary ([`H2Connection::unary`]) and
//! bidirectional streams ([`H2Connection::stream`], for watch and lease
//! keep-alive). Messages are opaque bytes here: protobuf is the API's.
//!
//! Follows the gRPC HTTP/2 protocol (grpc/grpc `doc/PROTOCOL-HTTP2.md`):
//! - request: `:method POST`, `:scheme`, `:path /pkg.Service/Method`,
//!   `:authority`, `content-type: application/grpc`, `te: trailers`,
//!   `grpc-timeout` from the deadline, then the caller's metadata (etcd's
//!   `token`, `authorization`, `hasleader`);
//! - each message: a flag byte (0: not compressed), a 4-byte big-endian
//!   length, the message;
//! - response: HEADERS (`:status 200`, `content-type application/grpc…`),
//!   messages, trailers with `grpc-status` and a percent-encoded
//!   `grpc-message`; or, for an immediate error, one HEADERS with
//!   END_STREAM carrying the status ("trailers-only").

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::transport::http2::hpack::{Field, Sensitivity};
use crate::transport::http2::stream::{FieldRef, H2Sender};
use crate::transport::http2::{CallError, CancelToken, H2Connection, H2Stream, Reason};

/// gRPC status codes, with their canonical names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Code {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

impl Code {
    /// The code for a number; numbers gRPC does not define are `Unknown`
    /// (as grpc-go reads them).
    pub fn from_u32(n: u32) -> Code {
        use Code::*;
        const ALL: [Code; 17] = [
            Ok,
            Cancelled,
            Unknown,
            InvalidArgument,
            DeadlineExceeded,
            NotFound,
            AlreadyExists,
            PermissionDenied,
            ResourceExhausted,
            FailedPrecondition,
            Aborted,
            OutOfRange,
            Unimplemented,
            Internal,
            Unavailable,
            DataLoss,
            Unauthenticated,
        ];
        ALL.get(n as usize).copied().unwrap_or(Unknown)
    }

    /// The canonical name, e.g. `UNIMPLEMENTED`.
    pub fn name(self) -> &'static str {
        use Code::*;
        match self {
            Ok => "OK",
            Cancelled => "CANCELLED",
            Unknown => "UNKNOWN",
            InvalidArgument => "INVALID_ARGUMENT",
            DeadlineExceeded => "DEADLINE_EXCEEDED",
            NotFound => "NOT_FOUND",
            AlreadyExists => "ALREADY_EXISTS",
            PermissionDenied => "PERMISSION_DENIED",
            ResourceExhausted => "RESOURCE_EXHAUSTED",
            FailedPrecondition => "FAILED_PRECONDITION",
            Aborted => "ABORTED",
            OutOfRange => "OUT_OF_RANGE",
            Unimplemented => "UNIMPLEMENTED",
            Internal => "INTERNAL",
            Unavailable => "UNAVAILABLE",
            DataLoss => "DATA_LOSS",
            Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A gRPC status: etcd's answer to a call that did not succeed (its
/// `message` is etcd's error text, e.g. `etcdserver: requested lease not
/// found`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcStatus {
    pub code: Code,
    pub message: String,
}

impl fmt::Display for GrpcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gRPC status {} ({})", self.code.name(), self.code as u32)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Decodes a `grpc-message` value: `%XX` escapes are bytes of UTF-8; a `%`
/// not followed by two hex digits stays as it is (as grpc-go does);
/// invalid UTF-8 is replaced.
pub fn percent_decode(value: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'%' && i + 2 < value.len() {
            if let (Some(h), Some(l)) = (hex(value[i + 1]), hex(value[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(value[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `grpc-timeout` value for `left`: at most 8 digits and a unit, the
/// finest unit that fits, rounded up (so the server's deadline is never
/// before ours).
pub fn timeout_value(left: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let nanos = left.as_nanos().max(1);
    for (unit, per) in [
        ('n', 1u128),
        ('u', 1_000),
        ('m', 1_000_000),
        ('S', 1_000_000_000),
        ('M', 60_000_000_000),
        ('H', 3_600_000_000_000),
    ] {
        let n = nanos.div_ceil(per);
        if n <= MAX {
            return format!("{n}{unit}");
        }
    }
    format!("{MAX}H")
}

/// Appends `message` with its 5-byte gRPC prefix.
pub fn put_message(out: &mut Vec<u8>, message: &[u8]) -> Result<(), CallError> {
    let len = u32::try_from(message.len())
        .map_err(|_| CallError::Invalid("a message of 4 GiB or more".into()))?;
    out.reserve(5 + message.len());
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Ok(())
}

/// Cuts received DATA into gRPC messages, holding at most `max` bytes per
/// message.
#[derive(Debug)]
pub struct MessageReader {
    buf: Vec<u8>,
    at: usize,
    max: usize,
}

impl MessageReader {
    pub fn new(max: usize) -> MessageReader {
        MessageReader {
            buf: Vec::new(),
            at: 0,
            max,
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, data: Vec<u8>) {
        if self.at == self.buf.len() && self.at > 0 {
            self.buf.clear();
            self.at = 0;
        }
        if self.buf.is_empty() {
            self.buf = data;
        } else {
            self.buf.extend_from_slice(&data);
        }
    }

    /// The next complete message, if there is one.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, CallError> {
        let rest = &self.buf[self.at..];
        let Some(prefix) = rest.get(..5) else {
            return Ok(None);
        };
        if prefix[0] != 0 {
            return Err(CallError::Protocol(format!(
                "a message with compression flag {} (none was asked for)",
                prefix[0]
            )));
        }
        let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
        if len > self.max {
            return Err(CallError::TooLarge { limit: self.max });
        }
        let Some(message) = rest.get(5..5 + len) else {
            return Ok(None);
        };
        let message = message.to_vec();
        self.at += 5 + len;
        if self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        } else if self.at > 64 * 1024 && self.at * 2 > self.buf.len() {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        Ok(Some(message))
    }

    /// Bytes of an incomplete message are left.
    pub fn is_partial(&self) -> bool {
        self.at < self.buf.len()
    }
}

fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a [u8]> {
    fields
        .iter()
        .find(|(n, _)| n == name.as_bytes())
        .map(|(_, v)| v.as_slice())
}

/// The status in a header block (trailers, or a trailers-only head).
fn status_of(fields: &[Field]) -> Option<Result<GrpcStatus, CallError>> {
    let raw = field(fields, "grpc-status")?;
    let code = std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .map(Code::from_u32);
    Some(match code {
        Some(code) => Ok(GrpcStatus {
            code,
            message: field(fields, "grpc-message")
                .map(percent_decode)
                .unwrap_or_default(),
        }),
        None => Err(CallError::Protocol(format!(
            "grpc-status {:?} is not a number",
            String::from_utf8_lossy(raw)
        ))),
    })
}

/// The gRPC code for an HTTP status without a gRPC status (as grpc-go
/// maps them).
fn code_for_http(status: u16) -> Code {
    match status {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// Checks a response head: `Ok(None)` for a gRPC answer to come,
/// `Ok(Some(status))` for a trailers-only answer (`end`), or the error.
fn check_head(head: &[Field], end: bool) -> Result<Option<GrpcStatus>, CallError> {
    let status = field(head, ":status")
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| CallError::Protocol("a response without :status".into()))?;
    if status != 200 {
        // A status from gRPC wins; else the HTTP status says what it can.
        if let Some(s) = status_of(head) {
            return s.map(Some);
        }
        return Err(CallError::Status(GrpcStatus {
            code: code_for_http(status),
            message: format!("HTTP status {status}"),
        }));
    }
    let grpc = field(head, "content-type").is_some_and(|c| c.starts_with(b"application/grpc"));
    if !grpc {
        return Err(CallError::Protocol(
            "a response that is not gRPC (content-type)".into(),
        ));
    }
    if end {
        return match status_of(head) {
            Some(s) => s.map(Some),
            None => Err(CallError::Protocol(
                "the stream ended without a grpc-status".into(),
            )),
        };
    }
    Ok(None)
}

/// [`check_head`] and [`status_of`] for the fuzz targets (`src/fuzzing.rs`).
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_check_head(head: &[Field], end: bool) -> Result<Option<GrpcStatus>, CallError> {
    check_head(head, end)
}

#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_status_of(fields: &[Field]) -> Option<Result<GrpcStatus, CallError>> {
    status_of(fields)
}

/// Checks a metadata name and value: lowercase token names, visible ASCII
/// values (binary `-bin` metadata is not supported).
fn check_metadata(name: &str, value: &str) -> Result<(), CallError> {
    let name_ok = !name.is_empty()
        && !name.starts_with(':')
        && !name.ends_with("-bin")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !name_ok {
        return Err(CallError::Invalid(format!("metadata name {name:?}")));
    }
    if !value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) || b == b'\t')
    {
        return Err(CallError::Invalid(format!(
            "the value of metadata {name:?} has characters other than visible ASCII"
        )));
    }
    Ok(())
}

/// Metadata sent never-indexed (credentials).
fn sensitivity(name: &str) -> Sensitivity {
    match name {
        "token" | "authorization" => Sensitivity::Secret,
        _ => Sensitivity::Plain,
    }
}

/// Request metadata: (name, value) pairs, e.g. `("token", …)`,
/// `("hasleader", "true")`.
pub type Metadata<'a> = &'a [(&'a str, &'a str)];

impl H2Connection {
    fn request_head<'a>(
        &'a self,
        path: &'a str,
        timeout: Option<&'a str>,
        metadata: Metadata<'a>,
    ) -> Result<Vec<FieldRef<'a>>, CallError> {
        if !path.starts_with('/') || path.bytes().any(|b| !(b'!'..=b'~').contains(&b)) {
            return Err(CallError::Invalid(format!("method path {path:?}")));
        }
        let plain = Sensitivity::Plain;
        let mut fields: Vec<FieldRef<'a>> = Vec::with_capacity(7 + metadata.len());
        fields.push((b":method", b"POST", plain));
        fields.push((b":scheme", self.scheme().as_bytes(), plain));
        fields.push((b":path", path.as_bytes(), plain));
        fields.push((b":authority", self.authority().as_bytes(), plain));
        fields.push((b"content-type", b"application/grpc", plain));
        fields.push((b"te", b"trailers", plain));
        if let Some(t) = timeout {
            fields.push((b"grpc-timeout", t.as_bytes(), plain));
        }
        for (name, value) in metadata {
            check_metadata(name, value)?;
            fields.push((name.as_bytes(), value.as_bytes(), sensitivity(name)));
        }
        Ok(fields)
    }

    /// One unary call: sends `request` (a serialised message) to `path`
    /// (`/etcdserverpb.KV/Range`) with `metadata`, and returns the
    /// response message. `deadline` bounds everything (waiting for a
    /// stream slot, flow control, the answer) and goes to the server as
    /// `grpc-timeout`; `cancel` may cancel it from another thread.
    ///
    /// Errors: see [`CallError`]; a status other than OK is
    /// [`CallError::Status`].
    pub fn unary(
        &self,
        path: &str,
        request: &[u8],
        deadline: Option<Instant>,
        metadata: Metadata<'_>,
        cancel: Option<&CancelToken>,
    ) -> Result<Vec<u8>, CallError> {
        self.unary_checked(path, request, deadline, metadata, cancel, None)
    }

    /// [`unary`](Self::unary), asking `check` while it waits for the
    /// answer (see [`WaitCheck`]): when `check` gives a reason, the call is
    /// abandoned (the stream reset) with `MaybeSent(Reason::Abandoned)`.
    pub fn unary_checked(
        &self,
        path: &str,
        request: &[u8],
        deadline: Option<Instant>,
        metadata: Metadata<'_>,
        cancel: Option<&CancelToken>,
        mut check: Option<&mut WaitCheck<'_>>,
    ) -> Result<Vec<u8>, CallError> {
        self.checked()?;
        let timeout = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(CallError::NotSent(Reason::Timeout));
                }
                Some(timeout_value(left))
            }
            None => None,
        };
        let head = self.request_head(path, timeout.as_deref(), metadata)?;
        let mut body = Vec::new();
        put_message(&mut body, request)?;
        let (mut stream, sent) = H2Stream::open(self, &head, &body, true, deadline, cancel)?;
        if sent < body.len() {
            stream.send(&body[sent..], true, deadline)?;
        }
        let mut reader = MessageReader::new(self.config().max_message_bytes);
        let mut answer = None;
        let mut head_seen = false;
        let mut check_at = check.as_ref().map(|c| Instant::now() + c.after);
        loop {
            let event = match (&mut check, check_at) {
                (Some(check), Some(at)) => {
                    let until = deadline.map_or(at, |d| d.min(at));
                    match stream.recv(Some(until)) {
                        Err(CallError::MaybeSent(Reason::Timeout))
                            if deadline.is_none_or(|d| Instant::now() < d) =>
                        {
                            if let Some(why) = (check.lost)() {
                                return Err(CallError::MaybeSent(Reason::Abandoned(why)));
                            }
                            check_at = Some(Instant::now() + check.every);
                            continue;
                        }
                        other => other?,
                    }
                }
                _ => stream.recv(deadline)?,
            };
            let mut status = None;
            if let Some(head) = &event.head {
                head_seen = true;
                status = check_head(head, event.end && event.trailers.is_none())?;
            }
            if !event.data.is_empty() {
                reader.push(event.data);
                while let Some(message) = reader.next_message()? {
                    if answer.replace(message).is_some() {
                        return Err(CallError::Protocol(
                            "more than one message in a unary answer".into(),
                        ));
                    }
                }
            }
            if let Some(trailers) = &event.trailers {
                status = Some(status_of(trailers).unwrap_or_else(|| {
                    Err(CallError::Protocol("trailers without grpc-status".into()))
                })?);
            }
            if event.end {
                if !head_seen {
                    return Err(CallError::Protocol("a response without headers".into()));
                }
                let status = status.ok_or_else(|| {
                    CallError::Protocol("the stream ended without trailers".into())
                })?;
                if status.code != Code::Ok {
                    return Err(CallError::Status(status));
                }
                if reader.is_partial() {
                    return Err(CallError::Protocol("a truncated message".into()));
                }
                return answer
                    .ok_or_else(|| CallError::Protocol("an OK answer without a message".into()));
            }
        }
    }

    /// Opens a bidirectional streaming call to `path` (watch, lease
    /// keep-alive), within `deadline` (for opening it only; a stream lives
    /// until it is closed or cancelled, and sends no `grpc-timeout`).
    /// `cancel`, when given, cancels it (and a wait to open it) from any
    /// thread, as [`GrpcStream::canceller`] does.
    pub fn stream(
        self: &Arc<Self>,
        path: &str,
        metadata: Metadata<'_>,
        deadline: Option<Instant>,
        cancel: Option<&CancelToken>,
    ) -> Result<GrpcStream, CallError> {
        self.checked()?;
        let head = self.request_head(path, None, metadata)?;
        let (stream, _) = H2Stream::open(self, &head, &[], false, deadline, cancel)?;
        Ok(GrpcStream {
            _conn: self.clone(),
            reader: MessageReader::new(self.config().max_message_bytes),
            stream,
            head_seen: false,
            status: None,
            ended: false,
        })
    }
}

/// What a unary call asks while it waits for its answer
/// ([`H2Connection::unary_checked`]): after waiting `after`, and then every
/// `every`, `lost` says whether to give up (`Some(why)`) — e.g. the member
/// lost the leader the call went to, so its answer would come only after
/// etcd's own timeout.
pub struct WaitCheck<'a> {
    pub after: Duration,
    pub every: Duration,
    pub lost: &'a mut dyn FnMut() -> Option<String>,
}

/// A bidirectional gRPC stream, used by one thread at a time; any thread
/// may cancel it through [`canceller`](Self::canceller). Dropping it
/// cancels it (RST_STREAM CANCEL) unless it ended.
#[derive(Debug)]
pub struct GrpcStream {
    // Declared before `_conn`, so it is dropped first (its reset goes out
    // on a connection that is still there).
    stream: H2Stream,
    _conn: Arc<H2Connection>,
    reader: MessageReader,
    head_seen: bool,
    /// The status, once the server ended the stream.
    status: Option<GrpcStatus>,
    ended: bool,
}

impl GrpcStream {
    /// Sends one message, waiting within `deadline` for flow control.
    pub fn send(&mut self, message: &[u8], deadline: Option<Instant>) -> Result<(), CallError> {
        let mut body = Vec::new();
        put_message(&mut body, message)?;
        self.stream.send(&body, false, deadline)
    }

    /// Ends our side: the server sees the end of our messages.
    pub fn close_send(&mut self, deadline: Option<Instant>) -> Result<(), CallError> {
        self.stream.send(&[], true, deadline)
    }

    /// The next message; `Ok(None)` when the server ended the stream with
    /// status OK; [`CallError::Status`] when it ended it with another.
    /// `deadline` bounds this wait only (`MaybeSent(Timeout)` then: the
    /// stream is still usable).
    pub fn recv(&mut self, deadline: Option<Instant>) -> Result<Option<Vec<u8>>, CallError> {
        loop {
            if let Some(message) = self.reader.next_message()? {
                return Ok(Some(message));
            }
            if self.ended {
                if self.reader.is_partial() {
                    return Err(CallError::Protocol("a truncated message".into()));
                }
                return match &self.status {
                    Some(s) if s.code == Code::Ok => Ok(None),
                    Some(s) => Err(CallError::Status(s.clone())),
                    None => Err(CallError::Protocol(
                        "the stream ended without a grpc-status".into(),
                    )),
                };
            }
            let event = self.stream.recv(deadline)?;
            if let Some(head) = &event.head {
                self.head_seen = true;
                if let Some(s) = check_head(head, event.end && event.trailers.is_none())? {
                    self.status = Some(s);
                }
            }
            if !event.data.is_empty() {
                self.reader.push(event.data);
            }
            if let Some(trailers) = &event.trailers {
                self.status = Some(status_of(trailers).unwrap_or_else(|| {
                    Err(CallError::Protocol("trailers without grpc-status".into()))
                })?);
            }
            if event.end {
                self.ended = true;
                if !self.head_seen {
                    return Err(CallError::Protocol("a response without headers".into()));
                }
            }
        }
    }

    /// A handle that sends messages on this stream from other threads
    /// while one thread waits in [`recv`](Self::recv) (see [`GrpcSender`]).
    pub fn sender(&self) -> GrpcSender {
        GrpcSender(self.stream.sender())
    }

    /// A token that cancels this stream from any thread: a blocked
    /// [`recv`](Self::recv) returns `Cancelled` within milliseconds.
    pub fn canceller(&mut self) -> CancelToken {
        self.stream.canceller()
    }

    /// Cancels the stream (RST_STREAM CANCEL).
    pub fn cancel(&self) {
        self.stream.cancel();
    }
}

/// Sends messages on a [`GrpcStream`] from any thread, never waiting: a
/// message the flow-control windows have no room for is refused
/// (`NotSent`), as is one sent after the stream ended. Its owner keeps its
/// sends in order (one at a time).
#[derive(Debug, Clone)]
pub struct GrpcSender(H2Sender);

impl GrpcSender {
    /// Makes a [`GrpcStream::recv`] waiting on the stream return now with
    /// `MaybeSent(Timeout)` (the stream goes on), or the next one at once.
    pub fn nudge(&self) {
        self.0.nudge();
    }

    /// Sends one message now, or fails (see the type's doc).
    pub fn send_now(&self, message: &[u8]) -> Result<(), CallError> {
        let mut body = Vec::with_capacity(message.len() + 5);
        put_message(&mut body, message)?;
        self.0.send_now(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_canonical_names_and_numbers() {
        assert_eq!(Code::from_u32(12), Code::Unimplemented);
        assert_eq!(Code::from_u32(12).name(), "UNIMPLEMENTED");
        assert_eq!(Code::from_u32(16), Code::Unauthenticated);
        assert_eq!(Code::from_u32(17), Code::Unknown);
        for n in 0..17 {
            assert_eq!(Code::from_u32(n) as u32, n);
        }
    }

    #[test]
    fn grpc_message_is_percent_decoded() {
        assert_eq!(percent_decode(b"plain"), "plain");
        assert_eq!(
            percent_decode(b"etcdserver: key not found%0Anext"),
            "etcdserver: key not found\nnext"
        );
        assert_eq!(percent_decode(b"caf%C3%A9"), "café");
        // Not an escape: kept.
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz%4"), "%zz%4");
        assert_eq!(percent_decode(b"%25"), "%");
        // Invalid UTF-8 is replaced, not an error.
        assert_eq!(percent_decode(b"%FF"), "\u{fffd}");
    }

    #[test]
    fn timeouts_take_the_finest_unit_that_fits() {
        assert_eq!(timeout_value(Duration::from_millis(1500)), "1500000u");
        assert_eq!(timeout_value(Duration::from_nanos(1)), "1n");
        assert_eq!(timeout_value(Duration::ZERO), "1n");
        assert_eq!(timeout_value(Duration::from_secs(5)), "5000000u");
        assert_eq!(timeout_value(Duration::from_secs(1000)), "1000000m");
        assert_eq!(timeout_value(Duration::from_secs(10_000_000)), "10000000S");
        assert_eq!(timeout_value(Duration::from_nanos(1_500)), "1500n");
        assert_eq!(timeout_value(Duration::from_secs(u64::MAX)), "99999999H");
    }

    #[test]
    fn messages_are_framed_and_cut_back() {
        let mut wire = Vec::new();
        put_message(&mut wire, b"one").unwrap();
        put_message(&mut wire, b"").unwrap();
        put_message(&mut wire, &[7; 300]).unwrap();
        assert_eq!(&wire[..8], &[0, 0, 0, 0, 3, b'o', b'n', b'e']);
        // Fed in awkward pieces.
        let mut r = MessageReader::new(1000);
        let mut got = Vec::new();
        for piece in wire.chunks(4) {
            r.push(piece.to_vec());
            while let Some(m) = r.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, [b"one".to_vec(), vec![], vec![7; 300]]);
        assert!(!r.is_partial());
    }

    #[test]
    fn bad_messages_are_errors() {
        let mut r = MessageReader::new(10);
        r.push(vec![0, 0, 0, 0, 11]);
        assert_eq!(r.next_message(), Err(CallError::TooLarge { limit: 10 }));
        let mut r = MessageReader::new(10);
        r.push(vec![1, 0, 0, 0, 1, 0]);
        assert!(matches!(r.next_message(), Err(CallError::Protocol(_))));
        let mut r = MessageReader::new(10);
        r.push(vec![0, 0, 0, 0, 2, 0]);
        assert_eq!(r.next_message(), Ok(None));
        assert!(r.is_partial());
    }

    fn fields(list: &[(&str, &str)]) -> Vec<Field> {
        list.iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn heads_and_trailers_give_the_status() {
        let ok_head = fields(&[(":status", "200"), ("content-type", "application/grpc")]);
        assert_eq!(check_head(&ok_head, false), Ok(None));
        // Trailers-only.
        let only = fields(&[
            (":status", "200"),
            ("content-type", "application/grpc"),
            ("grpc-status", "12"),
            ("grpc-message", "unknown service etcdserverpb.Nope"),
        ]);
        assert_eq!(
            check_head(&only, true),
            Ok(Some(GrpcStatus {
                code: Code::Unimplemented,
                message: "unknown service etcdserverpb.Nope".into()
            }))
        );
        // Not gRPC.
        let html = fields(&[(":status", "200"), ("content-type", "text/html")]);
        assert!(matches!(
            check_head(&html, false),
            Err(CallError::Protocol(_))
        ));
        // An HTTP error without gRPC status.
        let e = check_head(&fields(&[(":status", "503")]), true).unwrap_err();
        assert!(matches!(
            e,
            CallError::Status(GrpcStatus {
                code: Code::Unavailable,
                ..
            })
        ));
        // Trailers with a percent-encoded message.
        let t = fields(&[
            ("grpc-status", "3"),
            ("grpc-message", "etcdserver: key is not provided%21"),
        ]);
        assert_eq!(
            status_of(&t),
            Some(Ok(GrpcStatus {
                code: Code::InvalidArgument,
                message: "etcdserver: key is not provided!".into()
            }))
        );
        assert!(matches!(
            status_of(&fields(&[("grpc-status", "x")])),
            Some(Err(CallError::Protocol(_)))
        ));
    }

    #[test]
    fn metadata_is_checked() {
        assert!(check_metadata("token", "abc.def").is_ok());
        assert!(check_metadata("hasleader", "true").is_ok());
        assert!(check_metadata("Token", "x").is_err());
        assert!(check_metadata(":path", "x").is_err());
        assert!(check_metadata("x-bin", "x").is_err());
        assert!(check_metadata("token", "a\r\nb").is_err());
    }
}
