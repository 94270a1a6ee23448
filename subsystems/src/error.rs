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
