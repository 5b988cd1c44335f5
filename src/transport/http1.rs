//! HTTP/1.1 as the client speaks it to etcd: the request's bytes, the
//! response's head, the body's framing, and one exchange over one
//! connection.
//!
//! The parsing is sans-I/O ([`parse_head`], [`BodyDecoder`]): it takes bytes
//! in any pieces and never reads a socket, so the fuzz target `http` can feed
//! it hostile input split anywhere. [`exchange`] drives it over a connection
//! from [`crate::transport::connection`].
//!
//! Only what etcd's answers need is kept of a head: the status, the framing
//! (`Content-Length`, `Transfer-Encoding: chunked`, or until close), whether
//! the connection stays open, and the five fields the client reads
//! ([`Fields`]). Everything else is skipped without being copied.

use std::io::Write as _;
use std::time::Instant;

use ureq::unversioned::transport::{time, NextTimeout, Transport};

/// The longest response head accepted (status line and fields): a server
/// that sends more is refused before it can fill memory.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// The most header fields a head may have.
const MAX_FIELDS: usize = 64;

/// The longest chunk-size line or trailer line accepted.
const MAX_LINE: usize = 4096;

/// The body of a request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payload<'a> {
    Empty,
    /// `application/x-www-form-urlencoded` (the keys API).
    Form(&'a str),
    /// `application/json` (members, auth).
    Json(&'a str),
}

impl<'a> Payload<'a> {
    fn parts(self) -> Option<(&'static str, &'a [u8])> {
        match self {
            Payload::Empty => None,
            Payload::Form(body) => Some(("application/x-www-form-urlencoded", body.as_bytes())),
            Payload::Json(body) => Some(("application/json", body.as_bytes())),
        }
    }
}

/// Writes a request head into `out` (cleared first): request line, `Host`,
/// `User-Agent`, the optional `Authorization` value, and for a payload its
/// `Content-Type` and `Content-Length`. `target` is the path with its query,
/// already percent-encoded; `host` is the endpoint's authority.
pub(crate) fn encode_head(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    host: &str,
    authorization: Option<&[u8]>,
    payload: Payload,
) {
    out.clear();
    for part in [method, " ", target, " HTTP/1.1\r\nHost: ", host] {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(concat!("\r\nUser-Agent: etcdc/", env!("CARGO_PKG_VERSION")).as_bytes());
    if let Some(value) = authorization {
        out.extend_from_slice(b"\r\nAuthorization: ");
        out.extend_from_slice(value);
    }
    if let Some((content_type, body)) = payload.parts() {
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(content_type.as_bytes());
        // Writing to a Vec cannot fail.
        let _ = write!(out, "\r\nContent-Length: {}", body.len());
    }
    out.extend_from_slice(b"\r\n\r\n");
}

/// The header fields the client reads (the first of each name). Values are
/// judged where they are used, so that a malformed index cannot hide an
/// error answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Fields {
    pub etcd_index: Option<Index>,
    pub raft_index: Option<Index>,
    pub raft_term: Option<Index>,
    pub cluster_id: Option<String>,
    pub location: Option<String>,
}

/// An index field (`X-Etcd-Index`, `X-Raft-Index`, `X-Raft-Term`): a number,
/// or the text that was none (lossily, for the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Index {
    Valid(u64),
    Invalid(String),
}

impl Index {
    fn parse(value: &[u8]) -> Index {
        // What etcd sends: up to 19 digits, which cannot overflow a u64.
        let digits = value.trim_ascii();
        if (1..=19).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) {
            let n = digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'));
            return Index::Valid(n);
        }
        match std::str::from_utf8(value).map(|s| s.trim().parse()) {
            Ok(Ok(n)) => Index::Valid(n),
            _ => Index::Invalid(String::from_utf8_lossy(value).trim().to_owned()),
        }
    }
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub status: u16,
    pub fields: Fields,
    pub framing: Framing,
    /// The connection may carry another request after this answer.
    pub keep_alive: bool,
}

/// Parses a response head from the start of `input`: `Ok(None)` while it is
/// incomplete, else the head and its length in bytes. Refuses what is no
/// HTTP/1.x response, a head over [`MAX_HEAD`] bytes, and contradicting or
/// malformed framing fields.
pub(crate) fn parse_head(input: &[u8]) -> Result<Option<(Head, usize)>, String> {
    if input.is_empty() {
        return Ok(None);
    }
    // Left uninitialized: httparse writes the fields it finds.
    let mut slots = [const { std::mem::MaybeUninit::uninit() }; MAX_FIELDS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        input,
        &mut slots,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if input.len() >= MAX_HEAD => {
            return Err(format!("response head over {MAX_HEAD} bytes"));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(format!("response head with over {MAX_FIELDS} fields"));
        }
        Err(e) => return Err(format!("not an HTTP response ({e})")),
    };
    if len > MAX_HEAD {
        return Err(format!("response head over {MAX_HEAD} bytes"));
    }
    let status = response.code.unwrap_or(0);
    let mut keep_alive = response.version == Some(1);
    let mut fields = Fields::default();
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut encoded = false;
    for field in response.headers.iter() {
        let value = field.value;
        let text = || String::from_utf8_lossy(value).trim().to_owned();
        match field.name.len() {
            // Followed only as text.
            8 if field.name.eq_ignore_ascii_case("location") && fields.location.is_none() => {
                fields.location = std::str::from_utf8(value).ok().map(|s| s.trim().to_owned());
            }
            10 if field.name.eq_ignore_ascii_case("connection") => {
                for token in value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case(b"keep-alive")
                        && response.version == Some(0)
                    {
                        keep_alive = true;
                    }
                }
            }
            11 if field.name.eq_ignore_ascii_case("x-raft-term") => {
                fields.raft_term.get_or_insert_with(|| Index::parse(value));
            }
            12 if field.name.eq_ignore_ascii_case("x-etcd-index") => {
                fields.etcd_index.get_or_insert_with(|| Index::parse(value));
            }
            12 if field.name.eq_ignore_ascii_case("x-raft-index") => {
                fields.raft_index.get_or_insert_with(|| Index::parse(value));
            }
            14 if field.name.eq_ignore_ascii_case("content-length") => {
                let parsed = std::str::from_utf8(value)
                    .ok()
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| format!("bad Content-Length: {:?}", text()))?;
                if length.is_some_and(|l| l != parsed) {
                    return Err("conflicting Content-Length fields".into());
                }
                length = Some(parsed);
            }
            17 if field.name.eq_ignore_ascii_case("transfer-encoding") => {
                encoded = true;
                // Chunked must be the last coding; etcd sends nothing else.
                let last = value.rsplit(|&b| b == b',').next().unwrap_or_default();
                chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
            }
            17 if field.name.eq_ignore_ascii_case("x-etcd-cluster-id") => {
                // Judged on use: it keeps what came (lossily) for the message.
                fields.cluster_id.get_or_insert_with(text);
            }
            _ => {}
        }
    }
    let framing = if matches!(status, 100..=199 | 204 | 304) {
        Framing::Length(0)
    } else if encoded {
        // A coding other than chunked last: the body runs until close
        // (RFC 9112 6.3); Content-Length is ignored beside it.
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    // A body until close, or another protocol (101): no next request here.
    if framing == Framing::UntilClose || status == 101 {
        keep_alive = false;
    }
    Ok(Some((
        Head {
            status,
            fields,
            framing,
            keep_alive,
        },
        len,
    )))
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// The framing is broken (a bad chunk line): a protocol error.
    Malformed(String),
    /// The body would be over the client's limit.
    TooLarge,
    /// The connection ended before the body did.
    Truncated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Bytes left of a `Content-Length` body.
    Length(u64),
    UntilClose,
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Bytes left of the current chunk.
    ChunkData(u64),
    /// Expecting the CRLF after a chunk's data.
    ChunkEnd,
    /// Expecting trailer lines, up to an empty one.
    Trailers,
    Done,
}

/// Decodes a body of the given framing from bytes fed in any pieces,
/// appending the payload to an output vector of at most `max` bytes.
#[derive(Debug)]
pub(crate) struct BodyDecoder {
    state: State,
    max: u64,
}

impl BodyDecoder {
    /// Refuses up front a `Content-Length` over `max`.
    pub fn new(framing: Framing, max: u64) -> Result<BodyDecoder, BodyError> {
        let state = match framing {
            Framing::Length(n) if n > max => return Err(BodyError::TooLarge),
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Ok(BodyDecoder { state, max })
    }

    /// The whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Takes what it can of `input` (stopping at the end of the body),
    /// appending payload to `out`; returns how many bytes it took. Taking
    /// none while not done means it needs more input than there is (a line
    /// not yet complete).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, BodyError> {
        let mut used = 0;
        while used < input.len() && self.state != State::Done {
            let rest = &input[used..];
            let took = match self.state {
                State::Length(left) | State::ChunkData(left) => {
                    let n = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.append(&rest[..n], out)?;
                    let left = left - n as u64;
                    self.state = match self.state {
                        State::Length(_) if left == 0 => State::Done,
                        State::Length(_) => State::Length(left),
                        _ if left == 0 => State::ChunkEnd,
                        _ => State::ChunkData(left),
                    };
                    n
                }
                State::UntilClose => {
                    self.append(rest, out)?;
                    rest.len()
                }
                State::ChunkSize => {
                    let Some((line, n)) = line(rest)? else {
                        break;
                    };
                    let size = chunk_size(line)?;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData(size)
                    };
                    n
                }
                State::ChunkEnd => {
                    let Some((line, n)) = line(rest)? else {
                        break;
                    };
                    if !line.is_empty() {
                        return Err(BodyError::Malformed(
                            "chunk data longer than its size".into(),
                        ));
                    }
                    self.state = State::ChunkSize;
                    n
                }
                State::Trailers => {
                    let Some((line, n)) = line(rest)? else {
                        break;
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                    }
                    n
                }
                State::Done => 0,
            };
            used += took;
        }
        Ok(used)
    }

    /// The connection ended: fine only for a body that runs until close.
    pub fn finish_at_eof(&mut self) -> Result<(), BodyError> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(BodyError::Truncated),
        }
    }

    fn append(&self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), BodyError> {
        let need = out.len() + bytes.len();
        if need as u64 > self.max {
            return Err(BodyError::TooLarge);
        }
        // Capacities in powers of two, whatever sizes the reads come in: a
        // big answer read again and again then leaves the allocator the
        // same blocks each time, and memory stays flat.
        if need > out.capacity() {
            out.reserve_exact(need.next_power_of_two().max(4096) - out.len());
        }
        out.extend_from_slice(bytes);
        Ok(())
    }
}

/// The line at the start of `input` without its end (CRLF, or a bare LF),
/// and the bytes it spans with the end; `None` while incomplete.
fn line(input: &[u8]) -> Result<Option<(&[u8], usize)>, BodyError> {
    match input.iter().take(MAX_LINE + 2).position(|&b| b == b'\n') {
        Some(i) => {
            let line = &input[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Ok(Some((line, i + 1)))
        }
        None if input.len() > MAX_LINE => Err(BodyError::Malformed(format!(
            "chunk line over {MAX_LINE} bytes"
        ))),
        None => Ok(None),
    }
}

/// The size of a chunk-size line: hex digits, then optional extensions.
fn chunk_size(line: &[u8]) -> Result<u64, BodyError> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let bad = || {
        BodyError::Malformed(format!(
            "bad chunk size line {:?}",
            String::from_utf8_lossy(&line[..line.len().min(40)])
        ))
    };
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad());
    }
    let digits = std::str::from_utf8(digits).map_err(|_| bad())?;
    u64::from_str_radix(digits, 16).map_err(|_| bad())
}

/// How an exchange failed, and how far it had got.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// I/O (or TLS) failed while sending the request or awaiting the head.
    BeforeHead(ureq::Error),
    /// I/O (or TLS) failed while reading the body.
    InBody(ureq::Error),
    /// The server's answer is no HTTP, or its framing is broken.
    Protocol(String),
    /// The connection ended before the head.
    ClosedBeforeHead,
    /// The connection ended in the middle of the body.
    Truncated,
    /// The body is over the limit (given).
    TooLarge(u64),
}

/// A response read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub head: Head,
    pub body: Vec<u8>,
}

/// The budget of one I/O call in ureq's terms: what is left of `deadline`.
pub(crate) fn next_timeout(deadline: Option<Instant>, reason: ureq::Timeout) -> NextTimeout {
    let after = match deadline {
        None => time::Duration::NotHappening,
        Some(d) => time::Duration::Exact(d.saturating_duration_since(Instant::now())),
    };
    NextTimeout {
        after,
        reason,
        per_read: None,
        per_write: None,
    }
}

/// A request sent over a connection, and its answer read as far as it has
/// come: the head's bytes or the parsed head, the body decoder's state and
/// the body so far. [`advance`](Exchange::advance) reads on until the answer
/// is complete or a deadline comes; at the deadline everything is kept, so
/// that a later `advance` on the same connection goes on where this one
/// stopped (a watch's long poll outlives a short wait this way).
#[derive(Debug)]
pub(crate) struct Exchange {
    max_body: u64,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    /// Awaiting the head (its bytes gather in the connection's buffer).
    Head,
    /// Reading the body of this head.
    Body {
        head: Head,
        decoder: BodyDecoder,
        out: Vec<u8>,
    },
    /// The answer was returned.
    Done,
}

impl Exchange {
    /// Sends a request (`head`, then `body`) over `conn` within `deadline`.
    /// Its answer is read by [`advance`](Self::advance), with bodies of at
    /// most `max_body` bytes.
    pub fn send(
        conn: &mut dyn Transport,
        head: &[u8],
        body: &[u8],
        deadline: Option<Instant>,
        max_body: u64,
    ) -> Result<Exchange, ExchangeError> {
        let timeout = || next_timeout(deadline, ureq::Timeout::Global);
        send(conn, head, body, &timeout).map_err(ExchangeError::BeforeHead)?;
        Ok(Exchange {
            max_body,
            stage: Stage::Head,
        })
    }

    /// Reads the answer on, until it is complete (`Ok(Some(answer))`) or
    /// `deadline` comes (`Ok(None)`: nothing is lost, call again with the
    /// same connection). A deadline already past takes only what has
    /// arrived, without waiting. `on_head` sees the head as soon as it is
    /// parsed, before the body is read. On success the connection is ready
    /// for another request if `answer.head.keep_alive`; after an error it
    /// must be dropped. Calling it again after the answer is a bug.
    pub fn advance(
        &mut self,
        conn: &mut dyn Transport,
        deadline: Option<Instant>,
        on_head: &mut dyn FnMut(&Head),
    ) -> Result<Option<Answer>, ExchangeError> {
        let max_body = self.max_body;
        let body_error = |e| body_error(e, max_body);
        loop {
            match &mut self.stage {
                Stage::Head => match parse_head(conn.buffers().input()) {
                    Err(e) => return Err(ExchangeError::Protocol(e)),
                    Ok(Some((head, len))) => {
                        conn.buffers().input_consume(len);
                        // An interim answer (etcd sends none: no `Expect`
                        // is ever sent).
                        if (100..200).contains(&head.status) && head.status != 101 {
                            continue;
                        }
                        on_head(&head);
                        let decoder =
                            BodyDecoder::new(head.framing, max_body).map_err(body_error)?;
                        let out = match head.framing {
                            Framing::Length(n) => Vec::with_capacity(n as usize),
                            _ => Vec::new(),
                        };
                        self.stage = Stage::Body { head, decoder, out };
                    }
                    Ok(None) => match wait_for_input(conn, deadline) {
                        Ok(true) => {}
                        Ok(false) => return Err(ExchangeError::ClosedBeforeHead),
                        Err(None) => return Ok(None),
                        Err(Some(e)) => return Err(ExchangeError::BeforeHead(e)),
                    },
                },
                Stage::Body { decoder, out, .. } => {
                    let took = decoder
                        .feed(conn.buffers().input(), out)
                        .map_err(body_error)?;
                    conn.buffers().input_consume(took);
                    if !decoder.is_done() {
                        match wait_for_input(conn, deadline) {
                            Ok(true) => continue,
                            Ok(false) => decoder.finish_at_eof().map_err(body_error)?,
                            Err(None) => return Ok(None),
                            Err(Some(e)) => return Err(ExchangeError::InBody(e)),
                        }
                    }
                    let Stage::Body { mut head, out, .. } =
                        std::mem::replace(&mut self.stage, Stage::Done)
                    else {
                        unreachable!("in the body stage");
                    };
                    // Bytes past the end of the answer: the connection is
                    // out of step.
                    if !conn.buffers().input().is_empty() {
                        head.keep_alive = false;
                    }
                    return Ok(Some(Answer { head, body: out }));
                }
                Stage::Done => {
                    return Err(ExchangeError::Protocol(
                        "the answer was already read".into(),
                    ))
                }
            }
        }
    }

    /// The error this exchange is, cut at its deadline by a caller that
    /// will not wait on (a timeout, before the head or in the body).
    pub fn timed_out(&self) -> ExchangeError {
        let timeout = ureq::Error::Timeout(ureq::Timeout::Global);
        match self.stage {
            Stage::Head => ExchangeError::BeforeHead(timeout),
            _ => ExchangeError::InBody(timeout),
        }
    }
}

/// Waits for more input within `deadline`: `Ok(false)` at the end of the
/// connection; `Err(None)` when the deadline came (the connection is intact:
/// a socket timeout loses nothing, and rustls keeps a partial record).
fn wait_for_input(
    conn: &mut dyn Transport,
    deadline: Option<Instant>,
) -> Result<bool, Option<ureq::Error>> {
    loop {
        match conn.await_input(next_timeout(deadline, ureq::Timeout::Global)) {
            Ok(more) => return Ok(more),
            Err(ureq::Error::Timeout(_)) if deadline.is_some() => {
                // A socket timeout a little short of the deadline (it is
                // re-armed only when off by over 1/256) waits the rest.
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(None);
                }
            }
            Err(e) => return Err(Some(e)),
        }
    }
}

/// Sends a request (`head`, then `body`) over `conn` and reads its answer,
/// all within `deadline`: an [`Exchange`] sent and advanced to its end. On
/// success the connection is ready for another request if
/// `answer.head.keep_alive`; after an error it must be dropped. (The
/// transport drives [`Exchange`] itself, to park it at a deadline; this is
/// the whole exchange the fuzz target checks.)
#[cfg(feature = "fuzzing")]
pub(crate) fn exchange(
    conn: &mut dyn Transport,
    head: &[u8],
    body: &[u8],
    deadline: Option<Instant>,
    max_body: u64,
    on_head: &mut dyn FnMut(&Head),
) -> Result<Answer, ExchangeError> {
    let mut exchange = Exchange::send(conn, head, body, deadline, max_body)?;
    match exchange.advance(conn, deadline, on_head)? {
        Some(answer) => Ok(answer),
        None => Err(exchange.timed_out()),
    }
}

fn body_error(e: BodyError, limit: u64) -> ExchangeError {
    match e {
        BodyError::Malformed(m) => ExchangeError::Protocol(m),
        BodyError::TooLarge => ExchangeError::TooLarge(limit),
        BodyError::Truncated => ExchangeError::Truncated,
    }
}

/// Writes `head` then `body` through the connection's output buffer.
fn send(
    conn: &mut dyn Transport,
    head: &[u8],
    body: &[u8],
    timeout: &dyn Fn() -> NextTimeout,
) -> Result<(), ureq::Error> {
    let mut parts = [head, body];
    loop {
        let buffer = conn.buffers().output();
        let mut filled = 0;
        for part in parts.iter_mut() {
            let n = part.len().min(buffer.len() - filled);
            buffer[filled..filled + n].copy_from_slice(&part[..n]);
            filled += n;
            *part = &part[n..];
        }
        if filled == 0 {
            return Ok(());
        }
        conn.transmit_output(filled, timeout())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &str) -> Head {
        parse_head(bytes.as_bytes()).unwrap().unwrap().0
    }

    #[test]
    fn request_head() {
        let mut out = Vec::new();
        encode_head(
            &mut out,
            "PUT",
            "/v2/keys/a%20b?x=1",
            "127.0.0.1:2379",
            Some(b"Basic cm9vdDpw"),
            Payload::Form("value=v"),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("PUT /v2/keys/a%20b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:2379\r\n"));
        assert!(text.contains("\r\nAuthorization: Basic cm9vdDpw\r\n"));
        assert!(text.contains("\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
        assert!(text.ends_with("\r\nContent-Length: 7\r\n\r\n"));
    }

    #[test]
    fn etcd_head() {
        let h = head(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Etcd-Cluster-Id: cdf818194e3a8c32\r\n\
             X-Etcd-Index: 7\r\nX-Raft-Index: 12\r\nX-Raft-Term: 2\r\nDate: x\r\nContent-Length: 5\r\n\r\nhello",
        );
        assert_eq!(h.status, 200);
        assert_eq!(h.framing, Framing::Length(5));
        assert!(h.keep_alive);
        assert_eq!(h.fields.etcd_index, Some(Index::Valid(7)));
        assert_eq!(h.fields.raft_index, Some(Index::Valid(12)));
        assert_eq!(h.fields.raft_term, Some(Index::Valid(2)));
        assert_eq!(h.fields.cluster_id.as_deref(), Some("cdf818194e3a8c32"));
        let odd = head(
            "HTTP/1.1 200 OK\r\nX-Etcd-Index:  x7\r\nX-Raft-Term: 3 \r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(odd.fields.etcd_index, Some(Index::Invalid("x7".into())));
        assert_eq!(odd.fields.raft_term, Some(Index::Valid(3)));
    }

    /// The fast path for plain digits agrees with `str::parse` on its
    /// edges; the first of repeated fields counts; no input is no head.
    #[test]
    fn index_fields_and_repeats() {
        for (text, want) in [
            ("0", Index::Valid(0)),
            ("007", Index::Valid(7)),
            ("+7", Index::Valid(7)),
            ("18446744073709551615", Index::Valid(u64::MAX)),
            (
                "9999999999999999999",
                Index::Valid(9_999_999_999_999_999_999),
            ),
            (
                "18446744073709551616",
                Index::Invalid("18446744073709551616".into()),
            ),
            ("-1", Index::Invalid("-1".into())),
            ("", Index::Invalid("".into())),
        ] {
            assert_eq!(Index::parse(text.as_bytes()), want, "{text:?}");
        }
        let h = head(
            "HTTP/1.1 307 Temporary Redirect\r\nX-Etcd-Index: 1\r\nX-Etcd-Index: 2\r\n\
             X-Etcd-Cluster-Id: a\r\nX-Etcd-Cluster-Id: b\r\nLocation: /x\r\nLocation: /y\r\n\
             Content-Length: 0\r\n\r\n",
        );
        assert_eq!(h.fields.etcd_index, Some(Index::Valid(1)));
        assert_eq!(h.fields.cluster_id.as_deref(), Some("a"));
        assert_eq!(h.fields.location.as_deref(), Some("/x"));
        assert_eq!(parse_head(b""), Ok(None));
    }

    #[test]
    fn framing_rules() {
        assert_eq!(
            head("HTTP/1.1 204 No Content\r\n\r\n").framing,
            Framing::Length(0)
        );
        let chunked =
            head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(chunked.framing, Framing::Chunked);
        let close = head("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(close.framing, Framing::UntilClose);
        assert!(!close.keep_alive);
        assert!(
            !head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive
        );
        assert!(!head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
        assert!(
            head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
                .keep_alive
        );
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                .is_err()
        );
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n").is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nX-Etcd").unwrap(), None);
        let endless = vec![b'a'; MAX_HEAD];
        let mut partial = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        partial.extend_from_slice(&endless);
        assert!(parse_head(&partial).unwrap_err().contains("over"));
    }

    fn decode(framing: Framing, pieces: &[&[u8]], eof: bool) -> Result<Vec<u8>, BodyError> {
        let mut d = BodyDecoder::new(framing, 1 << 20)?;
        let mut pending = Vec::new();
        let mut out = Vec::new();
        for piece in pieces {
            pending.extend_from_slice(piece);
            let took = d.feed(&pending, &mut out)?;
            pending.drain(..took);
        }
        if eof {
            d.finish_at_eof()?;
        }
        assert!(d.is_done());
        Ok(out)
    }

    #[test]
    fn chunked_bodies_in_any_pieces() {
        let wire = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
        for split in 0..wire.len() {
            let (a, b) = wire.split_at(split);
            assert_eq!(
                decode(Framing::Chunked, &[a, b], false).unwrap(),
                b"hello world"
            );
        }
        let bytewise: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(
            decode(Framing::Chunked, &bytewise, false).unwrap(),
            b"hello world"
        );
    }

    #[test]
    fn broken_bodies() {
        let malformed = |r| matches!(r, Err(BodyError::Malformed(_)));
        assert!(malformed(decode(Framing::Chunked, &[b"zz\r\n"], false)));
        assert!(malformed(decode(
            Framing::Chunked,
            &[b"2\r\nabc\r\n"],
            false
        )));
        assert!(malformed(decode(
            Framing::Chunked,
            &[b"11111111111111111\r\n"],
            false
        )));
        assert_eq!(
            decode(Framing::Chunked, &[b"5\r\nhel"], true),
            Err(BodyError::Truncated)
        );
        assert_eq!(
            decode(Framing::Length(5), &[b"hel"], true),
            Err(BodyError::Truncated)
        );
        assert_eq!(
            decode(Framing::UntilClose, &[b"hel"], true).unwrap(),
            b"hel"
        );
        assert_eq!(
            BodyDecoder::new(Framing::Length(11), 10).err(),
            Some(BodyError::TooLarge)
        );
        let mut d = BodyDecoder::new(Framing::Chunked, 3).unwrap();
        assert_eq!(
            d.feed(b"4\r\nabcd\r\n", &mut Vec::new()),
            Err(BodyError::TooLarge)
        );
    }

    #[test]
    fn a_length_body_stops_at_its_end() {
        let mut d = BodyDecoder::new(Framing::Length(3), 10).unwrap();
        let mut out = Vec::new();
        assert_eq!(d.feed(b"abcHTTP/1.1", &mut out).unwrap(), 3);
        assert!(d.is_done());
        assert_eq!(out, b"abc");
    }
}
