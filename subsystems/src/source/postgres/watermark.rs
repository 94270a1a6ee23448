//! The high-water mark of a new pipeline, and where a pipeline's stream starts.
//!
//! The slot's confirmed position is the mark: the slot delivers every transaction that
//! commits at or after it, and every transaction that committed before it is visible to any
//! snapshot taken after the mark was read (creating a slot waits for the transactions
//! running at its consistent point). A new pipeline stores the mark as its checkpoint
//! *before* the backfill reads its first chunk; see the [backend docs](super#backfill-and-live-changes).

use tokio_postgres::Client;

use super::error::sql_err;
use super::PgError;
use crate::change::Position;
use crate::source::sqlite::CaptureStart;
use crate::state::{BackfillProgress, Checkpoint, StateStore};

/// The confirmed position of `slot` (`confirmed_flush_lsn`; right after creation, its
/// consistent point).
///
/// # Errors
///
/// [`PgError::SlotMissing`] if the slot does not exist.
pub async fn high_water_mark(client: &Client, slot: &str) -> Result<Position, PgError> {
    let row = client
        .query_opt(
            "SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint
             FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(sql_err(format!(
            "read the position of replication slot `{slot}`"
        )))?
        .ok_or_else(|| PgError::SlotMissing {
            slot: slot.to_owned(),
        })?;
    let lsn: Option<i64> = row.get(0);
    Ok(Position(
        lsn.and_then(|l| u64::try_from(l).ok()).unwrap_or(0),
    ))
}

/// The checkpoint `pipeline` streams from: its stored checkpoint, or, for a new pipeline, the
/// [`high_water_mark`] of `slot` (with seq 0), stored before returning.
///
/// Call it after [`install`](super::install) and before the first backfill chunk is read,
/// passing [`InstallOutcome::slot_created`](super::InstallOutcome::slot_created). An existing
/// checkpoint is never moved here: an interrupted backfill resumes after its last completed
/// chunk, and the rows it had copied must still get the changes since the mark.
///
/// Except when the slot was just created although the pipeline has a checkpoint: the slot it
/// streamed from was dropped, and the changes since are gone. The pipeline then starts over:
/// its checkpoint moves to the new mark (keeping its seq), every stored backfill of it restarts from the first
/// row, and the result is `fresh`.
///
/// The state store is synchronous; its calls here are short.
pub async fn begin_capture<S: StateStore + ?Sized>(
    client: &Client,
    store: &S,
    pipeline: &str,
    slot: &str,
    slot_created: bool,
) -> Result<CaptureStart, PgError> {
    let stored = store.checkpoint(pipeline)?;
    if let Some(checkpoint) = stored {
        if !slot_created {
            return Ok(CaptureStart {
                checkpoint,
                fresh: false,
            });
        }
        tracing::warn!(
            pipeline,
            slot,
            "replication slot was recreated: changes since the checkpoint are lost, the \
             pipeline starts over with a new backfill"
        );
        for (table, _) in store.backfills(pipeline)? {
            store.set_backfill(pipeline, &table, &BackfillProgress::default())?;
        }
    }
    // Sequence numbers keep increasing over a restart, so versions derived from them do too.
    let checkpoint = Checkpoint {
        position: high_water_mark(client, slot).await?,
        seq: stored.map_or(0, |c| c.seq),
    };
    store.set_checkpoint(pipeline, checkpoint)?;
    Ok(CaptureStart {
        checkpoint,
        fresh: true,
    })
}
