//! etcd's v3 API over gRPC.
//!
//! For now only its messages: [`proto`], generated from etcd's `.proto` files
//! by tools/gen-proto (`make proto`) and committed.

pub(crate) mod proto;
