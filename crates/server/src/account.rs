//! The account: its id and root credentials, created on first start.
//!
//! Data directory layout:
//! * `kagi.db`: the SQLite database ([`crate::store::sqlite`]);
//! * `kagi.key`: the 32-byte data key sealing secrets at rest (0600);
//! * `root-credentials`: the root access key in AWS credentials-file format (0600), written once
//!   when the account is created, so the operator can point `AWS_SHARED_CREDENTIALS_FILE` at it;
//! * whatever kagi-ecr keeps under `ecr/`.
//!
//! `KAGI_ACCOUNT_ID`, `KAGI_ROOT_ACCESS_KEY_ID` and `KAGI_ROOT_SECRET_ACCESS_KEY` (through
//! [`crate::ServerConfig`]) make the account deterministic (CI, demos).

use crate::crypto::Sealer;
use crate::ids;
use crate::model::AccessKey;
use crate::store::{self, AccountStore, Durability, GLOBAL, Kv, StoreExt, Table, TxExt};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

pub const ROOT_CREDENTIALS_FILE: &str = "root-credentials";

#[derive(Clone, Serialize, Deserialize)]
pub struct AccountMeta {
    pub account_id: String,
    pub root_access_key_id: String,
    pub created: i64,
}

pub struct Account {
    pub account_id: String,
    pub root_access_key_id: String,
    pub root_secret_access_key: String,
    /// Set when this start created the root credentials file.
    pub credentials_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("account_id", &self.account_id)
            .field("root_access_key_id", &self.root_access_key_id)
            .finish_non_exhaustive()
    }
}

pub struct Overrides<'a> {
    pub account_id: Option<&'a str>,
    pub root_access_key_id: Option<&'a str>,
    pub root_secret_access_key: Option<&'a str>,
}

/// Another node created the account first (see [`bootstrap`]).
#[derive(Debug, thiserror::Error)]
#[error("another node created the account first")]
struct LostRace;

/// Loads the account from the store or creates it. Nodes starting together against an empty
/// shared store create one account: the creation commits only if no account record exists
/// (checked in its transaction); the others find it on their next attempt.
pub fn bootstrap(
    kv: &Arc<dyn Kv>,
    sealer: &Sealer,
    data_dir: Option<&Path>,
    o: &Overrides,
) -> Result<Account> {
    let mut attempts = 0;
    loop {
        match bootstrap_once(kv, sealer, data_dir, o) {
            Err(e) if e.is::<LostRace>() && attempts < 3 => attempts += 1,
            r => return r,
        }
    }
}

fn bootstrap_once(
    kv: &Arc<dyn Kv>,
    sealer: &Sealer,
    data_dir: Option<&Path>,
    o: &Overrides,
) -> Result<Account> {
    if let Some(a) = o.account_id
        && (a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
    {
        bail!("KAGI_ACCOUNT_ID must be 12 digits");
    }
    if let Some(k) = o.root_access_key_id
        && (!ids::is_access_key_id(k) || !k.starts_with("AKIA"))
    {
        bail!("KAGI_ROOT_ACCESS_KEY_ID must be AKIA followed by 16 characters of A-Z2-7");
    }
    if let Some(s) = o.root_secret_access_key
        && (s.len() < 16 || s.len() > 128)
    {
        bail!("KAGI_ROOT_SECRET_ACCESS_KEY must be 16 to 128 characters");
    }
    if o.root_access_key_id.is_some() != o.root_secret_access_key.is_some() {
        bail!("KAGI_ROOT_ACCESS_KEY_ID and KAGI_ROOT_SECRET_ACCESS_KEY go together");
    }
    let now = ids::now_secs();
    // The store-wide record names the account; the account's own record holds its root key.
    let global = AccountStore::new(kv.clone(), GLOBAL);
    let existing: Option<AccountMeta> = global.view(|tx| tx.get_json(Table::Meta, "account"))?;
    let (meta, created) = match existing {
        Some(m) => {
            if let Some(a) = o.account_id
                && a != m.account_id
            {
                bail!(
                    "the data directory belongs to account {}, not {a}",
                    m.account_id
                );
            }
            // Root key changes (`iam:CreateAccessKey` as root) update the account's own record.
            let own: Option<AccountMeta> = AccountStore::new(kv.clone(), &m.account_id)
                .view(|tx| tx.get_json(Table::Meta, "account"))?;
            (own.unwrap_or(m), false)
        }
        None => (
            AccountMeta {
                account_id: o
                    .account_id
                    .map(str::to_owned)
                    .unwrap_or_else(ids::account_id),
                root_access_key_id: String::new(),
                created: now,
            },
            true,
        ),
    };
    let store = AccountStore::new(kv.clone(), &meta.account_id);
    // Root key: the configured one, else the stored one, else a new one.
    let (key_id, secret) = match (o.root_access_key_id, o.root_secret_access_key) {
        (Some(k), Some(s)) => (k.to_owned(), s.to_owned()),
        _ if !created => {
            let k: AccessKey = store
                .view(|tx| tx.get_json(Table::AccessKeys, &meta.root_access_key_id))?
                .context("the root access key is missing from the database")?;
            let s = sealer
                .open_str("access-key", &k.secret_sealed)
                .context("cannot decrypt the root secret: wrong kagi.key for this database?")?;
            (k.id, s)
        }
        _ => (
            ids::access_key_id(false, &meta.account_id),
            ids::secret_access_key(),
        ),
    };
    let meta = AccountMeta {
        root_access_key_id: key_id.clone(),
        ..meta
    };
    let sealed = sealer.seal_str("access-key", &secret);
    // The account's rows and the store-wide record commit together: a crash between them
    // must not leave a store that a restart would give a second account.
    kv.transaction(Durability::Full, &mut |raw| {
        store::in_account(raw, &meta.account_id, |tx| {
            let old: Option<AccountMeta> = tx.get_json(Table::Meta, "account")?;
            if let Some(old) = old
                && old.root_access_key_id != key_id
            {
                tx.delete(Table::AccessKeys, &old.root_access_key_id)?;
            }
            let key = AccessKey {
                id: key_id.clone(),
                user: None,
                secret_sealed: sealed.clone(),
                active: true,
                created: now,
                last_used: None,
            };
            if tx.get(Table::AccessKeys, &key_id)?.is_none() || o.root_secret_access_key.is_some() {
                tx.put_json(Table::AccessKeys, &key_id, &key)?;
            }
            tx.put_json(Table::Meta, "account", &meta)
        })?;
        store::in_account(raw, GLOBAL, |tx| {
            if created && tx.get(Table::Meta, "account")?.is_some() {
                return Err(LostRace.into());
            }
            tx.put_json(Table::Meta, "account", &meta)
        })
    })?;
    let mut credentials_file = None;
    if let Some(dir) = data_dir {
        let p = dir.join(ROOT_CREDENTIALS_FILE);
        if !p.exists() {
            let text = format!(
                "# kagi: root credentials of account {}\n# Use with: AWS_SHARED_CREDENTIALS_FILE={} aws --endpoint-url http://127.0.0.1:PORT ...\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                meta.account_id,
                p.display(),
                key_id,
                secret
            );
            crate::files::write_private_file(&p, text.as_bytes())?;
            credentials_file = Some(p);
        }
    }
    Ok(Account {
        account_id: meta.account_id,
        root_access_key_id: key_id,
        root_secret_access_key: secret,
        credentials_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[test]
    fn creates_once_and_reloads() {
        let d = tempfile::tempdir().unwrap();
        let sealer = Sealer::open_key_file(&d.path().join("kagi.key")).unwrap();
        let none = Overrides {
            account_id: None,
            root_access_key_id: None,
            root_secret_access_key: None,
        };
        let a = {
            let store: Arc<dyn Kv> =
                Arc::new(SqliteStore::open(&d.path().join("kagi.db")).unwrap());
            bootstrap(&store, &sealer, Some(d.path()), &none).unwrap()
        };
        let p = a.credentials_file.clone().unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(&a.root_access_key_id) && text.contains(&a.root_secret_access_key));
        let store: Arc<dyn Kv> = Arc::new(SqliteStore::open(&d.path().join("kagi.db")).unwrap());
        let b = bootstrap(&store, &sealer, Some(d.path()), &none).unwrap();
        assert_eq!(a.account_id, b.account_id);
        assert_eq!(a.root_access_key_id, b.root_access_key_id);
        assert_eq!(a.root_secret_access_key, b.root_secret_access_key);
        assert!(b.credentials_file.is_none(), "written once");
        assert!(!format!("{b:?}").contains(&b.root_secret_access_key));
    }

    #[test]
    fn deterministic_overrides() {
        let store: Arc<dyn Kv> = Arc::new(SqliteStore::in_memory().unwrap());
        let sealer = Sealer::random();
        let o = Overrides {
            account_id: Some("123456789012"),
            root_access_key_id: Some("AKIAAAAAAAAAAAAAAAAA"),
            root_secret_access_key: Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        };
        let a = bootstrap(&store, &sealer, None, &o).unwrap();
        assert_eq!(a.account_id, "123456789012");
        assert_eq!(a.root_access_key_id, "AKIAAAAAAAAAAAAAAAAA");
        let bad = Overrides {
            account_id: Some("12"),
            ..o
        };
        assert!(bootstrap(&store, &sealer, None, &bad).is_err());
    }
}
