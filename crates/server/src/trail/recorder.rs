//! The recorder: a queue the requests fill and one thread that writes it ([`Recorder`]).

use super::event::{Event, now_ms};
use super::{record, segment};
use crate::store::Kv;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

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
        // The callers are handlers running on a runtime worker: waiting for the writer there
        // would stall the worker's other connections, so the wait hands the worker's queue on.
        let wait = move || {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
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
        for (e, ack) in batch {
            if let Some(a) = ack {
                acks.push(a);
            }
            if !e.id.is_empty() {
                events.push(e);
            }
        }
        let durable = !acks.is_empty();
        if let Some(path) = &self.config.audit_log
            && let Err(e) = append_audit_log(path, &events)
        {
            tracing::error!(error = %format!("{e:#}"), "writing the audit log");
        }
        let n = events.len();
        let result = segment::write(&self.kv, &self.node, &self.seq, events, durable);
        if let Err(e) = &result {
            tracing::error!(error = %format!("{e:#}"), events = n, "writing the event history");
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
