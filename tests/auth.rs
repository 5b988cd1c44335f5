//! The v2 auth API and basic auth against a real etcd 3.4.
//!
//! Auth is global to an etcd, so this binary has an etcd of its own and its
//! tests take turns ([`fresh`] holds a lock for the whole test and first
//! puts etcd back in a known state: auth off, only the user `root`, only
//! the roles `root` and `guest`, `guest` with read and write on `/*`), so
//! a failed test does not spoil the next one.
//!
//! - root can do everything: keys, users, roles, turning auth on and off;
//! - a user with a role limited to `/app/*` reads there and nowhere else,
//!   writes nowhere; wrong passwords and unknown users are refused alike;
//!   anonymous requests follow the `guest` role, and everything is open
//!   again once auth is off;
//! - users and roles round trip, with etcd's answers for what is missing or
//!   already there;
//! - the password shows in no error and no `Debug` print.

mod common;

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use common::{assert_no_credentials, Etcd};
use etcdc::{Client, ClientBuilder, Error, Permission, Role, User};

const ROOT_PASSWORD: &str = "root-pw";

/// The etcd of this binary.
fn etcd() -> &'static Etcd {
    static ETCD: OnceLock<Etcd> = OnceLock::new();
    ETCD.get_or_init(Etcd::start)
}

fn builder() -> ClientBuilder {
    Client::builder()
        .endpoints([etcd().url.as_str()])
        .read_timeout(Duration::from_secs(10))
}

fn anonymous() -> Client {
    builder().build().unwrap()
}

fn as_user(user: &str, password: &str) -> Client {
    builder().basic_auth(user, password).build().unwrap()
}

fn root() -> Client {
    as_user("root", ROOT_PASSWORD)
}

/// Takes this binary's turn lock and puts etcd in the known starting state
/// (see the module doc). Hold the guard for the whole test.
fn fresh() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    let guard = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let anon = anonymous();
    if anon.auth_enabled().expect("auth status") {
        root().disable_auth().expect("disable auth as root");
    }
    // Auth off: anyone manages users and roles.
    for user in anon.users().unwrap() {
        if user != "root" {
            anon.delete_user(&user).unwrap();
        }
    }
    for role in anon.roles().unwrap() {
        if role != "root" && role != "guest" {
            anon.delete_role(&role).unwrap();
        }
    }
    anon.set_user("root", ROOT_PASSWORD).unwrap();
    match anon.role("guest") {
        Ok(guest) => {
            if !guest.read.iter().any(|p| p == "/*") {
                anon.grant_permissions("guest", Permission::Read, &["/*"])
                    .unwrap();
            }
            if !guest.write.iter().any(|p| p == "/*") {
                anon.grant_permissions("guest", Permission::Write, &["/*"])
                    .unwrap();
            }
        }
        // etcd makes it, with read and write on /*, when auth is enabled.
        Err(Error::HttpStatus { status: 404, .. }) => {}
        Err(e) => panic!("guest role: {e:?}"),
    }
    guard
}

/// Asserts `r` is etcd's "Insufficient credentials" (HTTP 401, code 110).
#[track_caller]
fn unauthorized<T: std::fmt::Debug>(what: &str, r: etcdc::Result<T>) {
    match r {
        Err(Error::Unauthorized(e)) => {
            assert_eq!(e.code, 110, "{what}: {e}");
            assert_eq!(e.cause, "Insufficient credentials", "{what}: {e}");
        }
        other => panic!("{what}: expected Unauthorized, got {other:?}"),
    }
}

/// Asserts `r` is an HTTP `status` from the auth API whose body contains
/// `text`.
#[track_caller]
fn status<T: std::fmt::Debug>(r: etcdc::Result<T>, expected: u16, text: &str) {
    match r {
        Err(Error::HttpStatus { status, body }) => {
            assert_eq!(status, expected, "{body}");
            assert!(body.contains(text), "body {body:?} lacks {text:?}");
        }
        other => panic!("expected HTTP {expected} ({text}), got {other:?}"),
    }
}

fn value(c: &Client, key: &str) -> Option<String> {
    c.get(key).unwrap().node.value
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

// ------------------------------------------------------------------ root

#[test]
fn root_can_do_everything() {
    let _turn = fresh();
    let (root, anon) = (root(), anonymous());
    assert!(!anon.auth_enabled().unwrap());

    // Enabling needs the user root.
    anon.delete_user("root").unwrap();
    status(anon.enable_auth(), 409, "No root user");
    assert!(!anon.auth_enabled().unwrap());
    anon.set_user("root", ROOT_PASSWORD).unwrap();

    root.enable_auth().unwrap();
    assert!(anon.auth_enabled().unwrap());
    assert!(root.auth_enabled().unwrap());
    status(root.enable_auth(), 409, "already enabled");

    // Keys.
    root.set("/root-test/k", "v").unwrap();
    assert_eq!(value(&root, "/root-test/k").as_deref(), Some("v"));
    root.delete("/root-test/k", &Default::default()).unwrap();
    assert!(matches!(
        root.get("/root-test/k"),
        Err(Error::KeyNotFound(_))
    ));

    // Users and roles.
    let alice = root.set_user("alice", "alice-pw").unwrap();
    assert_eq!(alice.name, "alice");
    let role = root.create_role("ops").unwrap();
    assert_eq!(role.name, "ops");
    root.grant_roles("alice", &["ops"]).unwrap();
    assert_eq!(sorted(root.users().unwrap()), strings(&["alice", "root"]));
    assert_eq!(
        sorted(root.roles().unwrap()),
        strings(&["guest", "ops", "root"])
    );
    let root_user = root.user("root").unwrap();
    assert_eq!(root_user.roles, strings(&["root"]));
    let root_role = root.role("root").unwrap();
    assert_eq!(root_role.read, strings(&["/*"]));
    assert_eq!(root_role.write, strings(&["/*"]));

    // Anonymous requests manage nothing while auth is on.
    unauthorized("anonymous users()", anon.users());
    unauthorized("anonymous roles()", anon.roles());
    unauthorized("anonymous user()", anon.user("alice"));
    unauthorized("anonymous set_user()", anon.set_user("mallory", "pw"));
    unauthorized("anonymous create_role()", anon.create_role("evil"));
    unauthorized("anonymous disable_auth()", anon.disable_auth());
    // Nor does a user without the root role.
    let alice = as_user("alice", "alice-pw");
    unauthorized("alice users()", alice.users());
    unauthorized("alice grant_roles()", alice.grant_roles("alice", &["root"]));
    unauthorized("alice disable_auth()", alice.disable_auth());
    assert!(alice.auth_enabled().unwrap(), "anyone may ask");

    // root cannot be deleted while auth is on.
    status(root.delete_user("root"), 403, "Cannot delete root user");

    root.delete_user("alice").unwrap();
    root.delete_role("ops").unwrap();
    root.disable_auth().unwrap();
    assert!(!anon.auth_enabled().unwrap());
    status(root.disable_auth(), 409, "already disabled");
}

// ------------------------------------------------------------ permissions

#[test]
fn a_role_limits_a_user_to_its_keys() {
    let _turn = fresh();
    let (root, anon) = (root(), anonymous());
    root.set("/app/x", "app").unwrap();
    root.set("/other/y", "other").unwrap();
    let role = root.create_role("app-reader").unwrap();
    assert_eq!(role.read, Vec::<String>::new());
    root.grant_permissions("app-reader", Permission::Read, &["/app/*"])
        .unwrap();
    root.set_user("reader", "reader-pw").unwrap();
    root.grant_roles("reader", &["app-reader"]).unwrap();
    root.enable_auth().unwrap();

    let reader = as_user("reader", "reader-pw");
    assert_eq!(value(&reader, "/app/x").as_deref(), Some("app"));
    unauthorized("reader writes /app/x", reader.set("/app/x", "changed"));
    unauthorized(
        "reader deletes /app/x",
        reader.delete("/app/x", &Default::default()),
    );
    unauthorized("reader reads /other/y", reader.get("/other/y"));
    unauthorized("reader writes /other/y", reader.set("/other/y", "changed"));
    unauthorized("reader lists users", reader.users());

    // A wrong password, an unknown user: refused alike, keys and auth API.
    let wrong = as_user("reader", "not-the-password");
    unauthorized("wrong password, read", wrong.get("/app/x"));
    unauthorized("wrong password, write", wrong.set("/app/x", "changed"));
    let wrong_root = as_user("root", "not-the-password");
    unauthorized("root, wrong password, read", wrong_root.get("/app/x"));
    unauthorized("root, wrong password, users()", wrong_root.users());
    unauthorized(
        "root, wrong password, disable_auth()",
        wrong_root.disable_auth(),
    );
    let nobody = as_user("nobody", "reader-pw");
    unauthorized("unknown user", nobody.get("/app/x"));
    assert_eq!(value(&root, "/app/x").as_deref(), Some("app"));
    assert_eq!(value(&root, "/other/y").as_deref(), Some("other"));

    // Anonymous requests get the guest role: read and write on /* until
    // that is revoked.
    assert_eq!(value(&anon, "/other/y").as_deref(), Some("other"));
    anon.set("/other/by-guest", "g").unwrap();
    let guest = root
        .revoke_permissions("guest", Permission::ReadWrite, &["/*"])
        .unwrap();
    assert_eq!((guest.read.len(), guest.write.len()), (0, 0), "{guest:?}");
    unauthorized("anonymous read", anon.get("/other/y"));
    unauthorized("anonymous write", anon.set("/other/y", "changed"));
    unauthorized("anonymous read of /app", anon.get("/app/x"));
    assert_eq!(value(&reader, "/app/x").as_deref(), Some("app"));

    // Permissions take effect at once.
    root.grant_permissions("app-reader", Permission::Write, &["/app/*"])
        .unwrap();
    reader.set("/app/x", "by-reader").unwrap();
    assert_eq!(value(&root, "/app/x").as_deref(), Some("by-reader"));
    root.revoke_roles("reader", &["app-reader"]).unwrap();
    unauthorized("reader without its role", reader.get("/app/x"));

    // Auth off: everyone may do anything again, whatever they send.
    root.disable_auth().unwrap();
    assert_eq!(value(&anon, "/other/y").as_deref(), Some("other"));
    anon.set("/other/y", "anonymous again").unwrap();
    assert_eq!(
        value(&wrong, "/other/y").as_deref(),
        Some("anonymous again")
    );
    assert_eq!(value(&nobody, "/app/x").as_deref(), Some("by-reader"));
    assert!(anon.users().unwrap().contains(&"reader".to_owned()));
}

// ------------------------------------------------------- users and roles

#[test]
fn users_and_roles_round_trip() {
    let _turn = fresh();
    let root = root();
    root.enable_auth().unwrap();

    // A user: created, read, listed.
    let created = root.set_user("rt-user", "pw-1").unwrap();
    assert_eq!(
        created,
        User {
            name: "rt-user".into(),
            roles: vec![]
        }
    );
    assert_eq!(root.user("rt-user").unwrap(), created);
    assert_eq!(sorted(root.users().unwrap()), strings(&["root", "rt-user"]));

    // A role: created, granted and revoked permissions, read, listed.
    let empty = root.create_role("rt-role").unwrap();
    assert_eq!(
        empty,
        Role {
            name: "rt-role".into(),
            read: vec![],
            write: vec![]
        }
    );
    status(root.create_role("rt-role"), 409, "already exists");
    let r = root
        .grant_permissions("rt-role", Permission::Read, &["/a/*"])
        .unwrap();
    assert_eq!(
        (r.read.clone(), r.write.clone()),
        (strings(&["/a/*"]), vec![])
    );
    let r = root
        .grant_permissions("rt-role", Permission::Write, &["/b/*", "/b2"])
        .unwrap();
    assert_eq!(sorted(r.write.clone()), strings(&["/b/*", "/b2"]));
    let r = root
        .grant_permissions("rt-role", Permission::ReadWrite, &["/c"])
        .unwrap();
    assert_eq!(sorted(r.read.clone()), strings(&["/a/*", "/c"]));
    assert_eq!(sorted(r.write.clone()), strings(&["/b/*", "/b2", "/c"]));
    let read_back = root.role("rt-role").unwrap();
    assert_eq!(read_back.name, "rt-role");
    assert_eq!(sorted(read_back.read), sorted(r.read));
    assert_eq!(sorted(read_back.write), sorted(r.write));
    status(
        root.grant_permissions("rt-role", Permission::Read, &["/a/*"]),
        409,
        "duplicate",
    );
    let r = root
        .revoke_permissions("rt-role", Permission::Read, &["/a/*"])
        .unwrap();
    assert_eq!(r.read, strings(&["/c"]));
    let r = root
        .revoke_permissions("rt-role", Permission::ReadWrite, &["/c"])
        .unwrap();
    assert_eq!(r.read, Vec::<String>::new());
    assert_eq!(sorted(r.write), strings(&["/b/*", "/b2"]));
    assert_eq!(
        sorted(root.roles().unwrap()),
        strings(&["guest", "root", "rt-role"])
    );

    // Roles granted to and revoked from the user.
    let u = root.grant_roles("rt-user", &["rt-role", "guest"]).unwrap();
    assert_eq!(sorted(u.roles), strings(&["guest", "rt-role"]));
    // etcd lists a user's roles as whole roles; the client gives names.
    assert_eq!(
        sorted(root.user("rt-user").unwrap().roles),
        strings(&["guest", "rt-role"])
    );
    let u = root.revoke_roles("rt-user", &["guest"]).unwrap();
    assert_eq!(u.roles, strings(&["rt-role"]));
    status(root.revoke_roles("rt-user", &["guest"]), 409, "ungranted");

    // set_user on an existing user changes its password, keeps its roles.
    let u = root.set_user("rt-user", "pw-2").unwrap();
    assert_eq!(u.roles, strings(&["rt-role"]));
    root.set("/b2", "x").unwrap();
    as_user("rt-user", "pw-2").set("/b2", "by rt-user").unwrap();
    unauthorized("old password", as_user("rt-user", "pw-1").set("/b2", "y"));

    // Names and passwords beyond ASCII, a password with ':' and spaces.
    let odd = "ü-user ✓";
    let odd_password = "p:a ss wörd✓:";
    assert_eq!(root.set_user(odd, odd_password).unwrap().name, odd);
    assert_eq!(root.user(odd).unwrap().name, odd);
    root.grant_roles(odd, &["rt-role"]).unwrap();
    as_user(odd, odd_password).set("/b2", "by odd").unwrap();
    unauthorized("odd, wrong", as_user(odd, "p:a ss").set("/b2", "z"));
    root.delete_user(odd).unwrap();

    // Deleted, then missing: 404 with etcd's message.
    root.revoke_roles("rt-user", &["rt-role"]).unwrap();
    root.delete_role("rt-role").unwrap();
    status(root.role("rt-role"), 404, "rt-role");
    status(root.delete_role("rt-role"), 404, "rt-role");
    status(
        root.grant_permissions("rt-role", Permission::Read, &["/x"]),
        404,
        "rt-role",
    );
    root.delete_user("rt-user").unwrap();
    status(root.user("rt-user"), 404, "rt-user");
    status(root.delete_user("rt-user"), 404, "rt-user");
    status(root.grant_roles("rt-user", &["guest"]), 404, "rt-user");
    status(root.revoke_roles("rt-user", &["guest"]), 404, "rt-user");
    assert_eq!(root.users().unwrap(), strings(&["root"]));

    // Names the client cannot put in a path are refused before sending.
    for bad in ["", "a/b", "..", "."] {
        assert!(
            matches!(root.user(bad), Err(Error::InvalidArgument(_))),
            "user({bad:?})"
        );
        assert!(
            matches!(root.create_role(bad), Err(Error::InvalidArgument(_))),
            "create_role({bad:?})"
        );
    }

    // No users at all (auth off, root deleted): etcd says `null`.
    root.disable_auth().unwrap();
    let anon = anonymous();
    anon.delete_user("root").unwrap();
    assert_eq!(anon.users().unwrap(), Vec::<String>::new());
    anon.set_user("root", ROOT_PASSWORD).unwrap();
}

/// etcd lets a role that does not exist be granted to a user; the user then
/// reads as missing (404 naming the role) until it is revoked.
#[test]
fn granting_a_missing_role_is_etcds_quirk() {
    let _turn = fresh();
    let anon = anonymous();
    anon.set_user("quirk", "pw").unwrap();
    let u = anon.grant_roles("quirk", &["no-such-role"]).unwrap();
    assert_eq!(u.roles, strings(&["no-such-role"]));
    status(anon.user("quirk"), 404, "no-such-role");
    let u = anon.revoke_roles("quirk", &["no-such-role"]).unwrap();
    assert!(u.roles.is_empty());
    assert_eq!(anon.user("quirk").unwrap().name, "quirk");
    status(anon.set_user("empty-pw", ""), 400, "empty password");
}

// ------------------------------------------------------------ credentials

const PASSWORD: &str = "s3cret-PW-xyz";

fn no_secret(what: &str, shown: &str) {
    assert_no_credentials(what, shown, "root", PASSWORD);
}

#[test]
fn credentials_never_leak() {
    // The check itself: it knows the header's form.
    assert_eq!(
        common::base64(format!("root:{PASSWORD}").as_bytes()),
        "cm9vdDpzM2NyZXQtUFcteHl6"
    );
    let caught = std::panic::catch_unwind(|| {
        no_secret("self-test", "Authorization: Basic cm9vdDpzM2NyZXQtUFcteHl6")
    });
    assert!(caught.is_err(), "the check must catch the encoded header");

    let _turn = fresh();
    root().enable_auth().unwrap();

    // A wrong password, refused by etcd, on the keys and the auth API.
    let b = builder().basic_auth("root", PASSWORD);
    no_secret("builder", &format!("{b:?}"));
    let c = b.build().unwrap();
    no_secret("client", &format!("{c:?}"));
    for e in [
        c.get("/").unwrap_err(),
        c.set("/k", "v").unwrap_err(),
        c.users().unwrap_err(),
        c.set_user("someone", "pw").unwrap_err(),
    ] {
        assert!(matches!(e, Error::Unauthorized(_)), "{e:?}");
        no_secret("error", &format!("{e}"));
        no_secret("error", &format!("{e:?}"));
    }
    no_secret("client after use", &format!("{c:?}"));

    // A dead port: connection refused.
    let dead = format!("http://127.0.0.1:{}", common::dead_port());
    let b = Client::builder()
        .endpoints([dead.as_str()])
        .basic_auth("root", PASSWORD);
    no_secret("builder", &format!("{b:?}"));
    let c = b.build().unwrap();
    let e = c.get("/").unwrap_err();
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    no_secret("error", &format!("{e} {e:?}"));
    let e = c.set("/k", "v").unwrap_err();
    no_secret("error", &format!("{e} {e:?}"));
    no_secret("client", &format!("{c:?}"));

    // A TLS failure: https to this plain-http etcd.
    let https = etcd().url.replace("http://", "https://");
    let c = Client::builder()
        .endpoints([https.as_str()])
        .read_timeout(Duration::from_secs(5))
        .basic_auth("root", PASSWORD)
        .build()
        .unwrap();
    let start = Instant::now();
    let e = c.get("/").unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5), "{e:?}");
    no_secret("error", &format!("{e} {e:?}"));
    no_secret("client", &format!("{c:?}"));

    // Refused by build: the message names what is wrong, not the password.
    for b in [
        builder().basic_auth("ro:ot", PASSWORD),
        builder()
            .basic_auth("root", PASSWORD)
            .ca_file("/no/such/ca.pem"),
        builder()
            .basic_auth("root", PASSWORD)
            .endpoints(["ftp://x"]),
    ] {
        let e = b.build().unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
        no_secret("error", &format!("{e} {e:?}"));
    }

    root().disable_auth().unwrap();
}
