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
//! Built so far:
//!
//! * the change model ([`change`]) and the messages between subsystems ([`messages`]);
//! * the capture subsystem over a [`CaptureBackend`](capture::CaptureBackend) ([`capture`]),
//!   with two backends:
//!   * [`SqliteBackend`](capture::SqliteBackend) over [`source::sqlite`]: triggers,
//!     data_version-gated tail, resumable keyset backfill;
//!   * [`PostgresBackend`](capture::PostgresBackend) over [`source::postgres`]:
//!     publication and slot setup (with the exact SQL for an operator when the role may
//!     not), logical replication through pgoutput in commit order, acknowledgements that
//!     confirm the slot (so an idle slot's lag returns to zero), reconnection with
//!     backoff, resumable keyset backfill, slot lag, and the pgoutput decoder
//!     ([`source::postgres::pgoutput`]);
//! * the index mapping, SQL plans, change resolution and the document builder subsystem
//!   ([`builder`], [`document_builder`]), which reads from SQLite only;
//! * the state store ([`state`]): in a SQLite file, or in memory.
//!
//! Not built yet:
//!
//! * a Postgres executor for the document builder, so Postgres is not synced end to end;
//! * state store tables kept in Postgres (checkpoints live in a SQLite file today);
//! * the orchestrator, the sinks, migration and status.

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
