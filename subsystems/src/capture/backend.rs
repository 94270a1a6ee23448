//! What the capture subsystem needs of a source: live changes, backfill chunks, and a way to
//! make acknowledged progress durable.

use std::future::Future;

use crate::change::{Change, Key, Position};
use crate::error::NodeError;

/// A chunk of backfill keys from one table.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillChunk<C> {
    /// The table.
    pub table: String,
    /// The keys, ascending.
    pub keys: Vec<Key>,
    /// The backend's own record of the chunk, handed back on completion.
    pub token: C,
}

/// A source of changes: SQLite triggers and change log, or Postgres logical replication.
///
/// The capture subsystem drives it: it asks for changes and chunks while its in-flight limit
/// allows, and reports what downstream acknowledged. Sequence numbers are the subsystem's.
pub trait CaptureBackend: Send + 'static {
    /// The backend's record of a backfill chunk.
    type Token: Send + 'static;

    /// The sequence number the first batch of this run gets (one past the checkpoint's).
    fn first_seq(&self) -> u64;

    /// Live changes ready now (possibly none), in commit order.
    fn poll_changes(&mut self) -> impl Future<Output = Result<Vec<Change>, NodeError>> + Send;

    /// The next backfill chunk, if backfill work remains to be read.
    fn next_chunk(
        &mut self,
    ) -> impl Future<Output = Result<Option<BackfillChunk<Self::Token>>, NodeError>> + Send;

    /// Wait until changes may be ready: a backoff for a polled source, readiness for a stream.
    /// `idle` is true when the last poll found nothing.
    fn wait(&mut self, idle: bool) -> impl Future<Output = ()> + Send;

    /// The documents of this chunk are durable: record the backfill's progress.
    fn complete_chunk(
        &mut self,
        chunk: BackfillChunk<Self::Token>,
    ) -> impl Future<Output = Result<(), NodeError>> + Send;

    /// Every change up to `position` is durable (the backend numbered the last of them
    /// `source_seq`; the capture's batches through `batch_seq`): move the checkpoint (to
    /// `batch_seq`) and let the source release what it kept for them.
    fn confirm(
        &mut self,
        position: Position,
        source_seq: u64,
        batch_seq: u64,
    ) -> impl Future<Output = Result<(), NodeError>> + Send;

    /// The source position live changes will continue from, for backfill changes' positions.
    fn position(&self) -> Position;
}
