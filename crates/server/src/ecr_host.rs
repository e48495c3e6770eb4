//! kagi-ecr's [`kagi_ecr::Host`], implemented by the server: ECR asks who an access key is
//! ([`crate::auth::caller_for_key`]) and whether a caller may perform an `ecr:` action on a
//! repository ([`crate::authz::decide`], with the repository policy as a resource policy).

use crate::auth;
use crate::caller::Caller;
use crate::state::AppState;
use kagi_policy::{CompiledPolicy, PolicyMeta, PolicyOrigin, PolicyType, ResourcePolicyKind};
use std::sync::{OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Set once the state exists (the state owns the ECR instance that owns this host, hence Weak).
#[derive(Default)]
pub struct ServerHost {
    state: OnceLock<Weak<AppState>>,
}

impl ServerHost {
    pub fn set_state(&self, state: &std::sync::Arc<AppState>) {
        let _ = self.state.set(std::sync::Arc::downgrade(state));
    }

    fn state(&self) -> Option<std::sync::Arc<AppState>> {
        self.state.get()?.upgrade()
    }
}

/// The ECR view of an authenticated caller.
pub fn ecr_caller(c: &Caller) -> kagi_ecr::Caller {
    kagi_ecr::Caller {
        access_key_id: c.access_key_id.clone(),
        arn: c.arn(),
        account_id: c.account_id.clone(),
        notes: Default::default(),
    }
}

const INVALID: &str = "The security token included in the request is invalid.";

/// The ECR an API call is for: the account its `registryId` names, else the caller's.
/// Another account that the store does not have is refused as AWS refuses a registry that
/// grants nothing.
pub fn api_target(
    ecrs: &crate::registries::Registries,
    caller: &Caller,
    body: &[u8],
) -> Result<std::sync::Arc<kagi_ecr::Ecr>, crate::error::AwsError> {
    let named = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["registryId"].as_str().map(str::to_owned));
    let account = named.unwrap_or_else(|| caller.account_id.clone());
    match ecrs.get(&account) {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err(crate::error::AwsError::new(
            400,
            "AccessDeniedException",
            format!(
                "User: {} is not authorized to access the registry {account}: no such account on this server",
                caller.arn()
            ),
        )),
        Err(e) => Err(crate::error::AwsError::from(e)),
    }
}

impl kagi_ecr::Host for ServerHost {
    fn authorize(
        &self,
        caller: &kagi_ecr::Caller,
        action: &str,
        resource_arn: &str,
        resource_policy: Option<&str>,
    ) -> Result<(), String> {
        let state = self
            .state()
            .ok_or_else(|| "The server is shutting down.".to_owned())?;
        let c = auth::caller_for_key(&state, &caller.access_key_id)
            .ok_or_else(|| INVALID.to_owned())?;
        let policy = match resource_policy {
            Some(text) => match CompiledPolicy::from_text(
                text,
                PolicyType::Resource,
                PolicyMeta {
                    id: "RepositoryPolicy".into(),
                    arn: None,
                    origin: PolicyOrigin::Resource,
                },
            ) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!(error = %e, resource_arn, "repository policy does not parse; ignored");
                    None
                }
            },
            None => None,
        };
        let region = resource_arn.split(':').nth(3).filter(|r| !r.is_empty());
        let rp = policy.as_ref().map(|p| (p, ResourcePolicyKind::Resource));
        let decide = || {
            crate::authz::decide(
                &state,
                &c,
                action,
                resource_arn,
                rp,
                &[],
                (crate::ids::now_secs(), None, region),
            )
        };
        let decision = if state.trail.enabled() {
            let (d, notes) = crate::trail::notes::collect(decide);
            for n in notes {
                caller.notes.push(n);
            }
            d
        } else {
            decide()
        };
        match decision {
            Ok(r) => r,
            Err(e) => Err(e.message),
        }
    }

    fn caller_for_key(&self, access_key_id: &str) -> Option<kagi_ecr::Caller> {
        let state = self.state()?;
        auth::caller_for_key(&state, access_key_id).map(|c| ecr_caller(&c))
    }

    fn record_registry(&self, event: kagi_ecr::RegistryEvent) -> kagi_ecr::Recorded {
        let Some(state) = self.state() else {
            return Box::pin(std::future::ready(Ok(())));
        };
        if !state.trail.enabled() {
            return Box::pin(std::future::ready(Ok(())));
        }
        let identity = match auth::caller_for_key(&state, &event.caller.access_key_id) {
            Some(c) => crate::trail::record::who_of_caller(&c),
            None => crate::trail::record::who(&crate::trail::Identity::Unknown {
                access_key_id: event.caller.access_key_id.clone(),
            }),
        };
        let mut ev = crate::trail::Event::of_call(
            identity,
            &event.caller.account_id,
            "ecr.amazonaws.com",
            &event.action,
            crate::trail::Origin {
                region: &event.region,
                source_ip: event
                    .source_ip
                    .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
                user_agent: &event.user_agent,
                request_id: &uuid::Uuid::new_v4().to_string(),
            },
        );
        let mut params = event.parameters;
        params.insert("registryId".into(), event.registry_id.clone().into());
        params.insert("repositoryName".into(), event.repository.clone().into());
        ev.set_request(&serde_json::Value::Object(params));
        ev.error = event.error;
        ev.read_only = !event.write;
        let action = format!("ecr:{}", event.action);
        ev.explanation = event
            .caller
            .notes
            .snapshot()
            .into_iter()
            .filter(|n| n.note.action == action)
            .collect();
        ev.resources = crate::trail::resources_of(&ev.explanation);
        if ev.resources.is_empty() {
            ev.resources.push((
                format!(
                    "arn:aws:ecr:{}:{}:repository/{}",
                    event.region, event.registry_id, event.repository
                ),
                "AWS::ECR::Repository".to_owned(),
            ));
        }
        match state.trail.submit(ev) {
            Some(rx) => Box::pin(async move {
                match rx.await {
                    Ok(r) => r,
                    Err(_) => Err("the event history stopped".to_owned()),
                }
            }),
            None => Box::pin(std::future::ready(Ok(()))),
        }
    }

    fn session_expiry(&self, caller: &kagi_ecr::Caller) -> Option<SystemTime> {
        let state = self.state()?;
        let c = auth::caller_for_key(&state, &caller.access_key_id)?;
        c.session
            .map(|s| UNIX_EPOCH + Duration::from_secs(s.expires.max(0) as u64))
    }
}
