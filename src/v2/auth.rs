//! The v2 auth API (`/v2/auth/…`): turning auth on and off, users and roles.
//!
//! Managing users and roles needs the `root` role; enabling auth needs the
//! user `root` to exist. Failures: [`Error::Unauthorized`] without those
//! rights; [`Error::HttpStatus`] with etcd's message for the rest
//! (404 no such user or role, 409 already enabled/disabled, role already
//! exists, revoking a role not granted; 403 changing the `root` role).

use serde::{Deserialize, Serialize};
use ureq::http::Method;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::{Limit, Payload};
use crate::v2::keys::key_path_segment;
use crate::v2::reply::into_success;

/// A user: its name and the names of its roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub roles: Vec<String>,
}

/// A role: its name and the key patterns (such as `/app/*`) it may read
/// and write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub read: Vec<String>,
    pub write: Vec<String>,
}

/// Which access a role is granted or loses on key patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Write,
    ReadWrite,
}

/// A role as etcd lists it inside a user: a name, or the whole role.
#[derive(Deserialize)]
#[serde(untagged)]
enum RoleRef {
    Name(String),
    Role(RoleBody),
}

#[derive(Deserialize)]
struct UserBody {
    user: String,
    #[serde(default)]
    roles: Option<Vec<RoleRef>>,
}

#[derive(Deserialize, Serialize, Default)]
struct Kv {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    read: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    write: Option<Vec<String>>,
}

#[derive(Deserialize, Serialize, Default)]
struct Permissions {
    #[serde(default)]
    kv: Kv,
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
    #[serde(default)]
    permissions: Permissions,
}

impl From<UserBody> for User {
    fn from(u: UserBody) -> User {
        let roles = u.roles.unwrap_or_default().into_iter();
        User {
            name: u.user,
            roles: roles
                .map(|r| match r {
                    RoleRef::Name(name) => name,
                    RoleRef::Role(role) => role.role,
                })
                .collect(),
        }
    }
}

impl From<RoleBody> for Role {
    fn from(r: RoleBody) -> Role {
        Role {
            name: r.role,
            read: r.permissions.kv.read.unwrap_or_default(),
            write: r.permissions.kv.write.unwrap_or_default(),
        }
    }
}

fn protocol(what: &str) -> impl Fn(serde_json::Error) -> Error + '_ {
    move |e| Error::Protocol(format!("bad {what}: {e}"))
}

/// Parses a user (`/v2/auth/users/<name>` and the answers to changes).
pub(crate) fn parse_user(body: &[u8]) -> Result<User> {
    serde_json::from_slice::<UserBody>(body)
        .map(User::from)
        .map_err(protocol("user"))
}

/// Parses a role.
pub(crate) fn parse_role(body: &[u8]) -> Result<Role> {
    serde_json::from_slice::<RoleBody>(body)
        .map(Role::from)
        .map_err(protocol("role"))
}

/// Parses `/v2/auth/users` into names (etcd lists users with their roles;
/// older versions list names only).
pub(crate) fn parse_user_names(body: &[u8]) -> Result<Vec<String>> {
    parse_names(body, "user list", |u: UserBody| u.user)
}

/// Parses `/v2/auth/roles` into names.
pub(crate) fn parse_role_names(body: &[u8]) -> Result<Vec<String>> {
    parse_names(body, "role list", |r: RoleBody| r.role)
}

/// `{"users": [...]}` or `{"roles": [...]}` (null: none), each entry a
/// name or a whole `T`, whose name `name_of` gives.
fn parse_names<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
    name_of: impl Fn(T) -> String,
) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry<T> {
        Name(String),
        Full(T),
    }
    #[derive(Deserialize)]
    struct List<T> {
        #[serde(rename = "users", alias = "roles")]
        items: Option<Vec<Entry<T>>>,
    }
    let list: List<T> = serde_json::from_slice(body).map_err(protocol(what))?;
    Ok(list
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|e| match e {
            Entry::Name(n) => n,
            Entry::Full(t) => name_of(t),
        })
        .collect())
}

/// Parses `/v2/auth/enable`.
pub(crate) fn parse_enabled(body: &[u8]) -> Result<bool> {
    #[derive(Deserialize)]
    struct Enabled {
        enabled: bool,
    }
    serde_json::from_slice::<Enabled>(body)
        .map(|e| e.enabled)
        .map_err(protocol("auth status"))
}

/// A user or role name as a path segment: non-empty, percent-encoded.
fn name_path(kind: &str, name: &str) -> Result<String> {
    if name.is_empty() {
        return Err(Error::InvalidArgument(format!("empty {kind} name")));
    }
    Ok(format!("/auth/{kind}s/{}", key_path_segment(name)?))
}

impl Client {
    fn auth_request(&self, method: Method, path: &str, json: Option<String>) -> Result<Vec<u8>> {
        let payload = json.as_deref().map_or(Payload::Empty, Payload::Json);
        let reply = self.transport.request_with(
            method,
            &self.transport.api_path(path),
            payload,
            Limit::Default,
            &mut |_| {},
        )?;
        Ok(into_success(reply)?.body)
    }

    /// Whether auth is enabled (anyone may ask).
    pub fn auth_enabled(&self) -> Result<bool> {
        parse_enabled(&self.auth_request(Method::GET, "/auth/enable", None)?)
    }

    /// Turns auth on. The user `root` must exist; once on, only users with
    /// the `root` role manage users and roles, and requests without
    /// credentials get the `guest` role's rights (all keys, until revoked).
    pub fn enable_auth(&self) -> Result<()> {
        self.auth_request(Method::PUT, "/auth/enable", None)
            .map(drop)
    }

    /// Turns auth off (as root): every request is allowed again.
    pub fn disable_auth(&self) -> Result<()> {
        self.auth_request(Method::DELETE, "/auth/enable", None)
            .map(drop)
    }

    /// The names of all users.
    pub fn users(&self) -> Result<Vec<String>> {
        parse_user_names(&self.auth_request(Method::GET, "/auth/users", None)?)
    }

    /// One user and its roles.
    pub fn user(&self, name: &str) -> Result<User> {
        parse_user(&self.auth_request(Method::GET, &name_path("user", name)?, None)?)
    }

    /// Creates the user `name` with this password, or sets the password of
    /// an existing user: etcd does not tell the two apart.
    pub fn set_user(&self, name: &str, password: &str) -> Result<User> {
        let body = serde_json::json!({ "user": name, "password": password });
        self.user_change(name, body)
    }

    /// Deletes a user (`root` only while auth is disabled).
    pub fn delete_user(&self, name: &str) -> Result<()> {
        self.auth_request(Method::DELETE, &name_path("user", name)?, None)
            .map(drop)
    }

    /// Grants roles to a user; returns the user as it is now.
    pub fn grant_roles(&self, name: &str, roles: &[&str]) -> Result<User> {
        self.user_change(name, serde_json::json!({ "user": name, "grant": roles }))
    }

    /// Revokes roles from a user (409 for a role it does not have).
    pub fn revoke_roles(&self, name: &str, roles: &[&str]) -> Result<User> {
        self.user_change(name, serde_json::json!({ "user": name, "revoke": roles }))
    }

    fn user_change(&self, name: &str, body: serde_json::Value) -> Result<User> {
        let path = name_path("user", name)?;
        parse_user(&self.auth_request(Method::PUT, &path, Some(body.to_string()))?)
    }

    /// The names of all roles (`root` and `guest` included).
    pub fn roles(&self) -> Result<Vec<String>> {
        parse_role_names(&self.auth_request(Method::GET, "/auth/roles", None)?)
    }

    /// One role and its permissions.
    pub fn role(&self, name: &str) -> Result<Role> {
        parse_role(&self.auth_request(Method::GET, &name_path("role", name)?, None)?)
    }

    /// Creates a role without permissions (409 if it exists).
    pub fn create_role(&self, name: &str) -> Result<Role> {
        self.role_change(name, serde_json::json!({ "role": name }))
    }

    /// Deletes a role.
    pub fn delete_role(&self, name: &str) -> Result<()> {
        self.auth_request(Method::DELETE, &name_path("role", name)?, None)
            .map(drop)
    }

    /// Grants `permission` on key patterns (`/app/*`: the key `/app` and
    /// everything under it; `/app/x`: that key only) to a role; returns the
    /// role as it is now.
    pub fn grant_permissions(
        &self,
        role: &str,
        permission: Permission,
        patterns: &[&str],
    ) -> Result<Role> {
        self.permission_change(role, "grant", permission, patterns)
    }

    /// Revokes `permission` on key patterns from a role.
    pub fn revoke_permissions(
        &self,
        role: &str,
        permission: Permission,
        patterns: &[&str],
    ) -> Result<Role> {
        self.permission_change(role, "revoke", permission, patterns)
    }

    /// `{"role": role, "grant"|"revoke": {"kv": …}}`.
    fn permission_change(
        &self,
        role: &str,
        verb: &str,
        permission: Permission,
        patterns: &[&str],
    ) -> Result<Role> {
        let mut body = serde_json::json!({ "role": role });
        body[verb] = serde_json::json!({ "kv": kv(permission, patterns) });
        self.role_change(role, body)
    }

    fn role_change(&self, name: &str, body: serde_json::Value) -> Result<Role> {
        let path = name_path("role", name)?;
        parse_role(&self.auth_request(Method::PUT, &path, Some(body.to_string()))?)
    }
}

fn kv(permission: Permission, patterns: &[&str]) -> Kv {
    let list = || Some(patterns.iter().map(|p| (*p).to_owned()).collect());
    Kv {
        read: matches!(permission, Permission::Read | Permission::ReadWrite)
            .then(list)
            .flatten(),
        write: matches!(permission, Permission::Write | Permission::ReadWrite)
            .then(list)
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_roles_parse_as_etcd_3_4_sends_them() {
        let user = parse_user(br#"{"user":"u","roles":[{"role":"ro","permissions":{"kv":{"read":["/app/*"],"write":[]}}}]}"#).unwrap();
        assert_eq!(
            user,
            User {
                name: "u".into(),
                roles: vec!["ro".into()]
            }
        );
        assert_eq!(
            parse_user(br#"{"user":"u","roles":null}"#).unwrap().roles,
            Vec::<String>::new()
        );
        assert_eq!(
            parse_user(br#"{"user":"u","roles":["a","b"]}"#)
                .unwrap()
                .roles,
            ["a", "b"]
        );
        let role =
            parse_role(br#"{"role":"r","permissions":{"kv":{"read":null,"write":null}}}"#).unwrap();
        assert_eq!(
            role,
            Role {
                name: "r".into(),
                read: vec![],
                write: vec![]
            }
        );
        assert_eq!(
            parse_user_names(
                br#"{"users":[{"user":"root","roles":[]},{"user":"u","roles":null}]}"#
            )
            .unwrap(),
            ["root", "u"]
        );
        assert_eq!(parse_role_names(br#"{"roles":[{"role":"guest","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}]}"#).unwrap(), ["guest"]);
        assert!(parse_enabled(br#"{"enabled":true}"#).unwrap());
    }

    #[test]
    fn permissions_serialise_only_what_is_asked() {
        let json = |p| serde_json::to_string(&kv(p, &["/a/*"])).unwrap();
        assert_eq!(json(Permission::Read), r#"{"read":["/a/*"]}"#);
        assert_eq!(
            json(Permission::ReadWrite),
            r#"{"read":["/a/*"],"write":["/a/*"]}"#
        );
    }
}
