//! The error of the node's subsystems.

use crate::builder::BuildError;
use crate::source::sqlite::CaptureError;
use crate::state::StateError;

/// Why a node subsystem stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The overseer machinery failed (a queue closed, the overseer gone).
    #[error(transparent)]
    Overseer(#[from] overseer::OverseerError),
    /// Capturing from the source failed.
    #[error("capture: {0}")]
    Capture(#[from] CaptureError),
    /// The state store failed.
    #[error("state store: {0}")]
    State(#[from] StateError),
    /// A document query failed (the whole batch; per-document problems are outcomes).
    #[error("document builder: {0}")]
    Build(#[from] BuildError<rusqlite::Error>),
    /// The Postgres source failed (setup, replication, backfill).
    #[error("postgres: {0}")]
    Postgres(#[from] crate::source::postgres::PgError),
    /// A table named for backfill is not among the captured tables.
    #[error("table {table:?} is to be backfilled but is not captured")]
    UnknownTable {
        /// The table.
        table: String,
    },
    /// Opening a database failed.
    #[error("opening {path}: {source}")]
    Open {
        /// The database file.
        path: String,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
}
