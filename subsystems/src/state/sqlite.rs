//! [`SqliteStateStore`]: the state in a SQLite file of its own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{BackfillProgress, Checkpoint, StateError, StateStore};
use crate::change::{Key, Position};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// How long a write waits for another writer of the same file by default.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS overseer_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
)";

const DATA_TABLES: &str = "
CREATE TABLE IF NOT EXISTS overseer_checkpoints (
    pipeline TEXT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS overseer_backfills (
    pipeline TEXT NOT NULL,
    table_name TEXT NOT NULL,
    last_key TEXT,
    rows_done INTEGER NOT NULL,
    estimated_total INTEGER,
    finished INTEGER NOT NULL,
    PRIMARY KEY (pipeline, table_name)
);";

/// A [`StateStore`] on a SQLite file of its own.
///
/// The file is opened in WAL mode with `synchronous = FULL`, so a committed write is on disk
/// when the call returns, and readers never block the writer. Several processes or threads may
/// open the same file; writers wait for each other up to the busy timeout. Every write is one
/// `BEGIN IMMEDIATE` transaction (taking the write lock up front, so two writers can never
/// deadlock upgrading a read lock).
///
/// Tables, created idempotently on open:
///
/// ```sql
/// overseer_schema(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)
/// overseer_checkpoints(pipeline TEXT PRIMARY KEY, position INTEGER NOT NULL, seq INTEGER NOT NULL)
/// overseer_backfills(pipeline TEXT, table_name TEXT, last_key TEXT, rows_done INTEGER NOT NULL,
///                    estimated_total INTEGER, finished INTEGER NOT NULL,
///                    PRIMARY KEY (pipeline, table_name))
/// ```
///
/// Positions and counts are stored as SQLite integers (signed 64-bit); larger values are
/// rejected with [`StateError::OutOfRange`]. `last_key` is the key as a JSON array.
///
/// One value holds one connection; it is `Send` but not `Sync`. Give each thread its own store
/// (opening the same file again is cheap and safe), or share one behind a mutex.
#[derive(Debug)]
pub struct SqliteStateStore {
    conn: Connection,
    file: PathBuf,
}

impl SqliteStateStore {
    /// Opens (creating if missing) the state file at `path`, with the default busy timeout.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StateError> {
        Self::open_with_busy_timeout(path, DEFAULT_BUSY_TIMEOUT)
    }

    /// Opens (creating if missing) the state file at `path`; writes wait up to `busy_timeout`
    /// for other writers of the file.
    pub fn open_with_busy_timeout(
        path: impl AsRef<Path>,
        busy_timeout: Duration,
    ) -> Result<Self, StateError> {
        let file = path.as_ref().to_path_buf();
        let open_err = |source| StateError::Open {
            file: file.clone(),
            source,
        };
        let conn = Connection::open(&file).map_err(open_err)?;
        conn.busy_timeout(busy_timeout).map_err(open_err)?;
        // Switching to WAL needs a moment of exclusive access; the busy timeout covers a
        // concurrent opener. Once the file is in WAL mode this is a no-op.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StateError::Corrupt {
                file,
                what: format!("cannot switch to WAL mode (journal mode stays `{mode}`)"),
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        let store = Self { conn, file };
        store.create_schema()?;
        Ok(store)
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    fn create_schema(&self) -> Result<(), StateError> {
        let action = "create schema";
        let tx = self.begin(action)?;
        tx.execute_batch(SCHEMA_TABLE)
            .map_err(|e| self.sql_err(action, e))?;
        tx.execute(
            "INSERT OR IGNORE INTO overseer_schema (id, version) VALUES (1, ?1)",
            [SCHEMA_VERSION],
        )
        .map_err(|e| self.sql_err(action, e))?;
        let found: i64 = tx
            .query_row(
                "SELECT version FROM overseer_schema WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql_err(action, e))?;
        if found > SCHEMA_VERSION {
            // Dropping `tx` rolls back.
            return Err(StateError::SchemaTooNew {
                file: self.file.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        tx.execute_batch(DATA_TABLES)
            .map_err(|e| self.sql_err(action, e))?;
        tx.commit().map_err(|e| self.sql_err(action, e))
    }

    fn begin(&self, action: &str) -> Result<Transaction<'_>, StateError> {
        // `new_unchecked` because the trait takes `&self`; the store never nests transactions.
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.sql_err(action, e))
    }

    fn sql_err(&self, action: &str, source: rusqlite::Error) -> StateError {
        StateError::Sqlite {
            file: self.file.clone(),
            action: action.to_owned(),
            source,
        }
    }

    fn write_sql_int(&self, what: impl FnOnce() -> String, value: u64) -> Result<i64, StateError> {
        i64::try_from(value).map_err(|_| StateError::OutOfRange {
            file: self.file.clone(),
            what: what(),
            value,
        })
    }

    fn read_sql_int(&self, what: impl FnOnce() -> String, value: i64) -> Result<u64, StateError> {
        u64::try_from(value).map_err(|_| StateError::Corrupt {
            file: self.file.clone(),
            what: format!("{} = {value} is negative", what()),
        })
    }

    fn decode_progress(
        &self,
        pipeline: &str,
        table: &str,
        raw: RawProgress,
    ) -> Result<BackfillProgress, StateError> {
        let last_key = raw
            .last_key
            .map(|text| serde_json::from_str::<Key>(&text))
            .transpose()
            .map_err(|source| StateError::BadKey {
                file: self.file.clone(),
                pipeline: pipeline.to_owned(),
                table: table.to_owned(),
                source,
            })?;
        let what =
            |field: &str| format!("backfill of pipeline `{pipeline}` table `{table}`: {field}");
        Ok(BackfillProgress {
            last_key,
            rows_done: self.read_sql_int(|| what("rows_done"), raw.rows_done)?,
            estimated_total: raw
                .estimated_total
                .map(|v| self.read_sql_int(|| what("estimated_total"), v))
                .transpose()?,
            finished: raw.finished != 0,
        })
    }
}

/// A backfill row as stored.
struct RawProgress {
    last_key: Option<String>,
    rows_done: i64,
    estimated_total: Option<i64>,
    finished: i64,
}

impl RawProgress {
    fn from_row(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            last_key: row.get(first)?,
            rows_done: row.get(first + 1)?,
            estimated_total: row.get(first + 2)?,
            finished: row.get(first + 3)?,
        })
    }
}

impl StateStore for SqliteStateStore {
    fn checkpoint(&self, pipeline: &str) -> Result<Option<Checkpoint>, StateError> {
        let action = || format!("read checkpoint of pipeline `{pipeline}`");
        let raw: Option<(i64, i64)> = self
            .conn
            .prepare_cached("SELECT position, seq FROM overseer_checkpoints WHERE pipeline = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([pipeline], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(|e| self.sql_err(&action(), e))?;
        raw.map(|(position, seq)| {
            Ok(Checkpoint {
                position: Position(
                    self.read_sql_int(|| format!("{} position", action()), position)?,
                ),
                seq: self.read_sql_int(|| format!("{} seq", action()), seq)?,
            })
        })
        .transpose()
    }

    fn set_checkpoint(&self, pipeline: &str, checkpoint: Checkpoint) -> Result<(), StateError> {
        let action = format!("write checkpoint of pipeline `{pipeline}`");
        let position = self.write_sql_int(
            || format!("checkpoint position of pipeline `{pipeline}`"),
            checkpoint.position.0,
        )?;
        let seq = self.write_sql_int(
            || format!("checkpoint seq of pipeline `{pipeline}`"),
            checkpoint.seq,
        )?;
        let tx = self.begin(&action)?;
        tx.prepare_cached(
            "INSERT INTO overseer_checkpoints (pipeline, position, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (pipeline) DO UPDATE SET position = excluded.position, seq = excluded.seq",
        )
        .and_then(|mut stmt| stmt.execute(params![pipeline, position, seq]))
        .map_err(|e| self.sql_err(&action, e))?;
        tx.commit().map_err(|e| self.sql_err(&action, e))
    }

    fn backfill(
        &self,
        pipeline: &str,
        table: &str,
    ) -> Result<Option<BackfillProgress>, StateError> {
        let action = format!("read backfill of pipeline `{pipeline}` table `{table}`");
        let raw = self
            .conn
            .prepare_cached(
                "SELECT last_key, rows_done, estimated_total, finished FROM overseer_backfills
                 WHERE pipeline = ?1 AND table_name = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row([pipeline, table], |r| RawProgress::from_row(r, 0))
                    .optional()
            })
            .map_err(|e| self.sql_err(&action, e))?;
        raw.map(|raw| self.decode_progress(pipeline, table, raw))
            .transpose()
    }

    fn set_backfill(
        &self,
        pipeline: &str,
        table: &str,
        progress: &BackfillProgress,
    ) -> Result<(), StateError> {
        let action = format!("write backfill of pipeline `{pipeline}` table `{table}`");
        let what =
            |field: &str| format!("backfill {field} of pipeline `{pipeline}` table `{table}`");
        let last_key = progress
            .last_key
            .as_ref()
            .map(|key| serde_json::Value::Array(key.clone()).to_string());
        let rows_done = self.write_sql_int(|| what("rows_done"), progress.rows_done)?;
        let estimated_total = progress
            .estimated_total
            .map(|v| self.write_sql_int(|| what("estimated_total"), v))
            .transpose()?;
        let tx = self.begin(&action)?;
        tx.prepare_cached(
            "INSERT INTO overseer_backfills
                 (pipeline, table_name, last_key, rows_done, estimated_total, finished)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (pipeline, table_name) DO UPDATE SET
                 last_key = excluded.last_key,
                 rows_done = excluded.rows_done,
                 estimated_total = excluded.estimated_total,
                 finished = excluded.finished",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                pipeline,
                table,
                last_key,
                rows_done,
                estimated_total,
                progress.finished
            ])
        })
        .map_err(|e| self.sql_err(&action, e))?;
        tx.commit().map_err(|e| self.sql_err(&action, e))
    }

    fn backfills(&self, pipeline: &str) -> Result<Vec<(String, BackfillProgress)>, StateError> {
        let action = format!("list backfills of pipeline `{pipeline}`");
        let raws: Vec<(String, RawProgress)> = self
            .conn
            .prepare_cached(
                "SELECT table_name, last_key, rows_done, estimated_total, finished
                 FROM overseer_backfills WHERE pipeline = ?1 ORDER BY table_name",
            )
            .and_then(|mut stmt| {
                stmt.query_map([pipeline], |r| {
                    Ok((r.get(0)?, RawProgress::from_row(r, 1)?))
                })?
                .collect()
            })
            .map_err(|e| self.sql_err(&action, e))?;
        raws.into_iter()
            .map(|(table, raw)| {
                let progress = self.decode_progress(pipeline, &table, raw)?;
                Ok((table, progress))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use serde_json::json;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn progress(last: i64, rows_done: u64, finished: bool) -> BackfillProgress {
        BackfillProgress {
            last_key: Some(vec![json!(last), json!("k\"ey")]),
            rows_done,
            estimated_total: Some(100),
            finished,
        }
    }

    #[test]
    fn state_sqlite_checkpoint_round_trip() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = SqliteStateStore::open(dir.path().join("state.db"))?;
        assert_eq!(store.checkpoint("p")?, None);
        let first = Checkpoint {
            position: Position(42),
            seq: 7,
        };
        store.set_checkpoint("p", first)?;
        assert_eq!(store.checkpoint("p")?, Some(first));
        let second = Checkpoint {
            position: Position(i64::MAX as u64),
            seq: 8,
        };
        store.set_checkpoint("p", second)?;
        assert_eq!(store.checkpoint("p")?, Some(second));
        assert_eq!(store.checkpoint("other")?, None);
        Ok(())
    }

    #[test]
    fn state_sqlite_backfill_round_trip() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = SqliteStateStore::open(dir.path().join("state.db"))?;
        assert_eq!(store.backfill("p", "t")?, None);
        let fresh = BackfillProgress::default();
        store.set_backfill("p", "t", &fresh)?;
        assert_eq!(store.backfill("p", "t")?, Some(fresh));
        let later = progress(5, 50, false);
        store.set_backfill("p", "t", &later)?;
        store.set_backfill("p", "a", &progress(9, 100, true))?;
        store.set_backfill("q", "t", &progress(1, 1, false))?;
        assert_eq!(store.backfill("p", "t")?, Some(later.clone()));
        let all = store.backfills("p")?;
        assert_eq!(
            all,
            vec![
                ("a".to_owned(), progress(9, 100, true)),
                ("t".to_owned(), later)
            ]
        );
        Ok(())
    }

    #[test]
    fn state_sqlite_rejects_values_beyond_i64() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = SqliteStateStore::open(dir.path().join("state.db"))?;
        let err = store.set_checkpoint(
            "p",
            Checkpoint {
                position: Position(u64::MAX),
                seq: 0,
            },
        );
        assert!(
            matches!(&err, Err(StateError::OutOfRange { what, .. }) if what.contains("`p`")),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn state_sqlite_reopen_keeps_everything() -> TestResult {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("state.db");
        let cp = Checkpoint {
            position: Position(1234),
            seq: 99,
        };
        {
            let store = SqliteStateStore::open(&file)?;
            store.set_checkpoint("p", cp)?;
            store.set_backfill("p", "t", &progress(3, 30, false))?;
            store.set_backfill("p", "u", &progress(4, 40, true))?;
        }
        let store = SqliteStateStore::open(&file)?;
        assert_eq!(store.path(), file.as_path());
        assert_eq!(store.checkpoint("p")?, Some(cp));
        assert_eq!(store.backfill("p", "t")?, Some(progress(3, 30, false)));
        assert_eq!(store.backfills("p")?.len(), 2);
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        assert_eq!(mode, "wal");
        Ok(())
    }

    #[test]
    fn state_sqlite_refuses_newer_schema() -> TestResult {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("state.db");
        drop(SqliteStateStore::open(&file)?);
        Connection::open(&file)?.execute("UPDATE overseer_schema SET version = 99", [])?;
        let err = SqliteStateStore::open(&file);
        assert!(
            matches!(err, Err(StateError::SchemaTooNew { found: 99, .. })),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn state_sqlite_concurrent_opens_and_writes() -> TestResult {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("state.db");
        let threads = 6;
        let writes = 50u64;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let file = file.clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || -> Result<(), StateError> {
                    barrier.wait();
                    // Every thread creates the file and the schema at the same moment.
                    let store = SqliteStateStore::open(&file)?;
                    let pipeline = format!("p{t}");
                    for i in 1..=writes {
                        store.set_checkpoint(
                            &pipeline,
                            Checkpoint {
                                position: Position(i),
                                seq: i,
                            },
                        )?;
                        store.set_backfill(&pipeline, "t", &progress(i as i64, i, false))?;
                        // A shared row, written by everyone.
                        store.set_checkpoint(
                            "shared",
                            Checkpoint {
                                position: Position(i),
                                seq: t as u64,
                            },
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(result) => result?,
                Err(_) => return Err("writer thread panicked".into()),
            }
        }
        let store = SqliteStateStore::open(&file)?;
        for t in 0..threads {
            let pipeline = format!("p{t}");
            assert_eq!(
                store.checkpoint(&pipeline)?,
                Some(Checkpoint {
                    position: Position(writes),
                    seq: writes
                })
            );
            assert_eq!(
                store.backfill(&pipeline, "t")?,
                Some(progress(writes as i64, writes, false))
            );
        }
        assert_eq!(
            store.checkpoint("shared")?.map(|c| c.position),
            Some(Position(writes))
        );
        Ok(())
    }
}
