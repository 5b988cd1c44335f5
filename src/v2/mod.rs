//! etcd's v2 API: keys, watches, cluster and auth, over HTTP/1.1 with JSON
//! bodies. Each module adds its requests to [`Client`](crate::Client) and
//! turns etcd's answers into results; [`reply`] reads what all v2 answers
//! share: etcd's index headers, and error bodies into
//! [`Error`](crate::Error)s. [`cluster::DISCOVERY`] tells the transport how
//! to list the members over v2.

pub(crate) mod auth;
pub(crate) mod cluster;
pub(crate) mod keys;
pub(crate) mod node;
pub(crate) mod reply;
pub(crate) mod watch;
