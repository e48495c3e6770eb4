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

pub mod event;
pub mod lookup;
pub mod notes;
pub mod record;
pub mod recorder;
pub mod segment;

pub use event::{Event, Identity, Origin, SPAN_MS, event_id, now_ms, time_of_id};
pub use record::resources_of;
pub use recorder::{Durable, Recorder, TrailConfig};
