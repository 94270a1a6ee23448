//! The messages between the node's subsystems, and the signal they all receive.
//!
//! The domain owns these types; the binary's `#[overlord]` only names them, and tests assemble
//! the same subsystems with stand-ins through the same types.

use crate::builder::Outcome;
use crate::change::Change;

/// The signal broadcast to every subsystem of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeSignal {
    /// Finish: stop taking new work, flush, end.
    Conclude,
}

impl overseer::ConcludeSignal for NodeSignal {
    fn conclude() -> Self {
        Self::Conclude
    }

    fn is_conclude(&self) -> bool {
        matches!(self, Self::Conclude)
    }
}

/// External events of the node; none are defined yet.
#[derive(Debug)]
pub enum NodeEvent {}

/// To the capture subsystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureMessage {
    /// Every batch up to and including `through_seq` is durable in the index: the source may
    /// advance its position over it.
    Ack {
        /// The highest acknowledged batch sequence.
        through_seq: u64,
    },
}

/// To the document builder.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildMessage {
    /// Changes to turn into documents.
    Changes(ChangeBatch),
}

/// One batch of captured changes, or of keys from a backfill chunk, under one sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeBatch {
    /// The batch's sequence number: gap-free, increasing, acknowledged back to the capture.
    pub seq: u64,
    /// The changes; a backfill chunk carries one update per key of the chunk.
    pub changes: Vec<Change>,
}

/// To the stage after the builder (the orchestrator, or a sink in tests).
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentMessage {
    /// Documents built for one index from one change batch.
    Documents(DocumentBatch),
}

/// What one change batch means for one index.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentBatch {
    /// The change batch this comes from; acknowledge it once every index flushed.
    pub seq: u64,
    /// The index.
    pub index: String,
    /// Delete every document of the index before applying `outcomes` (the root table was
    /// truncated).
    pub clear_index: bool,
    /// One outcome per affected document.
    pub outcomes: Vec<Outcome>,
    /// How many indexes share this `seq`: the batch is done when all of them are.
    pub of_indexes: usize,
}
