//! etcd's v2 API: keys, watches, cluster and auth, over HTTP/1.1 with JSON
//! bodies. Each module adds its requests to [`Client`](crate::Client) and
//! turns etcd's answers and error bodies into results and
//! [`Error`](crate::Error)s.

pub(crate) mod auth;
pub(crate) mod cluster;
pub(crate) mod keys;
pub(crate) mod node;
pub(crate) mod watch;
