//! The change-log high-water mark, and where a pipeline's capture starts.
//!
//! A new pipeline must not lose the writes that happen while it copies the existing rows. It
//! records the high-water mark (the highest change-log id assigned so far) as its checkpoint
//! *before* the backfill reads the first chunk, and tails the change log from there. See the
//! [backend docs](super#backfill-and-live-changes) for why that loses nothing.

use rusqlite::Connection;

use super::error::{db_name, sql_err};
use super::triggers::CHANGE_LOG;
use super::CaptureError;
use crate::change::Position;
use crate::state::{Checkpoint, StateStore};

/// The highest change-log id ever assigned, or `Position(0)` if none; trimmed ids count (the
/// change log is `AUTOINCREMENT`, so ids are never reused).
///
/// Fails with [`CaptureError::ChangeLogMissing`] if the triggers were never installed.
pub fn high_water_mark(conn: &Connection) -> Result<Position, CaptureError> {
    ensure_change_log(conn)?;
    // One statement, one snapshot.
    let mark: i64 = conn
        .query_row(
            "SELECT max(
                 coalesce((SELECT seq FROM sqlite_sequence WHERE name = '_overseer_changes'), 0),
                 coalesce((SELECT max(id) FROM \"_overseer_changes\"), 0))",
            [],
            |row| row.get(0),
        )
        .map_err(sql_err(conn, "read the change-log high-water mark"))?;
    Ok(Position(u64::try_from(mark).unwrap_or(0)))
}

/// Fails with [`CaptureError::ChangeLogMissing`] unless the change-log table exists.
pub(crate) fn ensure_change_log(conn: &Connection) -> Result<(), CaptureError> {
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [CHANGE_LOG],
            |row| row.get(0),
        )
        .map_err(sql_err(conn, "look up the change log"))?;
    if exists {
        Ok(())
    } else {
        Err(CaptureError::ChangeLogMissing { db: db_name(conn) })
    }
}

/// Where a pipeline's tail starts, from [`begin_capture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureStart {
    /// The checkpoint to tail from.
    pub checkpoint: Checkpoint,
    /// `true` if the pipeline had no checkpoint and one was just recorded at the high-water
    /// mark: every table needs a backfill.
    pub fresh: bool,
}

/// The checkpoint `pipeline` tails from: its stored checkpoint, or, for a new pipeline, the
/// current [`high_water_mark`] (with seq 0), stored before returning.
///
/// Call it after [`install`](super::install) and before the first backfill chunk is read. An
/// existing checkpoint is never moved forward here: a backfill interrupted by a crash resumes
/// after its last completed chunk, and the rows it had already copied must still get the
/// changes made since the original mark.
pub fn begin_capture<S: StateStore + ?Sized>(
    conn: &Connection,
    store: &S,
    pipeline: &str,
) -> Result<CaptureStart, CaptureError> {
    if let Some(checkpoint) = store.checkpoint(pipeline)? {
        ensure_change_log(conn)?;
        return Ok(CaptureStart {
            checkpoint,
            fresh: false,
        });
    }
    let checkpoint = Checkpoint {
        position: high_water_mark(conn)?,
        seq: 0,
    };
    store.set_checkpoint(pipeline, checkpoint)?;
    Ok(CaptureStart {
        checkpoint,
        fresh: true,
    })
}
