//! etcdc: a client for etcd, its v3 API (gRPC) and its v2 HTTP API.
//!
//! A blocking Rust client ([`Client`]; the v3 API is [`Client::v3`]) and,
//! in [`ffi`], the C API over it that `include/etcdc.h` declares.
//!
//! ```no_run
//! let client = etcdc::Client::new("127.0.0.1", 2379)?;
//! client.v3().put("nodes/n1", "1")?;
//! assert_eq!(client.v3().get("nodes/n1")?.unwrap().value, b"1");
//! // v2, on an etcd that serves it:
//! client.set("/nodes/n1", "1")?;
//! assert_eq!(client.get("/nodes/n1")?.node.value.as_deref(), Some("1"));
//! # Ok::<(), etcdc::Error>(())
//! ```

mod cancel;
mod client;
mod error;
pub mod ffi;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod recipes;
mod transport;
/// Not an API: the HTTP/2 + gRPC connection layer the v3 client is built
/// on, reachable for `tests/http2.rs` (its fault-server cases).
#[doc(hidden)]
pub mod __http2 {
    pub use crate::transport::grpc::{Code, GrpcStatus, GrpcStream};
    pub use crate::transport::http2::{CallError, CancelToken, Config, H2Connection, Reason};
}
mod v2;
pub mod v3;

pub use cancel::Canceller;
pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_READ_TIMEOUT,
};
pub use error::{Error, EtcdError, Result};
pub use recipes::election::{Election, DEFAULT_ELECTION_PREFIX};
pub use recipes::lock::{Lock, LockGuard, LockOptions, DEFAULT_LOCK_PREFIX};
pub use v2::auth::{Permission, Role, User};
pub use v2::cluster::{Member, Version};
pub use v2::keys::{DeleteOptions, ReadOptions, WriteOptions, MAX_TTL};
pub use v2::node::{Action, Headers, Leaves, Node, Response};
pub use v2::watch::{WatchOptions, Watcher};
