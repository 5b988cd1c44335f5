//! Cutting the absolute URLs the transport builds or is sent (endpoints,
//! redirect `Location`s) into what a request needs: the origin
//! (`scheme://host:port`) it connects to and the target (path and query) it
//! asks for. Byte work on strings; no parsing beyond that.

/// Splits an absolute URL into its origin (`scheme://host:port`) and its
/// target (path and query, `/` when empty).
pub(crate) fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = after_scheme(url);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, "/"),
    }
}

/// Where what follows `scheme://` starts in `url` (0 without a scheme).
/// Looks at the first `:` first, byte by byte: on a URL this short, a
/// `str` search costs more than the rest of building the request head.
pub(crate) fn after_scheme(url: &str) -> usize {
    match url.bytes().position(|b| b == b':') {
        Some(i) if url[i..].starts_with("://") => i + 3,
        _ => url.find("://").map_or(0, |i| i + 3),
    }
}

#[cfg(test)]
mod tests {
    use super::{after_scheme, split_url};

    #[test]
    fn origin_and_target() {
        assert_eq!(
            split_url("http://127.0.0.1:2379/v2/keys/a?x=1"),
            ("http://127.0.0.1:2379", "/v2/keys/a?x=1")
        );
        assert_eq!(split_url("https://[::1]:2379"), ("https://[::1]:2379", "/"));
        assert_eq!(
            split_url("http://h:1/proxy/v2/keys"),
            ("http://h:1", "/proxy/v2/keys")
        );
        assert_eq!(after_scheme("https://h:1"), 8);
        assert_eq!(after_scheme("h:1"), 0);
        assert_eq!(after_scheme("h:1/a://b"), 8);
    }
}
