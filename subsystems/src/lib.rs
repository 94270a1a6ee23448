//! Domain subsystems of the overseer node: keep a search index in sync with a database.
//!
//! The data flow (see the guide's architecture chapter):
//!
//! ```text
//!  source capture --Changes--> document builder --Documents--> orchestrator --> sink
//!        ^                                                          |
//!        +------------------- Ack{through_seq} ---------------------+
//! ```
//!
//! Built so far: the change model ([`change`]) and the messages between subsystems
//! ([`messages`]); the capture subsystem over a [`CaptureBackend`](capture::CaptureBackend)
//! ([`capture`], with the SQLite backend: triggers, data_version-gated tail, resumable keyset
//! backfill, [`source::sqlite`]); the pgoutput decoder of the Postgres source
//! ([`source::postgres::pgoutput`]); the index mapping, SQL plans, change resolution and the
//! document builder subsystem ([`builder`], [`document_builder`]); the SQLite state store
//! ([`state`]). Not built yet: the Postgres capture backend's transport, the orchestrator, the
//! sinks, migration and status.

#![forbid(unsafe_code)]

pub mod builder;
pub mod capture;
pub mod change;
pub mod document_builder;
pub mod error;
pub mod messages;
pub mod source;
pub mod state;

pub use error::NodeError;
