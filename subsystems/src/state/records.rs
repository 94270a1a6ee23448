//! The records the state store keeps.

use serde::{Deserialize, Serialize};

use crate::change::{Key, Position};

/// Where a pipeline's capture resumes: the last acknowledged source position and the sequence
/// number of the change at that position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Checkpoint {
    /// The last acknowledged position in the source (a SQLite change-log id, a Postgres LSN).
    pub position: Position,
    /// The sequence number of the last acknowledged batch; the capture numbers the next batch
    /// `seq + 1` (see [`Change::seq`](crate::change::Change::seq)).
    pub seq: u64,
}

/// How far the initial copy (backfill) of one table has come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BackfillProgress {
    /// The primary key of the last row whose chunk was completed; `None` before the first chunk.
    pub last_key: Option<Key>,
    /// Rows completed so far.
    pub rows_done: u64,
    /// The estimated row count of the table when the backfill started, for progress display.
    pub estimated_total: Option<u64>,
    /// Whether every chunk has been completed.
    pub finished: bool,
}
