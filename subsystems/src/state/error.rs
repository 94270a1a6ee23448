//! Errors of the state store.

use std::path::PathBuf;

/// A state store operation failed. Every variant names the file and what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The SQLite file could not be opened or prepared (pragmas, schema).
    #[error("state store {file}: cannot open: {source}")]
    Open {
        /// The state file.
        file: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The file was written by a newer version of the schema than this build knows.
    #[error("state store {file}: schema version {found} is newer than the supported {supported}")]
    SchemaTooNew {
        /// The state file.
        file: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build supports.
        supported: i64,
    },
    /// A read or write failed.
    #[error("state store {file}: {action}: {source}")]
    Sqlite {
        /// The state file.
        file: PathBuf,
        /// What was being done, naming the pipeline and table.
        action: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A stored backfill key is not a JSON array.
    #[error(
        "state store {file}: backfill of pipeline `{pipeline}` table `{table}`: stored last key \
         is not a JSON array: {source}"
    )]
    BadKey {
        /// The state file.
        file: PathBuf,
        /// The pipeline.
        pipeline: String,
        /// The table.
        table: String,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// A stored value is impossible (a negative count, say): the file was edited or damaged.
    #[error("state store {file}: {what}")]
    Corrupt {
        /// The state file.
        file: PathBuf,
        /// What is wrong, naming the pipeline (and table).
        what: String,
    },
    /// A number does not fit SQLite's signed 64-bit integers.
    #[error("state store {file}: {what} = {value} does not fit a signed 64-bit integer")]
    OutOfRange {
        /// The state file.
        file: PathBuf,
        /// Which value, naming the pipeline (and table).
        what: String,
        /// The value.
        value: u64,
    },
}
