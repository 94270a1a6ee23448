//! The Postgres [`CaptureBackend`]: logical replication from a slot, keyset backfills.

use super::backend::{BackfillChunk, CaptureBackend};
use crate::change::{Change, Position};
use crate::error::NodeError;
use crate::source::postgres::{
    begin_capture, install, Backfill, CaptureSetup, ChangeStream, PgSource, StreamConfig,
};
use crate::source::sqlite::Chunk;
use crate::state::{Checkpoint, StateStore};

/// What the Postgres capture reads, and how much at a time.
#[derive(Debug, Clone)]
pub struct PostgresCaptureConfig {
    /// Where to connect (for SQL and for replication).
    pub source: PgSource,
    /// The publication, slot and tables.
    pub setup: CaptureSetup,
    /// The pipeline's name in the state store.
    pub pipeline: String,
    /// The tables to backfill (the root tables of the mappings), in order.
    pub backfill: Vec<String>,
    /// Changes per live batch at most.
    pub batch_size: usize,
    /// Keys per backfill chunk.
    pub chunk_size: usize,
}

/// The Postgres capture backend, keeping its checkpoints in `S`.
#[derive(Debug)]
pub struct PostgresBackend<S> {
    pipeline: String,
    store: S,
    client: tokio_postgres::Client,
    stream: ChangeStream,
    backfills: Vec<Backfill>,
    first_seq: u64,
    position: Position,
    batch_size: usize,
    /// Changes the stream delivered while the capture only waited for readiness.
    ready: Vec<Change>,
}

impl<S: StateStore + Send + 'static> PostgresBackend<S> {
    /// Set up publication and slot (idempotently; an error carries the operator's SQL when
    /// this role may not), find where to start, and resume each backfill.
    pub async fn open(config: PostgresCaptureConfig, store: S) -> Result<Self, NodeError> {
        let client = config.source.connect().await?;
        let installed = install(&client, &config.setup).await?;
        let start = begin_capture(
            &client,
            &store,
            &config.pipeline,
            &config.setup.slot,
            installed.slot_created,
        )
        .await?;
        let stream_config = StreamConfig::new(&config.setup.slot, &config.setup.publication);
        let stream = ChangeStream::new(
            config.source.clone(),
            stream_config,
            installed.tables.clone(),
            start.checkpoint,
        )?;
        let mut backfills = Vec::new();
        for name in &config.backfill {
            let table = installed
                .tables
                .iter()
                .find(|table| table.name() == name)
                .ok_or_else(|| NodeError::UnknownTable {
                    table: name.clone(),
                })?;
            backfills.push(
                Backfill::resume(&client, &store, &config.pipeline, table, config.chunk_size)
                    .await?,
            );
        }
        Ok(Self {
            pipeline: config.pipeline,
            store,
            client,
            stream,
            backfills,
            first_seq: start.checkpoint.seq.saturating_add(1),
            position: start.checkpoint.position,
            batch_size: config.batch_size.max(1),
            ready: Vec::new(),
        })
    }
}

impl<S: StateStore + Send + 'static> CaptureBackend for PostgresBackend<S> {
    type Token = Chunk;

    fn first_seq(&self) -> u64 {
        self.first_seq
    }

    async fn poll_changes(&mut self) -> Result<Vec<Change>, NodeError> {
        let mut changes = std::mem::take(&mut self.ready);
        if changes.len() < self.batch_size {
            changes.extend(
                self.stream
                    .try_batch(self.batch_size - changes.len())
                    .await?,
            );
        }
        if let Some(last) = changes.last() {
            self.position = last.position;
        }
        Ok(changes)
    }

    async fn next_chunk(&mut self) -> Result<Option<BackfillChunk<Chunk>>, NodeError> {
        for backfill in &mut self.backfills {
            if let Some(chunk) = backfill.next_chunk(&self.client).await? {
                return Ok(Some(BackfillChunk {
                    table: chunk.table.clone(),
                    keys: chunk.keys.clone(),
                    token: chunk,
                }));
            }
        }
        Ok(None)
    }

    async fn wait(&mut self, _idle: bool) {
        // A stream, not a poll: wait for the next change (cancel-safe), and keep it for the
        // next `poll_changes`. An error stays in the stream and comes out of that call.
        if self.ready.is_empty() {
            if let Ok(changes) = self.stream.next_batch(self.batch_size).await {
                self.ready = changes;
            }
        }
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
        _position: Position,
        source_seq: u64,
        batch_seq: u64,
    ) -> Result<(), NodeError> {
        // The stream knows how much of a transaction is acknowledged: it says which position
        // a restart may resume from.
        if let Some(resume) = self.stream.ack(source_seq)? {
            let checkpoint = Checkpoint {
                position: resume.position,
                seq: batch_seq,
            };
            self.store.set_checkpoint(&self.pipeline, checkpoint)?;
        }
        Ok(())
    }

    fn position(&self) -> Position {
        self.position
    }
}
