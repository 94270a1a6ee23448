//! What the source captures: one change per row event, in commit order.
//!
//! Changes are *thin*: table, key, and the old values of the columns a mapping needs to find
//! the documents a change affects (a deleted child row must still name its parent). Documents
//! are rebuilt from current rows, so a late or replayed change never writes stale data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A column value as captured: JSON is the common ground of SQLite and Postgres text output.
pub type Value = serde_json::Value;

/// Column name to value.
pub type Row = BTreeMap<String, Value>;

/// A primary key: its column values in the table's key column order.
pub type Key = Vec<Value>;

/// A position in the source: a Postgres LSN, or a SQLite change-log id. Only ever compared
/// within one source.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Position(pub u64);

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeKind {
    /// A row was inserted.
    Insert,
    /// A row was updated (a primary-key update is a delete of the old key and an insert).
    Update,
    /// A row was deleted.
    Delete,
    /// The whole table was emptied.
    Truncate,
}

/// One captured change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The sequence number of the batch this change travels in. The capture subsystem numbers
    /// its batches gap-free and sets every change of a batch to the batch's number (a backend
    /// may number changes on its own before that); acknowledgements refer to batch numbers.
    pub seq: u64,
    /// Where the change is in the source, for checkpoints.
    pub position: Position,
    /// The table.
    pub table: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The row's primary key (empty for `Truncate`).
    pub key: Key,
    /// Values of the row before the change, as far as the source provides them (at least the
    /// columns mappings join on, for updates and deletes).
    pub old: Option<Row>,
}
