//! The seed's steps 7–10 against `kagi serve` (started in-process on a free loopback port), which
//! verifies every signature and enforces the policies.

#[test]
fn seed_steps_against_kagi_serve() {
    let server = kagi_server::start_background(kagi_server::ServerConfig::in_memory())
        .expect("kagi serve starts");
    let url = format!("http://{}", server.addr);
    let akid = server.root_access_key_id.clone();
    let secret = server.root_secret_access_key().to_string();
    let account = server.account_id.clone();
    crate::seed::seed_steps(&url, &akid, &secret, &account, true);
    server.shutdown();
}
