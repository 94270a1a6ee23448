//! The [`StateStore`] trait.

use super::{BackfillProgress, Checkpoint, StateError};

/// Durable storage of capture checkpoints and backfill progress.
///
/// Every setter is durable when it returns: after a crash, a getter returns the last value
/// set (or a later one). Values are replaced, not merged; a checkpoint may be set backwards on
/// purpose (to replay), the store does not enforce monotonicity.
pub trait StateStore {
    /// The checkpoint of `pipeline`, or `None` if it never acknowledged anything.
    fn checkpoint(&self, pipeline: &str) -> Result<Option<Checkpoint>, StateError>;

    /// Records `checkpoint` as the last acknowledged position of `pipeline`.
    fn set_checkpoint(&self, pipeline: &str, checkpoint: Checkpoint) -> Result<(), StateError>;

    /// The backfill progress of `table` in `pipeline`, or `None` if its backfill never started.
    fn backfill(&self, pipeline: &str, table: &str)
        -> Result<Option<BackfillProgress>, StateError>;

    /// Records the backfill progress of `table` in `pipeline`.
    fn set_backfill(
        &self,
        pipeline: &str,
        table: &str,
        progress: &BackfillProgress,
    ) -> Result<(), StateError>;

    /// The backfill progress of every table of `pipeline`, ordered by table name.
    fn backfills(&self, pipeline: &str) -> Result<Vec<(String, BackfillProgress)>, StateError>;
}

/// A shared store: the capture writes through it while others (status, tests) read it.
impl<T: StateStore + ?Sized> StateStore for std::sync::Arc<T> {
    fn checkpoint(&self, pipeline: &str) -> Result<Option<Checkpoint>, StateError> {
        (**self).checkpoint(pipeline)
    }

    fn set_checkpoint(&self, pipeline: &str, checkpoint: Checkpoint) -> Result<(), StateError> {
        (**self).set_checkpoint(pipeline, checkpoint)
    }

    fn backfill(
        &self,
        pipeline: &str,
        table: &str,
    ) -> Result<Option<BackfillProgress>, StateError> {
        (**self).backfill(pipeline, table)
    }

    fn set_backfill(
        &self,
        pipeline: &str,
        table: &str,
        progress: &BackfillProgress,
    ) -> Result<(), StateError> {
        (**self).set_backfill(pipeline, table, progress)
    }

    fn backfills(&self, pipeline: &str) -> Result<Vec<(String, BackfillProgress)>, StateError> {
        (**self).backfills(pipeline)
    }
}
