//! [`Backfill`]: the initial copy of a table, as batches of primary keys in key order.
//!
//! Keyset pagination: each chunk is one statement,
//! `SELECT k1, k2 FROM t WHERE (k1, k2) > (?, ?) ORDER BY k1, k2 LIMIT ?`, hence its own short
//! read transaction (never one across the whole table: that would pin the WAL and starve
//! checkpoints). Completing a chunk stores its last key through the [`StateStore`], so a
//! crash resumes after the last completed chunk: only chunks read but not completed are read
//! again.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::error::{db_name, sql_err};
use super::ident::quote_ident;
use super::schema::table_info;
use super::value::{json_to_sql, sql_to_json};
use super::CaptureError;
use crate::change::Key;
use crate::state::{BackfillProgress, StateStore};

/// One batch of keys of a backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The table.
    pub table: String,
    /// The key the chunk starts after (`None`: from the first row).
    pub after: Option<Key>,
    /// The keys, ascending.
    pub keys: Vec<Key>,
    /// Whether this is the table's last chunk (it had fewer rows than the chunk size).
    /// Completing it finishes the backfill.
    pub last: bool,
}

/// The backfill of one table of one pipeline.
///
/// It holds no connection or store: each call takes the ones to use, so the caller decides
/// threads and lifetimes. Chunks may be read ahead of their completion (pipelining), but must
/// be [completed](Self::complete) in the order they were read.
#[derive(Debug, Clone)]
pub struct Backfill {
    pipeline: String,
    table: String,
    select_first: String,
    select_after: String,
    chunk_size: usize,
    committed: BackfillProgress,
    read_cursor: Option<Key>,
    read_last: bool,
}

impl Backfill {
    /// Starts or resumes the backfill of `table` for `pipeline`, reading `chunk_size` keys per
    /// chunk. A new backfill estimates the table's rows (see [`estimate_rows`]) and stores its
    /// initial progress; a stored one resumes after its last completed key.
    pub fn resume<S: StateStore + ?Sized>(
        conn: &Connection,
        store: &S,
        pipeline: &str,
        table: &str,
        chunk_size: usize,
    ) -> Result<Self, CaptureError> {
        let info = table_info(conn, table)?;
        let table_q = quote_ident("table", table)?;
        let key_q: Vec<String> = info
            .key
            .iter()
            .map(|c| quote_ident("column", c))
            .collect::<Result<_, _>>()?;
        let committed = match store.backfill(pipeline, table)? {
            Some(progress) => progress,
            None => {
                let progress = BackfillProgress {
                    estimated_total: Some(estimate_rows(conn, table)?),
                    ..BackfillProgress::default()
                };
                store.set_backfill(pipeline, table, &progress)?;
                progress
            }
        };
        Ok(Self {
            pipeline: pipeline.to_owned(),
            table: table.to_owned(),
            select_first: keyset_sql(&table_q, &key_q, false),
            select_after: keyset_sql(&table_q, &key_q, true),
            chunk_size: chunk_size.max(1),
            read_cursor: committed.last_key.clone(),
            read_last: committed.finished,
            committed,
        })
    }

    /// The table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The progress as last stored (completed chunks only).
    pub fn progress(&self) -> &BackfillProgress {
        &self.committed
    }

    /// Whether the last chunk has been completed.
    pub fn is_finished(&self) -> bool {
        self.committed.finished
    }

    /// Reads the next chunk after the last one read; `None` once the last chunk has been read.
    pub fn next_chunk(&mut self, conn: &Connection) -> Result<Option<Chunk>, CaptureError> {
        if self.read_last {
            return Ok(None);
        }
        let limit = SqlValue::Integer(i64::try_from(self.chunk_size).unwrap_or(i64::MAX));
        let (sql, params) = match &self.read_cursor {
            None => (&self.select_first, vec![limit]),
            Some(cursor) => {
                let mut params = cursor
                    .iter()
                    .map(json_to_sql)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|reason| CaptureError::BadKey {
                        table: self.table.clone(),
                        key: cursor.clone(),
                        reason,
                    })?;
                params.push(limit);
                (&self.select_after, params)
            }
        };
        let keys: Vec<Key> = conn
            .prepare_cached(sql)
            .and_then(|mut stmt| {
                let width = stmt.column_count();
                stmt.query_map(params_from_iter(params), |row| {
                    (0..width)
                        .map(|i| row.get_ref(i).map(sql_to_json))
                        .collect::<rusqlite::Result<Key>>()
                })?
                .collect()
            })
            .map_err(sql_err(
                conn,
                format!("read keys of table `{}`", self.table),
            ))?;
        if let Some(key) = keys.iter().find(|key| key.iter().any(|v| v.is_null())) {
            return Err(CaptureError::NullKey {
                db: db_name(conn),
                table: self.table.clone(),
                key: key.clone(),
            });
        }
        let chunk = Chunk {
            table: self.table.clone(),
            after: self.read_cursor.clone(),
            last: keys.len() < self.chunk_size,
            keys,
        };
        if let Some(key) = chunk.keys.last() {
            self.read_cursor = Some(key.clone());
        }
        self.read_last = chunk.last;
        Ok(Some(chunk))
    }

    /// Records `chunk` as done (its documents are written): stores the new progress before
    /// returning. Chunks must be completed in the order they were read, each once.
    pub fn complete<S: StateStore + ?Sized>(
        &mut self,
        store: &S,
        chunk: &Chunk,
    ) -> Result<(), CaptureError> {
        if chunk.table != self.table || chunk.after != self.committed.last_key || self.is_finished()
        {
            return Err(CaptureError::OutOfOrder {
                table: self.table.clone(),
                expected: self.committed.last_key.clone(),
                got: chunk.after.clone(),
            });
        }
        let mut next = self.committed.clone();
        if let Some(key) = chunk.keys.last() {
            next.last_key = Some(key.clone());
        }
        next.rows_done += chunk.keys.len() as u64;
        next.finished = chunk.last;
        store.set_backfill(&self.pipeline, &self.table, &next)?;
        self.committed = next;
        Ok(())
    }
}

/// An estimate of `table`'s row count: from `sqlite_stat1` if `ANALYZE` filled it for the
/// table, else an exact `count(*)` (one scan, once per backfill).
pub fn estimate_rows(conn: &Connection, table: &str) -> Result<u64, CaptureError> {
    let has_stat: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'",
            [],
            |row| row.get(0),
        )
        .map_err(sql_err(conn, "look up sqlite_stat1"))?;
    if has_stat {
        // The first number of each row is the table's (or index's) row count.
        let stat: Option<Option<i64>> = conn
            .query_row(
                "SELECT max(CAST(stat AS INTEGER)) FROM sqlite_stat1 WHERE tbl = ?1 COLLATE NOCASE",
                [table],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql_err(
                conn,
                format!("read sqlite_stat1 of table `{table}`"),
            ))?;
        if let Some(Some(rows)) = stat {
            return Ok(u64::try_from(rows).unwrap_or(0));
        }
    }
    let table_q = quote_ident("table", table)?;
    let rows: i64 = conn
        .query_row(&format!("SELECT count(*) FROM {table_q}"), [], |row| {
            row.get(0)
        })
        .map_err(sql_err(conn, format!("count rows of table `{table}`")))?;
    Ok(u64::try_from(rows).unwrap_or(0))
}

/// The keyset query over `table_q` by `key_q` (both quoted): parameters are the cursor's
/// values (if `with_cursor`) and then the limit.
fn keyset_sql(table_q: &str, key_q: &[String], with_cursor: bool) -> String {
    let columns = key_q.join(", ");
    let limit = if with_cursor { key_q.len() + 1 } else { 1 };
    let filter = match (with_cursor, key_q) {
        (false, _) => String::new(),
        (true, [single]) => format!("WHERE {single} > ?1 "),
        (true, _) => {
            let params: Vec<String> = (1..=key_q.len()).map(|i| format!("?{i}")).collect();
            format!("WHERE ({columns}) > ({}) ", params.join(", "))
        }
    };
    format!("SELECT {columns} FROM {table_q} {filter}ORDER BY {columns} LIMIT ?{limit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_queries() {
        let one = vec!["\"id\"".to_owned()];
        assert_eq!(
            keyset_sql("\"t\"", &one, false),
            "SELECT \"id\" FROM \"t\" ORDER BY \"id\" LIMIT ?1"
        );
        assert_eq!(
            keyset_sql("\"t\"", &one, true),
            "SELECT \"id\" FROM \"t\" WHERE \"id\" > ?1 ORDER BY \"id\" LIMIT ?2"
        );
        let two = vec!["\"a\"".to_owned(), "\"b\"".to_owned()];
        assert_eq!(
            keyset_sql("\"t\"", &two, true),
            "SELECT \"a\", \"b\" FROM \"t\" WHERE (\"a\", \"b\") > (?1, ?2) ORDER BY \"a\", \"b\" LIMIT ?3"
        );
    }
}
