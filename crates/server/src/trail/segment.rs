//! How the history is stored: segments of events (one account, at most
//! [`SPAN_MS`](super::SPAN_MS) apart), strings interned once per segment, with a small header
//! and one index row per attribute value LookupEvents filters by (kagi-store's
//! `Table::TrailSegments`, `TrailHeads`, `TrailIndex`). A batch of a busy second is a handful
//! of rows, not one per event: recording stays off the hot path's bill.

use super::event::Event;
use super::event::SPAN_MS;
use super::record::{self, StoredParts};
use crate::store::{Durability, GLOBAL, Kv, RawTx, Table};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// LookupEvents' attributes that have index rows (EventId is found from its time).
pub const ATTRIBUTES: [&str; 7] = [
    "EventName",
    "EventSource",
    "ReadOnly",
    "Username",
    "AccessKeyId",
    "ResourceType",
    "ResourceName",
];

/// kagi's own index attribute (LookupEvents does not accept it): the ARN of the IAM principal
/// that made the call: the user, the role for its sessions, the root. What IAM's last-accessed
/// reports and Access Analyzer's policy generation read ([`super::lookup::by_principal`]).
pub const PRINCIPAL_ARN: &str = "PrincipalArn";

/// The name of index attribute number `a` (the [`ATTRIBUTES`], then [`PRINCIPAL_ARN`]).
fn attribute_name(a: u8) -> &'static str {
    ATTRIBUTES.get(a as usize).copied().unwrap_or(PRINCIPAL_ARN)
}

/// The principal ARN of a rendered `userIdentity` (see [`record::principal_arn`]).
fn principal_arn_of_record(identity: &Value) -> Option<&str> {
    match identity["type"].as_str()? {
        "Root" | "IAMUser" => identity["arn"].as_str(),
        "AssumedRole" => identity["sessionContext"]["sessionIssuer"]["arn"].as_str(),
        _ => None,
    }
}

/// One stored event: string fields are indexes into the segment's strings.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Stored(
    /* 0 time ms */ pub i64,
    /* 1 event id */ pub String,
    /* 2 name */ pub u32,
    /* 3 source */ pub u32,
    /* 4 region */ pub u32,
    /* 5 source ip */ pub u32,
    /* 6 user agent */ pub u32,
    /* 7 userIdentity (JSON text) */ pub u32,
    /* 8 username */ pub Option<u32>,
    /* 9 access key id */ pub Option<u32>,
    /* 10 requestParameters (JSON text, interned: a job repeats its calls) */
    pub Option<u32>,
    /* 11 responseElements (JSON as is) */ pub Option<Box<serde_json::value::RawValue>>,
    /* 12 errorCode */ pub Option<u32>,
    /* 13 errorMessage */ pub Option<String>,
    /* 14 request id */ pub String,
    /* 15 read only */ pub bool,
    /* 16 resources (ARN, type) */ pub Vec<(u32, u32)>,
    /* 17 explanation (JSON text, interned: the same decision explains many calls) */
    pub Option<u32>,
);

#[derive(Serialize, Deserialize, Default, Debug)]
pub struct SegmentDoc {
    pub v: u8,
    pub s: Vec<String>,
    pub e: Vec<Stored>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Head {
    pub n: u64,
    pub min: i64,
    pub max: i64,
    pub bytes: u64,
    /// The segment's index rows (attribute, value), for deleting them with it.
    pub ix: Vec<(String, String)>,
}

/// `u64::MAX - ms` in 16 hex digits: newer sorts first.
pub fn rev(ms: i64) -> String {
    format!("{:016x}", u64::MAX - ms.max(0) as u64)
}

/// The newest time a segment key names.
pub fn newest_of_key(key: &str) -> Option<i64> {
    let hex = key.get(..16)?;
    u64::from_str_radix(hex, 16)
        .ok()
        .map(|r| (u64::MAX - r) as i64)
}

fn clean(v: &str) -> String {
    v.replace('\0', "")
}

/// The resource name LookupEvents shows: the last part of the ARN's resource.
pub fn resource_name(arn: &str) -> &str {
    let rest = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    match rest.split_once('/') {
        Some((_, name)) => name.rsplit('/').next().unwrap_or(name),
        None => rest,
    }
}

#[derive(Default)]
struct Interner {
    strings: Vec<String>,
    /// Fx: the keys are the server's own strings and the callers' few (a user agent, a key),
    /// one segment's worth; a fast hash matters more than flooding resistance here.
    at: rustc_hash::FxHashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(i) = self.at.get(s) {
            return *i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.at.insert(s.to_owned(), i);
        i
    }
}

/// The addresses of an event's shared explanations, the key of their rendering in a segment;
/// without an allocation for the usual one or two decisions.
#[derive(PartialEq, Eq, Hash)]
enum Shared {
    One(usize),
    Two(usize, usize),
    More(Vec<usize>),
}

impl Shared {
    fn of(x: &[std::sync::Arc<kagi_policy::Explained>]) -> Shared {
        let at = |i: usize| std::sync::Arc::as_ptr(&x[i]) as usize;
        match x.len() {
            1 => Shared::One(at(0)),
            2 => Shared::Two(at(0), at(1)),
            n => Shared::More((0..n).map(at).collect()),
        }
    }
}

/// The most events one segment holds: a page of a lookup reads whole segments.
const SEGMENT_EVENTS: usize = 500;

/// Builds one segment of `events` (same account, within [`SPAN_MS`]), taking their parts.
fn build(events: Vec<Event>) -> (SegmentDoc, Head) {
    let mut strings = Interner::default();
    let mut identities: rustc_hash::FxHashMap<usize, u32> = Default::default();
    // Each distinct explanation rendered once per segment (a job repeats its decisions).
    // Keyed by the shared explanations' addresses: every event of the batch holds its own,
    // so no address is reused while the segment is built.
    let mut explained: rustc_hash::FxHashMap<Shared, u32> = Default::default();
    let mut addresses: rustc_hash::FxHashMap<std::net::IpAddr, u32> = Default::default();
    // (attribute, interned value): each once per segment, no allocation per event.
    let mut ix: rustc_hash::FxHashSet<(u8, u32)> = Default::default();
    let n = events.len();
    let mut out = Vec::with_capacity(n);
    let (mut min, mut max) = (i64::MAX, i64::MIN);
    for e in events {
        min = min.min(e.time_ms);
        max = max.max(e.time_ms);
        // The rendered identity, once per caller per segment (shared: one address each).
        let who = &e.identity;
        let ident = *identities
            .entry(std::sync::Arc::as_ptr(who) as usize)
            .or_insert_with(|| strings.id(&who.json));
        let user = who.username.as_deref().map(|u| strings.id(u));
        let key = who.access_key_id.as_deref().map(|k| strings.id(k));
        let name = strings.id(&e.name);
        let source = strings.id(&e.source);
        ix.insert((0, name));
        ix.insert((1, source));
        ix.insert((2, strings.id(if e.read_only { "true" } else { "false" })));
        if let Some(u) = user {
            ix.insert((3, u));
        }
        if let Some(k) = key {
            ix.insert((4, k));
        }
        if let Some(arn) = e.identity.principal_arn.as_deref() {
            ix.insert((ATTRIBUTES.len() as u8, strings.id(arn)));
        }
        let mut resources = Vec::with_capacity(e.resources.len());
        for (arn, ty) in &e.resources {
            let (a, t) = (strings.id(arn), strings.id(ty));
            ix.insert((5, t));
            ix.insert((6, a));
            ix.insert((6, strings.id(resource_name(arn))));
            resources.push((a, t));
        }
        out.push(Stored(
            e.time_ms,
            e.id,
            name,
            source,
            strings.id(&e.region),
            *addresses
                .entry(e.source_ip)
                .or_insert_with(|| strings.id(&e.source_ip.to_string())),
            strings.id(&e.user_agent),
            ident,
            user,
            key,
            e.request_parameters.as_deref().map(|t| strings.id(t)),
            e.response_elements
                .and_then(|t| serde_json::value::RawValue::from_string(t).ok()),
            e.error.as_ref().map(|(c, _)| strings.id(c)),
            e.error.map(|(_, m)| m),
            e.request_id,
            e.read_only,
            resources,
            (!e.explanation.is_empty()).then(|| {
                *explained
                    .entry(Shared::of(&e.explanation))
                    .or_insert_with(|| {
                        let mut text = String::from("[");
                        for (i, x) in e.explanation.iter().enumerate() {
                            if i > 0 {
                                text.push(',');
                            }
                            text.push_str(&x.json);
                        }
                        text.push(']');
                        strings.id(&text)
                    })
            }),
        ));
    }
    let mut ix: Vec<(String, String)> = ix
        .into_iter()
        .map(|(a, v)| {
            (
                attribute_name(a).to_owned(),
                clean(&strings.strings[v as usize]),
            )
        })
        .collect();
    ix.sort();
    let doc = SegmentDoc {
        v: 1,
        s: strings.strings,
        e: out,
    };
    let head = Head {
        n: n as u64,
        min,
        max,
        bytes: 0,
        ix,
    };
    (doc, head)
}

/// Writes `events` as segments in one transaction (`durable`: with the store's full
/// durability, because a write's answer waits on it).
pub fn write(
    kv: &Arc<dyn Kv>,
    node: &str,
    seq: &AtomicU64,
    events: Vec<Event>,
    durable: bool,
) -> anyhow::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut groups: HashMap<(String, i64), Vec<Vec<Event>>> = HashMap::new();
    for e in events {
        let chunks = groups
            .entry((e.account.clone(), e.time_ms.div_euclid(SPAN_MS)))
            .or_default();
        match chunks.last_mut() {
            Some(c) if c.len() < SEGMENT_EVENTS => c.push(e),
            _ => chunks.push(vec![e]),
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    for ((account, _), chunks) in groups {
        for group in chunks {
            let (doc, head) = build(group);
            rows.push(row(&account, node, seq, &doc, head)?);
        }
    }
    let durability = if durable {
        Durability::Full
    } else {
        Durability::Relaxed
    };
    kv.transaction(durability, &mut |tx: &mut dyn RawTx| {
        for (account, key, doc, head, ix) in &rows {
            tx.put(Table::TrailSegments, account, key, doc)?;
            tx.put(Table::TrailHeads, account, key, head)?;
            for (attr, value) in ix {
                tx.put(
                    Table::TrailIndex,
                    account,
                    &format!("{attr}\0{value}\0{key}"),
                    "1",
                )?;
            }
        }
        Ok(())
    })
}

/// A segment's rows: (account, key, segment, header, index rows).
type Row = (String, String, String, String, Vec<(String, String)>);

fn row(
    account: &str,
    node: &str,
    seq: &AtomicU64,
    doc: &SegmentDoc,
    mut head: Head,
) -> anyhow::Result<Row> {
    let text = serde_json::to_string(doc)?;
    head.bytes = text.len() as u64;
    let key = format!(
        "{}\0{node}\0{:016x}",
        rev(head.max),
        seq.fetch_add(1, Ordering::Relaxed)
    );
    let ix = std::mem::take(&mut head.ix);
    let mut h = head;
    h.ix = ix.clone();
    Ok((
        account.to_owned(),
        key,
        text,
        serde_json::to_string(&h)?,
        ix,
    ))
}

fn delete_segment(tx: &mut dyn RawTx, account: &str, key: &str, head: &Head) -> anyhow::Result<()> {
    tx.delete(Table::TrailSegments, account, key)?;
    tx.delete(Table::TrailHeads, account, key)?;
    for (attr, value) in &head.ix {
        tx.delete(
            Table::TrailIndex,
            account,
            &format!("{attr}\0{value}\0{key}"),
        )?;
    }
    Ok(())
}

/// Deletes, in every account, the segments whose newest event is before `cutoff_ms` and
/// those beyond the newest `max_events`; returns how many segments went.
pub fn retain(kv: &Arc<dyn Kv>, cutoff_ms: i64, max_events: u64) -> anyhow::Result<usize> {
    let mut accounts = Vec::new();
    kv.read(&mut |tx| {
        let mut after: Option<String> = None;
        loop {
            let page = tx.scan_page(Table::Accounts, GLOBAL, "", after.as_deref(), 500)?;
            let Some(last) = page.last() else { break };
            after = Some(last.0.clone());
            accounts.extend(
                page.into_iter()
                    .map(|(k, _)| k)
                    .filter(|k| crate::ids::is_account_id(k)),
            );
        }
        Ok(())
    })?;
    let mut deleted = 0;
    for account in accounts {
        // Walk the headers newest first; everything past the cutoff or the bound goes.
        let mut doomed: Vec<(String, Head)> = Vec::new();
        kv.read(&mut |tx| {
            doomed.clear();
            let mut after: Option<String> = None;
            let mut kept: u64 = 0;
            loop {
                let page = tx.scan_page(Table::TrailHeads, &account, "", after.as_deref(), 1000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.0.clone());
                for (k, doc) in page {
                    let Ok(head) = serde_json::from_str::<Head>(&doc) else {
                        continue;
                    };
                    if head.max < cutoff_ms || kept >= max_events {
                        doomed.push((k, head));
                    } else {
                        kept += head.n;
                    }
                }
            }
            Ok(())
        })?;
        for chunk in doomed.chunks(200) {
            kv.transaction(Durability::Relaxed, &mut |tx| {
                for (k, head) in chunk {
                    delete_segment(tx, &account, k, head)?;
                }
                Ok(())
            })?;
            deleted += chunk.len();
        }
    }
    Ok(deleted)
}

/// A decoded segment, ready to filter and render.
pub struct Segment {
    pub doc: SegmentDoc,
    identities: Vec<Option<Value>>,
}

impl Segment {
    pub fn parse(text: &str) -> anyhow::Result<Segment> {
        let doc: SegmentDoc = serde_json::from_str(text)?;
        let n = doc.s.len();
        Ok(Segment {
            doc,
            identities: vec![None; n],
        })
    }

    pub fn str(&self, i: u32) -> &str {
        self.doc.s.get(i as usize).map(String::as_str).unwrap_or("")
    }

    /// Whether event `e` has `value` for `attr`.
    pub fn matches(&self, e: &Stored, attr: &str, value: &str) -> bool {
        match attr {
            "EventName" => self.str(e.2) == value,
            "EventSource" => self.str(e.3) == value,
            "ReadOnly" => e.15.to_string() == value,
            "Username" => e.8.is_some_and(|u| self.str(u) == value),
            "AccessKeyId" => e.9.is_some_and(|k| self.str(k) == value),
            "ResourceType" => e.16.iter().any(|(_, t)| self.str(*t) == value),
            "ResourceName" => e.16.iter().any(|(a, _)| {
                let arn = self.str(*a);
                arn == value || resource_name(arn) == value
            }),
            "EventId" => e.1 == value,
            PRINCIPAL_ARN => serde_json::from_str::<Value>(self.str(e.7))
                .ok()
                .is_some_and(|i| principal_arn_of_record(&i) == Some(value)),
            _ => false,
        }
    }

    fn identity(&mut self, i: u32) -> Value {
        let slot = i as usize;
        if let Some(Some(v)) = self.identities.get(slot) {
            return v.clone();
        }
        let v: Value = serde_json::from_str(self.str(i)).unwrap_or(Value::Null);
        if let Some(s) = self.identities.get_mut(slot) {
            *s = Some(v.clone());
        }
        v
    }

    /// An interned JSON text, parsed.
    fn json(&self, i: Option<u32>) -> Option<Value> {
        i.and_then(|i| serde_json::from_str(self.str(i)).ok())
    }

    /// The CloudTrail record of event `at`.
    pub fn record(&mut self, at: usize, account: &str) -> Value {
        let identity = self.identity(self.doc.e[at].7);
        let params = self.json(self.doc.e[at].10);
        let why = self.json(self.doc.e[at].17);
        let response: Option<Value> = self.doc.e[at]
            .11
            .as_ref()
            .and_then(|r| serde_json::from_str(r.get()).ok());
        let e = &self.doc.e[at];
        let s = |i: u32| self.str(i);
        record::render(
            &StoredParts {
                time_ms: e.0,
                id: &e.1,
                account,
                source: s(e.3),
                name: s(e.2),
                region: s(e.4),
                source_ip: s(e.5),
                user_agent: s(e.6),
                request_parameters: params.as_ref(),
                response_elements: response.as_ref(),
                error: e.12.map(|c| (s(c), e.13.as_deref().unwrap_or(""))),
                request_id: &e.14,
                read_only: e.15,
                resources: e.16.iter().map(|(a, t)| (s(*a), s(*t))).collect(),
                explanation: why.as_ref(),
            },
            &identity,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::{Caller, Principal};

    /// An event of `principal` (identities are rendered once per access key: one key each).
    fn event(principal: Principal, key: &str) -> Event {
        let mut e = Event::new(1_000, "123456789012", "ecr.amazonaws.com", "PutImage");
        e.identity = record::who(&super::super::event::Identity::Caller(Caller {
            principal,
            account_id: "123456789012".into(),
            access_key_id: key.into(),
            session: None,
        }));
        e
    }

    #[test]
    fn a_role_session_is_indexed_under_its_role() {
        let role = event(
            Principal::Role {
                name: "Builder".into(),
                id: "AROAEXAMPLE".into(),
                path: "/ci/".into(),
                session_name: "job-1".into(),
            },
            "ASIAROLESESSION",
        );
        let user = event(
            Principal::User {
                name: "dev".into(),
                id: "AIDAEXAMPLE".into(),
                path: "/".into(),
            },
            "AKIAUSERKEY",
        );
        let (doc, head) = build(vec![role, user]);
        let principals: Vec<&str> = head
            .ix
            .iter()
            .filter(|(a, _)| a == PRINCIPAL_ARN)
            .map(|(_, v)| v.as_str())
            .collect();
        let role_arn = "arn:aws:iam::123456789012:role/ci/Builder";
        let user_arn = "arn:aws:iam::123456789012:user/dev";
        assert_eq!(principals, [role_arn, user_arn]);
        let seg = Segment::parse(&serde_json::to_string(&doc).unwrap()).unwrap();
        assert!(seg.matches(&seg.doc.e[0], PRINCIPAL_ARN, role_arn));
        assert!(!seg.matches(&seg.doc.e[0], PRINCIPAL_ARN, user_arn));
        assert!(seg.matches(&seg.doc.e[1], PRINCIPAL_ARN, user_arn));
        // Not one of LookupEvents' attributes.
        assert!(!ATTRIBUTES.contains(&PRINCIPAL_ARN));
    }
}
