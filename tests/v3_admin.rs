//! The v3 API's auth, cluster and maintenance calls against real etcd 3.4
//! (Debian's) and 3.5.1 (upstream): every test runs on both (`…::v34`,
//! `…::v35`), with etcd's exact answers.
//!
//! Auth is global to an etcd, so the auth tests each start a private one
//! (as do the tests that change the membership or fill the database); the
//! others share one etcd per version.
//!
//! - users and roles round trip, with etcd's error for each wrong step;
//! - enabling auth needs `root` with the role `root`; then a client with
//!   credentials reads and writes, a wrong password, a user without
//!   permission and a client without credentials get etcd's errors, and no
//!   password or token shows in an error or a `Debug` print;
//! - an expired simple token (`--auth-token-ttl=1`), and a JWT token made
//!   old by a change of roles, are renewed without the caller seeing it,
//!   reads and writes alike, and the write is applied once;
//! - `etcdctl` 3.5.1 sees the users and roles etcdc makes, and the other
//!   way round;
//! - members: the one member of a single node; a learner added, updated,
//!   refused promotion, removed;
//! - status (of the current member or of a given one, and not of another
//!   cluster's), alarms (a real NOSPACE one), defragment, hashes,
//!   snapshots (a bbolt file and its SHA-256, read by `etcdctl`),
//!   leadership transfer: on a single node, and in a 3-member 3.4 cluster
//!   from a follower's client (a follower asked directly refuses).

mod common;

use std::fmt::Debug;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{assert_no_credentials, etcd35, Etcd, Options};
use etcdc::v3::{AlarmKind, Code, Member, Permission, PermissionKind};
use etcdc::{Client, ClientBuilder, Error};

const ROOT_PASSWORD: &str = "r00t-Secret!";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V {
    V34,
    V35,
}

impl V {
    /// A private etcd of this version (v3 only), with `args`.
    fn start(self, args: &[&str]) -> Etcd {
        let binary = match self {
            V::V34 => Etcd::default_binary(),
            V::V35 => etcd35::etcd_bin(),
        };
        Etcd::start_binary_args(binary, Options { enable_v2: false }, args)
    }

    /// The etcd of this version shared by the tests of this binary.
    fn shared(self) -> &'static Etcd {
        match self {
            V::V34 => common::shared(),
            V::V35 => etcd35::shared(),
        }
    }

    fn pick<T>(self, v34: T, v35: T) -> T {
        match self {
            V::V34 => v34,
            V::V35 => v35,
        }
    }
}

/// Runs test body `$name(v)` on etcd 3.4 and 3.5, as `$name::v34` and
/// `$name::v35`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn v34() {
                super::$name(super::V::V34)
            }
            #[test]
            fn v35() {
                super::$name(super::V::V35)
            }
        }
    )*};
}

on_both!(
    users_and_roles_round_trip,
    auth_on_and_off,
    expired_tokens_are_renewed,
    watches_outlive_their_token,
    old_jwt_tokens_are_renewed,
    etcdctl_sees_our_users_and_we_see_its,
    one_member,
    a_learner_comes_and_goes,
    status_of_a_member,
    alarms_and_defragment,
    raised_alarms,
    hashes,
    move_leader,
    snapshots,
    asking_one_member,
);

fn builder(etcd: &Etcd) -> ClientBuilder {
    Client::builder()
        .endpoints([etcd.url.as_str()])
        .read_timeout(Duration::from_secs(10))
}

fn anonymous(etcd: &Etcd) -> Client {
    builder(etcd).build().unwrap()
}

fn as_user(etcd: &Etcd, user: &str, password: &str) -> Client {
    builder(etcd).basic_auth(user, password).build().unwrap()
}

/// The code and message of etcd's gRPC error, which `r` must be.
#[track_caller]
fn grpc<T: Debug>(r: etcdc::Result<T>) -> (Code, String) {
    match r {
        Err(e) => code_of(&e),
        Ok(v) => panic!("expected etcd's gRPC error, got Ok({v:?})"),
    }
}

#[track_caller]
fn code_of(e: &Error) -> (Code, String) {
    match e {
        Error::Grpc { code, message, .. } => (*code, message.clone()),
        other => panic!("expected etcd's gRPC error, got {other:?}"),
    }
}

#[track_caller]
fn refused<T: Debug>(r: etcdc::Result<T>, code: Code, message: &str) {
    assert_eq!(grpc(r), (code, message.to_owned()));
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Adds `root` (role `root`) and turns auth on, through `admin` (a client
/// without credentials).
fn enable_auth(admin: &Client) {
    let v3 = admin.v3();
    v3.user_add("root", Some(ROOT_PASSWORD)).unwrap();
    v3.user_grant_role("root", "root").unwrap();
    v3.auth_enable().unwrap();
}

// ---------------------------------------------------------------------------
// Auth

fn users_and_roles_round_trip(v: V) {
    let etcd = v.start(&[]);
    let client = anonymous(&etcd);
    let v3 = client.v3();
    let fp = Code::FailedPrecondition;

    assert_eq!(v3.user_list().unwrap(), Vec::<String>::new());
    assert_eq!(v3.role_list().unwrap(), Vec::<String>::new());

    // Users.
    let header = v3.user_add("alice", Some("alice-pw")).unwrap();
    assert!(header.revision > 0 && header.member_id != 0, "{header:?}");
    v3.user_add("bob", None).unwrap();
    refused(
        v3.user_add("alice", Some("x")),
        fp,
        "etcdserver: user name already exists",
    );
    refused(
        v3.user_add("", Some("x")),
        Code::InvalidArgument,
        "etcdserver: user name is empty",
    );
    assert_eq!(v3.user_list().unwrap(), strings(&["alice", "bob"]));
    assert_eq!(v3.user_get("alice").unwrap(), Vec::<String>::new());
    refused(v3.user_get("nobody"), fp, "etcdserver: user name not found");

    // Roles and their permissions, listed by key.
    v3.role_add("reader").unwrap();
    v3.role_add("writer").unwrap();
    refused(
        v3.role_add("reader"),
        fp,
        "etcdserver: role name already exists",
    );
    refused(
        v3.role_add(""),
        Code::InvalidArgument,
        "etcdserver: role name is empty",
    );
    assert_eq!(v3.role_get("reader").unwrap(), vec![]);
    let app = Permission::prefix(PermissionKind::Read, "app/");
    let one = Permission::key(PermissionKind::ReadWrite, b"k\xff\0".to_vec());
    let from = Permission::from_key(PermissionKind::Write, "z");
    let between = Permission::range(PermissionKind::Read, "b", "c");
    for p in [&app, &one, &from, &between] {
        v3.role_grant_permission("reader", p).unwrap();
    }
    assert_eq!(
        v3.role_get("reader").unwrap(),
        vec![app.clone(), between.clone(), one.clone(), from.clone()]
    );
    // The same keys again: the kind is replaced.
    let app_rw = Permission::prefix(PermissionKind::ReadWrite, "app/");
    v3.role_grant_permission("reader", &app_rw).unwrap();
    assert_eq!(v3.role_get("reader").unwrap()[0], app_rw);
    refused(
        v3.role_grant_permission("nobody", &app),
        fp,
        "etcdserver: role name not found",
    );
    refused(v3.role_get("nobody"), fp, "etcdserver: role name not found");
    v3.role_revoke_permission("reader", one.key.clone(), one.range_end.clone())
        .unwrap();
    refused(
        v3.role_revoke_permission("reader", one.key.clone(), one.range_end.clone()),
        fp,
        "etcdserver: permission is not granted to the role",
    );
    assert_eq!(
        v3.role_get("reader").unwrap(),
        vec![app_rw, between, from.clone()]
    );
    assert_eq!(v3.role_list().unwrap(), strings(&["reader", "writer"]));

    // Roles of users.
    v3.user_grant_role("alice", "writer").unwrap();
    v3.user_grant_role("alice", "reader").unwrap();
    assert_eq!(
        v3.user_get("alice").unwrap(),
        strings(&["reader", "writer"])
    );
    refused(
        v3.user_grant_role("alice", "nobody"),
        fp,
        "etcdserver: role name not found",
    );
    refused(
        v3.user_grant_role("nobody", "reader"),
        fp,
        "etcdserver: user name not found",
    );
    v3.user_revoke_role("alice", "writer").unwrap();
    assert_eq!(v3.user_get("alice").unwrap(), strings(&["reader"]));
    refused(
        v3.user_revoke_role("alice", "writer"),
        fp,
        "etcdserver: role is not granted to the user",
    );

    // Passwords.
    v3.user_change_password("alice", "new-pw").unwrap();
    refused(
        v3.user_change_password("nobody", "x"),
        fp,
        "etcdserver: user name not found",
    );

    // Deletes; a deleted role leaves its users.
    v3.role_delete("reader").unwrap();
    assert_eq!(v3.user_get("alice").unwrap(), Vec::<String>::new());
    refused(
        v3.role_delete("reader"),
        fp,
        "etcdserver: role name not found",
    );
    v3.user_delete("bob").unwrap();
    refused(v3.user_delete("bob"), fp, "etcdserver: user name not found");
    assert_eq!(v3.user_list().unwrap(), strings(&["alice"]));
    assert_eq!(v3.role_list().unwrap(), strings(&["writer"]));

    // Auth is off; 3.4 has no AuthStatus.
    match v {
        V::V34 => refused(
            v3.auth_status(),
            Code::Unimplemented,
            "unknown method AuthStatus for service etcdserverpb.Auth",
        ),
        V::V35 => {
            let status = v3.auth_status().unwrap();
            assert!(!status.enabled);
            assert!(status.auth_revision > 1, "{status:?}");
        }
    }
}

fn auth_on_and_off(v: V) {
    let etcd = v.start(&[]);
    let admin = anonymous(&etcd);
    let v3 = admin.v3();
    let fp = Code::FailedPrecondition;

    // etcd wants root, with the role root.
    refused(v3.auth_enable(), fp, "etcdserver: root user does not exist");
    v3.user_add("root", Some(ROOT_PASSWORD)).unwrap();
    refused(
        v3.auth_enable(),
        fp,
        "etcdserver: root user does not have root role",
    );
    v3.user_grant_role("root", "root").unwrap();
    // Before auth is on, etcd will not authenticate anyone: a client with
    // credentials goes on without a token (as etcd's Go client does).
    let early = as_user(&etcd, "root", ROOT_PASSWORD);
    early.v3().put("k", "early").unwrap();
    let early_error = early
        .v3()
        .role_get("no-such-role")
        .expect_err("no such role");
    v3.auth_enable().unwrap();
    // Once on, the same client (now without credentials) is refused.
    refused(
        v3.auth_enable(),
        Code::InvalidArgument,
        "etcdserver: user name is empty",
    );
    // And a client made before with credentials now gets its token.
    assert_eq!(early.v3().get("k").unwrap().unwrap().value, b"early");

    // No credentials.
    let no_user = (Code::InvalidArgument, "etcdserver: user name is empty");
    refused(v3.get("k"), no_user.0, no_user.1);
    refused(v3.put("k", "v"), no_user.0, no_user.1);
    refused(v3.user_list(), no_user.0, no_user.1);
    // Member list and status are open to anyone on these versions (3.4.42
    // and 3.5.28 briefly made member list root's; 3.5.32 opens status to
    // every user).
    assert_eq!(v3.member_list().unwrap().len(), 1);
    assert!(v3
        .status()
        .unwrap()
        .version
        .starts_with(v.pick("3.4.", "3.5.")));

    // root does everything.
    let root = as_user(&etcd, "root", ROOT_PASSWORD);
    let r = root.v3();
    r.put("app/x", "1").unwrap();
    assert_eq!(r.get("app/x").unwrap().unwrap().value, b"1");
    if v == V::V35 {
        assert!(r.auth_status().unwrap().enabled);
    }
    r.user_add("alice", Some("alice-pw")).unwrap();
    r.role_add("app-reader").unwrap();
    r.role_grant_permission(
        "app-reader",
        &Permission::prefix(PermissionKind::Read, "app/"),
    )
    .unwrap();
    r.user_grant_role("alice", "app-reader").unwrap();
    assert_eq!(r.user_list().unwrap(), strings(&["alice", "root"]));
    assert_eq!(r.member_list().unwrap().len(), 1);
    let invalid = "etcdserver: invalid auth management";
    refused(r.user_delete("root"), Code::InvalidArgument, invalid);
    refused(
        r.user_revoke_role("root", "root"),
        Code::InvalidArgument,
        invalid,
    );

    // A user reads what its role allows, and nothing else.
    let alice = as_user(&etcd, "alice", "alice-pw");
    let a = alice.v3();
    assert_eq!(a.get("app/x").unwrap().unwrap().value, b"1");
    assert_eq!(a.get("app/none").unwrap(), None);
    let denied = (Code::PermissionDenied, "etcdserver: permission denied");
    refused(a.put("app/x", "2"), denied.0, denied.1);
    refused(a.get("other"), denied.0, denied.1);
    refused(a.user_list(), denied.0, denied.1);
    refused(a.role_add("mine"), denied.0, denied.1);
    refused(a.auth_disable(), denied.0, denied.1);
    refused(
        a.member_add(&["http://127.0.0.1:1"], true),
        denied.0,
        denied.1,
    );
    // Maintenance: etcd's auth errors untranslated (code Unknown) for
    // some calls; status and alarms open to anyone, and so is moving the
    // leadership, on these versions (3.4.42 and 3.5.28 closed them).
    let raw_denied = (Code::Unknown, "auth: permission denied");
    refused(a.defragment(), raw_denied.0, raw_denied.1);
    refused(a.hash(), raw_denied.0, raw_denied.1);
    refused(a.hash_kv(0), raw_denied.0, raw_denied.1);
    refused(
        a.snapshot(&mut Vec::new(), None),
        raw_denied.0,
        raw_denied.1,
    );
    let raw_empty = (Code::Unknown, "auth: user name is empty");
    refused(v3.defragment(), raw_empty.0, raw_empty.1);
    refused(v3.hash(), raw_empty.0, raw_empty.1);
    let me = a.status().unwrap().header.member_id;
    assert_eq!(a.alarm_list().unwrap(), vec![]);
    assert_eq!(v3.alarm_list().unwrap(), vec![]);
    assert_eq!(a.alarm_disarm(me, AlarmKind::NoSpace).unwrap(), vec![]);
    let raised = vec![etcdc::v3::Alarm {
        member_id: me,
        kind: AlarmKind::NoSpace,
    }];
    assert_eq!(a.alarm_activate(me, AlarmKind::NoSpace).unwrap(), raised);
    assert_eq!(v3.alarm_disarm(me, AlarmKind::NoSpace).unwrap(), raised);
    a.move_leader(me).unwrap();
    v3.move_leader(me).unwrap();
    // Member list is open to any user on these versions (3.4.42 and
    // 3.5.28 briefly made it root's).
    assert_eq!(a.member_list().unwrap().len(), 1);

    // A user without a password (TLS common name only); an empty one.
    r.user_add("cert-only", None).unwrap();
    refused(
        as_user(&etcd, "cert-only", "").v3().get("app/x"),
        Code::Unknown,
        "auth: authentication failed, password was given for no password user",
    );
    r.user_add("empty", Some("")).unwrap();
    refused(
        as_user(&etcd, "empty", "").v3().get("app/x"),
        denied.0,
        denied.1,
    );

    // Wrong password, unknown user: alike.
    let failed = (
        Code::InvalidArgument,
        "etcdserver: authentication failed, invalid user ID or password",
    );
    let wrong = as_user(&etcd, "root", "not-the-password");
    refused(wrong.v3().get("app/x"), failed.0, failed.1);
    let stranger = as_user(&etcd, "mallory", ROOT_PASSWORD);
    refused(stranger.v3().put("app/x", "3"), failed.0, failed.1);

    // Nothing shows a password or a token.
    let b = builder(&etcd).basic_auth("root", ROOT_PASSWORD);
    let mut shown = vec![
        ("builder", format!("{b:?}")),
        ("client", format!("{root:?}")),
        ("v3", format!("{:?}", root.v3())),
        ("alice's client", format!("{alice:?}")),
    ];
    for (what, e) in [
        ("wrong password", wrong.v3().get("k").unwrap_err()),
        ("denied", a.put("app/x", "2").unwrap_err()),
        ("no user", v3.get("k").unwrap_err()),
        ("early", early_error),
    ] {
        shown.push((what, format!("{e:?}")));
        shown.push((what, e.to_string()));
    }
    for (what, text) in &shown {
        assert_no_credentials(what, text, "root", ROOT_PASSWORD);
        assert_no_credentials(what, text, "alice", "alice-pw");
        assert_no_credentials(what, text, "root", "not-the-password");
        assert!(simple_token(text).is_none(), "{what} shows a token: {text}");
    }
    assert!(simple_token("x abcdefghijklmnop.12 y").is_some());

    // Auth off again: open to all; the credentials are now refused.
    r.auth_disable().unwrap();
    assert_eq!(v3.get("app/x").unwrap().unwrap().value, b"1");
    v3.put("app/x", "4").unwrap();
    // The credentials are not needed any more: calls go without a token.
    assert_eq!(r.get("app/x").unwrap().unwrap().value, b"4");
    r.put("app/x", "5").unwrap();
    // And once auth is on again, the client authenticates again.
    r.auth_enable().unwrap();
    assert_eq!(r.get("app/x").unwrap().unwrap().value, b"5");
    refused(
        v3.get("app/x"),
        Code::InvalidArgument,
        "etcdserver: user name is empty",
    );
    r.auth_disable().unwrap();
    if v == V::V35 {
        assert!(!v3.auth_status().unwrap().enabled);
    }
}

/// A simple token (`sixteen letters`.`index`) in `text`.
fn simple_token(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    (0..b.len()).find_map(|i| {
        let letters = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        let digits = b[i + letters..]
            .iter()
            .skip(1)
            .take_while(|c| c.is_ascii_digit())
            .count();
        let starts = i == 0 || !b[i - 1].is_ascii_alphabetic();
        (starts && letters == 16 && b.get(i + letters) == Some(&b'.') && digits > 0)
            .then(|| &text[i..i + letters + 1 + digits])
    })
}

fn expired_tokens_are_renewed(v: V) {
    let etcd = v.start(&["--auth-token-ttl=1"]);
    enable_auth(&anonymous(&etcd));
    // Two clients, two tokens: one to read, one to write.
    let (reader, writer) = (
        as_user(&etcd, "root", ROOT_PASSWORD),
        as_user(&etcd, "root", ROOT_PASSWORD),
    );
    let first = writer.v3().put("k", "1").unwrap();
    assert_eq!(reader.v3().get("k").unwrap().unwrap().value, b"1");
    let refused_before = etcd.log().matches("invalid auth token").count();

    // etcd forgets an idle simple token after its TTL (checked every second).
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(reader.v3().get("k").unwrap().unwrap().value, b"1");
    let second = writer.v3().put("k", "2").unwrap();
    let kv = reader.v3().get("k").unwrap().unwrap();
    assert_eq!((kv.value.as_slice(), kv.version), (&b"2"[..], 2));
    assert_eq!(second.header.revision, first.header.revision + 1);
    assert_eq!(kv.mod_revision, second.header.revision);

    // Both were refused on the way (etcd logged it, with the token), and
    // no token shows in a client's Debug.
    let log = etcd.log();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("invalid auth token"))
        .skip(refused_before)
        .collect();
    assert!(refused.len() >= 2, "etcd refused {refused:?}:\n{log}");
    let tokens: Vec<&str> = refused.iter().filter_map(|l| simple_token(l)).collect();
    assert_eq!(tokens.len(), refused.len(), "{refused:?}");
    for client in [&reader, &writer] {
        let shown = format!("{client:?} {:?}", client.v3());
        assert!(simple_token(&shown).is_none(), "{shown}");
        for token in &tokens {
            assert!(!shown.contains(token), "{shown}");
        }
    }
}

/// A watch goes on through its token's expiry (`--auth-token-ttl=1`): the
/// running stream keeps delivering, and when a new watch on the same
/// stream is refused for the expired token, the client authenticates
/// again and creates every watch on a new stream, the first one from its
/// next revision: each change comes once. A watch without read permission
/// is refused with etcd's PermissionDenied.
fn watches_outlive_their_token(v: V) {
    use etcdc::v3::Watch;
    let etcd = v.start(&["--auth-token-ttl=1"]);
    let admin = anonymous(&etcd);
    enable_auth(&admin);
    let root = as_user(&etcd, "root", ROOT_PASSWORD);
    let watching = as_user(&etcd, "root", ROOT_PASSWORD);
    let mut first = watching.v3().watch(&Watch::prefix("w/")).unwrap();
    let r1 = root.v3().put("w/1", "1").unwrap().header.revision;
    let wait = Some(Duration::from_secs(10));
    assert_eq!(first.next_event(wait).unwrap().revision(), r1);

    // etcd forgets the idle token; the stream is not idle for etcd's
    // purposes, but the token is gone all the same.
    std::thread::sleep(Duration::from_millis(2500));
    let r2 = root.v3().put("w/2", "2").unwrap().header.revision;
    assert_eq!(first.next_event(wait).unwrap().revision(), r2);
    let refused_before = etcd.log().matches("invalid auth token").count();
    let mut second = watching.v3().watch(&Watch::key("w/3")).unwrap();
    let r3 = root.v3().put("w/3", "3").unwrap().header.revision;
    assert_eq!(second.next_event(wait).unwrap().revision(), r3);
    assert_eq!(first.next_event(wait).unwrap().revision(), r3);
    assert!(matches!(
        first.next_event(Some(Duration::from_millis(300))),
        Err(Error::WatchTimeout(_))
    ));
    // etcd checks the token of each watch it creates (3.4: "invalid auth
    // token"; 3.5.1 answers "permission denied", and logs the token as
    // invalid).
    assert!(
        etcd.log().matches("invalid auth token").count() > refused_before,
        "the second watch was not refused for the expired token"
    );

    root.v3().user_add("eve", Some("eve-pw")).unwrap();
    let eve = as_user(&etcd, "eve", "eve-pw");
    match eve.v3().watch(&Watch::key("w/1")) {
        Err(Error::Grpc { code, message, .. }) => {
            assert_eq!(
                (code, message.as_str()),
                (Code::PermissionDenied, "etcdserver: permission denied")
            );
        }
        other => panic!("{other:?}"),
    }
}

fn old_jwt_tokens_are_renewed(v: V) {
    // An RSA key pair for etcd to sign its tokens with.
    let dir = std::env::temp_dir().join(format!("etcdc-jwt-{}-{v:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key, public) = (dir.join("key.pem"), dir.join("pub.pem"));
    let openssl = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    openssl(&[
        "genrsa".as_ref(),
        "-out".as_ref(),
        key.as_ref(),
        "2048".as_ref(),
    ]);
    openssl(&[
        "rsa".as_ref(),
        "-in".as_ref(),
        key.as_ref(),
        "-pubout".as_ref(),
        "-out".as_ref(),
        public.as_ref(),
    ]);
    let token = format!(
        "--auth-token=jwt,pub-key={},priv-key={},sign-method=RS256,ttl=1h",
        public.display(),
        key.display()
    );
    let etcd = v.start(&[&token]);
    let _ = std::fs::remove_dir_all(&dir);
    enable_auth(&anonymous(&etcd));
    let root = as_user(&etcd, "root", ROOT_PASSWORD);
    let r = root.v3();
    let first = r.put("k", "1").unwrap();

    // A JWT token carries the auth store's revision: any change of users or
    // roles makes it old, and etcd refuses it for keys (3.4:
    // InvalidArgument "etcdserver: revision of auth store is old"; 3.5.1:
    // Unknown "auth: revision in header is old"). The client gets a new one.
    r.role_add("any").unwrap();
    assert_eq!(r.get("k").unwrap().unwrap().value, b"1");
    r.user_add("someone", Some("pw")).unwrap();
    let second = r.put("k", "2").unwrap();
    let kv = r.get("k").unwrap().unwrap();
    assert_eq!((kv.value.as_slice(), kv.version), (&b"2"[..], 2));
    assert_eq!(second.header.revision, first.header.revision + 1);
}

// ---------------------------------------------------------------------------
// etcdctl

/// `etcdctl` 3.5.1 against `etcd` as root; panics unless it succeeds.
fn etcdctl(etcd: &Etcd, args: &[&str]) -> String {
    let user = format!("--user=root:{ROOT_PASSWORD}");
    let mut all = vec![user.as_str()];
    all.extend_from_slice(args);
    let out: Output = etcd35::etcdctl(&etcd.url, &all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn etcdctl_sees_our_users_and_we_see_its(v: V) {
    let etcd = v.start(&[]);
    enable_auth(&anonymous(&etcd));
    let root = as_user(&etcd, "root", ROOT_PASSWORD);
    let r = root.v3();

    // Ours, in etcdctl's eyes.
    r.user_add("carol", Some("carol-pw")).unwrap();
    r.role_add("app").unwrap();
    r.role_grant_permission(
        "app",
        &Permission::prefix(PermissionKind::ReadWrite, "app/"),
    )
    .unwrap();
    r.role_grant_permission("app", &Permission::key(PermissionKind::Read, "cfg"))
        .unwrap();
    r.user_grant_role("carol", "app").unwrap();
    assert_eq!(etcdctl(&etcd, &["user", "list"]), "carol\nroot\n");
    assert_eq!(
        etcdctl(&etcd, &["role", "get", "app"]),
        "Role app\nKV Read:\n\t[app/, app0) (prefix app/)\n\tcfg\n\
         KV Write:\n\t[app/, app0) (prefix app/)\n"
    );
    assert_eq!(
        etcdctl(&etcd, &["user", "get", "carol"]),
        "User: carol\nRoles: app\n"
    );
    let carol = etcd35::etcdctl(&etcd.url, &["--user=carol:carol-pw", "put", "app/a", "1"]);
    assert!(carol.status.success(), "{carol:?}");

    // Its, in ours.
    etcdctl(&etcd, &["user", "add", "dave:dave-pw"]);
    etcdctl(&etcd, &["role", "add", "ops"]);
    etcdctl(
        &etcd,
        &[
            "role",
            "grant-permission",
            "ops",
            "--prefix",
            "write",
            "ops/",
        ],
    );
    etcdctl(
        &etcd,
        &["role", "grant-permission", "ops", "read", "a", "b"],
    );
    etcdctl(&etcd, &["user", "grant-role", "dave", "ops"]);
    assert_eq!(r.user_list().unwrap(), strings(&["carol", "dave", "root"]));
    assert_eq!(r.role_list().unwrap(), strings(&["app", "ops"]));
    assert_eq!(r.user_get("dave").unwrap(), strings(&["ops"]));
    assert_eq!(
        r.role_get("ops").unwrap(),
        vec![
            Permission::range(PermissionKind::Read, "a", "b"),
            Permission::prefix(PermissionKind::Write, "ops/"),
        ]
    );
    let dave = as_user(&etcd, "dave", "dave-pw");
    dave.v3().put("ops/x", "1").unwrap();
    refused(
        dave.v3().get("ops/x"),
        Code::PermissionDenied,
        "etcdserver: permission denied",
    );

    // Members, alike.
    let id = r.member_list().unwrap()[0].id;
    let listed = etcdctl(&etcd, &["member", "list"]);
    assert!(
        listed.starts_with(&format!("{id:x}, started, n1, ")),
        "{listed}"
    );
}

// ---------------------------------------------------------------------------
// Cluster

fn one_member(v: V) {
    let etcd = v.shared();
    let client = anonymous(etcd);
    let members = client.v3().member_list().unwrap();
    let status = client.v3().status().unwrap();
    assert_eq!(
        members,
        vec![Member {
            id: status.header.member_id,
            name: "n1".into(),
            peer_urls: vec![etcd.peer_url()],
            client_urls: vec![etcd.url.clone()],
            is_learner: false,
        }]
    );
}

fn a_learner_comes_and_goes(v: V) {
    let etcd = v.start(&[]);
    let client = anonymous(&etcd);
    let v3 = client.v3();
    let me = v3.member_list().unwrap().remove(0);
    let nowhere = format!("http://127.0.0.1:{}", common::dead_port());

    // A learner does not count for the quorum: the node stays available.
    let added = v3.member_add(&[&nowhere], true).unwrap();
    let learner = Member {
        id: added.member.id,
        name: String::new(),
        peer_urls: vec![nowhere.clone()],
        client_urls: vec![],
        is_learner: true,
    };
    assert_ne!(learner.id, 0);
    assert_eq!(added.member, learner);
    let mut both = vec![me.clone(), learner.clone()];
    both.sort_by_key(|m| m.id);
    let sorted = |mut list: Vec<Member>| {
        list.sort_by_key(|m| m.id);
        list
    };
    assert_eq!(sorted(added.members), both);
    assert_eq!(sorted(v3.member_list().unwrap()), both);
    v3.put("still", "available").unwrap();
    assert_eq!(added.header.member_id, me.id);

    // etcd makes a member's id of its peer URLs and the time in seconds.
    settle(&v3);
    let again = v3.member_add(&[&nowhere], true);
    let (code, message) = grpc(again);
    assert_eq!(code, Code::FailedPrecondition);
    assert!(
        message == "etcdserver: member ID already exist"
            || message == "etcdserver: Peer URLs already exists",
        "{message}"
    );
    let other = format!("http://127.0.0.1:{}", common::dead_port());
    settle(&v3);
    refused(
        v3.member_add(&[&other, &nowhere], true),
        Code::FailedPrecondition,
        "etcdserver: Peer URLs already exists",
    );
    refused(
        v3.member_add(&["not a url"], true),
        Code::InvalidArgument,
        "etcdserver: given member URLs are invalid",
    );
    assert!(matches!(
        v3.member_add(&[], true),
        Err(Error::InvalidArgument(_))
    ));

    // Not a leader either.
    refused(
        v3.move_leader(learner.id),
        Code::FailedPrecondition,
        "etcdserver: bad leader transferee",
    );

    // Its peer URL changes; etcd 3.4.23 and 3.5.1 forget, in the member
    // list, that it is a learner (raft does not: the node stays available
    // and the member cannot be promoted).
    let elsewhere = format!("http://127.0.0.1:{}", common::dead_port());
    settle(&v3);
    let updated = v3.member_update(learner.id, &[&elsewhere]).unwrap();
    let moved = Member {
        peer_urls: vec![elsewhere.clone()],
        is_learner: false,
        ..learner.clone()
    };
    let mut both = vec![me.clone(), moved.clone()];
    both.sort_by_key(|m| m.id);
    assert_eq!(sorted(updated), both);

    // Never started: not in sync, no promotion.
    refused(
        v3.member_promote(learner.id),
        Code::FailedPrecondition,
        "etcdserver: can only promote a learner member which is in sync with leader",
    );
    settle(&v3);
    refused(
        v3.member_promote(me.id),
        Code::FailedPrecondition,
        "etcdserver: can only promote a learner member",
    );
    settle(&v3);
    refused(
        v3.member_promote(0x1234),
        Code::NotFound,
        "etcdserver: member not found",
    );
    v3.put("still", "available").unwrap();

    // Gone again.
    settle(&v3);
    assert_eq!(v3.member_remove(learner.id).unwrap(), vec![me.clone()]);
    assert_eq!(v3.member_list().unwrap(), vec![me.clone()]);
    let not_found = (Code::NotFound, "etcdserver: member not found");
    settle(&v3);
    refused(v3.member_remove(learner.id), not_found.0, not_found.1);
    settle(&v3);
    refused(
        v3.member_update(learner.id, &[&elsewhere]),
        not_found.0,
        not_found.1,
    );
    assert_eq!(v3.member_list().unwrap(), vec![me]);
}

/// Commits a write between membership changes: etcd 3.5.1 may answer a
/// change before its raft marks it applied, and its raft then drops a next
/// change proposed at once ("possible unapplied conf change"), which etcd
/// never answers (the call waits its whole timeout, and is `Ambiguous`).
/// A write committed in between closes that window.
fn settle(v3: &etcdc::v3::V3<'_>) {
    v3.put("settle", "").unwrap();
}

// ---------------------------------------------------------------------------
// Maintenance

fn status_of_a_member(v: V) {
    let etcd = v.shared();
    let client = anonymous(etcd);
    let status = client.v3().status().unwrap();
    assert!(
        status.version.starts_with(v.pick("3.4.", "3.5.")),
        "{status:?}"
    );
    assert_eq!(status.endpoint, etcd.url);
    assert_ne!(status.header.member_id, 0);
    assert_eq!(status.leader, status.header.member_id);
    assert!(status.raft_term >= 1, "{status:?}");
    assert!(status.raft_index >= 1, "{status:?}");
    assert!(status.raft_applied_index >= 1, "{status:?}");
    assert!(status.db_size > 0, "{status:?}");
    assert!(
        status.db_size_in_use > 0 && status.db_size_in_use <= status.db_size,
        "{status:?}"
    );
    assert!(!status.is_learner);
    assert_eq!(status.errors, Vec::<String>::new());
    assert_eq!(status.header.raft_term, status.raft_term);
}

fn alarms_and_defragment(v: V) {
    // A quota the first big value exceeds.
    let etcd = v.start(&["--quota-backend-bytes=200000"]);
    let client = anonymous(&etcd);
    let v3 = client.v3();
    let me = v3.status().unwrap().header.member_id;
    assert_eq!(v3.alarm_list().unwrap(), vec![]);
    assert_eq!(v3.alarm_disarm(me, AlarmKind::NoSpace).unwrap(), vec![]);

    let big = vec![b'x'; 300_000];
    let full = (
        Code::ResourceExhausted,
        "etcdserver: mvcc: database space exceeded",
    );
    refused(v3.put("big", big.clone()), full.0, full.1);
    let alarm = etcdc::v3::Alarm {
        member_id: me,
        kind: AlarmKind::NoSpace,
    };
    assert_eq!(v3.alarm_list().unwrap(), vec![alarm]);
    let status = v3.status().unwrap();
    assert_eq!(
        status.errors,
        vec![format!("memberID:{me} alarm:NOSPACE ")],
        "{status:?}"
    );
    refused(v3.put("small", "1"), full.0, full.1);

    // Free the space (compact, defragment), then disarm.
    let rev = v3.get("nothing").map(|_| ()).and_then(|()| v3.status());
    let revision = rev.unwrap().header.revision;
    v3.compact(revision.max(1), true).unwrap();
    let before = v3.status().unwrap();
    assert_eq!(v3.defragment().unwrap(), etcd.url);
    let after = v3.status().unwrap();
    assert!(after.db_size <= before.db_size, "{before:?} then {after:?}");
    assert_eq!(
        v3.alarm_disarm(me, AlarmKind::NoSpace).unwrap(),
        vec![alarm]
    );
    assert_eq!(v3.alarm_list().unwrap(), vec![]);
    v3.put("small", "1").unwrap();
    assert_eq!(v3.alarm_disarm(me, AlarmKind::Corrupt).unwrap(), vec![]);
}

/// Alarms raised by the client (`alarm_activate`), on a private etcd: what
/// each does to reads and writes, and that disarming undoes it.
fn raised_alarms(v: V) {
    let etcd = v.start(&[]);
    let client = anonymous(&etcd);
    let v3 = client.v3();
    let me = v3.status().unwrap().header.member_id;
    v3.put("before", "1").unwrap();
    let nospace = etcdc::v3::Alarm {
        member_id: me,
        kind: AlarmKind::NoSpace,
    };
    assert_eq!(
        v3.alarm_activate(me, AlarmKind::NoSpace).unwrap(),
        vec![nospace]
    );
    // Raised already: the same alarm, once.
    assert_eq!(
        v3.alarm_activate(me, AlarmKind::NoSpace).unwrap(),
        vec![nospace]
    );
    assert_eq!(v3.alarm_list().unwrap(), vec![nospace]);
    let full = (
        Code::ResourceExhausted,
        "etcdserver: mvcc: database space exceeded",
    );
    refused(v3.put("during", "1"), full.0, full.1);
    refused(v3.lease_grant(60, 0), full.0, full.1);
    // Reads and deletes go on.
    assert!(v3.get("before").unwrap().is_some());
    let gone = v3.delete(&etcdc::v3::Delete::key("before")).unwrap();
    assert_eq!(gone.deleted, 1);
    assert_eq!(
        v3.alarm_disarm(me, AlarmKind::NoSpace).unwrap(),
        vec![nospace]
    );
    v3.put("after", "1").unwrap();

    // Member 0, as python-etcd3's create_alarm() sends by default: etcd
    // records it under 0, and it caps the store all the same.
    let zero = etcdc::v3::Alarm {
        member_id: 0,
        kind: AlarmKind::NoSpace,
    };
    assert_eq!(
        v3.alarm_activate(0, AlarmKind::NoSpace).unwrap(),
        vec![zero]
    );
    assert_eq!(v3.alarm_list().unwrap(), vec![zero]);
    refused(v3.put("during", "1"), full.0, full.1);
    assert_eq!(v3.alarm_disarm(0, AlarmKind::NoSpace).unwrap(), vec![zero]);
    v3.put("after", "2").unwrap();

    let corrupt = etcdc::v3::Alarm {
        member_id: me,
        kind: AlarmKind::Corrupt,
    };
    assert_eq!(
        v3.alarm_activate(me, AlarmKind::Corrupt).unwrap(),
        vec![corrupt]
    );
    assert_eq!(v3.alarm_list().unwrap(), vec![corrupt]);
    // Writes refused, reads go on.
    let corrupted = (Code::DataLoss, "etcdserver: corrupt cluster");
    refused(v3.put("during", "1"), corrupted.0, corrupted.1);
    assert_eq!(v3.get("after").unwrap().unwrap().value, b"2");
    assert_eq!(
        v3.alarm_disarm(me, AlarmKind::Corrupt).unwrap(),
        vec![corrupt]
    );
    assert_eq!(v3.alarm_list().unwrap(), vec![]);
    v3.put("after", "3").unwrap();
}

fn hashes(v: V) {
    let etcd = v.shared();
    let client = anonymous(etcd);
    let v3 = client.v3();
    let key = format!("hashes-{v:?}");
    let put = v3.put(key.as_str(), "1").unwrap();
    let rev = put.header.revision;

    let hash = v3.hash().unwrap();
    assert_ne!(hash.hash, 0);
    assert_eq!(hash.header.member_id, put.header.member_id);
    // The same revision hashes alike, whatever came later.
    let a = v3.hash_kv(rev).unwrap();
    v3.put(key.as_str(), "2").unwrap();
    let b = v3.hash_kv(rev).unwrap();
    assert_eq!(a.hash, b.hash);
    assert_ne!(a.hash, 0);
    assert_eq!(a.compact_revision, b.compact_revision);
    assert!(b.header.revision > rev);
    let latest = v3.hash_kv(0).unwrap();
    assert!(latest.header.revision > rev);

    refused(
        v3.hash_kv(rev + 1_000_000),
        Code::OutOfRange,
        "etcdserver: mvcc: required revision is a future revision",
    );
}

fn move_leader(v: V) {
    let etcd = v.shared();
    let client = anonymous(etcd);
    let v3 = client.v3();
    let me = v3.status().unwrap().header.member_id;
    v3.move_leader(me).unwrap();
    refused(
        v3.move_leader(me ^ 1),
        Code::FailedPrecondition,
        "etcdserver: bad leader transferee",
    );
}

fn snapshots(v: V) {
    let etcd = v.shared();
    let client = anonymous(etcd);
    let v3 = client.v3();
    let key = format!("snapshots-{v:?}");
    let put = v3.put(key.as_str(), "in the snapshot").unwrap();

    let mut bytes = Vec::new();
    let snapshot = v3
        .snapshot(&mut bytes, Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(snapshot.endpoint, etcd.url);
    assert_eq!(snapshot.size, bytes.len() as u64);
    // A bbolt file (its first page's magic), in 4 KiB pages, then the
    // SHA-256 of it.
    let (db, sum) = bytes.split_at(bytes.len() - 32);
    assert_eq!(db[16..20], 0xED0C_DAEDu32.to_le_bytes(), "not a bbolt file");
    assert_eq!(db.len() % 4096, 0, "{} bytes", db.len());
    assert_eq!(sha256(db), sum, "the trailing SHA-256");
    let status = v3.status().unwrap();
    assert!(db.len() as i64 <= status.db_size + 4096 * 16, "{status:?}");
    // Neither 3.4 nor 3.5.1 sends a header with a snapshot.
    assert_eq!(snapshot.header, etcdc::v3::Header::default());

    // etcdctl reads it, with the revision of our put or later.
    let dir = std::env::temp_dir().join(format!("etcdc-snap-{}-{v:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("snap.db");
    std::fs::write(&file, &bytes).unwrap();
    let out = Command::new(etcd35::etcdctl_bin())
        .args(["snapshot", "status", "-w", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{out:?}");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        info["revision"].as_i64().unwrap() >= put.header.revision,
        "{info}"
    );
    assert_eq!(info["totalSize"].as_u64(), Some(db.len() as u64), "{info}");

    // A writer that fails: the transfer stops with its error; the client
    // goes on.
    struct Failing(usize);
    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 > 8192 {
                return Err(std::io::Error::other("disk full"));
            }
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match v3.snapshot(&mut Failing(0), None) {
        Err(Error::InvalidArgument(m)) => {
            assert_eq!(m, "writing the snapshot failed: disk full")
        }
        other => panic!("{other:?}"),
    }
    assert!(v3.get(key.as_str()).unwrap().is_some());

    // To a file: written aside, then renamed over whatever was there; no
    // part file left. A file that cannot be made leaves nothing.
    let dir = std::env::temp_dir().join(format!("etcdc-snapf-{}-{v:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("snap.db");
    std::fs::write(&file, b"old").unwrap();
    let saved = v3
        .snapshot_to_file(&file, Some(Duration::from_secs(10)))
        .unwrap();
    let on_disk = std::fs::read(&file).unwrap();
    assert_eq!(saved.size, on_disk.len() as u64);
    let (db, sum) = on_disk.split_at(on_disk.len() - 32);
    assert_eq!(sha256(db), sum, "the trailing SHA-256");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["snap.db"], "a part file was left");
    let _ = std::fs::remove_dir_all(&dir);
    let missing = dir.join("no-such-dir").join("snap.db");
    match v3.snapshot_to_file(&missing, None) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("snap.db.part-"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// SHA-256 of `data`, by `sha256sum`.
fn sha256(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run sha256sum");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn asking_one_member(v: V) {
    let etcd = v.shared();
    let client = anonymous(etcd);
    let v3 = client.v3();
    let status = v3.status().unwrap();
    let of = v3.status_of(&format!("{}/", etcd.url)).unwrap();
    assert_eq!(of.endpoint, etcd.url);
    assert_eq!(
        (of.header.member_id, of.leader, of.version),
        (status.header.member_id, status.leader, status.version)
    );
    let rev = v3
        .put(format!("asking-{v:?}"), "x")
        .unwrap()
        .header
        .revision;
    assert_eq!(
        v3.hash_kv_of(&etcd.url, rev).unwrap().hash,
        v3.hash_kv(rev).unwrap().hash
    );
    v3.defragment_of(&etcd.url).unwrap();

    for bad in ["127.0.0.1:2379", "http://", "http://h:1/v3", "unix:///x"] {
        match v3.status_of(bad) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains(bad), "{m}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    let dead = format!("http://127.0.0.1:{}", common::dead_port());
    match v3.status_of(&dead) {
        Err(Error::Connection { endpoint, .. }) => assert_eq!(endpoint, dead),
        other => panic!("{other:?}"),
    }
    // The other version's etcd is another cluster.
    let other = v.pick(V::V35, V::V34).shared();
    match v3.status_of(&other.url) {
        Err(Error::ClusterIdMismatch { endpoint, .. }) => assert_eq!(endpoint, other.url),
        other => panic!("{other:?}"),
    }
    match v3.defragment_of(&other.url) {
        Err(Error::ClusterIdMismatch { .. }) => {}
        other => panic!("{other:?}"),
    }
}

/// A 3-member etcd 3.4: the leadership moves from a client that talks to
/// a follower; a follower refuses to move it itself; members compared.
#[test]
fn leadership_moves_in_a_cluster() {
    let cluster = common::cluster::Cluster::start(3);
    let leader = cluster.leader_index();
    let follower = (leader + 1) % 3;
    let client = Client::builder()
        .endpoints([cluster.url(follower)])
        .read_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let v3 = client.v3();
    let members = v3.member_list().unwrap();
    let id_of = |i: usize| {
        members
            .iter()
            .find(|m| m.client_urls == [cluster.url(i)])
            .unwrap()
            .id
    };
    let status = v3.status().unwrap();
    assert_eq!(status.leader, id_of(leader));
    assert_eq!(status.header.member_id, id_of(follower));

    // Every member, asked one by one, agrees.
    let rev = v3.put("cluster-key", "1").unwrap().header.revision;
    let hashes: Vec<u32> = (0..3)
        .map(|i| v3.hash_kv_of(cluster.url(i), rev).unwrap().hash)
        .collect();
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
    for i in 0..3 {
        let s = v3.status_of(cluster.url(i)).unwrap();
        assert_eq!((s.header.member_id, s.leader), (id_of(i), id_of(leader)));
    }

    // Through a follower's client, to that follower.
    v3.move_leader(id_of(follower)).unwrap();
    assert_eq!(v3.status().unwrap().leader, id_of(follower));
    assert_eq!(
        v3.status_of(cluster.url(leader)).unwrap().leader,
        id_of(follower)
    );

    // The old leader, now a follower, refuses (asked directly, by curl).
    let (status, message) = move_leader_by_curl(cluster.url(leader), id_of(leader));
    assert_eq!(
        (status.as_str(), message.as_str()),
        ("9", "etcdserver: not leader")
    );
    cluster.stop();
}

/// A MoveLeader call to `url` sent by curl (h2c): etcd's grpc-status and
/// grpc-message.
fn move_leader_by_curl(url: &str, target: u64) -> (String, String) {
    let mut body = vec![0x08]; // field 1, varint
    let mut n = target;
    while n >= 0x80 {
        body.push((n as u8) | 0x80);
        n >>= 7;
    }
    body.push(n as u8);
    let mut framed = vec![0];
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    let mut child = Command::new("curl")
        .args(["-sS", "--http2-prior-knowledge", "-X", "POST", "-D", "-"])
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
        .args(["--max-time", "10", "--data-binary", "@-", "-o", "/dev/null"])
        .arg(format!("{url}/etcdserverpb.Maintenance/MoveLeader"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run curl");
    child.stdin.take().unwrap().write_all(&framed).unwrap();
    let out = child.wait_with_output().unwrap();
    let head = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in {head}"))
    };
    (field("grpc-status:"), field("grpc-message:"))
}
