//! DNS SRV discovery (etcd's `--discovery-srv`, python-etcd's `srv_domain`):
//! the endpoints are the targets of `_etcd-client-ssl._tcp.<domain>`
//! (https) and `_etcd-client._tcp.<domain>` (http), asked of one DNS server
//! at build and again when every known member has failed.
//!
//! A small DNS client of its own: one question over UDP (resent each
//! second until the deadline), over TCP when the answer is truncated; the
//! answer is read with bounds checks everywhere, compression pointers only
//! backwards and at most [`MAX_HOPS`] of them. The targets' addresses are
//! not asked here: a target is the host of its URL, resolved when a
//! connection is made (and checked against an https member's certificate).

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::transport::Transport;

/// SRV's record type, and the Internet class.
const TYPE_SRV: u16 = 33;
const TYPE_CNAME: u16 = 5;
const CLASS_IN: u16 = 1;
/// Compression pointers followed in one name, at most.
const MAX_HOPS: usize = 64;
/// Between two sends of a UDP question without an answer.
const RESEND: Duration = Duration::from_secs(1);

/// Where the endpoints come from: the domain, and the DNS server to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Srv {
    /// Without a trailing dot, checked by [`check_domain`].
    pub domain: String,
    pub server: SocketAddr,
}

/// One SRV record of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Without a trailing dot; empty for ".", "no such service".
    pub target: String,
}

/// What a DNS server said about a name.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The SRV records of the name (maybe none).
    Records(Vec<Record>),
    /// The answer did not fit in UDP: ask again over TCP.
    Truncated,
}

/// A domain as the DNS spells it: dot-separated labels of 1 to 63 letters,
/// digits, `-` or `_`, with room left for the service prefix.
pub(crate) fn check_domain(domain: &str) -> Result<String> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    let ok = !d.is_empty()
        && d.len() + "_etcd-client-ssl._tcp.".len() <= 253
        && d.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !ok {
        return Err(Error::InvalidArgument(format!(
            "srv_domain {domain:?} is not a domain name such as \"example.com\""
        )));
    }
    Ok(d.to_owned())
}

/// The first `nameserver` of /etc/resolv.conf, port 53 (glibc's default,
/// 127.0.0.1, when there is none).
pub(crate) fn default_server() -> SocketAddr {
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let first = conf.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some("nameserver"))
            .then(|| words.next())
            .flatten()
            // An IPv6 scope ("fe80::1%eth0") is dropped.
            .and_then(|ip| ip.split('%').next()?.parse::<IpAddr>().ok())
    });
    SocketAddr::new(first.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)), 53)
}

/// A DNS server as C and Python give it: "127.0.0.1:5353", "[::1]:53", or
/// an address alone (port 53).
pub(crate) fn parse_server(s: &str) -> Result<SocketAddr> {
    s.parse::<SocketAddr>()
        .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| {
            Error::InvalidArgument(format!(
                "dns_server {s:?} is not an IP address with an optional port, \
                 such as \"127.0.0.1:5353\""
            ))
        })
}

impl Srv {
    /// The endpoints the records name: https ones (`_etcd-client-ssl`)
    /// first, then http, each in priority order, the heavier first within
    /// a priority. Asks by `deadline`; no records at all is an error naming
    /// the domain ([`Error::Connection`]), no answer in time
    /// [`Error::Timeout`].
    pub fn endpoints(&self, deadline: Instant) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for (service, scheme) in [("_etcd-client-ssl", "https"), ("_etcd-client", "http")] {
            let name = format!("{service}._tcp.{}", self.domain);
            let mut records = self.lookup(&name, deadline)?;
            // Stable: the server's order within equal priority and weight.
            records.sort_by_key(|r| (r.priority, std::cmp::Reverse(r.weight)));
            for r in records {
                if r.target.is_empty() || r.port == 0 {
                    continue; // "." : the service is decidedly not available
                }
                let url = format!("{scheme}://{}:{}", r.target, r.port);
                if !found.contains(&url) {
                    found.push(url);
                }
            }
        }
        if found.is_empty() {
            return Err(Error::Connection {
                endpoint: format!("DNS server {}", self.server),
                reason: format!(
                    "no SRV records for _etcd-client-ssl._tcp.{0} or _etcd-client._tcp.{0}",
                    self.domain
                ),
            });
        }
        Ok(found)
    }

    /// The SRV records of `name`: over UDP, then TCP if truncated.
    fn lookup(&self, name: &str, deadline: Instant) -> Result<Vec<Record>> {
        let id = random_id();
        let question = query(name, id);
        let err = |reason: String| Error::Connection {
            endpoint: format!("DNS server {}", self.server),
            reason: format!("SRV query for {name}: {reason}"),
        };
        let timeout = |_| Error::Timeout {
            endpoint: format!("DNS server {} (SRV query for {name})", self.server),
        };
        let parse = |msg: &[u8]| {
            parse_response(msg, id, name).map_err(|e| {
                Error::Protocol(format!("DNS answer from {} for {name}: {e}", self.server))
            })
        };
        let msg = udp(self.server, &question, id, deadline).map_err(|e| match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timeout(e),
            _ => err(e.to_string()),
        })?;
        match parse(&msg)? {
            Answer::Records(r) => Ok(r),
            Answer::Truncated => {
                let msg = tcp(self.server, &question, deadline).map_err(|e| match e.kind() {
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timeout(e),
                    _ => err(format!("over TCP (the UDP answer was truncated): {e}")),
                })?;
                match parse(&msg)? {
                    Answer::Records(r) => Ok(r),
                    Answer::Truncated => Err(err("truncated answer over TCP".into())),
                }
            }
        }
    }
}

/// A fresh random query id (std's hasher keys are random per instance).
fn random_id() -> u16 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u16
}

/// The question: id, recursion desired, one SRV question for `name`
/// (checked labels of 1..=63 bytes).
pub fn query(name: &str, id: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&TYPE_SRV.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    q
}

/// Time left before `deadline`, or a timeout.
fn left(deadline: Instant) -> io::Result<Duration> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in time")),
    }
}

/// One question over UDP, sent again every [`RESEND`]; only datagrams from
/// the server with our id count (`connect` filters the source).
fn udp(server: SocketAddr, question: &[u8], id: u16, deadline: Instant) -> io::Result<Vec<u8>> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(server)?;
    let mut buf = vec![0u8; 4096];
    loop {
        socket.send(question)?;
        let resend = Instant::now() + RESEND;
        loop {
            let wait = left(deadline)?.min(resend.saturating_duration_since(Instant::now()));
            if wait.is_zero() {
                break;
            }
            socket.set_read_timeout(Some(wait))?;
            match socket.recv(&mut buf) {
                Ok(n) if n >= 2 && buf[..2] == id.to_be_bytes() => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Ok(_) => {} // another query's late answer, or noise
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// One question over TCP (two-byte length before each message).
fn tcp(server: SocketAddr, question: &[u8], deadline: Instant) -> io::Result<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&server, left(deadline)?)?;
    let mut out = Vec::with_capacity(question.len() + 2);
    out.extend_from_slice(&(question.len() as u16).to_be_bytes());
    out.extend_from_slice(question);
    s.set_write_timeout(Some(left(deadline)?))?;
    s.write_all(&out)?;
    let mut len = [0u8; 2];
    s.set_read_timeout(Some(left(deadline)?))?;
    s.read_exact(&mut len)?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    let mut got = 0;
    while got < msg.len() {
        s.set_read_timeout(Some(left(deadline)?))?;
        match s.read(&mut msg[got..])? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    Ok(msg)
}

/// Reads a DNS answer to question `id` about `name`: its SRV records
/// (those of `name` or of an alias a CNAME in the answer gives it), none
/// for a name that does not exist, or that it was truncated. Every read is
/// bounds-checked; an answer that is not one to this question, or does not
/// parse, is an error.
pub fn parse_response(msg: &[u8], id: u16, name: &str) -> std::result::Result<Answer, String> {
    let u16_at = |at: usize| -> std::result::Result<u16, String> {
        msg.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| format!("ends at byte {} inside a record", msg.len()))
    };
    if msg.len() < 12 {
        return Err(format!("{} bytes, shorter than a DNS header", msg.len()));
    }
    let (flags, qd, an) = (u16_at(2)?, u16_at(4)?, u16_at(6)?);
    if u16_at(0)? != id || flags & 0x8000 == 0 || (flags >> 11) & 0xF != 0 {
        return Err("not an answer to our question".into());
    }
    if flags & 0x0200 != 0 {
        return Ok(Answer::Truncated);
    }
    match flags & 0xF {
        0 => {}
        3 => return Ok(Answer::Records(Vec::new())), // no such name
        rcode => {
            let what = match rcode {
                1 => "format error",
                2 => "server failure",
                4 => "not implemented",
                5 => "refused",
                _ => "error",
            };
            return Err(format!("the server answered {what} (rcode {rcode})"));
        }
    }
    if qd != 1 {
        return Err(format!("{qd} questions in the answer, not 1"));
    }
    let (qname, mut at) = read_name(msg, 12)?;
    if !qname.eq_ignore_ascii_case(name) || u16_at(at)? != TYPE_SRV || u16_at(at + 2)? != CLASS_IN {
        return Err(format!("answers another question ({qname})"));
    }
    at += 4;
    let mut names = vec![name.to_ascii_lowercase()];
    let mut records = Vec::new();
    for _ in 0..an {
        let (owner, after) = read_name(msg, at)?;
        let (rtype, class) = (u16_at(after)?, u16_at(after + 2)?);
        let len = usize::from(u16_at(after + 8)?);
        let start = after + 10;
        let end = start + len;
        if end > msg.len() {
            return Err(format!("a record of {len} bytes runs past the answer"));
        }
        at = end;
        if class != CLASS_IN || !names.contains(&owner.to_ascii_lowercase()) {
            continue;
        }
        match rtype {
            TYPE_CNAME => {
                let (alias, stop) = read_name(msg, start)?;
                if stop != end {
                    return Err("a CNAME record with bytes after its name".into());
                }
                names.push(alias.to_ascii_lowercase());
            }
            TYPE_SRV => {
                if len < 7 {
                    return Err(format!("an SRV record of {len} bytes"));
                }
                let (target, stop) = read_name(msg, start + 6)?;
                if stop != end {
                    return Err("an SRV record whose target does not end with it".into());
                }
                if !target
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                {
                    return Err(format!("an SRV target {target:?} that is no host name"));
                }
                records.push(Record {
                    priority: u16_at(start)?,
                    weight: u16_at(start + 2)?,
                    port: u16_at(start + 4)?,
                    target,
                });
            }
            _ => {}
        }
    }
    Ok(Answer::Records(records))
}

/// The name at `at` (labels joined with dots, no trailing dot; "" for the
/// root) and the offset just past it where it is written (not where a
/// pointer led). Pointers must go backwards, at most [`MAX_HOPS`] of them;
/// the name is at most 255 bytes on the wire.
fn read_name(msg: &[u8], mut at: usize) -> std::result::Result<(String, usize), String> {
    let mut name = Vec::new();
    let mut end = None;
    let mut hops = 0;
    let mut wire_len = 0usize;
    loop {
        let &len = msg.get(at).ok_or("a name runs past the answer")?;
        match len & 0xC0 {
            0x00 if len == 0 => {
                let name = String::from_utf8(name).map_err(|_| "a name that is no text")?;
                return Ok((name, end.unwrap_or(at + 1)));
            }
            0x00 => {
                let label = msg
                    .get(at + 1..at + 1 + usize::from(len))
                    .ok_or("a label runs past the answer")?;
                wire_len += 1 + label.len();
                if wire_len > 255 {
                    return Err("a name longer than 255 bytes".into());
                }
                if label.contains(&b'.') {
                    return Err("a label with a dot".into());
                }
                if !name.is_empty() {
                    name.push(b'.');
                }
                name.extend_from_slice(label);
                at += 1 + usize::from(len);
            }
            0xC0 => {
                let &low = msg.get(at + 1).ok_or("a pointer runs past the answer")?;
                let target = usize::from(u16::from_be_bytes([len & 0x3F, low]));
                hops += 1;
                if target >= at || hops > MAX_HOPS {
                    return Err("a compression pointer that does not point backwards".into());
                }
                end.get_or_insert(at + 2);
                at = target;
            }
            _ => return Err(format!("a label of unknown type 0x{len:02x}")),
        }
    }
}

thread_local! {
    /// This thread is in a request sent again after re-resolution.
    static RESOLVED: Cell<bool> = const { Cell::new(false) };
}

impl Transport {
    /// Every member of `tried` failed without an answer: with SRV
    /// discovery, asks the DNS again (within `deadline`, at most the
    /// connect timeout) and, when the records name other endpoints, makes
    /// them the list and calls `again` once (a request re-resolves at most
    /// once). `None`: nothing changed, the request's own outcome stands.
    pub(super) fn after_every_member_failed<T>(
        &self,
        tried: &[String],
        deadline: Option<Instant>,
        again: impl FnOnce(super::Limit) -> Result<T>,
    ) -> Option<Result<T>> {
        let srv = self.config.srv.as_ref()?;
        if RESOLVED.get() {
            return None;
        }
        let mut by = Instant::now() + self.config.connect_timeout;
        if let Some(deadline) = deadline {
            by = by.min(deadline);
        }
        let found = srv.endpoints(by).ok()?;
        if found.as_slice() == tried {
            return None;
        }
        self.cluster.replace(found);
        let limit = super::deadline::remaining(deadline, "").ok()?;
        /// Clears the flag however `again` ends (a panic included).
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                RESOLVED.set(false);
            }
        }
        RESOLVED.set(true);
        let _reset = Reset;
        Some(again(limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer to `query(name, 7)` with these (owner-pointer) SRV records.
    fn answer(name: &str, records: &[(u16, u16, u16, &str)], flags: u16) -> Vec<u8> {
        let mut m = query(name, 7);
        m[2..4].copy_from_slice(&flags.to_be_bytes());
        m[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
        for &(priority, weight, port, target) in records {
            m.extend_from_slice(&[0xC0, 12]); // the question's name
            m.extend_from_slice(&TYPE_SRV.to_be_bytes());
            m.extend_from_slice(&CLASS_IN.to_be_bytes());
            m.extend_from_slice(&60u32.to_be_bytes());
            let mut rdata = Vec::new();
            for v in [priority, weight, port] {
                rdata.extend_from_slice(&v.to_be_bytes());
            }
            for label in target.split('.').filter(|l| !l.is_empty()) {
                rdata.push(label.len() as u8);
                rdata.extend_from_slice(label.as_bytes());
            }
            rdata.push(0);
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&rdata);
        }
        m
    }

    const NAME: &str = "_etcd-client._tcp.example.test";

    #[test]
    fn records_are_read_and_bad_answers_refused() {
        let m = answer(
            NAME,
            &[(10, 5, 2379, "a.example.test"), (0, 0, 1, "b")],
            0x8180,
        );
        assert_eq!(
            parse_response(&m, 7, NAME),
            Ok(Answer::Records(vec![
                Record {
                    priority: 10,
                    weight: 5,
                    port: 2379,
                    target: "a.example.test".into()
                },
                Record {
                    priority: 0,
                    weight: 0,
                    port: 1,
                    target: "b".into()
                },
            ]))
        );
        // Another id, or a question, is not our answer.
        assert!(parse_response(&m, 8, NAME).is_err());
        assert!(parse_response(&m, 7, "_etcd-client._tcp.other.test").is_err());
        // Truncated, no such name, refused.
        assert_eq!(
            parse_response(&answer(NAME, &[], 0x8380), 7, NAME),
            Ok(Answer::Truncated)
        );
        assert_eq!(
            parse_response(&answer(NAME, &[], 0x8183), 7, NAME),
            Ok(Answer::Records(vec![]))
        );
        assert!(parse_response(&answer(NAME, &[], 0x8185), 7, NAME)
            .unwrap_err()
            .contains("refused"));
        // Every prefix of an answer, and every one-byte change of it, is an
        // answer or an error, never a panic.
        for n in 0..m.len() {
            let _ = parse_response(&m[..n], 7, NAME);
            for x in [0x01, 0x3F, 0x80, 0xC0, 0xFF] {
                let mut bad = m.clone();
                bad[n] ^= x;
                let _ = parse_response(&bad, 7, NAME);
            }
        }
    }

    #[test]
    fn pointers_must_go_backwards() {
        // A pointer to itself, and one forwards.
        assert!(read_name(&[0xC0, 0], 0).is_err());
        assert!(read_name(&[0xC0, 2, 0], 0).is_err());
        assert_eq!(read_name(&[1, b'a', 0, 0xC0, 0], 3), Ok(("a".into(), 5)));
        assert!(read_name(&[0x40], 0).is_err());
    }

    #[test]
    fn domains_and_servers_are_checked() {
        assert_eq!(check_domain("example.com.").unwrap(), "example.com");
        for bad in ["", ".", "a..b", "a b", "a/b", &"x".repeat(64)] {
            assert!(check_domain(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_server("127.0.0.1:5353").unwrap().port(), 5353);
        assert_eq!(parse_server("::1").unwrap().port(), 53);
        assert!(parse_server("localhost:53").is_err());
    }
}
