//! The v2 auth API in C: auth on/off, users, roles, and `etcdc_strings`,
//! the list of names they return.

use std::ffi::{c_char, c_int};
use std::ptr;

use super::client::etcdc_client;
use super::{arg_out, arg_ref, arg_str, put_box, status, str_list, Arena, Strings};
use crate::error::{Error, Result};
use crate::v2::auth::Permission;

/// `etcdc_role_grant()` / `etcdc_role_revoke()`: read access.
pub const ETCDC_PERM_READ: c_int = 1;
/// `etcdc_role_grant()` / `etcdc_role_revoke()`: write access.
pub const ETCDC_PERM_WRITE: c_int = 2;
/// `etcdc_role_grant()` / `etcdc_role_revoke()`: read and write access.
pub const ETCDC_PERM_READWRITE: c_int = 3;

/// A list of strings (user names, role names, key patterns), owned by the
/// caller and freed with `etcdc_strings_free()`. Read-only: any number of
/// threads may read it.
pub struct etcdc_strings {
    items: Vec<*const c_char>,
    _strings: Strings,
}

// SAFETY: the pointers point into `_strings`, owned by the list, never mutated.
unsafe impl Send for etcdc_strings {}
// SAFETY: as above.
unsafe impl Sync for etcdc_strings {}

impl etcdc_strings {
    fn new(list: &[String]) -> etcdc_strings {
        let mut arena = Arena::default();
        let offsets: Vec<usize> = list.iter().map(|s| arena.add(s)).collect();
        let strings = arena.freeze();
        etcdc_strings {
            items: offsets.iter().map(|&o| strings.ptr(o)).collect(),
            _strings: strings,
        }
    }
}

/// Stores a new list in `*out` when `out` is not NULL.
unsafe fn put_strings(out: *mut *mut etcdc_strings, list: &[String]) {
    if !out.is_null() {
        // SAFETY: per the contract.
        unsafe { put_box(out, etcdc_strings::new(list)) };
    }
}

/// Number of strings in the list (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_strings_count(list: *const etcdc_strings) -> usize {
    super::boundary(|| {
        // SAFETY: NULL or live per the contract.
        unsafe { list.as_ref() }.map_or(0, |l| l.items.len())
    })
}

/// String `i` (0-based), borrowed from the list (valid until it is freed),
/// or NULL if out of range.
#[no_mangle]
pub unsafe extern "C" fn etcdc_strings_get(list: *const etcdc_strings, i: usize) -> *const c_char {
    super::boundary(|| {
        // SAFETY: NULL or live per the contract.
        unsafe { list.as_ref() }
            .and_then(|l| l.items.get(i).copied())
            .unwrap_or(ptr::null())
    })
}

/// Frees a list and the strings borrowed from it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_strings_free(list: *mut etcdc_strings) {
    super::boundary(|| {
        if !list.is_null() {
            // SAFETY: a Box given out by this library, freed once.
            drop(unsafe { Box::from_raw(list) });
        }
    })
}

/// Stores the list `f` gets from the client in `*names` (required).
unsafe fn names_of(
    client: *const etcdc_client,
    names: *mut *mut etcdc_strings,
    f: impl FnOnce(&crate::Client) -> Result<Vec<String>>,
) -> super::etcdc_status {
    status(|| {
        // SAFETY: per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        unsafe { arg_out(names, "names") }?;
        let list = f(&client.client)?;
        unsafe { put_strings(names, &list) };
        Ok(())
    })
}

/// Runs `f` on the client and a required string argument.
unsafe fn with_name(
    client: *const etcdc_client,
    name: *const c_char,
    what: &str,
    f: impl FnOnce(&crate::Client, &str) -> Result<()>,
) -> super::etcdc_status {
    status(|| {
        // SAFETY: per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let name = unsafe { arg_str(name, what) }?;
        f(&client.client, name)
    })
}

/// Stores in `*enabled` whether auth is on (anyone may ask).
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_auth_enabled(
    client: *const etcdc_client,
    enabled: *mut bool,
) -> super::etcdc_status {
    status(|| {
        // SAFETY: per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let enabled = unsafe { arg_out(enabled, "enabled") }?;
        *enabled = client.client.auth_enabled()?;
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
pub unsafe extern "C" fn etcdc_auth_enable(client: *const etcdc_client) -> super::etcdc_status {
    status(|| {
        // SAFETY: per the header's contract.
        unsafe { arg_ref(client, "client") }?.client.enable_auth()
    })
}

/// Turns auth off (needs root's credentials): every request is allowed.
///
/// Errors: `ETCDC_ERR_UNAUTHORIZED`, `ETCDC_ERR_HTTP_STATUS` 409 when already
/// off, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_auth_disable(client: *const etcdc_client) -> super::etcdc_status {
    status(|| {
        // SAFETY: per the header's contract.
        unsafe { arg_ref(client, "client") }?.client.disable_auth()
    })
}

/// Stores the names of all users in `*names`: a new list, freed with
/// `etcdc_strings_free()`. Needs the root role once auth is on.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_users(
    client: *const etcdc_client,
    names: *mut *mut etcdc_strings,
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe { names_of(client, names, crate::Client::users) }
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
) -> super::etcdc_status {
    status(|| {
        // SAFETY: per the header's contract.
        let client = unsafe { arg_ref(client, "client") }?;
        let name = unsafe { arg_str(name, "name") }?;
        unsafe { arg_out(roles, "roles") }?;
        let user = client.client.user(name)?;
        unsafe { put_strings(roles, &user.roles) };
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
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe {
        with_name(client, name, "name", |c, name| {
            let password = arg_str(password, "password")?;
            c.set_user(name, password).map(drop)
        })
    }
}

/// Deletes user `name` ("root" only while auth is off).
///
/// Errors: `ETCDC_ERR_HTTP_STATUS` 404 for no such user,
/// `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_user_delete(
    client: *const etcdc_client,
    name: *const c_char,
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe { with_name(client, name, "name", |c, name| c.delete_user(name)) }
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
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe {
        with_name(client, name, "name", |c, name| {
            c.grant_roles(name, &str_list(roles, count, "roles")?)
                .map(drop)
        })
    }
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
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe {
        with_name(client, name, "name", |c, name| {
            c.revoke_roles(name, &str_list(roles, count, "roles")?)
                .map(drop)
        })
    }
}

/// Stores the names of all roles ("root" and "guest" included) in `*names`:
/// a new list, freed with `etcdc_strings_free()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_roles(
    client: *const etcdc_client,
    names: *mut *mut etcdc_strings,
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe { names_of(client, names, crate::Client::roles) }
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
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe {
        with_name(client, name, "name", |c, name| {
            let role = c.role(name)?;
            put_strings(read, &role.read);
            put_strings(write, &role.write);
            Ok(())
        })
    }
}

/// Creates role `name` without permissions.
///
/// Errors: `ETCDC_ERR_HTTP_STATUS` 409 if it exists, `ETCDC_ERR_INVALID_ARGUMENT`,
/// `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_role_create(
    client: *const etcdc_client,
    name: *const c_char,
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe {
        with_name(client, name, "name", |c, name| {
            c.create_role(name).map(drop)
        })
    }
}

/// Deletes role `name`.
///
/// Errors: `ETCDC_ERR_HTTP_STATUS` 404 for no such role, 403 for "root",
/// `ETCDC_ERR_INVALID_ARGUMENT`, `ETCDC_ERR_UNAUTHORIZED`, request errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_role_delete(
    client: *const etcdc_client,
    name: *const c_char,
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe { with_name(client, name, "name", |c, name| c.delete_role(name)) }
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
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe {
        with_name(client, role, "role", |c, role| {
            let p = self::permission(permission)?;
            c.grant_permissions(role, p, &str_list(patterns, count, "patterns")?)
                .map(drop)
        })
    }
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
) -> super::etcdc_status {
    // SAFETY: per the header's contract.
    unsafe {
        with_name(client, role, "role", |c, role| {
            let p = self::permission(permission)?;
            c.revoke_permissions(role, p, &str_list(patterns, count, "patterns")?)
                .map(drop)
        })
    }
}
