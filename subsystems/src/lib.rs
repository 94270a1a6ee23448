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
//! Built so far, as pure parts with their tests: the change model ([`change`]); the pgoutput
//! decoder of the Postgres source ([`source::postgres::pgoutput`]); the index mapping, its SQL
//! plans and change resolution ([`builder`]); the SQLite state store ([`state`]) and the SQLite
//! capture backend ([`source::sqlite`]: triggers, tail, resumable backfill). Not built yet: the
//! capture and builder subsystems that drive these through the overseer, the Postgres
//! replication transport, the orchestrator, sinks, migration and status.

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
