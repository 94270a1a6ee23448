//! The source capture subsystem: turns source changes (and backfill chunks) into numbered
//! [`ChangeBatch`](crate::messages::ChangeBatch)es for the builder, and advances the source only
//! over what downstream acknowledged.
//!
//! [`Capture`] is the subsystem; a [`CaptureBackend`] is the source it reads: [`SqliteBackend`]
//! and [`PostgresBackend`].

pub mod acks;
mod backend;
mod postgres;
mod sqlite;
mod subsystem;

pub use acks::{AckTracker, Completed, Pending};
pub use backend::{BackfillChunk, CaptureBackend};
pub use postgres::{PostgresBackend, PostgresCaptureConfig};
pub use sqlite::{SqliteBackend, SqliteCaptureConfig};
pub use subsystem::Capture;
