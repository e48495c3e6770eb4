//! IAM Identity Center's sign-in half with the official clients: botocore's sso-oidc device
//! flow (RegisterClient, StartDeviceAuthorization, CreateToken polling until the user approves
//! in the access portal's pages), the portal API (ListAccounts, ListAccountRoles,
//! GetRoleCredentials, Logout), PKCE through `/authorize`, refresh tokens, and the role
//! session's permissions. The identity store and the assignment are written here directly
//! (the administration API has its own tests); the script is compat/sso_signin_official.py.

mod common;
use common::*;
use kagi_server::identity_center::{self as ic, Instance, PermissionSet, StoreUser};
use kagi_server::store::{self, Durability, GLOBAL, Table, TxExt};
use std::path::PathBuf;
use std::process::Command;

/// An instance owned by the server's account, a user `alice` with a portal password and a
/// permission set `EcrReader` assigned to her in the server's own account, provisioned.
fn seed(server: &kagi_server::RunningServer) -> Instance {
    let state = server.state();
    let now = kagi_server::ids::now_secs();
    let instance = Instance {
        id: format!("ssoins-{}", ic::hex16()),
        identity_store_id: "d-1234567890".into(),
        owner_account: ACCOUNT.into(),
        name: Some("kagi".into()),
        created: now,
        session_secs: 8 * 3600,
    };
    let user = StoreUser {
        id: uuid::Uuid::new_v4().to_string(),
        user_name: "alice".into(),
        attributes: serde_json::json!({"DisplayName": "Alice"}),
        password_phc: Some(kagi_console::password::hash("Portal-Passw0rd!")),
        created: now,
        updated: now,
    };
    let ps = PermissionSet {
        id: format!("ps-{}", ic::hex16()),
        instance_id: instance.id.clone(),
        name: "EcrReader".into(),
        description: None,
        session_duration: "PT2H".into(),
        relay_state: None,
        inline_policy: Some(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:DescribeRepositories","ecr:CreateRepository"],"Resource":"*"}]}"#.into(),
        ),
        managed_policies: vec![],
        customer_policies: vec![],
        boundary_arn: None,
        boundary_ref: None,
        tags: vec![],
        created: now,
    };
    let a = ic::Assignment {
        account: ACCOUNT.into(),
        permission_set: ps.arn(),
        principal_type: "USER".into(),
        principal_id: user.id.clone(),
    };
    state
        .kv
        .transaction(Durability::Full, &mut |raw| {
            store::in_account(raw, GLOBAL, |tx| {
                tx.put_json(
                    Table::IdentityCenter,
                    &ic::keys::instance(&instance.id),
                    &instance,
                )?;
                tx.put_json(
                    Table::IdentityCenter,
                    &ic::keys::owner(ACCOUNT),
                    &instance.id,
                )?;
                let s = &instance.identity_store_id;
                tx.put_json(Table::IdentityCenter, &ic::keys::user(s, &user.id), &user)?;
                tx.put_json(
                    Table::IdentityCenter,
                    &ic::keys::user_name(s, "alice"),
                    &user.id,
                )?;
                tx.put_json(
                    Table::IdentityCenter,
                    &ic::keys::permission_set(&instance.id, &ps.id),
                    &ps,
                )?;
                tx.put_json(
                    Table::IdentityCenter,
                    &ic::keys::assignment(&instance.id, &a),
                    &a,
                )
            })?;
            ic::provision(raw, &instance, ACCOUNT, &ps, now)?.map_err(|e| anyhow::anyhow!(e))?;
            Ok(())
        })
        .unwrap();
    instance
}

#[test]
fn device_flow_pkce_and_portal_with_botocore() {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV").map(PathBuf::from) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KAGI_COMPAT_VENV (a venv with boto3) is required under CI"
        );
        eprintln!("SKIPPED: KAGI_COMPAT_VENV is not set; run `bash scripts/test`");
        return;
    };
    let server = start_with_dir(None);
    let instance = seed(&server);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/compat/sso_signin_official.py"
    );
    let out = Command::new(venv.join("bin/python"))
        .arg(script)
        .env("KAGI_ENDPOINT", format!("http://{}", server.addr))
        .env("KAGI_ACCOUNT", ACCOUNT)
        .env("KAGI_STORE_ID", &instance.identity_store_id)
        .env("KAGI_ROOT_AKID", ROOT_AKID)
        .env("KAGI_ROOT_SECRET", ROOT_SECRET)
        .output()
        .expect("run sso_signin_official.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "official clients failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("OK:"), "{stdout}");
}
