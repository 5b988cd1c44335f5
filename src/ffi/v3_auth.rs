//! etcd's v3 auth: turning it on and off, users, roles and the key
//! permissions of roles. (The v2 API has its own auth, separate from this
//! one: see the Auth section.)
//!
//! Auth is off until `etcdc_v3_auth_enable()`, which needs a user "root"
//! with the role "root" first (the role is built in: grant it with
//! `etcdc_v3_user_grant_role()`). Once on, every v3 call needs a user: a
//! client built with `username` and `password` (its token is asked for and
//! renewed on its own). The role "root" may do everything; other users may
//! do what their roles' permissions allow on keys, and nothing of this
//! section, nor membership changes, nor most maintenance.
//!
//! Names and passwords are NUL-terminated UTF-8 strings, copied; keys of
//! permissions are bytes (a pointer and a length, as in the v3 keys
//! section). Passwords appear in no error message.
//!
//! Errors common to every v3 call once auth is on, with etcd's words in
//! `etcdc_error_last()->server_message`: `ETCDC_ERR_GRPC_PERMISSION_DENIED`
//! ("etcdserver: permission denied": the user lacks the role "root", or a
//! permission on the keys); `ETCDC_ERR_GRPC_INVALID_ARGUMENT` ("etcdserver:
//! user name is empty": the client has no credentials; "etcdserver:
//! authentication failed, invalid user ID or password"). While auth is
//! off, clients with credentials and without are answered alike (as etcd
//! 3.4.23 and 3.5.1 do). etcd refuses what it cannot find ("user name not
//! found", "role name not found") and what exists already with
//! `ETCDC_ERR_GRPC_FAILED_PRECONDITION`.
//!
//! Results: names as `etcdc_strings` lists (freed with
//! `etcdc_strings_free()`), a role's permissions as an
//! `etcdc_v3_permission_list` (freed with
//! `etcdc_v3_permission_list_free()`); both owned by the caller, read-only
//! (any number of threads may read one at once), and what their accessors
//! return is borrowed from them.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use super::args::{give, put_opt};
use super::client::etcdc_client;
use super::list::etcdc_strings;
use super::v3_kv::{choice, etcdc_v3_header, read, Blobs};
use super::{etcdc_status, status, OnPanic};
use crate::error::Result;
use crate::v3::{Permission, PermissionKind};

/// What a permission allows on its keys: the values of the `kind`
/// parameter of `etcdc_v3_role_grant_permission()` (an `int`, so that any
/// number can be checked) and of `etcdc_v3_permission_list_kind()`. The
/// same numbers as v2's `ETCDC_PERM_READ`, `_WRITE`, `_READWRITE`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum etcdc_v3_permission_kind {
    /// No permission: what `etcdc_v3_permission_list_kind()` returns for an
    /// index out of range. Never granted.
    ETCDC_V3_PERM_NONE = 0,
    /// Read the keys (range, watch).
    ETCDC_V3_PERM_READ = 1,
    /// Write the keys (put, delete).
    ETCDC_V3_PERM_WRITE = 2,
    /// Both.
    ETCDC_V3_PERM_READWRITE = 3,
}

impl From<etcdc_v3_permission_kind> for c_int {
    fn from(e: etcdc_v3_permission_kind) -> c_int {
        e as c_int
    }
}

impl OnPanic for etcdc_v3_permission_kind {
    fn on_panic() -> Self {
        etcdc_v3_permission_kind::ETCDC_V3_PERM_NONE
    }
}

/// The Rust kind of a C `kind` argument.
fn permission_kind(kind: c_int) -> Result<PermissionKind> {
    use etcdc_v3_permission_kind::*;
    let all = [
        ETCDC_V3_PERM_READ,
        ETCDC_V3_PERM_WRITE,
        ETCDC_V3_PERM_READWRITE,
    ];
    Ok(match choice(kind, &all, "kind")? {
        ETCDC_V3_PERM_WRITE => PermissionKind::Write,
        ETCDC_V3_PERM_READWRITE => PermissionKind::ReadWrite,
        _ => PermissionKind::Read,
    })
}

// ------------------------------------------------------------------ auth

/// Turns auth on. The user "root" must exist and have the role "root":
/// else `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: root user does
/// not exist", "... does not have root role"). Once on, a client without
/// credentials (this one, if it has none) can make no v3 call. On success
/// `*header` (if not NULL) is the answer's header.
///
/// Errors: also `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client`;
/// `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_auth_enable(
    client: *const etcdc_client,
    header: *mut etcdc_v3_header,
) -> etcdc_status {
    status(|| {
        let answer = arg!(client).v3().auth_enable()?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(header, answer.into()) };
        Ok(())
    })
}

/// Turns auth off (a call of a user with the role "root"); off already is
/// no error. Clients with credentials and without are then answered alike
/// (etcd 3.4.23 and 3.5.1 ignore the token of a client that has one). On
/// success `*header` (if not NULL) is the answer's header.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client`; the auth
/// errors of the section's introduction; `ETCDC_ERR_AMBIGUOUS`; transport
/// errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_auth_disable(
    client: *const etcdc_client,
    header: *mut etcdc_v3_header,
) -> etcdc_status {
    status(|| {
        let answer = arg!(client).v3().auth_disable()?;
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(header, answer.into()) };
        Ok(())
    })
}

/// Stores in `*enabled` whether auth is on, and in `*revision` (if not
/// NULL) the revision of etcd's auth store (it grows with every change of
/// users, roles, permissions or of auth itself).
///
/// Errors: `ETCDC_ERR_GRPC_UNIMPLEMENTED` from etcd 3.4, which has no such
/// call; `ETCDC_ERR_INVALID_ARGUMENT` for NULL; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_auth_status(
    client: *const etcdc_client,
    enabled: *mut bool,
    revision: *mut u64,
) -> etcdc_status {
    status(|| {
        let enabled = arg_mut!(enabled);
        let answer = arg!(client).v3().auth_status()?;
        *enabled = answer.enabled;
        // SAFETY: NULL or writable, per the contract.
        unsafe { put_opt(revision, answer.auth_revision) };
        Ok(())
    })
}

// ----------------------------------------------------------------- users

/// Adds the user `name` with `password` (an empty one is a password like
/// any other for etcd). `password` NULL adds a user without a password,
/// who can only be authenticated by a TLS client certificate whose common
/// name is `name`.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: user name
/// already exists"); `ETCDC_ERR_GRPC_INVALID_ARGUMENT` for an empty name;
/// `ETCDC_ERR_INVALID_ARGUMENT` for a NULL `client` or `name`, invalid
/// UTF-8; `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_user_add(
    client: *const etcdc_client,
    name: *const c_char,
    password: *const c_char,
) -> etcdc_status {
    status(|| {
        let (name, password) = (string!(name), opt_string!(password));
        arg!(client).v3().user_add(name, password).map(drop)
    })
}

/// Deletes the user `name` ("root" only while auth is off).
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: user name not
/// found"); `ETCDC_ERR_GRPC_INVALID_ARGUMENT` ("etcdserver: invalid auth
/// management") for "root" while auth is on; `ETCDC_ERR_INVALID_ARGUMENT`
/// for NULL or invalid UTF-8; `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_user_delete(
    client: *const etcdc_client,
    name: *const c_char,
) -> etcdc_status {
    status(|| arg!(client).v3().user_delete(string!(name)).map(drop))
}

/// Sets the password of user `name`. A client built with the old one can no
/// longer authenticate once its token expires: build a new one.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: user name not
/// found"); `ETCDC_ERR_INVALID_ARGUMENT` for NULL or invalid UTF-8;
/// `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_user_change_password(
    client: *const etcdc_client,
    name: *const c_char,
    password: *const c_char,
) -> etcdc_status {
    status(|| {
        let (name, password) = (string!(name), string!(password));
        arg!(client)
            .v3()
            .user_change_password(name, password)
            .map(drop)
    })
}

/// Gives user `name` the role `role` ("root": every right).
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: user name not
/// found", "etcdserver: role name not found"); `ETCDC_ERR_INVALID_ARGUMENT`
/// for NULL or invalid UTF-8; `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_user_grant_role(
    client: *const etcdc_client,
    name: *const c_char,
    role: *const c_char,
) -> etcdc_status {
    status(|| {
        let (name, role) = (string!(name), string!(role));
        arg!(client).v3().user_grant_role(name, role).map(drop)
    })
}

/// Takes the role `role` from user `name`.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: user name not
/// found", "etcdserver: role is not granted to the user");
/// `ETCDC_ERR_GRPC_INVALID_ARGUMENT` ("etcdserver: invalid auth
/// management") for root's role "root" while auth is on;
/// `ETCDC_ERR_INVALID_ARGUMENT` for NULL or invalid UTF-8;
/// `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_user_revoke_role(
    client: *const etcdc_client,
    name: *const c_char,
    role: *const c_char,
) -> etcdc_status {
    status(|| {
        let (name, role) = (string!(name), string!(role));
        arg!(client).v3().user_revoke_role(name, role).map(drop)
    })
}

/// Stores the roles of user `name`, sorted, in `*roles`: a new list, freed
/// with `etcdc_strings_free()`.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: user name not
/// found"); `ETCDC_ERR_INVALID_ARGUMENT` for NULL or invalid UTF-8;
/// transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_user_get(
    client: *const etcdc_client,
    name: *const c_char,
    roles: *mut *mut etcdc_strings,
) -> etcdc_status {
    status(|| {
        let roles = arg_mut!(roles);
        let list = arg!(client).v3().user_get(string!(name))?;
        give(roles, etcdc_strings::new(&list));
        Ok(())
    })
}

/// Stores the names of every user, sorted, in `*names`: a new list, freed
/// with `etcdc_strings_free()`.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_users(
    client: *const etcdc_client,
    names: *mut *mut etcdc_strings,
) -> etcdc_status {
    status(|| {
        let names = arg_mut!(names);
        give(names, etcdc_strings::new(&arg!(client).v3().user_list()?));
        Ok(())
    })
}

// ----------------------------------------------------------------- roles

/// Adds the role `name`, without permissions.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: role name
/// already exists"); `ETCDC_ERR_GRPC_INVALID_ARGUMENT` for an empty name;
/// `ETCDC_ERR_INVALID_ARGUMENT` for NULL or invalid UTF-8;
/// `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_role_add(
    client: *const etcdc_client,
    name: *const c_char,
) -> etcdc_status {
    status(|| arg!(client).v3().role_add(string!(name)).map(drop))
}

/// Deletes the role `name`, and takes it from every user.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: role name not
/// found"); `ETCDC_ERR_INVALID_ARGUMENT` for NULL or invalid UTF-8;
/// `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_role_delete(
    client: *const etcdc_client,
    name: *const c_char,
) -> etcdc_status {
    status(|| arg!(client).v3().role_delete(string!(name)).map(drop))
}

/// Stores the names of every role, sorted, in `*names`: a new list, freed
/// with `etcdc_strings_free()`. "root" is listed once it is granted to a
/// user or added.
///
/// Errors: `ETCDC_ERR_INVALID_ARGUMENT` for NULL; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_roles(
    client: *const etcdc_client,
    names: *mut *mut etcdc_strings,
) -> etcdc_status {
    status(|| {
        let names = arg_mut!(names);
        give(names, etcdc_strings::new(&arg!(client).v3().role_list()?));
        Ok(())
    })
}

/// The permissions of a role (`etcdc_v3_role_get()`), by key: each a kind
/// and a key range `[key, range_end)` as keys are named in the v3 keys
/// section (the key alone when `range_end` is empty; every key from `key`
/// on when it is "\0"). Owned by the caller and freed with
/// `etcdc_v3_permission_list_free()`. Read-only: any number of threads may
/// read it at once.
pub struct etcdc_v3_permission_list {
    kinds: Vec<etcdc_v3_permission_kind>,
    /// The keys and range ends, each followed by a NUL, and each one's
    /// offset and length: (key, range end) per permission.
    bytes: Blobs,
    at: Vec<((usize, usize), (usize, usize))>,
}

impl etcdc_v3_permission_list {
    fn new(list: &[Permission]) -> etcdc_v3_permission_list {
        use etcdc_v3_permission_kind::*;
        let size = list.iter().map(|p| p.key.len() + p.range_end.len()).sum();
        let mut bytes = Blobs::with_capacity(size, 2 * list.len());
        let at = list
            .iter()
            .map(|p| {
                let key = (bytes.add(&p.key), p.key.len());
                (key, (bytes.add(&p.range_end), p.range_end.len()))
            })
            .collect();
        let kinds = list
            .iter()
            .map(|p| match p.kind {
                PermissionKind::Read => ETCDC_V3_PERM_READ,
                PermissionKind::Write => ETCDC_V3_PERM_WRITE,
                PermissionKind::ReadWrite => ETCDC_V3_PERM_READWRITE,
            })
            .collect();
        etcdc_v3_permission_list { kinds, bytes, at }
    }
}

/// Stores the permissions of role `name` in `*out`: a new list, owned by
/// the caller and freed with `etcdc_v3_permission_list_free()`. The role
/// "root" has none listed: it may do everything.
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: role name not
/// found"); `ETCDC_ERR_INVALID_ARGUMENT` for NULL or invalid UTF-8;
/// transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_role_get(
    client: *const etcdc_client,
    name: *const c_char,
    out: *mut *mut etcdc_v3_permission_list,
) -> etcdc_status {
    status(|| {
        let out = arg_mut!(out);
        let permissions = arg!(client).v3().role_get(string!(name))?;
        give(out, etcdc_v3_permission_list::new(&permissions));
        Ok(())
    })
}

/// Grants role `name` the permission `kind` (one of
/// `etcdc_v3_permission_kind` but `ETCDC_V3_PERM_NONE`) on the keys
/// `[key, range_end)` (`key_len` and `range_end_len` bytes): the key alone
/// for an empty `range_end` (NULL, 0); every key from `key` on for "\0"
/// (length 1); every key for "" and "\0". For the keys that start with a
/// prefix, `range_end` is the prefix with its last byte incremented (after
/// dropping trailing 0xff bytes), as etcd's own tools make it. A permission
/// on exactly the same keys is replaced (its kind changes).
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: role name not
/// found"); `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`, `name`; `key`
/// or `range_end` with a length), invalid UTF-8, a `kind` that is none of
/// its values; `ETCDC_ERR_AMBIGUOUS`; transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_role_grant_permission(
    client: *const etcdc_client,
    name: *const c_char,
    kind: c_int,
    key: *const c_void,
    key_len: usize,
    range_end: *const c_void,
    range_end_len: usize,
) -> etcdc_status {
    status(|| {
        let name = string!(name);
        let kind = permission_kind(kind)?;
        let permission =
            Permission::range(kind, bytes!(key, key_len), bytes!(range_end, range_end_len));
        arg!(client)
            .v3()
            .role_grant_permission(name, &permission)
            .map(drop)
    })
}

/// Takes from role `name` its permission on exactly `[key, range_end)`
/// (as granted; see `etcdc_v3_role_grant_permission()`).
///
/// Errors: `ETCDC_ERR_GRPC_FAILED_PRECONDITION` ("etcdserver: role name not
/// found", "etcdserver: permission is not granted to the role");
/// `ETCDC_ERR_INVALID_ARGUMENT` for NULL (`client`, `name`; `key` or
/// `range_end` with a length) or invalid UTF-8; `ETCDC_ERR_AMBIGUOUS`;
/// transport errors.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_role_revoke_permission(
    client: *const etcdc_client,
    name: *const c_char,
    key: *const c_void,
    key_len: usize,
    range_end: *const c_void,
    range_end_len: usize,
) -> etcdc_status {
    status(|| {
        let name = string!(name);
        let (key, range_end) = (bytes!(key, key_len), bytes!(range_end, range_end_len));
        arg!(client)
            .v3()
            .role_revoke_permission(name, key, range_end)
            .map(drop)
    })
}

/// Number of permissions in the list (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_permission_list_count(
    list: *const etcdc_v3_permission_list,
) -> usize {
    read(list, 0, |l| l.kinds.len())
}

/// The kind of permission `i` (0-based, in etcd's order: by key), or
/// `ETCDC_V3_PERM_NONE` if out of range or `list` is NULL.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_permission_list_kind(
    list: *const etcdc_v3_permission_list,
    i: usize,
) -> etcdc_v3_permission_kind {
    use etcdc_v3_permission_kind::*;
    read(list, ETCDC_V3_PERM_NONE, |l| {
        l.kinds.get(i).copied().unwrap_or(ETCDC_V3_PERM_NONE)
    })
}

/// The first key of permission `i`: its bytes
/// (`etcdc_v3_permission_list_key_len()` of them), followed by a NUL byte
/// that the length does not count; NULL if out of range. Borrowed from the
/// list.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_permission_list_key(
    list: *const etcdc_v3_permission_list,
    i: usize,
) -> *const u8 {
    read(list, ptr::null(), |l| {
        l.at.get(i)
            .map_or(ptr::null(), |&((at, _), _)| l.bytes.ptr(at))
    })
}

/// Length of the key of permission `i` in bytes, without the NUL after it
/// (0 if out of range or `list` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_permission_list_key_len(
    list: *const etcdc_v3_permission_list,
    i: usize,
) -> usize {
    read(list, 0, |l| l.at.get(i).map_or(0, |&((_, len), _)| len))
}

/// The end (excluded) of the keys of permission `i`: its bytes
/// (`etcdc_v3_permission_list_range_end_len()` of them, 0 for the key
/// alone), followed by a NUL byte that the length does not count; NULL if
/// out of range. Borrowed from the list.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_permission_list_range_end(
    list: *const etcdc_v3_permission_list,
    i: usize,
) -> *const u8 {
    read(list, ptr::null(), |l| {
        l.at.get(i)
            .map_or(ptr::null(), |&(_, (at, _))| l.bytes.ptr(at))
    })
}

/// Length of the range end of permission `i` in bytes, without the NUL
/// after it (0 for the key alone, if out of range, or if `list` is NULL).
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_permission_list_range_end_len(
    list: *const etcdc_v3_permission_list,
    i: usize,
) -> usize {
    read(list, 0, |l| l.at.get(i).map_or(0, |&(_, (_, len))| len))
}

/// Frees a permission list and the bytes borrowed from it. NULL is a
/// no-op.
#[no_mangle]
pub unsafe extern "C" fn etcdc_v3_permission_list_free(list: *mut etcdc_v3_permission_list) {
    free!(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_kinds_are_checked() {
        assert_eq!(permission_kind(1).unwrap(), PermissionKind::Read);
        assert_eq!(permission_kind(2).unwrap(), PermissionKind::Write);
        assert_eq!(permission_kind(3).unwrap(), PermissionKind::ReadWrite);
        for bad in [0, 4, -1] {
            let e = permission_kind(bad).unwrap_err().to_string();
            assert!(e.contains("kind"), "{e}");
        }
    }

    /// Keys with NULs; an empty range end is a pointer to a NUL, not NULL.
    #[test]
    fn permission_views_keep_every_byte() {
        let list = etcdc_v3_permission_list::new(&[
            Permission::key(PermissionKind::Write, b"a\0b".to_vec()),
            Permission::from_key(PermissionKind::ReadWrite, "m"),
        ]);
        let l = Box::into_raw(Box::new(list));
        // SAFETY: a live list, freed at the end.
        unsafe {
            assert_eq!(etcdc_v3_permission_list_count(l), 2);
            use etcdc_v3_permission_kind::*;
            assert_eq!(etcdc_v3_permission_list_kind(l, 0), ETCDC_V3_PERM_WRITE);
            assert_eq!(etcdc_v3_permission_list_kind(l, 1), ETCDC_V3_PERM_READWRITE);
            assert_eq!(etcdc_v3_permission_list_kind(l, 2), ETCDC_V3_PERM_NONE);
            let k = etcdc_v3_permission_list_key(l, 0);
            let n = etcdc_v3_permission_list_key_len(l, 0);
            assert_eq!(std::slice::from_raw_parts(k, n + 1), b"a\0b\0");
            let e = etcdc_v3_permission_list_range_end(l, 0);
            assert!(!e.is_null() && *e == 0);
            assert_eq!(etcdc_v3_permission_list_range_end_len(l, 0), 0);
            let e = etcdc_v3_permission_list_range_end(l, 1);
            assert_eq!(etcdc_v3_permission_list_range_end_len(l, 1), 1);
            assert_eq!(std::slice::from_raw_parts(e, 2), b"\0\0");
            assert!(etcdc_v3_permission_list_key(l, 2).is_null());
            etcdc_v3_permission_list_free(l);
        }
    }
}
