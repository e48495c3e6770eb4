//! Storage: a small transactional document store behind the [`Store`] trait.
//!
//! Each entity kind has its own table ([`Table`]); a row is a string key and a JSON document
//! (the serde form of the structs in [`crate::model`]). Keys are built so that everything that
//! must be listed together shares a prefix (`scan`), e.g. attachments are keyed
//! `KIND\0lower(name)\0policy-arn`. IAM names are case-insensitively unique, so name keys are
//! lower-cased and the document keeps the name as written.
//!
//! Invariants:
//! * everything inside one [`Store::transaction`] call commits atomically or not at all, and is
//!   durable (committed WAL) before `transaction` returns, so before any response is sent;
//! * [`Store::generation`] changes after every committed transaction that touched a table other
//!   than [`Table::Sessions`]; in-memory caches of derived data (access keys, principals' policy
//!   sets) key themselves by it.
//!
//! [`sqlite::SqliteStore`] is the implementation (one file in WAL mode, or `:memory:`).

pub mod sqlite;

use anyhow::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// Account-level settings: account id, root key, MFA seeds for root, counters.
    Meta,
    Users,
    AccessKeys,
    Groups,
    /// key: `lower(group)\0lower(user)`
    GroupMembers,
    /// Customer managed policies, key: ARN; versions live inside the document.
    Policies,
    /// key: `KIND\0lower(entity)\0policy-arn`, KIND ∈ user|group|role
    Attachments,
    /// key: `KIND\0lower(entity)\0policy-name`
    InlinePolicies,
    Roles,
    /// key: serial number ARN
    MfaDevices,
    /// STS sessions, key: ASIA access key id
    Sessions,
}

impl Table {
    pub const ALL: [Table; 11] = [
        Table::Meta,
        Table::Users,
        Table::AccessKeys,
        Table::Groups,
        Table::GroupMembers,
        Table::Policies,
        Table::Attachments,
        Table::InlinePolicies,
        Table::Roles,
        Table::MfaDevices,
        Table::Sessions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Users => "users",
            Table::AccessKeys => "access_keys",
            Table::Groups => "groups",
            Table::GroupMembers => "group_members",
            Table::Policies => "policies",
            Table::Attachments => "attachments",
            Table::InlinePolicies => "inline_policies",
            Table::Roles => "roles",
            Table::MfaDevices => "mfa_devices",
            Table::Sessions => "sts_sessions",
        }
    }
}

/// One transaction's view of the data.
pub trait Tx {
    fn get(&self, table: Table, key: &str) -> Result<Option<String>>;
    fn put(&mut self, table: Table, key: &str, doc: &str) -> Result<()>;
    /// Returns whether a row was deleted.
    fn delete(&mut self, table: Table, key: &str) -> Result<bool>;
    /// Rows whose key starts with `prefix`, in key order.
    fn scan(&self, table: Table, prefix: &str) -> Result<Vec<(String, String)>>;
}

pub trait Store: Send + Sync + 'static {
    /// Runs `f` in a write transaction: commits if it returns `Ok`, rolls back otherwise.
    fn transaction(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    /// Like [`Store::transaction`], but the commit need only survive a crash of this process,
    /// not a power loss (SQLite WAL with `synchronous=NORMAL`: no fsync per commit). For rows
    /// whose loss on power failure is harmless: STS session records (the session token itself
    /// is self-contained).
    fn transaction_relaxed(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.transaction(f)
    }
    /// Runs `f` against a consistent read view (no writes).
    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;
    /// See the module invariants.
    fn generation(&self) -> u64;
    /// Deletes the STS session records that expired before `expired_before` (Unix seconds);
    /// returns how many. Session documents carry an `expires` field ([`crate::model::Session`]).
    fn purge_sessions(&self, expired_before: i64) -> Result<usize> {
        let mut n = 0;
        self.transaction(&mut |tx| {
            n = 0;
            for (k, doc) in tx.scan(Table::Sessions, "")? {
                let v: serde_json::Value = serde_json::from_str(&doc)?;
                if v["expires"].as_i64().is_some_and(|e| e < expired_before) {
                    tx.delete(Table::Sessions, &k)?;
                    n += 1;
                }
            }
            Ok(())
        })?;
        Ok(n)
    }
}

/// Typed helpers over [`Tx`].
pub trait TxExt: Tx {
    fn get_json<T: DeserializeOwned>(&self, table: Table, key: &str) -> Result<Option<T>> {
        match self.get(table, key)? {
            Some(doc) => Ok(Some(serde_json::from_str(&doc)?)),
            None => Ok(None),
        }
    }
    fn put_json<T: Serialize>(&mut self, table: Table, key: &str, v: &T) -> Result<()> {
        self.put(table, key, &serde_json::to_string(v)?)
    }
    fn scan_json<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, T)>> {
        self.scan(table, prefix)?
            .into_iter()
            .map(|(k, d)| Ok((k, serde_json::from_str(&d)?)))
            .collect()
    }
}
impl<T: Tx + ?Sized> TxExt for T {}

/// Generic wrappers that return a value out of a transaction.
pub trait StoreExt {
    fn write<R>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<R>) -> Result<R>;
    fn write_relaxed(&self, f: impl FnOnce(&mut dyn Tx) -> Result<()>) -> Result<()>;
    fn view<R>(&self, f: impl FnOnce(&dyn Tx) -> Result<R>) -> Result<R>;
}

impl<S: Store + ?Sized> StoreExt for S {
    fn write<R>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<R>) -> Result<R> {
        let mut f = Some(f);
        let mut out = None;
        self.transaction(&mut |tx| {
            let f = f.take().expect("transaction closure runs once");
            out = Some(f(tx)?);
            Ok(())
        })?;
        Ok(out.expect("committed transaction produced a value"))
    }
    fn write_relaxed(&self, f: impl FnOnce(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut f = Some(f);
        self.transaction_relaxed(&mut |tx| f.take().expect("transaction closure runs once")(tx))
    }
    fn view<R>(&self, f: impl FnOnce(&dyn Tx) -> Result<R>) -> Result<R> {
        let mut f = Some(f);
        let mut out = None;
        self.read(&mut |tx| {
            let f = f.take().expect("read closure runs once");
            out = Some(f(tx)?);
            Ok(())
        })?;
        Ok(out.expect("read produced a value"))
    }
}

/// Lower-cased entity key (IAM names are unique regardless of case).
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}
