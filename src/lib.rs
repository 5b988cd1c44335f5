//! etcdc: a client for etcd's v2 HTTP API.
//!
//! A blocking Rust client ([`Client`]) and, in [`ffi`], the C API over it that
//! `include/etcdc.h` declares.
//!
//! ```no_run
//! let client = etcdc::Client::new("127.0.0.1", 2379)?;
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
mod v2;

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
