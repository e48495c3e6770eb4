//! AWS Organizations' data: organizations, memberships, OUs, control policies, attachments
//! ([`Table::Organizations`], store-wide scope; [`keys`]), loaded without a request context,
//! and what an organization means for authorisation per account ([`view`]): the control
//! policies at each level from the root to the account and the organization's identity for
//! `aws:PrincipalOrgID` / `aws:PrincipalOrgPaths`. The view is computed once per store
//! generation ([`crate::state::cache::PolicyCache::orgs`]); the hot path reads only the cache.
//! The operations are [`crate::orgs`]'.

use crate::error::AwsResult;
use crate::state::AppState;
pub use crate::state::cache::OrgView;
use crate::store::{GLOBAL, StoreExt, Table, Tx, TxExt};
use kagi_policy::{CompiledPolicy, PolicyMeta, PolicyOrigin, PolicyType};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Whether `account` was closed (its credentials and roles no longer work).
pub fn is_closed(state: &AppState, account: &str) -> AwsResult<bool> {
    Ok(view(state, account)?.is_some_and(|v| v.closed))
}

/// Parses a control policy of `kind` (`SERVICE_CONTROL_POLICY` or `RESOURCE_CONTROL_POLICY`).
pub fn parse_control_policy(kind: &str, content: &str, id: &str) -> Result<CompiledPolicy, String> {
    let ty = if kind == RCP {
        PolicyType::ResourceControl
    } else {
        PolicyType::ServiceControl
    };
    CompiledPolicy::from_text(
        content,
        ty,
        PolicyMeta {
            id: id.to_owned(),
            arn: None,
            origin: PolicyOrigin::None,
        },
    )
    .map_err(|e| e.human())
}

/// The cached view of `account` (`None`: not in an organization).
pub fn view(state: &AppState, account: &str) -> AwsResult<Option<Arc<OrgView>>> {
    state
        .policies
        .orgs
        .get_or_load(state.generation(), account, || {
            Ok(state
                .store(GLOBAL)
                .view(|tx| load(tx, account))?
                .map(Arc::new))
        })
}

fn load(tx: &dyn Tx, account: &str) -> anyhow::Result<Option<OrgView>> {
    let Some((org, m)) = org_of(tx, account)? else {
        return Ok(None);
    };
    let levels = levels(tx, &org, &m, account)?;
    let mut path = format!("{}/", org.id);
    for l in &levels[..levels.len() - 1] {
        path.push_str(l);
        path.push('/');
    }
    let is_management = org.master_account_id == account;
    let policies = |kind: &str| -> anyhow::Result<Option<Vec<Vec<CompiledPolicy>>>> {
        if is_management || !org.enabled_types.iter().any(|t| t == kind) {
            return Ok(None);
        }
        let mut out = Vec::new();
        for target in &levels {
            let mut level = Vec::new();
            for id in attached(tx, &org.id, target)? {
                if let Some(p) = load_policy(tx, &org.id, &id)?
                    && p.kind == kind
                {
                    // The AWS managed documents come compiled from kagi-policy (an RCP may
                    // allow only as RCPFullAWSAccess does).
                    let compiled = match p.id.as_str() {
                        FULL_AWS_ACCESS => Ok(kagi_policy::organizations::full_aws_access()),
                        RCP_FULL_AWS_ACCESS => {
                            Ok(kagi_policy::organizations::rcp_full_aws_access())
                        }
                        _ => parse_control_policy(kind, &p.content, &p.name),
                    };
                    match compiled {
                        Ok(mut c) => {
                            c.meta.arn = Some(org.policy_arn(&p));
                            level.push(c);
                        }
                        // Checked on the way in; a parser change may refuse one: skipping it
                        // can only deny more.
                        Err(e) => {
                            tracing::warn!(policy = %p.id, error = %e, "control policy no longer parses; ignored")
                        }
                    }
                }
            }
            out.push(level);
        }
        Ok(Some(out))
    };
    Ok(Some(OrgView {
        org_id: org.id.clone(),
        management_account: org.master_account_id.clone(),
        closed: tx
            .get_json::<serde_json::Value>(Table::Accounts, account)?
            .is_some_and(|r| r["status"].as_str().is_some_and(|s| s != "ACTIVE")),
        path,
        scp: policies(SCP)?,
        rcp: policies(RCP)?,
    }))
}

/// Root, each OU from the top down to the account's parent, then the account.
fn levels(
    tx: &dyn Tx,
    org: &Organization,
    m: &Membership,
    account: &str,
) -> anyhow::Result<Vec<String>> {
    let mut chain = Vec::new();
    let mut cur = m.parent.clone();
    while cur != org.root_id && chain.len() < 8 {
        let Some(ou) = tx.get_json::<Ou>(Table::Organizations, &keys::ou(&org.id, &cur))? else {
            break;
        };
        chain.push(ou.id.clone());
        cur = ou.parent;
    }
    chain.push(org.root_id.clone());
    chain.reverse();
    chain.push(account.to_owned());
    Ok(chain)
}

pub const SCP: &str = "SERVICE_CONTROL_POLICY";
pub const RCP: &str = "RESOURCE_CONTROL_POLICY";
/// The AWS managed policies attached everywhere when their type is enabled.
pub use kagi_policy::organizations::{
    FULL_AWS_ACCESS_ID as FULL_AWS_ACCESS, MAX_POLICY_SIZE,
    RCP_FULL_AWS_ACCESS_ID as RCP_FULL_AWS_ACCESS,
};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub master_account_id: String,
    pub master_account_email: String,
    pub root_id: String,
    /// Policy types enabled on the root.
    #[serde(default)]
    pub enabled_types: Vec<String>,
    pub created: i64,
}

impl Organization {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:organization/{}",
            self.master_account_id, self.id
        )
    }
    pub fn arn_of(&self, kind: &str, id: &str) -> String {
        format!(
            "arn:aws:organizations::{}:{kind}/{}/{id}",
            self.master_account_id, self.id
        )
    }
    pub fn root_arn(&self) -> String {
        self.arn_of("root", &self.root_id)
    }
    pub fn account_arn(&self, account: &str) -> String {
        self.arn_of("account", account)
    }
    pub fn ou_arn(&self, ou: &str) -> String {
        self.arn_of("ou", ou)
    }
    pub fn policy_arn(&self, p: &OrgPolicy) -> String {
        if p.aws_managed {
            format!(
                "arn:aws:organizations::aws:policy/{}/{}",
                p.kind.to_ascii_lowercase(),
                p.id
            )
        } else {
            format!(
                "arn:aws:organizations::{}:policy/{}/{}/{}",
                self.master_account_id,
                self.id,
                p.kind.to_ascii_lowercase(),
                p.id
            )
        }
    }
}

/// An account's place in an organization.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Membership {
    pub org: String,
    /// The root's or an OU's id.
    pub parent: String,
    pub joined: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ou {
    pub id: String,
    pub name: String,
    pub parent: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgPolicy {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `SERVICE_CONTROL_POLICY` or `RESOURCE_CONTROL_POLICY`.
    pub kind: String,
    pub content: String,
    #[serde(default)]
    pub aws_managed: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateStatus {
    pub id: String,
    pub account_name: String,
    pub state: String,
    pub requested: i64,
    pub completed: Option<i64>,
    pub account_id: Option<String>,
    pub failure_reason: Option<String>,
}

/// Row keys in [`Table::Organizations`].
pub mod keys {
    pub fn org(id: &str) -> String {
        format!("org\0{id}")
    }
    pub fn member(account: &str) -> String {
        format!("member\0{account}")
    }
    pub fn ou(org: &str, id: &str) -> String {
        format!("{org}\0ou\0{id}")
    }
    pub fn policy(org: &str, id: &str) -> String {
        format!("{org}\0policy\0{id}")
    }
    /// Attachments, by target: `ORG\0attach\0TARGET\0POLICY`.
    pub fn attach(org: &str, target: &str, policy: &str) -> String {
        format!("{org}\0attach\0{target}\0{policy}")
    }
    pub fn attach_prefix(org: &str, target: &str) -> String {
        format!("{org}\0attach\0{target}\0")
    }
    pub fn status(org: &str, id: &str) -> String {
        format!("{org}\0car\0{id}")
    }
    pub fn tags(org: &str, resource: &str) -> String {
        format!("{org}\0tags\0{resource}")
    }
}

/// The AWS managed control policies (documents as AWS publishes them).
pub fn aws_managed(id: &str) -> Option<OrgPolicy> {
    let (name, description, kind, content) = match id {
        FULL_AWS_ACCESS => (
            "FullAWSAccess",
            "Allows access to every operation",
            SCP,
            kagi_policy::FULL_AWS_ACCESS,
        ),
        RCP_FULL_AWS_ACCESS => (
            "RCPFullAWSAccess",
            "Allows access to every operation",
            RCP,
            kagi_policy::RCP_FULL_AWS_ACCESS,
        ),
        _ => return None,
    };
    Some(OrgPolicy {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        kind: kind.into(),
        content: content.into(),
        aws_managed: true,
    })
}

pub fn managed_for(kind: &str) -> &'static str {
    if kind == RCP {
        RCP_FULL_AWS_ACCESS
    } else {
        FULL_AWS_ACCESS
    }
}

/// The organization `account` belongs to, with its membership.
pub fn org_of(tx: &dyn Tx, account: &str) -> anyhow::Result<Option<(Organization, Membership)>> {
    let Some(m) = tx.get_json::<Membership>(Table::Organizations, &keys::member(account))? else {
        return Ok(None);
    };
    Ok(tx
        .get_json::<Organization>(Table::Organizations, &keys::org(&m.org))?
        .map(|o| (o, m)))
}

pub fn members(tx: &dyn Tx, org: &str) -> anyhow::Result<Vec<(String, Membership)>> {
    Ok(tx
        .scan_json::<Membership>(Table::Organizations, "member\0")?
        .into_iter()
        .filter(|(_, m)| m.org == org)
        .map(|(k, m)| (k["member\0".len()..].to_owned(), m))
        .collect())
}

pub fn ous(tx: &dyn Tx, org: &str) -> anyhow::Result<Vec<Ou>> {
    Ok(tx
        .scan_json::<Ou>(Table::Organizations, &format!("{org}\0ou\0"))?
        .into_iter()
        .map(|(_, o)| o)
        .collect())
}

pub fn load_policy(tx: &dyn Tx, org: &str, id: &str) -> anyhow::Result<Option<OrgPolicy>> {
    if let Some(p) = aws_managed(id) {
        return Ok(Some(p));
    }
    tx.get_json(Table::Organizations, &keys::policy(org, id))
}

/// The policy ids attached to `target` (root, OU or account id).
pub fn attached(tx: &dyn Tx, org: &str, target: &str) -> anyhow::Result<Vec<String>> {
    let prefix = keys::attach_prefix(org, target);
    Ok(tx
        .scan(Table::Organizations, &prefix)?
        .into_iter()
        .map(|(k, _)| k[prefix.len()..].to_owned())
        .collect())
}
