//! etcd's v2 auth API: auth on and off, users, roles and their
//! permissions. Names come back as `etcdc_strings` lists.

use std::ffi::{c_char, c_int};

use super::args::give_opt;
use super::client::etcdc_client;
use super::list::etcdc_strings;
use super::{etcdc_status, status};
use crate::error::{Error, Result};
use crate::Permission;

/// `etcdc_role_grant()` / `etcdc_role_revoke()`: read access.
pub const ETCDC_PERM_READ: c_int = 1;
/// `etcdc_role_grant()` / `etcdc_role_revoke()`: write access.
pub const ETCDC_PERM_WRITE: c_int = 2;
/// `etcdc_role_grant()` / `etcdc_role_revoke()`: read and write access.
pub const ETCDC_PERM_READWRITE: c_int = 3;

/// Stores a new list in `*out` when `out` is not NULL (else writable, per
/// the contract).
fn put_strings(out: *mut *mut etcdc_strings, list: &[String]) {
    // SAFETY: NULL or writable, per the contract.
    unsafe { give_opt(out, etcdc_strings::new(list)) };
}

/// Stores the list `f` gets from the client in `*names` (required).
fn names_of(
    client: *const etcdc_client,
    names: *mut *mut etcdc_strings,
    f: impl FnOnce(&crate::Client) -> Result<Vec<String>>,
) -> etcdc_status {
    status(|| {
        let names = arg_mut!(names);
        let list = f(arg!(client))?;
        put_strings(names, &list);
        Ok(())
    })
}

/// Runs `f` on the client and the required string argument `name`.
fn with_name(
    client: *const etcdc_client,
    name: *const c_char,
    f: impl FnOnce(&crate::Client, &str) -> Result<()>,
) -> etcdc_status {
    status(|| f(arg!(client), string!(name)))
}

/// Runs `f` on the client and the required string argument `role`.
fn with_role(
    client: *const etcdc_client,
    role: *const c_char,
    f: impl FnOnce(&crate::Client, &str) -> Result<()>,
) -> etcdc_status {
    status(|| f(arg!(client), string!(role)))
}

/// Stores in `*enabled` whether auth is on (anyone may ask).
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_auth_enabled(
    client: *const etcdc_client,
    enabled: *mut bool,
) -> etcdc_status {
    status(|| {
        *arg_mut!(enabled) = arg!(client).auth_enabled()?;
        Ok(())
    })
}

/// Turns auth on. The user "root" must exist (`etcdc_user_set()`). Once on,
/// only users with the root role manage users and roles, and requests
/// without credentials get the "guest" role's rights (every key, until
/// revoked).
///
/// Errors: `ETCDC_ERR_HTTP_STATUS` 409 when already on, 400 without a root
/// user; `ETCDC_ERR_UNAUTHORIZED`; request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_auth_enable(client: *const etcdc_client) -> etcdc_status {
    status(|| arg!(client).enable_auth())
}

/// Turns auth off (needs root's credentials): every request is allowed.
///
/// Errors: `ETCDC_ERR_UNAUTHORIZED`, `ETCDC_ERR_HTTP_STATUS` 409 when already
/// off, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_auth_disable(client: *const etcdc_client) -> etcdc_status {
    status(|| arg!(client).disable_auth())
}

/// Stores the names of all users in `*names`: a new list, freed with
/// `etcdc_strings_free()`. Needs the root role once auth is on.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_users(
    client: *const etcdc_client,
    names: *mut *mut etcdc_strings,
) -> etcdc_status {
    names_of(client, names, crate::Client::users)
}

/// Stores the role names of user `name` in `*roles`: a new list, freed with
/// `etcdc_strings_free()`.
///
/// Errors: `ETCDC_ERR_HTTP_STATUS` 404 for no such user,
/// `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_user_get(
    client: *const etcdc_client,
    name: *const c_char,
    roles: *mut *mut etcdc_strings,
) -> etcdc_status {
    status(|| {
        let roles = arg_mut!(roles);
        let user = arg!(client).user(string!(name))?;
        put_strings(roles, &user.roles);
        Ok(())
    })
}

/// Creates user `name` with `password`, or sets the password of an existing
/// user (etcd does not tell the two apart). Both strings are copied.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` (NULL, invalid UTF-8, a name with
/// "/"), `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_user_set(
    client: *const etcdc_client,
    name: *const c_char,
    password: *const c_char,
) -> etcdc_status {
    with_name(client, name, |c, name| {
        c.set_user(name, string!(password)).map(drop)
    })
}

/// Deletes user `name` ("root" only while auth is off).
///
/// Errors: `ETCDC_ERR_HTTP_STATUS` 404 for no such user,
/// `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_user_delete(
    client: *const etcdc_client,
    name: *const c_char,
) -> etcdc_status {
    with_name(client, name, |c, name| c.delete_user(name))
}

/// Grants the `count` roles in `roles` to user `name`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` (also `count` 0),
/// `ETCDC_ERR_HTTP_STATUS` 404 for no such user, `ETCDC_ERR_UNAUTHORIZED`,
/// request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_user_grant_roles(
    client: *const etcdc_client,
    name: *const c_char,
    roles: *const *const c_char,
    count: usize,
) -> etcdc_status {
    with_name(client, name, |c, name| {
        c.grant_roles(name, &strings!(roles, count)).map(drop)
    })
}

/// Revokes the `count` roles in `roles` from user `name`.
///
/// Errors: as `etcdc_user_grant_roles()`, and `ETCDC_ERR_HTTP_STATUS` 409 for
/// a role the user does not have.
#[no_mangle]
pub unsafe extern "C" fn etcdc_user_revoke_roles(
    client: *const etcdc_client,
    name: *const c_char,
    roles: *const *const c_char,
    count: usize,
) -> etcdc_status {
    with_name(client, name, |c, name| {
        c.revoke_roles(name, &strings!(roles, count)).map(drop)
    })
}

/// Stores the names of all roles ("root" and "guest" included) in `*names`:
/// a new list, freed with `etcdc_strings_free()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_roles(
    client: *const etcdc_client,
    names: *mut *mut etcdc_strings,
) -> etcdc_status {
    names_of(client, names, crate::Client::roles)
}

/// Stores the key patterns role `name` may read in `*read` and may write in
/// `*write`: new lists, freed with `etcdc_strings_free()`; either pointer may
/// be NULL when not wanted.
///
/// Errors: `ETCDC_ERR_HTTP_STATUS` 404 for no such role,
/// `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_role_get(
    client: *const etcdc_client,
    name: *const c_char,
    read: *mut *mut etcdc_strings,
    write: *mut *mut etcdc_strings,
) -> etcdc_status {
    with_name(client, name, |c, name| {
        let role = c.role(name)?;
        put_strings(read, &role.read);
        put_strings(write, &role.write);
        Ok(())
    })
}

/// Creates role `name` without permissions.
///
/// Errors: `ETCDC_ERR_HTTP_STATUS` 409 if it exists, `ETCDC_ERR_INVALID_ARGUMENT`,
/// `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_role_create(
    client: *const etcdc_client,
    name: *const c_char,
) -> etcdc_status {
    with_name(client, name, |c, name| c.create_role(name).map(drop))
}

/// Deletes role `name`.
///
/// Errors: `ETCDC_ERR_HTTP_STATUS` 404 for no such role, 403 for "root",
/// `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_role_delete(
    client: *const etcdc_client,
    name: *const c_char,
) -> etcdc_status {
    with_name(client, name, |c, name| c.delete_role(name))
}

fn permission(p: c_int) -> Result<Permission> {
    match p {
        ETCDC_PERM_READ => Ok(Permission::Read),
        ETCDC_PERM_WRITE => Ok(Permission::Write),
        ETCDC_PERM_READWRITE => Ok(Permission::ReadWrite),
        other => Err(Error::InvalidArgument(format!(
            "permission {other} is not ETCDC_PERM_READ, _WRITE or _READWRITE"
        ))),
    }
}

/// Grants `permission` (`ETCDC_PERM_READ`, `_WRITE` or `_READWRITE`) on the
/// `count` key patterns in `patterns` to role `role`. A pattern ending in a
/// star covers every key that starts with what comes before the star (so
/// "/app/" and a star: everything under /app); any other names one key.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` (also `count` 0 or an unknown
/// permission), `ETCDC_ERR_HTTP_STATUS` 404 for no such role, 403 for
/// "root", `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_role_grant(
    client: *const etcdc_client,
    role: *const c_char,
    permission: c_int,
    patterns: *const *const c_char,
    count: usize,
) -> etcdc_status {
    with_role(client, role, |c, role| {
        let p = self::permission(permission)?;
        c.grant_permissions(role, p, &strings!(patterns, count))
            .map(drop)
    })
}

/// Revokes `permission` on the `count` key patterns in `patterns` from role
/// `role`.
///
/// Errors: as `etcdc_role_grant()`.
#[no_mangle]
pub unsafe extern "C" fn etcdc_role_revoke(
    client: *const etcdc_client,
    role: *const c_char,
    permission: c_int,
    patterns: *const *const c_char,
    count: usize,
) -> etcdc_status {
    with_role(client, role, |c, role| {
        let p = self::permission(permission)?;
        c.revoke_permissions(role, p, &strings!(patterns, count))
            .map(drop)
    })
}
