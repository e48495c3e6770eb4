//! The accounts one kagi serves: their records ([`Table::Accounts`], store-wide scope) and the
//! creation of a new account (Organizations' CreateAccount): its IAM (the AWS managed
//! policies, its root's metadata) and the role the management account reaches it through.
//!
//! Every account's rows live in its own scope of the one store; an account is a record here
//! plus whatever its scope holds. Access key ids name their account
//! ([`crate::ids::account_of_key`]), so authentication finds a key's account without a lookup.

use crate::account::AccountMeta;
use crate::error::{AwsError, AwsResult};
use crate::ids;
use crate::model::{Attachment, EntityKind, Role};
use crate::state::AppState;
use crate::store::{self, GLOBAL, RawTx, StoreExt, Table, Tx, TxExt, name_key};
use serde::{Deserialize, Serialize};

/// One account, as Organizations describes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountRecord {
    pub id: String,
    pub name: String,
    pub email: String,
    /// `ACTIVE`, `SUSPENDED` (closed: nothing in it may be called), as Organizations' `Status`.
    pub status: String,
    /// `CREATED` (CreateAccount) or `INVITED` (the account that created the organization).
    pub joined_method: String,
    pub created: i64,
}

impl AccountRecord {
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// The record of `account`, if it is one of this store's accounts.
pub fn record(tx: &dyn Tx, account: &str) -> anyhow::Result<Option<AccountRecord>> {
    tx.get_json(Table::Accounts, account)
}

/// Every account, by id.
pub fn all(tx: &dyn Tx) -> anyhow::Result<Vec<AccountRecord>> {
    let mut out = Vec::new();
    for (k, doc) in tx.scan(Table::Accounts, "")? {
        // Alias rows (`alias\0…`) share the table.
        if ids::is_account_id(&k) {
            out.push(serde_json::from_str(&doc)?);
        }
    }
    Ok(out)
}

/// [`Table::Accounts`] key of an account alias (aliases are unique across accounts, as on
/// AWS); the document is the account id.
pub fn alias_key(alias: &str) -> String {
    format!("alias\0{alias}")
}

/// The account an alias names (store-wide scope).
pub fn account_of_alias(tx: &dyn Tx, alias: &str) -> anyhow::Result<Option<String>> {
    tx.get_json(Table::Accounts, &alias_key(alias))
}

/// Writes the bootstrap account's record when it has none (stores created before accounts had
/// records): named `kagi`, with a placeholder e-mail address.
pub fn ensure_bootstrap(state: &AppState) -> anyhow::Result<()> {
    let account = state.bootstrap_account.clone();
    // An alias set before aliases were registered store-wide.
    let alias: Option<serde_json::Value> = state
        .store(&account)
        .view(|tx| tx.get_json(Table::Meta, crate::iam::account::ALIAS_KEY))?;
    let alias = alias.and_then(|v| v["alias"].as_str().map(str::to_owned));
    state.store(GLOBAL).write(|tx| {
        if let Some(a) = &alias
            && account_of_alias(tx, a)?.is_none()
        {
            tx.put_json(Table::Accounts, &alias_key(a), &account)?;
        }
        if record(tx, &account)?.is_none() {
            tx.put_json(
                Table::Accounts,
                &account,
                &AccountRecord {
                    id: account.clone(),
                    name: "kagi".into(),
                    email: format!("root@{account}.kagi.localhost"),
                    status: "ACTIVE".into(),
                    joined_method: "INVITED".into(),
                    created: ids::now_secs(),
                },
            )?;
        }
        Ok(())
    })
}

/// What a new account is made with.
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub email: &'a str,
    /// The account allowed to assume `role_name` (the management account).
    pub trusted_account: &'a str,
    /// `OrganizationAccountAccessRole` unless CreateAccount's `RoleName` says otherwise.
    pub role_name: &'a str,
    pub now: i64,
}

/// Creates an account inside an open transaction: its record, its root's metadata, the AWS
/// managed policies, and the role `role_name` (AdministratorAccess attached, trusting
/// `trusted_account`). Returns the new account's id. The caller adds organization rows in the
/// same transaction.
pub fn create_in(raw: &mut dyn RawTx, new: &NewAccount) -> anyhow::Result<String> {
    // A fresh 12-digit id that no account has (ids are random; a clash is retried).
    let mut id = ids::account_id();
    for _ in 0..8 {
        let taken = store::in_account(raw, GLOBAL, |tx| {
            Ok(tx.get(Table::Accounts, &id)?.is_some())
        })?;
        if !taken {
            break;
        }
        id = ids::account_id();
    }
    store::in_account(raw, GLOBAL, |tx| {
        if tx.get(Table::Accounts, &id)?.is_some() {
            anyhow::bail!("no free account id");
        }
        tx.put_json(
            Table::Accounts,
            &id,
            &AccountRecord {
                id: id.clone(),
                name: new.name.to_owned(),
                email: new.email.to_owned(),
                status: "ACTIVE".into(),
                joined_method: "CREATED".into(),
                created: new.now,
            },
        )
    })?;
    store::in_account(raw, &id, |tx| {
        // As on AWS, a created account's root has no access key (and no password) until
        // someone recovers it; it is reached through the role below.
        tx.put_json(
            Table::Meta,
            "account",
            &AccountMeta {
                account_id: id.clone(),
                root_access_key_id: String::new(),
                created: new.now,
            },
        )?;
        crate::iam::managed::install_aws_managed_in(tx)?;
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{}:root", new.trusted_account)},
                "Action": "sts:AssumeRole"
            }]
        });
        let role = Role {
            id: ids::unique_id(ids::IdKind::Role),
            name: new.role_name.to_owned(),
            path: "/".into(),
            arn: ids::iam_arn(&id, "role", "/", new.role_name),
            created: new.now,
            trust_policy: serde_json::to_string_pretty(&trust)?,
            description: None,
            max_session_duration: 3600,
            boundary: None,
            tags: Vec::new(),
            last_used: None,
        };
        tx.put_json(Table::Roles, &name_key(new.role_name), &role)?;
        let admin = crate::iam::managed::arn("AdministratorAccess");
        tx.put_json(
            Table::Attachments,
            &crate::entities::attachment_key(EntityKind::Role, new.role_name, &admin),
            &Attachment {
                kind: EntityKind::Role,
                entity: new.role_name.to_owned(),
                policy_arn: admin,
            },
        )?;
        Ok(())
    })?;
    Ok(id)
}

/// Refuses calls into an account that is closed (suspended): AWS answers them as if the
/// credentials were no longer valid.
pub fn require_active(state: &AppState, account: &str) -> AwsResult<()> {
    let rec: Option<AccountRecord> =
        crate::entities::cached_row(state, GLOBAL, Table::Accounts, account)?;
    match rec {
        Some(r) if !r.is_active() => Err(AwsError::new(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )),
        _ => Ok(()),
    }
}
