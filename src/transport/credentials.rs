//! Credentials: the basic-auth `Authorization` header value sent with every
//! request, and the base64 it needs. Never printed. Knows nothing of etcd's
//! auth API (users, roles): that is the API layer's.

use std::fmt;

use crate::error::{Error, Result};

/// A basic-auth `Authorization` header value. Never printed: `Debug` shows
/// `<redacted>`.
#[derive(Clone)]
pub(crate) struct Authorization(Vec<u8>);

impl Authorization {
    /// `Basic base64(user:password)`; a user name with `:` cannot be sent.
    pub fn basic(user: &str, password: &str) -> Result<Authorization> {
        if user.contains(':') {
            return Err(Error::InvalidArgument(format!(
                "user name {user:?} contains ':', which basic auth cannot carry"
            )));
        }
        let encoded = base64(format!("{user}:{password}").as_bytes());
        Ok(Authorization(format!("Basic {encoded}").into_bytes()))
    }

    /// The header's value, as sent.
    pub fn value(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorization(<redacted>)")
    }
}

/// Standard base64 with padding (RFC 4648), for basic auth.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("root:p\u{e4}ss", "cm9vdDpww6Rzcw=="),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn credentials_are_never_printed() {
        let a = Authorization::basic("root", "s3cret").unwrap();
        assert_eq!(format!("{a:?}"), "Authorization(<redacted>)");
        assert!(matches!(
            Authorization::basic("a:b", "x"),
            Err(Error::InvalidArgument(_))
        ));
    }
}
