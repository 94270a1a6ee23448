//! The source capture subsystem: turns source changes (and backfill chunks) into numbered
//! [`ChangeBatch`](crate::messages::ChangeBatch)es for the builder, and advances the source only
//! over what downstream acknowledged.

pub mod acks;
mod sqlite;

pub use acks::{AckTracker, Completed, Pending};
pub use sqlite::{SqliteCapture, SqliteCaptureConfig};
