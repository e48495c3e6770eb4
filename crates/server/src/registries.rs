//! ECR for every account: one [`kagi_ecr::Ecr`] per account, opened when the account first
//! uses ECR, all on the same store (each in its account's scope), blob store and registry
//! token key. The server's one registry address serves them all:
//!
//! * a request whose `Host` is `ACCOUNT.dkr.ecr.REGION.…` (AWS's registry host) goes to that
//!   account's registry, whoever calls (cross-account pulls and pushes, decided by the
//!   repository policy and the caller's own policies);
//! * any other request goes to the registry of the account whose access key minted its
//!   registry password (or download token): a client that reaches `127.0.0.1:PORT` works with
//!   its own account's repositories, as before;
//! * API calls go to the account their `registryId` names, else the caller's.
//!
//! Clients that resolve `*.localhost` to loopback (curl, browsers, systemd-resolved) reach
//! `ACCOUNT.dkr.ecr.REGION.localhost:PORT` directly; others (Go's resolver: skopeo, docker)
//! through `HTTP_PROXY=http://127.0.0.1:PORT` (kagi answers proxy-form requests for its own
//! routes; it forwards nothing) or an `/etc/hosts` line.

use crate::store::{self, GLOBAL, StoreExt, Table};
use anyhow::Result;
use kagi_ecr::Ecr;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;

pub struct Registries {
    bootstrap: Arc<Ecr>,
    bootstrap_account: String,
    kv: Arc<dyn store::Kv>,
    blobs: Arc<dyn kagi_ecr::blobs::BlobStore>,
    token_key: kagi_ecr::token::TokenKey,
    host: Arc<dyn kagi_ecr::Host>,
    others: RwLock<HashMap<String, (Arc<Ecr>, axum::Router)>>,
    bootstrap_router: RwLock<Option<axum::Router>>,
    endpoint: RwLock<Option<(String, String)>>,
}

impl Registries {
    pub fn new(
        bootstrap: Arc<Ecr>,
        bootstrap_account: &str,
        kv: Arc<dyn store::Kv>,
        blobs: Arc<dyn kagi_ecr::blobs::BlobStore>,
        token_key: kagi_ecr::token::TokenKey,
        host: Arc<dyn kagi_ecr::Host>,
    ) -> Registries {
        Registries {
            bootstrap,
            bootstrap_account: bootstrap_account.to_owned(),
            kv,
            blobs,
            token_key,
            host,
            others: Default::default(),
            bootstrap_router: Default::default(),
            endpoint: Default::default(),
        }
    }

    /// The bootstrap account's ECR.
    pub fn bootstrap(&self) -> &Arc<Ecr> {
        &self.bootstrap
    }

    /// The registry's address as clients reach it (see [`Ecr::set_public_endpoint`]), for
    /// every account's ECR.
    pub fn set_public_endpoint(&self, scheme: &str, host_port: String) {
        self.bootstrap
            .set_public_endpoint(scheme, host_port.clone());
        for (e, _) in self.others.read().values() {
            e.set_public_endpoint(scheme, host_port.clone());
        }
        *self.endpoint.write() = Some((scheme.to_owned(), host_port));
    }

    /// `account`'s ECR, opened on first use; `None` when the store has no such account.
    pub fn get(&self, account: &str) -> Result<Option<Arc<Ecr>>> {
        Ok(self.get_with_router(account)?.map(|(e, _)| e))
    }

    fn get_with_router(&self, account: &str) -> Result<Option<(Arc<Ecr>, axum::Router)>> {
        if account == self.bootstrap_account {
            let mut r = self.bootstrap_router.write();
            let router = r
                .get_or_insert_with(|| self.bootstrap.registry_router())
                .clone();
            return Ok(Some((self.bootstrap.clone(), router)));
        }
        if let Some((e, r)) = self.others.read().get(account) {
            return Ok(Some((e.clone(), r.clone())));
        }
        let known = store::AccountStore::new(self.kv.clone(), GLOBAL)
            .view(|tx| Ok(tx.get(Table::Accounts, account)?.is_some()))?;
        if !known {
            return Ok(None);
        }
        let mut others = self.others.write();
        if let Some((e, r)) = others.get(account) {
            return Ok(Some((e.clone(), r.clone())));
        }
        let ecr = Ecr::with_storage(
            kagi_ecr::Storage {
                kv: self.kv.clone(),
                blobs: self.blobs.clone(),
                token_key: self.token_key.clone(),
                legacy_dir: None,
            },
            account,
            self.host.clone(),
        )?;
        if let Some((scheme, host_port)) = self.endpoint.read().clone() {
            ecr.set_public_endpoint(&scheme, host_port);
        }
        // Inside the runtime this also starts the account's background jobs (GC, lifecycle).
        let router = ecr.registry_router();
        others.insert(account.to_owned(), (ecr.clone(), router.clone()));
        Ok(Some((ecr, router)))
    }

    /// The registry router of the account a registry request is for (see the module docs);
    /// `None` when it names an account the store does not have.
    pub fn router_for(
        &self,
        host: Option<&str>,
        authorization: Option<&str>,
        path_and_query: &str,
    ) -> Result<Option<axum::Router>> {
        if let Some(account) = host.and_then(account_of_registry_host) {
            return Ok(self.get_with_router(&account)?.map(|(_, r)| r));
        }
        // Keys issued before key ids named their account decode to no account the store has:
        // they are the bootstrap account's.
        if let Some(account) = authorization
            .and_then(account_of_password)
            .or_else(|| account_of_download(path_and_query))
            && let Some((_, r)) = self.get_with_router(&account)?
        {
            return Ok(Some(r));
        }
        Ok(self
            .get_with_router(&self.bootstrap_account.clone())?
            .map(|(_, r)| r))
    }

    /// Opens every account's ECR and starts its background jobs (garbage collection, lifecycle
    /// policies): at start-up, so that an account nobody calls still has its lifecycle
    /// policies applied and its uploads collected. Inside the server's runtime.
    pub fn start_all(&self) -> Result<()> {
        // Account records are the rows of `Table::Accounts` keyed by an account id (alias rows
        // share the table).
        let accounts: Vec<String> = store::AccountStore::new(self.kv.clone(), GLOBAL)
            .view(|tx| tx.scan(Table::Accounts, ""))?
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| crate::ids::is_account_id(k))
            .collect();
        self.get_with_router(&self.bootstrap_account.clone())?;
        for a in accounts {
            self.get_with_router(&a)?;
        }
        Ok(())
    }

    /// Every account's ECR opened so far (the bootstrap account's first).
    pub fn opened(&self) -> Vec<Arc<Ecr>> {
        let mut v = vec![self.bootstrap.clone()];
        v.extend(self.others.read().values().map(|(e, _)| e.clone()));
        v
    }
}

/// `ACCOUNT.dkr.ecr.REGION.…[:PORT]` → the account.
pub fn account_of_registry_host(host: &str) -> Option<String> {
    let (account, rest) = host.split_once('.')?;
    (crate::ids::is_account_id(account) && rest.starts_with("dkr.ecr.")).then(|| account.to_owned())
}

/// The account of the access key a registry password (`Basic base64(AWS:PASSWORD)`) names:
/// the password's payload is readable (its HMAC is checked by kagi-ecr, not here).
fn account_of_password(authorization: &str) -> Option<String> {
    use base64::Engine as _;
    let b = authorization.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (_, password) = text.split_once(':')?;
    account_of_token(password)
}

fn account_of_token(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').next()?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let key = text.lines().nth(1)?;
    crate::ids::account_of_key(key)
}

/// Download URLs carry their token in the query (`…?token=…` or similar): its key's account.
fn account_of_download(path_and_query: &str) -> Option<String> {
    let q = path_and_query.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k.contains("token"))
        .and_then(|(_, v)| account_of_token(&v))
}
