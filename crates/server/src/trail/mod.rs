//! The event history: every call that reaches authorisation becomes a CloudTrail management
//! event (`LookupEvents`, `--audit-log`), with kagi's explanation of the decision.
//!
//! * A request leaves an [`Event`] (cheap: moved values, no JSON) with [`Recorder::submit`].
//!   Read-only events are written behind, in batches; the event of a write is committed before
//!   the write's answer leaves ([`Recorder::submit`] returns a receiver the caller awaits), so
//!   no acknowledged write lacks its event after a crash.
//! * One thread per process drains the queue: events of one account within
//!   [`TRAIL_SEGMENT_SPAN_MS`] become one segment row (strings interned once per segment;
//!   [`segment`]), with a header and the attribute index rows LookupEvents filters by, all in
//!   one transaction; several nodes write one history (keys name the node).
//! * [`record`] renders CloudTrail's JSON record (userIdentity as AWS shapes it, secrets
//!   redacted as AWS redacts them); [`lookup`] answers LookupEvents newest first.
//! * [`notes`] collects the policy engine's explanations of the decisions a request made.
//!
//! Retention: events older than `--trail-retention-days` (90 by default, AWS's event history)
//! and beyond `--trail-max-events` per account (oldest first) are deleted once a minute by one
//! node of the cluster.

pub mod lookup;
pub mod notes;
pub mod record;
pub mod segment;

use crate::caller::Caller;
use crate::store::{Kv, TRAIL_SEGMENT_SPAN_MS};
use parking_lot::{Condvar, Mutex};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// Who made a call, as far as authentication found out.
#[derive(Clone, Debug)]
pub enum Identity {
    Caller(Caller),
    /// Authentication failed, but the access key id is known (CloudTrail's `Unknown` type).
    Unknown {
        access_key_id: String,
    },
    /// AssumeRoleWithWebIdentity: the token's issuer and subject.
    WebIdentity {
        provider: String,
        subject: String,
    },
}

/// One recorded call, before it is written.
#[derive(Clone, Debug)]
pub struct Event {
    pub time_ms: i64,
    /// A UUID whose first 48 bits are `time_ms` (as UUIDv7): LookupEvents by EventId finds the
    /// segment from the id alone.
    pub id: String,
    /// The account whose history it joins (`recipientAccountId`).
    pub account: String,
    /// `iam.amazonaws.com`, ...
    pub source: String,
    pub name: String,
    pub region: String,
    pub source_ip: IpAddr,
    pub user_agent: String,
    pub identity: Identity,
    /// Already redacted and with CloudTrail's member names ([`record::parameters`]).
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
    /// `(errorCode, errorMessage)`.
    pub error: Option<(String, String)>,
    pub request_id: String,
    pub read_only: bool,
    /// `(ARN, type)`, e.g. `("arn:aws:ecr:…:repository/x", "AWS::ECR::Repository")`.
    pub resources: Vec<(String, String)>,
    /// kagi's explanations of the authorisation decisions ([`notes`]).
    pub explanation: Vec<Value>,
}

impl Event {
    /// An event at `time_ms` with a fresh time-ordered id; the rest as the caller fills it.
    pub fn new(time_ms: i64, account: &str, source: &str, name: &str) -> Event {
        Event {
            time_ms,
            id: event_id(time_ms),
            account: account.to_owned(),
            source: source.to_owned(),
            name: name.to_owned(),
            region: "us-east-1".to_owned(),
            source_ip: IpAddr::from([127, 0, 0, 1]),
            user_agent: String::new(),
            identity: Identity::Unknown {
                access_key_id: String::new(),
            },
            request_parameters: None,
            response_elements: None,
            error: None,
            request_id: String::new(),
            read_only: record::is_read_only(source, name),
            resources: Vec::new(),
            explanation: Vec::new(),
        }
    }
}

/// A UUID (RFC 9562 version 7 layout) carrying `time_ms` in its first 48 bits.
pub fn event_id(time_ms: i64) -> String {
    let mut b = *uuid::Uuid::new_v4().as_bytes();
    let ms = (time_ms.max(0) as u64).to_be_bytes();
    b[..6].copy_from_slice(&ms[2..]);
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    uuid::Uuid::from_bytes(b).to_string()
}

/// The time an [`event_id`] carries.
pub fn time_of_id(id: &str) -> Option<i64> {
    let u = uuid::Uuid::parse_str(id).ok()?;
    let b = u.as_bytes();
    if b[6] >> 4 != 7 {
        return None;
    }
    let mut ms = [0u8; 8];
    ms[2..].copy_from_slice(&b[..6]);
    Some(u64::from_be_bytes(ms) as i64)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What the recorder is told at start (read at the edge, `kagi serve`'s flags).
#[derive(Clone, Debug)]
pub struct TrailConfig {
    pub enabled: bool,
    pub retention_days: u32,
    pub max_events: u64,
    /// `--audit-log FILE`: the records as JSON lines too.
    pub audit_log: Option<std::path::PathBuf>,
}

impl Default for TrailConfig {
    fn default() -> Self {
        TrailConfig {
            enabled: true,
            retention_days: 90,
            max_events: 1_000_000,
            audit_log: None,
        }
    }
}

/// Read-only events waiting beyond this are dropped (and counted in the log): the history must
/// never hold the server's memory hostage when the store falls behind. Writes always wait.
const QUEUE_BOUND: usize = 200_000;
/// How long read-only events may wait before they are written.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Told the outcome of the flush that wrote an event.
type Ack = Box<dyn FnOnce(Result<(), String>) + Send>;

struct Queue {
    events: Vec<(Event, Option<Ack>)>,
    /// A write is waiting: flush now.
    urgent: bool,
    dropped: u64,
    stop: bool,
}

struct Inner {
    queue: Mutex<Queue>,
    wake: Condvar,
    kv: Arc<dyn Kv>,
    config: TrailConfig,
    node: String,
    seq: AtomicU64,
}

/// The process's recorder (in [`crate::state::AppState`]).
pub struct Recorder {
    inner: Option<Arc<Inner>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What a write's caller awaits: the event is durable (`Ok`) or could not be written.
pub type Durable = tokio::sync::oneshot::Receiver<Result<(), String>>;

impl Recorder {
    /// A recorder that records nothing (`--no-trail`, tools that open the store).
    pub fn off() -> Recorder {
        Recorder {
            inner: None,
            thread: Mutex::new(None),
        }
    }

    pub fn new(kv: Arc<dyn Kv>, config: TrailConfig) -> Recorder {
        if !config.enabled {
            return Recorder::off();
        }
        let node = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue {
                events: Vec::new(),
                urgent: false,
                dropped: 0,
                stop: false,
            }),
            wake: Condvar::new(),
            kv,
            config,
            node,
            seq: AtomicU64::new(0),
        });
        let worker = inner.clone();
        let thread = std::thread::Builder::new()
            .name("kagi-trail".into())
            .spawn(move || worker.run())
            .ok();
        Recorder {
            inner: Some(inner),
            thread: Mutex::new(thread),
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Queues `event`. A write (`!read_only`) returns what to await before answering; `None`
    /// for read-only events and when recording is off.
    pub fn submit(&self, event: Event) -> Option<Durable> {
        let inner = self.inner.as_ref()?;
        let mut q = inner.queue.lock();
        if event.read_only {
            if q.events.len() >= QUEUE_BOUND {
                q.dropped += 1;
                return None;
            }
            q.events.push((event, None));
            if q.events.len() >= 4096 {
                inner.wake.notify_one();
            }
            None
        } else {
            let (tx, rx) = tokio::sync::oneshot::channel();
            q.events.push((
                event,
                Some(Box::new(move |r| {
                    let _ = tx.send(r);
                })),
            ));
            q.urgent = true;
            inner.wake.notify_one();
            Some(rx)
        }
    }

    /// Writes what is queued and stops the thread (server shutdown).
    pub fn stop(&self) {
        if let Some(inner) = &self.inner {
            inner.queue.lock().stop = true;
            inner.wake.notify_one();
        }
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }

    /// Writes everything queued so far before returning (tests, `kagi explain` right after a
    /// call, LookupEvents' read-your-own-events).
    pub fn flush(&self) {
        let Some(inner) = &self.inner else { return };
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        {
            let mut q = inner.queue.lock();
            if q.events.is_empty() {
                return;
            }
            // A marker (no event): the flush that writes it has written everything before it.
            let mut marker = Event::new(0, "", "", "");
            marker.id.clear();
            q.events.push((
                marker,
                Some(Box::new(move |_| {
                    let _ = tx.send(());
                })),
            ));
            q.urgent = true;
            inner.wake.notify_one();
        }
        let _ = rx.recv_timeout(Duration::from_secs(10));
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Inner {
    fn run(self: Arc<Self>) {
        let mut last_retention = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            let (batch, dropped, stop) = {
                let mut q = self.queue.lock();
                if !q.urgent && !q.stop && q.events.len() < 4096 {
                    self.wake.wait_for(&mut q, FLUSH_EVERY);
                }
                q.urgent = false;
                let dropped = std::mem::take(&mut q.dropped);
                (std::mem::take(&mut q.events), dropped, q.stop)
            };
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "event history behind: read-only events were not recorded"
                );
            }
            if !batch.is_empty() {
                self.write(batch);
            }
            if stop {
                return;
            }
            if last_retention.elapsed() >= Duration::from_secs(60) {
                last_retention = std::time::Instant::now();
                if let Err(e) = self.retain() {
                    tracing::warn!(error = %format!("{e:#}"), "event history retention");
                }
            }
        }
    }

    fn write(&self, batch: Vec<(Event, Option<Ack>)>) {
        let mut events = Vec::with_capacity(batch.len());
        let mut acks = Vec::new();
        for (mut e, ack) in batch {
            if let Some(a) = ack {
                acks.push(a);
            }
            if !e.id.is_empty() {
                // CloudTrail's member names, secrets hidden: done here, off the request's path.
                e.request_parameters = e
                    .request_parameters
                    .take()
                    .and_then(|v| record::parameters(&v));
                e.response_elements = e
                    .response_elements
                    .take()
                    .and_then(|v| record::parameters(&v));
                events.push(e);
            }
        }
        let durable = !acks.is_empty();
        let result = segment::write(&self.kv, &self.node, &self.seq, &events, durable);
        if let Err(e) = &result {
            tracing::error!(error = %format!("{e:#}"), events = events.len(), "writing the event history");
        }
        if let Some(path) = &self.config.audit_log
            && let Err(e) = append_audit_log(path, &events)
        {
            tracing::error!(error = %format!("{e:#}"), "writing the audit log");
        }
        let outcome = result.map_err(|e| format!("{e:#}"));
        for a in acks {
            a(outcome.clone());
        }
    }

    fn retain(&self) -> anyhow::Result<()> {
        if !crate::store::jobs::claim(
            &self.kv,
            "trail-retention",
            Duration::from_secs(60),
            &self.node,
        )? {
            return Ok(());
        }
        let cutoff = now_ms() - i64::from(self.config.retention_days) * 86_400_000;
        let n = segment::retain(&self.kv, cutoff, self.config.max_events)?;
        if n > 0 {
            tracing::info!(segments = n, "event history: old segments deleted");
        }
        Ok(())
    }
}

fn append_audit_log(path: &std::path::Path, events: &[Event]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if events.is_empty() {
        return Ok(());
    }
    let mut out = Vec::new();
    for e in events {
        serde_json::to_writer(&mut out, &record::render_event(e))?;
        out.push(b'\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(&out)?;
    Ok(())
}

/// The resources a request's decisions were about (`resources` of its record): each ARN
/// once, with its CloudTrail type; `*` and ARNs of unknown types are left out.
pub fn resources_of(notes: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for n in notes {
        let Some(arn) = n["resource"].as_str() else {
            continue;
        };
        if let Some(ty) = record::resource_type(arn)
            && !out.iter().any(|(a, _)| a == arn)
        {
            out.push((arn.to_owned(), ty.to_owned()));
        }
    }
    out
}

/// How far a paginated scan must look back (see [`TRAIL_SEGMENT_SPAN_MS`]).
pub const SPAN_MS: i64 = TRAIL_SEGMENT_SPAN_MS;
