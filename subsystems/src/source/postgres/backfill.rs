//! [`Backfill`]: the initial copy of a table, as batches of primary keys in key order.
//!
//! Keyset pagination over the primary key:
//!
//! ```sql
//! SELECT src."a"::text, src."b"::text FROM "s"."t" AS src
//! WHERE (src."a", src."b") > ($1::text::integer, $2::text::text)
//! ORDER BY src."a", src."b" LIMIT $3
//! ```
//!
//! Each chunk is one statement in autocommit, hence its own snapshot and a short transaction:
//! never one transaction across the whole table, which would hold back `VACUUM` (and the
//! slot's catalog horizon) for as long as the copy takes. Keys are read as text and
//! converted like the stream converts them ([`text_to_json`]), and the cursor goes back as
//! text parameters cast to the column's type, so every type with a text form pages
//! correctly, compared in the column's own order and collation (the primary key's index is
//! used).
//!
//! Completing a chunk stores its last key through the [`StateStore`], so a crash resumes after
//! the last completed chunk: only chunks read but not completed are read again.

use tokio_postgres::{Client, SimpleQueryMessage};

use super::error::sql_err;
use super::ident::quote_ident;
use super::tables::TableInfo;
use super::value::{json_to_text, text_to_json};
use super::PgError;
use crate::change::Key;
use crate::source::sqlite::Chunk;
use crate::state::{BackfillProgress, StateStore};

/// The backfill of one table of one pipeline.
///
/// It holds no connection or store: each call takes the ones to use. Chunks may be read ahead
/// of their completion (pipelining), but must be [completed](Self::complete) in the order
/// they were read.
#[derive(Debug, Clone)]
pub struct Backfill {
    pipeline: String,
    table: String,
    select_first: String,
    select_after: String,
    key_types: Vec<u32>,
    chunk_size: usize,
    committed: BackfillProgress,
    read_cursor: Option<Key>,
    read_last: bool,
}

impl Backfill {
    /// Starts or resumes the backfill of `table` for `pipeline`, `chunk_size` keys per chunk.
    /// A new backfill estimates the table's rows ([`estimate_rows`]) and stores its initial
    /// progress; a stored one resumes after its last completed key.
    pub async fn resume<S: StateStore + ?Sized>(
        client: &Client,
        store: &S,
        pipeline: &str,
        table: &TableInfo,
        chunk_size: usize,
    ) -> Result<Self, PgError> {
        let table_q = table.quoted()?;
        let mut key_q = Vec::with_capacity(table.key.len());
        let mut key_types = Vec::with_capacity(table.key.len());
        let mut key_casts = Vec::with_capacity(table.key.len());
        for name in &table.key {
            let column = table.column(name).ok_or_else(|| PgError::UnknownColumn {
                table: table.qualified(),
                column: name.clone(),
            })?;
            key_q.push(quote_ident("column", name)?);
            key_types.push(column.type_oid);
            key_casts.push(column.type_sql.clone());
        }
        let committed = match store.backfill(pipeline, table.name())? {
            Some(progress) => progress,
            None => {
                let progress = BackfillProgress {
                    estimated_total: Some(estimate_rows(client, table).await?),
                    ..BackfillProgress::default()
                };
                store.set_backfill(pipeline, table.name(), &progress)?;
                progress
            }
        };
        Ok(Self {
            pipeline: pipeline.to_owned(),
            table: table.name().to_owned(),
            select_first: keyset_sql(&table_q, &key_q, &key_casts, false),
            select_after: keyset_sql(&table_q, &key_q, &key_casts, true),
            key_types,
            chunk_size: chunk_size.max(1),
            read_cursor: committed.last_key.clone(),
            read_last: committed.finished,
            committed,
        })
    }

    /// The table (as changes name it).
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

    /// Reads the next chunk after the last one read; `None` once the last chunk was read.
    pub async fn next_chunk(&mut self, client: &Client) -> Result<Option<Chunk>, PgError> {
        if self.read_last {
            return Ok(None);
        }
        let limit = i64::try_from(self.chunk_size).unwrap_or(i64::MAX);
        let cursor_text: Vec<String> = match &self.read_cursor {
            None => Vec::new(),
            Some(cursor) => cursor
                .iter()
                .map(|value| {
                    json_to_text(value).ok_or_else(|| PgError::BadKey {
                        table: self.table.clone(),
                        key: cursor.clone(),
                        reason: "a key value is NULL".to_owned(),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = cursor_text
            .iter()
            .map(|text| text as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        params.push(&limit);
        let sql = if self.read_cursor.is_some() {
            &self.select_after
        } else {
            &self.select_first
        };
        let rows = client
            .query(sql.as_str(), &params)
            .await
            .map_err(sql_err(format!("read keys of table `{}`", self.table)))?;
        let keys: Vec<Key> = rows
            .iter()
            .map(|row| {
                self.key_types
                    .iter()
                    .enumerate()
                    .map(|(i, &type_oid)| {
                        row.get::<_, Option<String>>(i)
                            .map_or(serde_json::Value::Null, |text| {
                                text_to_json(type_oid, &text)
                            })
                    })
                    .collect()
            })
            .collect();
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
    ) -> Result<(), PgError> {
        if chunk.table != self.table || chunk.after != self.committed.last_key || self.is_finished()
        {
            return Err(PgError::OutOfOrder {
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

/// An estimate of `table`'s row count: `pg_class.reltuples` when `VACUUM` or `ANALYZE` has
/// set it, else the planner's estimate (which extrapolates from the table's size). Never
/// scans the table.
pub async fn estimate_rows(client: &Client, table: &TableInfo) -> Result<u64, PgError> {
    let action = || format!("estimate the rows of table `{}`", table.qualified());
    let reltuples: f32 = client
        .query_one(
            "SELECT reltuples FROM pg_class WHERE oid = $1",
            &[&table.oid],
        )
        .await
        .map_err(sql_err(action()))?
        .get(0);
    if reltuples >= 0.0 {
        return Ok(reltuples.round() as u64);
    }
    // Never analyzed (reltuples = -1): ask the planner.
    let messages = client
        .simple_query(&format!(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM {}",
            table.quoted()?
        ))
        .await
        .map_err(sql_err(action()))?;
    let plan = messages.iter().find_map(|message| match message {
        SimpleQueryMessage::Row(row) => row.get(0),
        _ => None,
    });
    let rows = plan
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|plan| {
            plan.pointer("/0/Plan/Plan Rows")
                .and_then(serde_json::Value::as_f64)
        })
        .unwrap_or(0.0);
    Ok(rows.max(0.0).round() as u64)
}

/// The keyset query over `table_q` by `key_q` (both quoted), the cursor cast to `key_casts`:
/// parameters are the cursor's values as text (if `with_cursor`) and then the limit.
///
/// Columns are qualified with the table's alias everywhere: an unqualified `ORDER BY "id"`
/// would sort by the *output* column `"id"::text`, in text order.
fn keyset_sql(table_q: &str, key_q: &[String], key_casts: &[String], with_cursor: bool) -> String {
    let qualified: Vec<String> = key_q.iter().map(|k| format!("src.{k}")).collect();
    let selected: Vec<String> = qualified.iter().map(|k| format!("{k}::text")).collect();
    let columns = qualified.join(", ");
    let limit = if with_cursor { key_q.len() + 1 } else { 1 };
    let filter = if with_cursor {
        let params: Vec<String> = key_casts
            .iter()
            .enumerate()
            .map(|(i, ty)| format!("${}::text::{ty}", i + 1))
            .collect();
        match qualified.as_slice() {
            [single] => format!("WHERE {single} > {} ", params.join(", ")),
            _ => format!("WHERE ({columns}) > ({}) ", params.join(", ")),
        }
    } else {
        String::new()
    };
    format!(
        "SELECT {} FROM {table_q} AS src {filter}ORDER BY {columns} LIMIT ${limit}",
        selected.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_queries() {
        let one = vec!["\"id\"".to_owned()];
        let int = vec!["integer".to_owned()];
        assert_eq!(
            keyset_sql("\"public\".\"t\"", &one, &int, false),
            "SELECT src.\"id\"::text FROM \"public\".\"t\" AS src ORDER BY src.\"id\" LIMIT $1"
        );
        assert_eq!(
            keyset_sql("\"public\".\"t\"", &one, &int, true),
            "SELECT src.\"id\"::text FROM \"public\".\"t\" AS src WHERE src.\"id\" > \
             $1::text::integer ORDER BY src.\"id\" LIMIT $2"
        );
        let two = vec!["\"a\"".to_owned(), "\"b\"".to_owned()];
        let types = vec!["text".to_owned(), "bigint".to_owned()];
        assert_eq!(
            keyset_sql("\"t\"", &two, &types, true),
            "SELECT src.\"a\"::text, src.\"b\"::text FROM \"t\" AS src WHERE \
             (src.\"a\", src.\"b\") > ($1::text::text, $2::text::bigint) \
             ORDER BY src.\"a\", src.\"b\" LIMIT $3"
        );
    }
}
