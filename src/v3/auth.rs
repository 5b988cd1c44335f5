//! Auth: turning it on and off, users, roles and the key permissions of
//! roles.
//!
//! etcd's v3 auth is off until [`V3::auth_enable`]; it needs a user `root`
//! with the role `root` first. Once on, every call needs a user: build the
//! client with [`ClientBuilder::basic_auth`](crate::ClientBuilder::basic_auth)
//! (see [`super`]'s Auth for the token it gets and renews). The user `root`
//! (or any user with the role `root`) may do everything; other users what
//! their roles' [`Permission`]s allow on keys, and nothing here (users,
//! roles, auth, cluster, maintenance are the `root` role's).
//!
//! Errors common to every v3 call once auth is on, as
//! [`Error::Grpc`](crate::Error::Grpc) with etcd's text (etcd 3.4.23 and
//! 3.5.1 alike): `PermissionDenied` "etcdserver: permission denied" (the
//! user lacks the `root` role, or a permission on the keys);
//! `InvalidArgument` "etcdserver: user name is empty" (the client has no
//! credentials); `InvalidArgument` "etcdserver: authentication failed,
//! invalid user ID or password" (a wrong password or an unknown user,
//! alike). While auth is off, a client with credentials makes its calls
//! without a token (etcd will not authenticate anyone then), and
//! authenticates again once etcd asks for a user name.
//!
//! Passwords are never printed: they appear in no error and no `Debug`.

use super::kv::prefix_end;
use super::proto::{authpb, etcdserverpb as pb, methods};
use super::types::Header;
use super::V3;
use crate::error::Result;
use crate::transport::unary::Kind;

/// Whether auth is on ([`V3::auth_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthStatus {
    pub header: Header,
    pub enabled: bool,
    /// The revision of etcd's auth store: it grows with every change of
    /// users, roles, permissions or of auth itself.
    pub auth_revision: u64,
}

/// What a [`Permission`] allows on its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermissionKind {
    Read,
    Write,
    ReadWrite,
}

impl PermissionKind {
    fn to_pb(self) -> i32 {
        use authpb::permission::Type;
        (match self {
            PermissionKind::Read => Type::Read,
            PermissionKind::Write => Type::Write,
            PermissionKind::ReadWrite => Type::Readwrite,
        }) as i32
    }

    /// etcd's number; one it does not define reads as `Read`, the least.
    fn from_pb(n: i32) -> PermissionKind {
        use authpb::permission::Type;
        match Type::try_from(n) {
            Ok(Type::Write) => PermissionKind::Write,
            Ok(Type::Readwrite) => PermissionKind::ReadWrite,
            _ => PermissionKind::Read,
        }
    }
}

/// A role's permission on a key range `[key, range_end)`, as keys are named
/// in [`Range`](super::Range): one key when `range_end` is empty, every key
/// from `key` on when it is `"\0"`.
///
/// `Permission::prefix(PermissionKind::Read, "app/")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Permission {
    pub kind: PermissionKind,
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
}

impl Permission {
    /// On one key.
    pub fn key(kind: PermissionKind, key: impl Into<Vec<u8>>) -> Permission {
        Permission {
            kind,
            key: key.into(),
            range_end: Vec::new(),
        }
    }

    /// On every key that starts with `prefix`; on every key for an empty
    /// one (key `""`, range end `"\0"`, as `etcdctl role grant-permission
    /// --prefix` makes it).
    pub fn prefix(kind: PermissionKind, prefix: impl Into<Vec<u8>>) -> Permission {
        let key = prefix.into();
        let range_end = prefix_end(&key);
        Permission {
            kind,
            key,
            range_end,
        }
    }

    /// On the keys from `from` (included) to `to` (excluded).
    pub fn range(
        kind: PermissionKind,
        from: impl Into<Vec<u8>>,
        to: impl Into<Vec<u8>>,
    ) -> Permission {
        Permission {
            kind,
            key: from.into(),
            range_end: to.into(),
        }
    }

    /// On every key from `from` on (range end `"\0"`).
    pub fn from_key(kind: PermissionKind, from: impl Into<Vec<u8>>) -> Permission {
        Permission::range(kind, from, vec![0])
    }

    fn to_pb(&self) -> authpb::Permission {
        authpb::Permission {
            perm_type: self.kind.to_pb(),
            key: self.key.clone(),
            range_end: self.range_end.clone(),
        }
    }
}

impl From<authpb::Permission> for Permission {
    fn from(p: authpb::Permission) -> Permission {
        Permission {
            kind: PermissionKind::from_pb(p.perm_type),
            key: p.key,
            range_end: p.range_end,
        }
    }
}

impl V3<'_> {
    /// Turns auth on. etcd needs a user `root` with the role `root` first
    /// (the role need not be added: it is built in): without it,
    /// `FailedPrecondition` "etcdserver: root user does not exist" or
    /// "etcdserver: root user does not have root role".
    ///
    /// Once on, this client's calls fail unless it was built with
    /// credentials.
    pub fn auth_enable(&self) -> Result<Header> {
        let answer = self.call(
            methods::AUTH_AUTH_ENABLE,
            &pb::AuthEnableRequest {},
            Kind::Write,
        )?;
        Ok(answer.header.into())
    }

    /// Turns auth off (a `root` user's call).
    ///
    /// Clients with credentials go on without a token (see the module
    /// doc).
    pub fn auth_disable(&self) -> Result<Header> {
        let answer = self.call(
            methods::AUTH_AUTH_DISABLE,
            &pb::AuthDisableRequest {},
            Kind::Write,
        )?;
        Ok(answer.header.into())
    }

    /// Whether auth is on, and the auth store's revision.
    ///
    /// Errors: `Unimplemented` "unknown method AuthStatus for service
    /// etcdserverpb.Auth" from etcd 3.4, which has no such call (a call
    /// without credentials refused with "user name is empty" tells it
    /// there).
    pub fn auth_status(&self) -> Result<AuthStatus> {
        let answer = self.call(
            methods::AUTH_AUTH_STATUS,
            &pb::AuthStatusRequest {},
            Kind::Linearizable,
        )?;
        Ok(AuthStatus {
            header: answer.header.into(),
            enabled: answer.enabled,
            auth_revision: answer.auth_revision,
        })
    }

    /// Adds the user `name` with `password` (an empty one is a password
    /// like any other for etcd); with `None`, a user that has no password
    /// and can only be authenticated by a TLS client certificate whose
    /// common name is `name` (etcd 3.4+): a client giving a password for
    /// it gets `Unknown` "auth: authentication failed, password was given
    /// for no password user".
    ///
    /// Errors: `FailedPrecondition` "etcdserver: user name already exists";
    /// `InvalidArgument` "etcdserver: user name is empty".
    pub fn user_add(&self, name: &str, password: Option<&str>) -> Result<Header> {
        let request = pb::AuthUserAddRequest {
            name: name.to_owned(),
            password: password.unwrap_or_default().to_owned(),
            options: Some(authpb::UserAddOptions {
                no_password: password.is_none(),
            }),
            hashed_password: String::new(),
        };
        let answer = self.call(methods::AUTH_USER_ADD, &request, Kind::Write)?;
        Ok(answer.header.into())
    }

    /// The roles of user `name`, sorted.
    ///
    /// Errors: `FailedPrecondition` "etcdserver: user name not found".
    pub fn user_get(&self, name: &str) -> Result<Vec<String>> {
        let request = pb::AuthUserGetRequest {
            name: name.to_owned(),
        };
        let answer = self.call(methods::AUTH_USER_GET, &request, Kind::Linearizable)?;
        Ok(answer.roles)
    }

    /// The names of every user, sorted.
    pub fn user_list(&self) -> Result<Vec<String>> {
        let answer = self.call(
            methods::AUTH_USER_LIST,
            &pb::AuthUserListRequest {},
            Kind::Linearizable,
        )?;
        Ok(answer.users)
    }

    /// Deletes user `name`.
    ///
    /// Errors: `FailedPrecondition` "etcdserver: user name not found";
    /// `InvalidArgument` "etcdserver: invalid auth management" for `root`
    /// while auth is on.
    pub fn user_delete(&self, name: &str) -> Result<Header> {
        let request = pb::AuthUserDeleteRequest {
            name: name.to_owned(),
        };
        let answer = self.call(methods::AUTH_USER_DELETE, &request, Kind::Write)?;
        Ok(answer.header.into())
    }

    /// Sets user `name`'s password. A client built with the old one can no
    /// longer authenticate once its token expires: build a new one.
    ///
    /// Errors: `FailedPrecondition` "etcdserver: user name not found".
    pub fn user_change_password(&self, name: &str, password: &str) -> Result<Header> {
        let request = pb::AuthUserChangePasswordRequest {
            name: name.to_owned(),
            password: password.to_owned(),
            hashed_password: String::new(),
        };
        let answer = self.call(methods::AUTH_USER_CHANGE_PASSWORD, &request, Kind::Write)?;
        Ok(answer.header.into())
    }

    /// Gives user `name` the role `role` (`root`: every right).
    ///
    /// Errors: `FailedPrecondition` "etcdserver: user name not found",
    /// "etcdserver: role name not found".
    pub fn user_grant_role(&self, name: &str, role: &str) -> Result<Header> {
        let request = pb::AuthUserGrantRoleRequest {
            user: name.to_owned(),
            role: role.to_owned(),
        };
        let answer = self.call(methods::AUTH_USER_GRANT_ROLE, &request, Kind::Write)?;
        Ok(answer.header.into())
    }

    /// Takes the role `role` from user `name`.
    ///
    /// Errors: `FailedPrecondition` "etcdserver: user name not found",
    /// "etcdserver: role is not granted to the user"; `InvalidArgument`
    /// "etcdserver: invalid auth management" for `root`'s role `root`
    /// while auth is on.
    pub fn user_revoke_role(&self, name: &str, role: &str) -> Result<Header> {
        let request = pb::AuthUserRevokeRoleRequest {
            name: name.to_owned(),
            role: role.to_owned(),
        };
        let answer = self.call(methods::AUTH_USER_REVOKE_ROLE, &request, Kind::Write)?;
        Ok(answer.header.into())
    }

    /// Adds the role `name`, without permissions.
    ///
    /// Errors: `FailedPrecondition` "etcdserver: role name already
    /// exists"; `InvalidArgument` "etcdserver: role name is empty".
    pub fn role_add(&self, name: &str) -> Result<Header> {
        let request = pb::AuthRoleAddRequest {
            name: name.to_owned(),
        };
        let answer = self.call(methods::AUTH_ROLE_ADD, &request, Kind::Write)?;
        Ok(answer.header.into())
    }

    /// The permissions of role `name`, by key. The role `root` has none
    /// listed: it may do everything.
    ///
    /// Errors: `FailedPrecondition` "etcdserver: role name not found".
    pub fn role_get(&self, name: &str) -> Result<Vec<Permission>> {
        let request = pb::AuthRoleGetRequest {
            role: name.to_owned(),
        };
        let answer = self.call(methods::AUTH_ROLE_GET, &request, Kind::Linearizable)?;
        Ok(answer.perm.into_iter().map(Permission::from).collect())
    }

    /// The names of every role, sorted.
    pub fn role_list(&self) -> Result<Vec<String>> {
        let answer = self.call(
            methods::AUTH_ROLE_LIST,
            &pb::AuthRoleListRequest {},
            Kind::Linearizable,
        )?;
        Ok(answer.roles)
    }

    /// Deletes role `name` (and takes it from every user).
    ///
    /// Errors: `FailedPrecondition` "etcdserver: role name not found".
    pub fn role_delete(&self, name: &str) -> Result<Header> {
        let request = pb::AuthRoleDeleteRequest {
            role: name.to_owned(),
        };
        let answer = self.call(methods::AUTH_ROLE_DELETE, &request, Kind::Write)?;
        Ok(answer.header.into())
    }

    /// Adds `permission` to role `name`; a permission on exactly the same
    /// keys is replaced (its kind changes). etcd lists a role's
    /// permissions by key.
    ///
    /// Errors: `FailedPrecondition` "etcdserver: role name not found".
    pub fn role_grant_permission(&self, name: &str, permission: &Permission) -> Result<Header> {
        let request = pb::AuthRoleGrantPermissionRequest {
            name: name.to_owned(),
            perm: Some(permission.to_pb()),
        };
        let answer = self.call(methods::AUTH_ROLE_GRANT_PERMISSION, &request, Kind::Write)?;
        Ok(answer.header.into())
    }

    /// Removes role `name`'s permission on exactly `[key, range_end)` (as
    /// granted: `permission.key`, `permission.range_end`).
    ///
    /// Errors: `FailedPrecondition` "etcdserver: role name not found",
    /// "etcdserver: permission is not granted to the role".
    pub fn role_revoke_permission(
        &self,
        name: &str,
        key: impl Into<Vec<u8>>,
        range_end: impl Into<Vec<u8>>,
    ) -> Result<Header> {
        let request = pb::AuthRoleRevokePermissionRequest {
            role: name.to_owned(),
            key: key.into(),
            range_end: range_end.into(),
        };
        let answer = self.call(methods::AUTH_ROLE_REVOKE_PERMISSION, &request, Kind::Write)?;
        Ok(answer.header.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_name_their_keys() {
        let p = Permission::prefix(PermissionKind::Read, "app/");
        assert_eq!((p.key, p.range_end), (b"app/".to_vec(), b"app0".to_vec()));
        let all = Permission::prefix(PermissionKind::Write, "");
        assert_eq!((all.key, all.range_end), (Vec::new(), vec![0]));
        let k = Permission::key(PermissionKind::ReadWrite, "k");
        assert!(k.range_end.is_empty());
        assert_eq!(
            Permission::from_key(PermissionKind::Read, "m").range_end,
            [0]
        );
        for kind in [
            PermissionKind::Read,
            PermissionKind::Write,
            PermissionKind::ReadWrite,
        ] {
            assert_eq!(PermissionKind::from_pb(kind.to_pb()), kind);
        }
    }
}
