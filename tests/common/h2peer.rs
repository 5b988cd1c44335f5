//! A scripted HTTP/2 peer: a loopback TCP server whose every connection is
//! handed to a test's script, which speaks raw frames through [`Peer`] —
//! for what etcd will not do (garbage, truncated or oversized frames,
//! GOAWAY with a chosen last stream id, RST_STREAM, silence, no window
//! updates).
//!
//! [`H2Peer::start`] runs the script on a thread per accepted connection;
//! whatever the script reports through [`Peer::note`] is readable with
//! [`H2Peer::notes`]. Scripts end by returning (the connection closes) and
//! never block for more than [`PEER_LIMIT`].

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest any read of a peer waits.
pub const PEER_LIMIT: Duration = Duration::from_secs(20);

pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const RST_STREAM: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const PING: u8 = 6;
pub const GOAWAY: u8 = 7;
pub const WINDOW_UPDATE: u8 = 8;
pub const CONTINUATION: u8 = 9;
pub const END_STREAM: u8 = 1;
pub const ACK: u8 = 1;
pub const END_HEADERS: u8 = 4;

/// One frame as read.
#[derive(Debug, Clone)]
pub struct RawFrame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

type Script = dyn Fn(Peer) + Send + Sync;

/// The server.
pub struct H2Peer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    notes: Arc<Mutex<Vec<String>>>,
}

impl H2Peer {
    /// Listens on a new loopback port; runs `script` for each connection.
    pub fn start(script: impl Fn(Peer) + Send + Sync + 'static) -> H2Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the peer");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let notes = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let shared = notes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let _ = stream.set_read_timeout(Some(PEER_LIMIT));
                let _ = stream.set_nodelay(true);
                let script = script.clone();
                let notes = shared.clone();
                std::thread::spawn(move || script(Peer { stream, notes }));
            }
        });
        H2Peer { url, notes }
    }

    /// What the scripts noted so far.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    /// Waits (at most `within`) until a note equal to `note` is there.
    pub fn wait_note(&self, note: &str, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if self.notes().iter().any(|n| n == note) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

/// One accepted connection, for a script.
pub struct Peer {
    pub stream: TcpStream,
    notes: Arc<Mutex<Vec<String>>>,
}

impl Peer {
    pub fn note(&self, note: impl Into<String>) {
        self.notes.lock().unwrap().push(note.into());
    }

    /// Reads the client's preface and its first SETTINGS; `false` if it
    /// did not come.
    pub fn read_preface(&mut self) -> bool {
        let mut preface = [0u8; 24];
        if self.stream.read_exact(&mut preface).is_err() {
            return false;
        }
        if &preface != b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" {
            return false;
        }
        matches!(self.read_frame(), Some(f) if f.kind == SETTINGS)
    }

    /// The usual start: read the client's preface, send our SETTINGS
    /// (`settings`: id, value) and ACK the client's.
    pub fn handshake(&mut self, settings: &[(u16, u32)]) -> bool {
        if !self.read_preface() {
            return false;
        }
        let mut payload = Vec::new();
        for (id, value) in settings {
            payload.extend_from_slice(&id.to_be_bytes());
            payload.extend_from_slice(&value.to_be_bytes());
        }
        self.send(SETTINGS, 0, 0, &payload);
        self.send(SETTINGS, ACK, 0, &[]);
        true
    }

    pub fn read_frame(&mut self) -> Option<RawFrame> {
        let mut head = [0u8; 9];
        self.stream.read_exact(&mut head).ok()?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        self.stream.read_exact(&mut payload).ok()?;
        Some(RawFrame {
            kind: head[3],
            flags: head[4],
            stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
            payload,
        })
    }

    /// Reads frames until one of `kind` (on any stream); `None` at EOF.
    pub fn read_until(&mut self, kind: u8) -> Option<RawFrame> {
        loop {
            let f = self.read_frame()?;
            if f.kind == kind {
                return Some(f);
            }
        }
    }

    /// Reads until a request has fully arrived (a frame with END_STREAM),
    /// returning its stream id; counts the DATA bytes seen on the way in
    /// `data`.
    pub fn read_request(&mut self, data: &mut usize) -> Option<u32> {
        loop {
            let f = self.read_frame()?;
            if f.kind == DATA {
                *data += f.payload.len();
            }
            if (f.kind == HEADERS || f.kind == DATA) && f.flags & END_STREAM != 0 {
                return Some(f.stream);
            }
        }
    }

    pub fn send(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let mut out = Vec::with_capacity(9 + payload.len());
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
        out.push(kind);
        out.push(flags);
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
        let _ = self.stream.write_all(&out);
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    pub fn goaway(&mut self, last_stream: u32, code: u32, debug: &[u8]) {
        let mut p = last_stream.to_be_bytes().to_vec();
        p.extend_from_slice(&code.to_be_bytes());
        p.extend_from_slice(debug);
        self.send(GOAWAY, 0, 0, &p);
    }

    pub fn rst(&mut self, stream: u32, code: u32) {
        self.send(RST_STREAM, 0, stream, &code.to_be_bytes());
    }

    /// A complete gRPC answer on `stream`: HEADERS (:status 200,
    /// content-type), one message, trailers with grpc-status 0.
    pub fn answer(&mut self, stream: u32, message: &[u8]) {
        self.send(HEADERS, END_HEADERS, stream, &response_head());
        let mut data = vec![0];
        data.extend_from_slice(&(message.len() as u32).to_be_bytes());
        data.extend_from_slice(message);
        self.send(DATA, 0, stream, &data);
        self.send(
            HEADERS,
            END_HEADERS | END_STREAM,
            stream,
            &trailers("0", ""),
        );
    }
}

/// HPACK: `:status 200` (static index 8) and `content-type:
/// application/grpc` (literal, indexed name 31).
pub fn response_head() -> Vec<u8> {
    let mut b = vec![0x88, 0x0f, 0x10, 16];
    b.extend_from_slice(b"application/grpc");
    b
}

/// HPACK: literal `grpc-status` and `grpc-message` (new names, not indexed).
pub fn trailers(status: &str, message: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, v) in [("grpc-status", status), ("grpc-message", message)] {
        b.push(0);
        b.push(n.len() as u8);
        b.extend_from_slice(n.as_bytes());
        assert!(v.len() < 127);
        b.push(v.len() as u8);
        b.extend_from_slice(v.as_bytes());
    }
    b
}
