//! The two etcd versions the v3 tests run against, and `both!`, which
//! makes one test of each: `mod name { etcd34, etcd35 }`.

use super::{etcd35, Etcd, Options};

/// Which etcd a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Debian's etcd 3.4.
    V34,
    /// Upstream etcd 3.5.1.
    V35,
}

impl Server {
    /// The etcd of this version shared by the tests of this binary.
    pub fn shared(self) -> &'static Etcd {
        match self {
            Server::V34 => super::shared(),
            Server::V35 => etcd35::shared(),
        }
    }

    /// A private etcd of this version.
    pub fn start(self) -> Etcd {
        match self {
            Server::V34 => Etcd::start(),
            Server::V35 => etcd35::start(Options::default()),
        }
    }
}

/// One test, generated for both versions: `mod name { etcd34, etcd35 }`,
/// each calling the body with its [`Server`].
#[macro_export]
macro_rules! both {
    ($(#[doc = $doc:literal])* fn $name:ident($server:ident) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            use super::*;

            #[test]
            fn etcd34() {
                run(common::versions::Server::V34)
            }

            #[test]
            fn etcd35() {
                run(common::versions::Server::V35)
            }

            fn run($server: common::versions::Server) $body
        }
    };
}
