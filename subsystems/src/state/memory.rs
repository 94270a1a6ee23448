//! [`MemoryStateStore`]: the state in memory, for tests and one-shot runs.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::{BackfillProgress, Checkpoint, StateError, StateStore};

/// A [`StateStore`] in memory: nothing survives the process. Never fails.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    checkpoints: BTreeMap<String, Checkpoint>,
    backfills: BTreeMap<(String, String), BackfillProgress>,
}

impl MemoryStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the maps half-updated: every update is one insert.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl StateStore for MemoryStateStore {
    fn checkpoint(&self, pipeline: &str) -> Result<Option<Checkpoint>, StateError> {
        Ok(self.lock().checkpoints.get(pipeline).copied())
    }

    fn set_checkpoint(&self, pipeline: &str, checkpoint: Checkpoint) -> Result<(), StateError> {
        self.lock()
            .checkpoints
            .insert(pipeline.to_owned(), checkpoint);
        Ok(())
    }

    fn backfill(
        &self,
        pipeline: &str,
        table: &str,
    ) -> Result<Option<BackfillProgress>, StateError> {
        Ok(self
            .lock()
            .backfills
            .get(&(pipeline.to_owned(), table.to_owned()))
            .cloned())
    }

    fn set_backfill(
        &self,
        pipeline: &str,
        table: &str,
        progress: &BackfillProgress,
    ) -> Result<(), StateError> {
        self.lock()
            .backfills
            .insert((pipeline.to_owned(), table.to_owned()), progress.clone());
        Ok(())
    }

    fn backfills(&self, pipeline: &str) -> Result<Vec<(String, BackfillProgress)>, StateError> {
        Ok(self
            .lock()
            .backfills
            .iter()
            .filter(|((p, _), _)| p == pipeline)
            .map(|((_, t), progress)| (t.clone(), progress.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Position;

    #[test]
    fn memory_store_round_trips() -> Result<(), StateError> {
        let store = MemoryStateStore::new();
        assert_eq!(store.checkpoint("p")?, None);
        let cp = Checkpoint {
            position: Position(7),
            seq: 3,
        };
        store.set_checkpoint("p", cp)?;
        assert_eq!(store.checkpoint("p")?, Some(cp));
        let progress = BackfillProgress {
            last_key: Some(vec![serde_json::json!(1)]),
            rows_done: 1,
            estimated_total: Some(2),
            finished: false,
        };
        store.set_backfill("p", "t", &progress)?;
        store.set_backfill("q", "t", &BackfillProgress::default())?;
        assert_eq!(store.backfill("p", "t")?, Some(progress.clone()));
        assert_eq!(store.backfills("p")?, vec![("t".to_owned(), progress)]);
        Ok(())
    }
}
