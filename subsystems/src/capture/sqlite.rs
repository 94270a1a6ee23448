//! The SQLite [`CaptureBackend`]: triggers into a change log, a tail, keyset backfills.
//!
//! SQLite calls block: declare the capture subsystem `blocking` in the `#[overlord]` struct so
//! it runs on a thread of its own.

use std::path::PathBuf;

use futures_timer::Delay;
use rusqlite::Connection;

use super::backend::{BackfillChunk, CaptureBackend};
use crate::change::{Change, Position};
use crate::error::NodeError;
use crate::source::sqlite::{
    begin_capture, install, Backfill, Chunk, IdleBackoff, TableSpec, Tail,
};
use crate::state::{Checkpoint, StateStore};

/// What the SQLite capture reads, and how much at a time.
#[derive(Debug, Clone)]
pub struct SqliteCaptureConfig {
    /// The source database file (written by other processes).
    pub database: PathBuf,
    /// The pipeline's name in the state store.
    pub pipeline: String,
    /// The tables to capture, with the old values each must record.
    pub tables: Vec<TableSpec>,
    /// The tables to backfill (the root tables of the mappings), in order.
    pub backfill: Vec<String>,
    /// Changes per live batch at most.
    pub batch_size: usize,
    /// Keys per backfill chunk.
    pub chunk_size: usize,
}

/// The SQLite capture backend, keeping its checkpoints in `S`.
#[derive(Debug)]
pub struct SqliteBackend<S> {
    config: SqliteCaptureConfig,
    store: S,
    connection: Connection,
    tail: Tail,
    backfills: Vec<Backfill>,
    first_seq: u64,
    idle: IdleBackoff,
}

impl<S: StateStore + Send + 'static> SqliteBackend<S> {
    /// Install the capture triggers (idempotently), find where to start (the stored checkpoint,
    /// or the current high-water mark for a new pipeline) and resume each backfill.
    pub fn open(config: SqliteCaptureConfig, store: S) -> Result<Self, NodeError> {
        let connection = Connection::open(&config.database).map_err(|source| NodeError::Open {
            path: config.database.display().to_string(),
            source,
        })?;
        install(&connection, &config.tables)?;
        let start = begin_capture(&connection, &store, &config.pipeline)?;
        let tail = Tail::open(&config.database, start.checkpoint, config.batch_size)?;
        let backfills = config
            .backfill
            .iter()
            .map(|table| {
                Backfill::resume(
                    &connection,
                    &store,
                    &config.pipeline,
                    table,
                    config.chunk_size,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let first_seq = start.checkpoint.seq.saturating_add(1);
        Ok(Self {
            config,
            store,
            connection,
            tail,
            backfills,
            first_seq,
            idle: IdleBackoff::default(),
        })
    }
}

impl<S: StateStore + Send + 'static> CaptureBackend for SqliteBackend<S> {
    type Token = Chunk;

    fn first_seq(&self) -> u64 {
        self.first_seq
    }

    async fn poll_changes(&mut self) -> Result<Vec<Change>, NodeError> {
        Ok(self.tail.poll_batch()?)
    }

    async fn next_chunk(&mut self) -> Result<Option<BackfillChunk<Chunk>>, NodeError> {
        for backfill in &mut self.backfills {
            if let Some(chunk) = backfill.next_chunk(&self.connection)? {
                return Ok(Some(BackfillChunk {
                    table: chunk.table.clone(),
                    keys: chunk.keys.clone(),
                    token: chunk,
                }));
            }
        }
        Ok(None)
    }

    async fn wait(&mut self, idle: bool) {
        Delay::new(self.idle.delay_after(usize::from(!idle))).await;
    }

    async fn complete_chunk(&mut self, chunk: BackfillChunk<Chunk>) -> Result<(), NodeError> {
        if let Some(backfill) = self
            .backfills
            .iter_mut()
            .find(|backfill| backfill.table() == chunk.table)
        {
            backfill.complete(&self.store, &chunk.token)?;
        }
        Ok(())
    }

    async fn confirm(
        &mut self,
        position: Position,
        _source_seq: u64,
        batch_seq: u64,
    ) -> Result<(), NodeError> {
        let checkpoint = Checkpoint {
            position,
            seq: batch_seq,
        };
        self.store
            .set_checkpoint(&self.config.pipeline, checkpoint)?;
        // One consumer per change log: what is confirmed is no longer needed.
        self.tail.trim(position)?;
        Ok(())
    }

    fn position(&self) -> Position {
        self.tail.position()
    }
}
