//! A client used on both sides of `fork()`: the child must leave the
//! parent's connections alone (they share the sockets) and open its own, so
//! that neither process ever takes the other's answer. Its own test binary:
//! the child runs in a process that has only the test's thread.

mod common;

use etcdc::ReadOptions;

/// The reproduction from the field: a parent reads through a client (one
/// keep-alive connection now pooled), forks, and both processes read
/// through that same client at once, many rounds. Before the fix, 9 to 52
/// of 100 rounds gave one side the other's answer.
#[test]
fn both_sides_of_a_fork_get_their_own_answers() {
    // A short read timeout: a side that waits for an answer the other side
    // took fails within the round, not after a minute.
    let client = etcdc::Client::builder()
        .endpoints([common::shared().url.as_str()])
        .read_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let (a, b) = (common::prefix("fork") + "/a", common::prefix("fork") + "/b");
    client.set(&a, "A").unwrap();
    client.set(&b, "B").unwrap();
    let read = |key: &str| {
        client
            .read(key, &ReadOptions::default())
            .map(|r| (r.node.key, r.node.value.unwrap_or_default()))
    };
    let mut failures = Vec::new();
    for round in 0..100 {
        // The parent's connection is pooled now.
        assert_eq!(read(&a).unwrap(), (a.clone(), "A".to_owned()));
        // SAFETY: this test binary has one test thread; the child only reads
        // through the client and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = match read(&b) {
                Ok((key, value)) if key == b && value == "B" => 0,
                Ok(_) => 1,
                Err(_) => 2,
            };
            // SAFETY: ends the child without running the harness.
            unsafe { libc::_exit(code) };
        }
        let mine = read(&a);
        let mut status = 0;
        // SAFETY: our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let child = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        match (&mine, child) {
            (Ok((key, value)), Some(0)) if *key == a && value == "A" => {}
            _ => failures.push(format!(
                "round {round}: parent {mine:?}, child exit {child:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
