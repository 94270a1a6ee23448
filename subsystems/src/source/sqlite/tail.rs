//! [`Tail`]: reads the change log in id order and turns its rows into [`Change`]s.
//!
//! Polling is cheap while idle: before querying, the tail reads `PRAGMA data_version`, which
//! changes only when *another* connection commits to the database. Unchanged, and the last
//! batch was not full, means nothing new can be in the change log, so the poll returns without
//! touching it. Between empty polls the caller waits per an [`IdleBackoff`](super::IdleBackoff).
//!
//! `data_version` is read *before* the query: a commit that lands between the two makes the
//! next poll query again (harmless), whereas reading it after could hide that commit.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags};

use super::error::{db_name, sql_err};
use super::watermark::ensure_change_log;
use super::CaptureError;
use crate::change::{Change, ChangeKind, Key, Position, Row};
use crate::state::Checkpoint;

/// How long a statement waits for a writer's lock by default.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Rows deleted per transaction by [`Tail::trim`], so trimming never holds the write lock
/// for long.
const TRIM_CHUNK: i64 = 5_000;

/// Counters of a [`Tail`], for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TailStats {
    /// Calls of [`Tail::poll_batch`].
    pub polls: u64,
    /// Polls that queried the change log (the others saw no new commit).
    pub queries: u64,
    /// Changes returned.
    pub changes: u64,
}

/// A reader of the change log of one SQLite database, after a checkpoint.
///
/// Sequence numbers: the tail numbers the changes it returns consecutively from
/// `checkpoint.seq + 1`, so `seq` is gap-free even where change-log ids are not (rows trimmed,
/// or ids consumed by other means). The capture subsystem renumbers them by batch (see
/// [`Change::seq`](crate::change::Change::seq)); the tail's numbering serves direct users. The change-log id is the change's
/// [`Position`]. Resuming from a stored checkpoint renumbers the unacknowledged changes
/// exactly as before, since they are read again in the same order.
#[derive(Debug)]
pub struct Tail {
    conn: Connection,
    after: Position,
    next_seq: u64,
    batch_size: usize,
    seen_version: Option<i64>,
    batch_was_full: bool,
    stats: TailStats,
}

impl Tail {
    /// Opens the existing database at `path` (never creating it) and tails its change log
    /// after `from`, `batch_size` changes per poll at most.
    pub fn open(
        path: impl AsRef<Path>,
        from: Checkpoint,
        batch_size: usize,
    ) -> Result<Self, CaptureError> {
        let path = path.as_ref();
        let open_err = |source| CaptureError::Open {
            db: path.display().to_string(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(DEFAULT_BUSY_TIMEOUT).map_err(open_err)?;
        Self::new(conn, from, batch_size)
    }

    /// Tails the change log of `conn`'s database after `from`. The connection should be the
    /// tail's own: `data_version` only sees commits of *other* connections.
    pub fn new(
        conn: Connection,
        from: Checkpoint,
        batch_size: usize,
    ) -> Result<Self, CaptureError> {
        ensure_change_log(&conn)?;
        Ok(Self {
            conn,
            after: from.position,
            next_seq: from.seq.saturating_add(1),
            batch_size: batch_size.max(1),
            seen_version: None,
            batch_was_full: false,
            stats: TailStats::default(),
        })
    }

    /// The position of the last change returned (initially the checkpoint's).
    pub fn position(&self) -> Position {
        self.after
    }

    /// The seq the next change will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The counters so far.
    pub fn stats(&self) -> TailStats {
        self.stats
    }

    /// The tail's connection (to the source database).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The next changes after [`position`](Self::position), at most the batch size, oldest
    /// first; empty if there are none (then wait per an [`IdleBackoff`](super::IdleBackoff)
    /// before polling again). The change log is queried only if another connection committed
    /// since the last query, or the last batch was full.
    ///
    /// On error nothing advances: the same poll can be retried. A malformed change-log row
    /// fails every poll until repaired; the error names its id.
    pub fn poll_batch(&mut self) -> Result<Vec<Change>, CaptureError> {
        self.stats.polls += 1;
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(sql_err(&self.conn, "read data_version"))?;
        if !self.batch_was_full && self.seen_version == Some(version) {
            return Ok(Vec::new());
        }
        self.stats.queries += 1;
        let raws = self.query()?;
        let mut changes = Vec::with_capacity(raws.len());
        let mut seq = self.next_seq;
        for raw in raws {
            changes.push(raw.into_change(&self.conn, seq)?);
            seq += 1;
        }
        // Commit the new state only once the whole batch decoded.
        self.seen_version = Some(version);
        self.batch_was_full = changes.len() == self.batch_size;
        self.next_seq = seq;
        if let Some(last) = changes.last() {
            self.after = last.position;
        }
        self.stats.changes += changes.len() as u64;
        Ok(changes)
    }

    fn query(&self) -> Result<Vec<RawChange>, CaptureError> {
        let after = i64::try_from(self.after.0).unwrap_or(i64::MAX);
        let limit = i64::try_from(self.batch_size).unwrap_or(i64::MAX);
        self.conn
            .prepare_cached(
                "SELECT id, table_name, kind, key_json, old_json FROM \"_overseer_changes\"
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![after, limit], |row| {
                    Ok(RawChange {
                        id: row.get(0)?,
                        table: row.get(1)?,
                        kind: row.get(2)?,
                        key_json: row.get(3)?,
                        old_json: row.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(sql_err(&self.conn, "read the change log"))
    }

    /// Deletes the change-log rows up to and including `through` (acknowledged changes), in
    /// transactions of a few thousand rows; returns how many were deleted. Never deletes past
    /// [`position`](Self::position): rows not yet read stay whatever `through` says.
    ///
    /// The change log is shared by everything capturing from this database: trim only with
    /// the acknowledgement of its single consumer.
    pub fn trim(&self, through: Position) -> Result<usize, CaptureError> {
        let through = i64::try_from(through.min(self.after).0).unwrap_or(i64::MAX);
        let mut total = 0;
        loop {
            let deleted = self
                .conn
                .prepare_cached(
                    "DELETE FROM \"_overseer_changes\" WHERE id IN (
                         SELECT id FROM \"_overseer_changes\" WHERE id <= ?1 ORDER BY id LIMIT ?2)",
                )
                .and_then(|mut stmt| stmt.execute(params![through, TRIM_CHUNK]))
                .map_err(sql_err(
                    &self.conn,
                    format!("trim the change log through {through}"),
                ))?;
            total += deleted;
            if i64::try_from(deleted).unwrap_or(i64::MAX) < TRIM_CHUNK {
                return Ok(total);
            }
        }
    }
}

/// A change-log row as stored.
struct RawChange {
    id: i64,
    table: String,
    kind: String,
    key_json: String,
    old_json: Option<String>,
}

impl RawChange {
    fn into_change(self, conn: &Connection, seq: u64) -> Result<Change, CaptureError> {
        let bad = |reason: String| CaptureError::BadChangeRow {
            db: db_name(conn),
            id: self.id,
            table: self.table.clone(),
            reason,
        };
        let position = u64::try_from(self.id)
            .map(Position)
            .map_err(|_| bad("negative id".to_owned()))?;
        let kind = match self.kind.as_str() {
            "insert" => ChangeKind::Insert,
            "update" => ChangeKind::Update,
            "delete" => ChangeKind::Delete,
            other => return Err(bad(format!("unknown kind {other:?}"))),
        };
        let key: Key = serde_json::from_str(&self.key_json).map_err(|e| {
            bad(format!(
                "key_json {:?} is not a JSON array: {e}",
                self.key_json
            ))
        })?;
        let old: Option<Row> = self
            .old_json
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| bad(format!("old_json is not a JSON object: {e}")))?;
        Ok(Change {
            seq,
            position,
            table: self.table,
            kind,
            key,
            old,
        })
    }
}
