//! A fault server: a small HTTP/1.1 server on a loopback port that answers
//! each request with the next [`Fault`] queued ([`FaultServer::next`]), or
//! with its default one (a valid etcd answer, [`Fault::Ok`]) when the queue is
//! empty, to see how the client copes with a peer that misbehaves.
//!
//! One thread per connection, keep-alive aware: after a well-formed answer
//! the connection waits for the client's next request, so the client may
//! reuse it; faults that break the connection close it, reset it, or hang on
//! it until the client gives up and closes it (at most [`HANG_LIMIT`]).
//! Every request is recorded ([`FaultServer::requests`]), so a test can check
//! what reached the server (a redirect not followed, a write not re-sent).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `X-Etcd-Cluster-Id` of every etcd-like answer (the same for all fault
/// servers, so that a client may be redirected from one to another).
pub const CLUSTER_ID: &str = "cdf818194e3a8c32";
/// `X-Etcd-Index` of [`Fault::Ok`] answers, and the modified and created
/// index of their node.
pub const INDEX: u64 = 7;
/// The value of the node of a [`Fault::Ok`] answer.
pub const OK_VALUE: &str = "ok";
/// What [`Fault::UnknownErrorCode`] sends: its code, and its index.
pub const UNKNOWN_CODE: u32 = 999;
pub const UNKNOWN_CODE_INDEX: u64 = 42;
/// An `X-Etcd-Index` over 2^64, let alone 2^63 (for [`Fault::HugeIndexHeader`]).
pub const HUGE_INDEX: &str = "99999999999999999999";
/// Where [`Fault::Redirect301ToOtherKey`] sends the client (under `/v2/keys`).
pub const OTHER_KEY: &str = "/other";
/// Faults that hang wait at most this long for the client to close.
pub const HANG_LIMIT: Duration = Duration::from_secs(30);
/// Pace of [`Fault::SlowDrip`] and [`Fault::SlowDripHead`].
pub const DRIP_EVERY: Duration = Duration::from_millis(100);

/// How to answer one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// A valid etcd answer: 200, etcd's headers, and a node at the request's
    /// key with value [`OK_VALUE`] (action "get" for a read, "set" for a
    /// write or a watch); `{"health":"true"}` for `/health`.
    Ok,
    /// A 200 with etcd's headers and a well-delimited body that is not JSON.
    Garbage,
    /// Not HTTP at all (what another service on the port would say), then close.
    GarbageResponse,
    /// A 200 whose body, well delimited by its Content-Length, is the first
    /// half of a valid answer.
    TruncatedJson,
    /// `Content-Length: 100`, 50 bytes, then close.
    ContentLengthTooLong,
    /// `Content-Length: 50` before a longer valid body: the rest is stray
    /// bytes on a connection left open.
    ContentLengthTooShort,
    /// A chunked body cut off in the middle of its second chunk (close, no
    /// terminating chunk): a member dying while it streams.
    ChunkedCutOff,
    /// The head and half the body, then a reset (`SO_LINGER` 0, close).
    ResetMidBody,
    /// Reads the request and never answers.
    HangBeforeHeaders,
    /// The head and half the body, then nothing.
    HangMidBody,
    /// The head at once, then the (valid) body one byte per [`DRIP_EVERY`].
    SlowDrip,
    /// The whole answer, head included, one byte per [`DRIP_EVERY`].
    SlowDripHead,
    /// A 200 with etcd's headers and a body of this many bytes (spaces),
    /// `Content-Length` announced, streamed (never allocated).
    Huge(u64),
    /// As [`Fault::Huge`] in chunked encoding, no length announced.
    HugeChunked(u64),
    /// A head that never ends: one header line of 100 MB, streamed.
    HugeHeaders,
    /// etcd's answer to a path with `.`, `..` or `//`: a 301 to another key
    /// ([`OTHER_KEY`]) on this server.
    Redirect301ToOtherKey,
    /// A 307 to the same path on another server (this base URL), as an etcd
    /// 2.x follower redirected writes to its leader.
    Redirect307ToOtherHost(String),
    /// A server without the v2 API: Go's plain `404 page not found`.
    Plain404,
    /// A 500 with a plain-text body.
    Status500,
    /// A 503 with a plain-text body.
    Status503,
    /// A 400 with an etcd error body whose code ([`UNKNOWN_CODE`]) no
    /// version of etcd has (yet).
    UnknownErrorCode,
    /// A valid answer whose `X-Etcd-Index` is this instead of a number
    /// (e.g. `"abc"`).
    BadIndexHeader(&'static str),
    /// A valid answer whose `X-Etcd-Index` is this big number (e.g.
    /// [`HUGE_INDEX`], or one between 2^63 and 2^64).
    HugeIndexHeader(&'static str),
    /// A 200 with etcd's headers and no body: etcd ending a watch poll
    /// without an event.
    EmptyOk,
    /// Waits, then answers with the fault inside.
    Delay(Duration, Box<Fault>),
}

/// A request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path with its query, e.g. `/v2/keys/k?wait=true`.
    pub target: String,
    pub body: String,
    /// Which connection (1 for the first accepted) it came on.
    pub connection: usize,
}

struct State {
    url: String,
    queue: Mutex<VecDeque<Fault>>,
    default: Mutex<Fault>,
    requests: Mutex<Vec<Request>>,
    accepted: AtomicUsize,
    /// Bytes of body (or of header, for `HugeHeaders`) the huge faults got
    /// the kernel to take.
    huge_sent: AtomicU64,
    stopped: AtomicBool,
}

/// A running fault server; stops accepting when dropped (connections being
/// served finish on their own).
pub struct FaultServer {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    pub port: u16,
    state: Arc<State>,
}

impl FaultServer {
    /// Starts a server on `127.0.0.1:0` whose default answer is [`Fault::Ok`].
    pub fn start() -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault server");
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(State {
            url: url.clone(),
            queue: Mutex::new(VecDeque::new()),
            default: Mutex::new(Fault::Ok),
            requests: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            huge_sent: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let id = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, id, &state));
            }
        });
        FaultServer { url, port, state }
    }

    /// Queues `fault` as the answer to the next request not yet answered
    /// (faults are taken in the order queued, one per request).
    pub fn next(&self, fault: Fault) -> &Self {
        self.state.queue.lock().unwrap().push_back(fault);
        self
    }

    /// The answer when the queue is empty (initially [`Fault::Ok`]).
    pub fn set_default(&self, fault: Fault) {
        *self.state.default.lock().unwrap() = fault;
    }

    /// Every request read so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Bytes the huge faults got written so far.
    pub fn huge_sent(&self) -> u64 {
        self.state.huge_sent.load(Ordering::SeqCst)
    }

    /// Faults queued and not yet used.
    pub fn queued(&self) -> usize {
        self.state.queue.lock().unwrap().len()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// What to do with a connection after an answer.
enum Then {
    KeepAlive,
    Close,
}

fn serve(mut stream: TcpStream, connection: usize, state: &State) {
    let _ = stream.set_nodelay(true);
    let mut pending = Vec::new();
    while let Some(request) = read_request(&mut stream, &mut pending, connection) {
        state.requests.lock().unwrap().push(request.clone());
        let fault = state
            .queue
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| state.default.lock().unwrap().clone());
        match answer(&mut stream, &request, fault, state) {
            Then::KeepAlive => {}
            // Dropping the stream closes it (with a reset if SO_LINGER 0 was set).
            Then::Close => return,
        }
    }
}

/// Reads one request (head and `Content-Length` body); `None` when the
/// client closed the connection (or sent something unreadable).
fn read_request(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    connection: usize,
) -> Option<Request> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(pending, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        pending.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).into_owned();
    let mut words = head.split_whitespace();
    let method = words.next()?.to_owned();
    let target = words.next()?.to_owned();
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while pending.len() < head_end + length {
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        pending.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&pending[head_end..head_end + length]).into_owned();
    pending.drain(..head_end + length);
    Some(Request {
        method,
        target,
        body,
        connection,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The key a request is about: its path after `/v2/keys`, without the query.
fn key_of(request: &Request) -> String {
    let path = request.target.split('?').next().unwrap_or("/");
    let key = path.strip_prefix("/v2/keys").unwrap_or(path);
    if key.is_empty() {
        "/".to_owned()
    } else {
        key.to_owned()
    }
}

fn json_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The body of a valid answer to `request`.
fn ok_body(request: &Request) -> String {
    let action = match request.method.as_str() {
        "GET" if request.target.contains("wait=true") => "set",
        "GET" => "get",
        "POST" => "create",
        "DELETE" => "delete",
        _ => "set",
    };
    format!(
        r#"{{"action":"{action}","node":{{"key":"{}","value":"{OK_VALUE}","modifiedIndex":{INDEX},"createdIndex":{INDEX}}}}}"#,
        json_string(&key_of(request))
    )
}

/// etcd's headers, with `index` as `X-Etcd-Index`.
fn etcd_headers(index: &str) -> String {
    format!(
        "Content-Type: application/json\r\nX-Etcd-Cluster-Id: {CLUSTER_ID}\r\n\
         X-Etcd-Index: {index}\r\nX-Raft-Index: 100\r\nX-Raft-Term: 2\r\n"
    )
}

/// A complete answer with a `Content-Length` body.
fn full(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Writes `bytes`; `Then::Close` if the client is gone.
fn send(stream: &mut TcpStream, bytes: &[u8]) -> Then {
    match stream.write_all(bytes).and_then(|()| stream.flush()) {
        Ok(()) => Then::KeepAlive,
        Err(_) => Then::Close,
    }
}

/// Waits until the client closes the connection (or [`HANG_LIMIT`]).
fn wait_for_close(stream: &mut TcpStream) {
    let give_up = Instant::now() + HANG_LIMIT;
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 1024];
    while Instant::now() < give_up {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// Writes `bytes` one at a time, [`DRIP_EVERY`] apart.
fn drip(stream: &mut TcpStream, bytes: &[u8]) -> Then {
    for b in bytes {
        if let Then::Close = send(stream, std::slice::from_ref(b)) {
            return Then::Close;
        }
        std::thread::sleep(DRIP_EVERY);
    }
    Then::KeepAlive
}

/// Streams `total` bytes of `fill`, in chunked encoding if `chunked`,
/// counting what the kernel took; stops when the client is gone.
fn stream_bytes(
    stream: &mut TcpStream,
    total: u64,
    fill: u8,
    chunked: bool,
    state: &State,
) -> Then {
    const CHUNK: usize = 64 * 1024;
    let block = vec![fill; CHUNK];
    let mut left = total;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        let sent = if chunked {
            let mut framed = format!("{n:x}\r\n").into_bytes();
            framed.extend_from_slice(&block[..n]);
            framed.extend_from_slice(b"\r\n");
            stream.write_all(&framed)
        } else {
            stream.write_all(&block[..n])
        };
        if sent.is_err() {
            return Then::Close;
        }
        state.huge_sent.fetch_add(n as u64, Ordering::SeqCst);
        left -= n as u64;
    }
    if chunked {
        return send(stream, b"0\r\n\r\n");
    }
    Then::KeepAlive
}

/// Sets `SO_LINGER` to 0, so that closing the socket resets the connection.
fn linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open for as long as `stream` lives; `linger` is a
    // valid struct of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER)");
}

fn answer(stream: &mut TcpStream, request: &Request, fault: Fault, state: &State) -> Then {
    let index = INDEX.to_string();
    if request.target.starts_with("/health") && matches!(fault, Fault::Ok) {
        // A member with a leader, for a client that waits for one.
        return send(stream, &full("200 OK", "", br#"{"health":"true"}"#));
    }
    let body = ok_body(request);
    let half = body.len() / 2;
    match fault {
        Fault::Ok => send(
            stream,
            &full("200 OK", &etcd_headers(&index), body.as_bytes()),
        ),
        Fault::Garbage => send(
            stream,
            &full(
                "200 OK",
                &etcd_headers(&index),
                b"\x00\xff<html><body>not json {{{\x7f</body></html>",
            ),
        ),
        Fault::GarbageResponse => {
            let _ = send(stream, b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n");
            Then::Close
        }
        Fault::TruncatedJson => send(
            stream,
            &full("200 OK", &etcd_headers(&index), &body.as_bytes()[..half]),
        ),
        Fault::ContentLengthTooLong => {
            let mut out = format!(
                "HTTP/1.1 200 OK\r\n{}Content-Length: 100\r\n\r\n",
                etcd_headers(&index)
            )
            .into_bytes();
            out.extend_from_slice(&body.as_bytes()[..50]);
            let _ = send(stream, &out);
            Then::Close
        }
        Fault::ContentLengthTooShort => {
            let mut out = format!(
                "HTTP/1.1 200 OK\r\n{}Content-Length: 50\r\n\r\n",
                etcd_headers(&index)
            )
            .into_bytes();
            out.extend_from_slice(body.as_bytes());
            send(stream, &out)
        }
        Fault::ChunkedCutOff => {
            let bytes = body.as_bytes();
            let mut out = format!(
                "HTTP/1.1 200 OK\r\n{}Transfer-Encoding: chunked\r\n\r\n",
                etcd_headers(&index)
            )
            .into_bytes();
            out.extend_from_slice(format!("{:x}\r\n", 30).as_bytes());
            out.extend_from_slice(&bytes[..30]);
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(format!("{:x}\r\n", bytes.len() - 30).as_bytes());
            out.extend_from_slice(&bytes[30..40]);
            let _ = send(stream, &out);
            Then::Close
        }
        Fault::ResetMidBody => {
            let mut out = format!(
                "HTTP/1.1 200 OK\r\n{}Content-Length: {}\r\n\r\n",
                etcd_headers(&index),
                body.len()
            )
            .into_bytes();
            out.extend_from_slice(&body.as_bytes()[..half]);
            let _ = send(stream, &out);
            // Let the client read the head and start on the body.
            std::thread::sleep(Duration::from_millis(50));
            linger_zero(stream);
            Then::Close
        }
        Fault::HangBeforeHeaders => {
            wait_for_close(stream);
            Then::Close
        }
        Fault::HangMidBody => {
            let mut out = format!(
                "HTTP/1.1 200 OK\r\n{}Content-Length: {}\r\n\r\n",
                etcd_headers(&index),
                body.len()
            )
            .into_bytes();
            out.extend_from_slice(&body.as_bytes()[..half]);
            let _ = send(stream, &out);
            wait_for_close(stream);
            Then::Close
        }
        Fault::SlowDrip => {
            let head = format!(
                "HTTP/1.1 200 OK\r\n{}Content-Length: {}\r\n\r\n",
                etcd_headers(&index),
                body.len()
            );
            if let Then::Close = send(stream, head.as_bytes()) {
                return Then::Close;
            }
            drip(stream, body.as_bytes())
        }
        Fault::SlowDripHead => drip(
            stream,
            &full("200 OK", &etcd_headers(&index), body.as_bytes()),
        ),
        Fault::Huge(n) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\n{}Content-Length: {n}\r\n\r\n",
                etcd_headers(&index)
            );
            if let Then::Close = send(stream, head.as_bytes()) {
                return Then::Close;
            }
            stream_bytes(stream, n, b' ', false, state)
        }
        Fault::HugeChunked(n) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\n{}Transfer-Encoding: chunked\r\n\r\n",
                etcd_headers(&index)
            );
            if let Then::Close = send(stream, head.as_bytes()) {
                return Then::Close;
            }
            stream_bytes(stream, n, b' ', true, state)
        }
        Fault::HugeHeaders => {
            if let Then::Close = send(stream, b"HTTP/1.1 200 OK\r\nX-Padding: ") {
                return Then::Close;
            }
            let _ = stream_bytes(stream, 100 << 20, b'a', false, state);
            Then::Close
        }
        Fault::Redirect301ToOtherKey => send(
            stream,
            &full(
                "301 Moved Permanently",
                &format!("Location: {}/v2/keys{OTHER_KEY}\r\n", state.url),
                b"",
            ),
        ),
        Fault::Redirect307ToOtherHost(base) => send(
            stream,
            &full(
                "307 Temporary Redirect",
                &format!("Location: {base}{}\r\n", request.target),
                b"",
            ),
        ),
        Fault::Plain404 => send(
            stream,
            &full(
                "404 Not Found",
                "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n",
                b"404 page not found\n",
            ),
        ),
        Fault::Status500 => send(
            stream,
            &full(
                "500 Internal Server Error",
                "Content-Type: text/plain; charset=utf-8\r\n",
                b"internal server error\n",
            ),
        ),
        Fault::Status503 => send(
            stream,
            &full(
                "503 Service Unavailable",
                "Content-Type: text/plain; charset=utf-8\r\n",
                b"service unavailable\n",
            ),
        ),
        Fault::UnknownErrorCode => {
            let error = format!(
                r#"{{"errorCode":{UNKNOWN_CODE},"message":"A code from the future","cause":"{}","index":{UNKNOWN_CODE_INDEX}}}"#,
                json_string(&key_of(request))
            );
            send(
                stream,
                &full(
                    "400 Bad Request",
                    &etcd_headers(&UNKNOWN_CODE_INDEX.to_string()),
                    error.as_bytes(),
                ),
            )
        }
        Fault::BadIndexHeader(value) | Fault::HugeIndexHeader(value) => send(
            stream,
            &full("200 OK", &etcd_headers(value), body.as_bytes()),
        ),
        Fault::EmptyOk => send(stream, &full("200 OK", &etcd_headers(&index), b"")),
        Fault::Delay(pause, inner) => {
            std::thread::sleep(pause);
            answer(stream, request, *inner, state)
        }
    }
}
