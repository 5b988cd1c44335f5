//! HPACK (RFC 7541) for one connection: a stateless encoder of our own and
//! loona-hpack's decoder.
//!
//! - Encoding: static-table indexes where a whole field is in the static
//!   table (`:method POST`, `:scheme http`), literals *without indexing*
//!   otherwise (with an indexed name where the static table has it), and
//!   *never indexed* literals for credentials. No dynamic table means no
//!   encoder state: a header block abandoned half-way (a failed write)
//!   cannot desynchronise us from the server, and the server's
//!   HEADER_TABLE_SIZE does not matter. It costs a few dozen bytes per
//!   request on the wire.
//! - Decoding: grpc-go indexes fields and Huffman-codes strings, so the
//!   decoder keeps the dynamic table (at most the 4096 bytes we allow, the
//!   default of SETTINGS_HEADER_TABLE_SIZE) and decodes Huffman. The
//!   decoded header list is held to a size limit (RFC 9113 §6.5.2 counts
//!   each field as name + value + 32 bytes).

use super::frame::{ConnError, COMPRESSION_ERROR};

/// A header field: name and value.
pub(crate) type Field = (Vec<u8>, Vec<u8>);

/// The dynamic table size we allow the server (the protocol's default; we
/// never send SETTINGS_HEADER_TABLE_SIZE).
pub(crate) const TABLE_SIZE: usize = 4096;

/// How a field is to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sensitivity {
    /// A literal the server may index.
    Plain,
    /// A literal never indexed, by the server or any intermediary
    /// (credentials: RFC 7541 §7.1.3).
    Secret,
}

/// Static table entries (RFC 7541 Appendix A) the encoder uses.
fn static_index(name: &[u8], value: &[u8]) -> (Option<u8>, bool) {
    // (index, whole field matches)
    match (name, value) {
        (b":method", b"GET") => (Some(2), true),
        (b":method", b"POST") => (Some(3), true),
        (b":method", _) => (Some(2), false),
        (b":path", b"/") => (Some(4), true),
        (b":path", _) => (Some(4), false),
        (b":scheme", b"http") => (Some(6), true),
        (b":scheme", b"https") => (Some(7), true),
        (b":scheme", _) => (Some(6), false),
        (b":authority", _) => (Some(1), false),
        (b"content-type", _) => (Some(31), false),
        (b"authorization", _) => (Some(23), false),
        (b"user-agent", _) => (Some(58), false),
        _ => (None, false),
    }
}

/// Appends an integer with an `n`-bit prefix (RFC 7541 §5.1); `first` holds
/// the bits above the prefix.
fn put_int(out: &mut Vec<u8>, first: u8, n: u8, mut value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// Appends a string literal without Huffman coding.
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_int(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// Appends one field to a header block.
pub(crate) fn encode_field(out: &mut Vec<u8>, name: &[u8], value: &[u8], how: Sensitivity) {
    let (index, whole) = static_index(name, value);
    if whole && how == Sensitivity::Plain {
        put_int(out, 0x80, 7, usize::from(index.unwrap_or(0)));
        return;
    }
    // Literal without indexing: 0000xxxx; never indexed: 0001xxxx.
    let first = match how {
        Sensitivity::Plain => 0x00,
        Sensitivity::Secret => 0x10,
    };
    match index {
        Some(i) => put_int(out, first, 4, usize::from(i)),
        None => {
            out.push(first);
            put_string(out, name);
        }
    }
    put_string(out, value);
}

/// The size a header list counts for against SETTINGS_MAX_HEADER_LIST_SIZE.
pub(crate) fn field_size(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + 32
}

/// A decoded header block.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub fields: Vec<Field>,
    /// The list was larger than the limit: `fields` holds only those that
    /// fit, and the stream is to be failed.
    pub oversized: bool,
}

/// The connection's decoder.
pub(crate) struct Decoder {
    inner: loona_hpack::Decoder<'static>,
    max_list: usize,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("max_list", &self.max_list)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder that keeps at most `max_list` bytes of a header list.
    pub(crate) fn new(max_list: usize) -> Decoder {
        let mut inner = loona_hpack::Decoder::new();
        inner.set_max_allowed_table_size(TABLE_SIZE);
        Decoder { inner, max_list }
    }

    /// The largest header block (compressed) accepted at all: a Huffman
    /// coded byte decodes to at least a quarter of a byte, so a block over
    /// this is over the list limit whatever it holds. A connection error.
    pub(crate) fn max_block(&self) -> usize {
        self.max_list.saturating_mul(4).max(64 * 1024)
    }

    /// Decodes a whole header block. A decoding error is a connection error
    /// (COMPRESSION_ERROR: the table state is lost); a list over the limit
    /// is decoded all the same (the table stays in step) and flagged.
    pub(crate) fn decode(&mut self, block: &[u8]) -> Result<Decoded, ConnError> {
        let mut decoded = Decoded::default();
        let mut size = 0usize;
        let max = self.max_list;
        self.inner
            .decode_with_cb(block, |name, value| {
                size = size.saturating_add(field_size(&name, &value));
                if size > max {
                    decoded.oversized = true;
                } else {
                    decoded.fields.push((name.into_owned(), value.into_owned()));
                }
            })
            .map_err(|e| ConnError::new(COMPRESSION_ERROR, format!("HPACK: {e}")))?;
        Ok(decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(fields: &[(&str, &str, Sensitivity)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (n, v, how) in fields {
            encode_field(&mut out, n.as_bytes(), v.as_bytes(), *how);
        }
        out
    }

    #[test]
    fn integers_follow_rfc7541_c1() {
        let mut out = Vec::new();
        put_int(&mut out, 0, 5, 10);
        assert_eq!(out, [10]);
        out.clear();
        put_int(&mut out, 0, 5, 1337);
        assert_eq!(out, [31, 154, 10]);
        out.clear();
        put_int(&mut out, 0, 8, 42);
        assert_eq!(out, [42]);
    }

    #[test]
    fn what_we_encode_decodes_to_the_same_fields() {
        let long = "v".repeat(300);
        let fields = [
            (":method", "POST", Sensitivity::Plain),
            (":scheme", "http", Sensitivity::Plain),
            (":path", "/etcdserverpb.KV/Range", Sensitivity::Plain),
            (":authority", "127.0.0.1:2379", Sensitivity::Plain),
            ("content-type", "application/grpc", Sensitivity::Plain),
            ("te", "trailers", Sensitivity::Plain),
            ("token", "secret.token", Sensitivity::Secret),
            ("x-long", long.as_str(), Sensitivity::Plain),
        ];
        let block = encode(&fields);
        // :method POST and :scheme http are single bytes.
        assert_eq!(&block[..2], &[0x83, 0x86]);
        let decoded = Decoder::new(64 * 1024).decode(&block).unwrap();
        let want: Vec<Field> = fields
            .iter()
            .map(|(n, v, _)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(decoded.fields, want);
        assert!(!decoded.oversized);
        // The secret is sent never-indexed: 0001xxxx before its literal name.
        let at = block.windows(5).position(|w| w == b"token").unwrap();
        assert_eq!(block[at - 2], 0x10);
    }

    /// RFC 7541 C.4: requests with Huffman coding and the dynamic table,
    /// three blocks on one connection (the third refers to entries the
    /// first two added), as grpc-go's encoder sends them.
    #[test]
    fn huffman_and_the_dynamic_table_decode() {
        let hex = |s: &str| -> Vec<u8> {
            let s: String = s.split_whitespace().collect();
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let mut d = Decoder::new(64 * 1024);
        let f = |n: &str, v: &str| (n.as_bytes().to_vec(), v.as_bytes().to_vec());
        let one = d
            .decode(&hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))
            .unwrap();
        assert_eq!(
            one.fields,
            [
                f(":method", "GET"),
                f(":scheme", "http"),
                f(":path", "/"),
                f(":authority", "www.example.com")
            ]
        );
        let two = d.decode(&hex("8286 84be 5886 a8eb 1064 9cbf")).unwrap();
        assert_eq!(two.fields[4], f("cache-control", "no-cache"));
        let three = d
            .decode(&hex(
                "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            ))
            .unwrap();
        assert_eq!(
            three.fields,
            [
                f(":method", "GET"),
                f(":scheme", "https"),
                f(":path", "/index.html"),
                f(":authority", "www.example.com"),
                f("custom-key", "custom-value")
            ]
        );
    }

    /// Header blocks captured from etcd 3.4.23 (grpc-go) on one
    /// connection: a Range's head and trailers (Huffman-coded literals
    /// added to the dynamic table), a second Range's (all indexed from
    /// it), then a trailers-only UNIMPLEMENTED with a Huffman-coded
    /// message.
    #[test]
    fn blocks_captured_from_etcd_decode() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let f = |n: &str, v: &str| (n.as_bytes().to_vec(), v.as_bytes().to_vec());
        let head = vec![f(":status", "200"), f("content-type", "application/grpc")];
        let trailers = vec![f("grpc-status", "0"), f("grpc-message", "")];
        let mut d = Decoder::new(64 * 1024);
        let mut decode = |h: &str| d.decode(&hex(h)).unwrap().fields;
        assert_eq!(decode("885f8b1d75d0620d263d4c4d6564"), head);
        assert_eq!(
            decode("40889acac8b21234da8f013040899acac8b5254207317f00"),
            trailers
        );
        assert_eq!(decode("88c0"), head);
        assert_eq!(decode("bfbe"), trailers);
        let mut only = head.clone();
        only.push(f("grpc-status", "12"));
        only.push(f(
            "grpc-message",
            "unknown method Nope for service etcdserverpb.KV",
        ));
        assert_eq!(
            decode(concat!(
                "88c07f000231327f00a2b6aeb51fc54a5254ce7914d27acaa4a7b14416cee6",
                "21542a49220b6772d95c6be6e3"
            )),
            only
        );
    }

    #[test]
    fn an_oversized_list_is_decoded_and_flagged() {
        let mut out = Vec::new();
        encode_field(&mut out, b"a", &[b'x'; 100], Sensitivity::Plain);
        encode_field(&mut out, b"b", b"y", Sensitivity::Plain);
        let mut d = Decoder::new(120);
        let got = d.decode(&out).unwrap();
        assert!(got.oversized);
        assert!(got.fields.is_empty() || got.fields.len() == 1);
    }

    #[test]
    fn bad_blocks_are_compression_errors() {
        let mut d = Decoder::new(1024);
        for bad in [
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..], // index overflow
            &[0xc0],                                   // index 64, no such entry
            &[0x40, 0x85, 0x00],                       // string longer than the block
            &[0x3f, 0xe1, 0x1f],                       // table size update over 4096
            &[0x20],                                   // size update at the end
        ] {
            let e = d.decode(bad).unwrap_err();
            assert_eq!(e.code, COMPRESSION_ERROR, "{bad:?}");
        }
    }
}
