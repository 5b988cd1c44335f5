//! A proxy configured in the environment must not divert etcd requests
//! (its own test binary: it sets process-wide environment variables).

mod common;

#[test]
fn proxy_variables_in_the_environment_are_ignored() {
    let etcd = common::shared();
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        std::env::set_var(var, "http://127.0.0.1:9");
    }
    let client = etcd.client();
    let key = format!("{}/k", common::prefix("proxy"));
    client.set(&key, "direct").unwrap();
    assert_eq!(
        client.get(&key).unwrap().node.value.as_deref(),
        Some("direct")
    );
}
