//! Errors of the SQLite capture backend.

use crate::change::Key;
use crate::state::StateError;

/// A capture operation on a SQLite source failed. Variants name the database file, table, key
/// or change-log id involved.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The source database could not be opened or configured.
    #[error("sqlite source {db}: cannot open: {source}")]
    Open {
        /// The database file.
        db: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A statement on the source database failed.
    #[error("sqlite source {db}: {action}: {source}")]
    Sqlite {
        /// The database file.
        db: String,
        /// What was being done, naming the table.
        action: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A table or column name that cannot be used (see [`quote_ident`](super::quote_ident)).
    #[error("{kind} name {name:?} cannot be used: {reason}")]
    BadName {
        /// "table" or "column".
        kind: &'static str,
        /// The name as given.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The table does not exist in the source database.
    #[error("sqlite source {db}: no table `{table}`")]
    NoSuchTable {
        /// The database file.
        db: String,
        /// The table.
        table: String,
    },
    /// The name is a view (or another object), which cannot carry capture triggers.
    #[error("sqlite source {db}: `{table}` is a {kind}, not a table")]
    NotATable {
        /// The database file.
        db: String,
        /// The name.
        table: String,
        /// What it is.
        kind: String,
    },
    /// The table declares no primary key; its rowid is not a stable document identity.
    #[error(
        "sqlite source {db}: table `{table}` has no declared primary key (its implicit rowid may \
         change on VACUUM); declare a PRIMARY KEY (e.g. `id INTEGER PRIMARY KEY`)"
    )]
    NoPrimaryKey {
        /// The database file.
        db: String,
        /// The table.
        table: String,
    },
    /// A column asked for in a capture spec does not exist.
    #[error("table `{table}` has no column `{column}`")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// The change-log table is missing: capture triggers were never installed.
    #[error(
        "sqlite source {db}: change-log table `_overseer_changes` is missing; install the \
         capture triggers first"
    )]
    ChangeLogMissing {
        /// The database file.
        db: String,
    },
    /// A change-log row cannot be turned into a change.
    #[error("sqlite source {db}: change-log row {id} (table `{table}`): {reason}")]
    BadChangeRow {
        /// The database file.
        db: String,
        /// The change-log id.
        id: i64,
        /// The table the row names.
        table: String,
        /// What is wrong.
        reason: String,
    },
    /// A key value cannot be turned back into a SQL value.
    #[error("table `{table}`: key {key:?} cannot be used as a SQL value: {reason}")]
    BadKey {
        /// The table.
        table: String,
        /// The key.
        key: Key,
        /// Why.
        reason: String,
    },
    /// A row's primary key contains NULL (legal in legacy rowid tables), so it cannot be paged
    /// past or fetched by key.
    #[error(
        "sqlite source {db}: table `{table}` has a row with a NULL in its primary key {key:?}"
    )]
    NullKey {
        /// The database file.
        db: String,
        /// The table.
        table: String,
        /// The key as read.
        key: Key,
    },
    /// A backfill chunk was completed out of order (or twice, or for another table).
    #[error(
        "backfill of table `{table}`: chunk after key {got:?} completed, but the next chunk to \
         complete starts after {expected:?}"
    )]
    OutOfOrder {
        /// The table of the backfill.
        table: String,
        /// Where the next chunk to complete starts.
        expected: Option<Key>,
        /// Where the completed chunk starts.
        got: Option<Key>,
    },
    /// The state store failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The file name of a connection's main database, for messages.
pub(crate) fn db_name(conn: &rusqlite::Connection) -> String {
    match conn.path() {
        Some(path) if !path.is_empty() => path.to_owned(),
        _ => ":memory:".to_owned(),
    }
}

/// Wraps a SQLite error with the database and what was being done.
pub(crate) fn sql_err(
    conn: &rusqlite::Connection,
    action: impl Into<String>,
) -> impl FnOnce(rusqlite::Error) -> CaptureError + '_ {
    let action = action.into();
    move |source| CaptureError::Sqlite {
        db: db_name(conn),
        action,
        source,
    }
}
