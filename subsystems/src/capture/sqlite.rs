//! The capture subsystem over the SQLite backend.
//!
//! SQLite calls block: declare this subsystem `blocking` in the `#[overlord]` struct so it runs
//! on a thread of its own.

use std::path::PathBuf;

use futures::future::{self, Either};
use futures_timer::Delay;
use overseer::{FromOverseer, SpawnedSubsystem, Subsystem, SubsystemContext, SubsystemSender};
use rusqlite::Connection;

use super::acks::{AckTracker, Pending};
use crate::change::{Change, ChangeKind};
use crate::error::NodeError;
use crate::messages::{BuildMessage, CaptureMessage, ChangeBatch, NodeSignal};
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
    /// Batches sent but not acknowledged at most: beyond it the capture waits, so memory stays
    /// flat whatever the backlog.
    pub max_in_flight: usize,
}

/// The capture subsystem over a SQLite source.
#[derive(Debug)]
pub struct SqliteCapture<S> {
    config: SqliteCaptureConfig,
    store: S,
}

impl<S: StateStore + Send + 'static> SqliteCapture<S> {
    /// A capture of `config` keeping its checkpoints in `store`.
    pub fn new(config: SqliteCaptureConfig, store: S) -> Self {
        Self { config, store }
    }
}

impl<Ctx, S> Subsystem<Ctx, NodeError> for SqliteCapture<S>
where
    Ctx: SubsystemContext<Message = CaptureMessage, Signal = NodeSignal, Error = NodeError>,
    Ctx::Sender: SubsystemSender<BuildMessage>,
    S: StateStore + Send + 'static,
{
    fn start(self, ctx: Ctx) -> SpawnedSubsystem<NodeError> {
        SpawnedSubsystem {
            name: "sqlite-capture",
            future: Box::pin(self.run(ctx)),
        }
    }
}

/// What the capture does after a message from the overseer.
enum Next {
    Continue,
    Stop,
}

/// The capture's state at the source: the tail, the backfills, what is in flight.
struct Source<S> {
    config: SqliteCaptureConfig,
    store: S,
    connection: Connection,
    tail: Tail,
    backfills: Vec<Backfill>,
    tracker: AckTracker<Chunk>,
}

impl<S: StateStore + Send + 'static> SqliteCapture<S> {
    async fn run<Ctx>(self, mut ctx: Ctx) -> Result<(), NodeError>
    where
        Ctx: SubsystemContext<Message = CaptureMessage, Signal = NodeSignal, Error = NodeError>,
        Ctx::Sender: SubsystemSender<BuildMessage>,
    {
        let mut source = Source::open(self.config, self.store)?;
        let mut sender = ctx.sender().clone();
        let mut idle = IdleBackoff::default();
        loop {
            while let Ok(Some(incoming)) = ctx.try_recv().await {
                if let Next::Stop = source.handle(incoming)? {
                    return Ok(());
                }
            }
            let sent = source.send_ready(&mut sender).await?;
            if sent > 0 {
                idle.reset();
                continue;
            }
            let wait = Delay::new(idle.delay_after(0));
            let incoming = ctx.recv();
            futures::pin_mut!(incoming);
            if let Either::Left((incoming, _)) = future::select(incoming, wait).await {
                if let Next::Stop = source.handle(incoming?)? {
                    return Ok(());
                }
            }
        }
    }
}

impl<S: StateStore + Send + 'static> Source<S> {
    fn open(config: SqliteCaptureConfig, store: S) -> Result<Self, NodeError> {
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
        let tracker = AckTracker::new(start.checkpoint.seq.saturating_add(1));
        Ok(Self {
            config,
            store,
            connection,
            tail,
            backfills,
            tracker,
        })
    }

    fn handle(
        &mut self,
        incoming: FromOverseer<CaptureMessage, NodeSignal>,
    ) -> Result<Next, NodeError> {
        match incoming {
            FromOverseer::Signal(NodeSignal::Conclude) => Ok(Next::Stop),
            FromOverseer::Communication {
                msg: CaptureMessage::Ack { through_seq },
            } => {
                self.acknowledge(through_seq)?;
                Ok(Next::Continue)
            }
        }
    }

    /// Record what downstream made durable: finished backfill chunks, then the live position;
    /// only then trim the change log.
    fn acknowledge(&mut self, through_seq: u64) -> Result<(), NodeError> {
        let completed = self.tracker.ack(through_seq);
        for chunk in &completed.chunks {
            if let Some(backfill) = self
                .backfills
                .iter_mut()
                .find(|backfill| backfill.table() == chunk.table)
            {
                backfill.complete(&self.store, chunk)?;
            }
        }
        if let Some(position) = completed.position {
            self.store.set_checkpoint(
                &self.config.pipeline,
                Checkpoint {
                    position,
                    seq: completed.through_seq,
                },
            )?;
            self.tail.trim(position)?;
        }
        Ok(())
    }

    /// Send what is ready within the in-flight limit: a backfill chunk, then live changes.
    async fn send_ready(
        &mut self,
        sender: &mut impl SubsystemSender<BuildMessage>,
    ) -> Result<usize, NodeError> {
        let mut sent = 0;
        if self.tracker.in_flight() < self.config.max_in_flight {
            if let Some(chunk) = self.next_chunk()? {
                let changes = chunk
                    .keys
                    .iter()
                    .map(|key| Change {
                        seq: 0,
                        position: self.tail.position(),
                        table: chunk.table.clone(),
                        kind: ChangeKind::Update,
                        key: key.clone(),
                        old: None,
                    })
                    .collect();
                let seq = self.tracker.send(Pending::Backfill(chunk));
                sender
                    .send_message(BuildMessage::Changes(ChangeBatch { seq, changes }))
                    .await;
                sent += 1;
            }
        }
        if self.tracker.in_flight() < self.config.max_in_flight {
            let mut changes = self.tail.poll_batch()?;
            if let Some(last) = changes.last() {
                let position = last.position;
                let seq = self.tracker.send(Pending::Live(position));
                for change in &mut changes {
                    change.seq = seq;
                }
                sender
                    .send_message(BuildMessage::Changes(ChangeBatch { seq, changes }))
                    .await;
                sent += 1;
            }
        }
        Ok(sent)
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>, NodeError> {
        for backfill in &mut self.backfills {
            if let Some(chunk) = backfill.next_chunk(&self.connection)? {
                return Ok(Some(chunk));
            }
        }
        Ok(None)
    }
}
