//! Capture triggers: every insert, update and delete on a captured table appends a row to the
//! change-log table [`CHANGE_LOG`].
//!
//! ```sql
//! CREATE TABLE "_overseer_changes" (
//!     id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the change's Position
//!     table_name TEXT NOT NULL,
//!     kind TEXT NOT NULL,                    -- 'insert' | 'update' | 'delete'
//!     key_json TEXT NOT NULL,                -- JSON array of the primary-key values
//!     old_json TEXT,                         -- JSON object of OLD values (update, delete)
//!     created_at INTEGER NOT NULL            -- Unix milliseconds, the writer's clock
//! )
//! ```
//!
//! Per table three triggers, named `_overseer_<table>_insert`, `_update` and `_delete`:
//!
//! * insert: key of `NEW`, no old values;
//! * delete: key of `OLD`, old values of `OLD`;
//! * update: if the key is unchanged (compared binary, `IS`, per column), key of `NEW` and
//!   old values of `OLD`; if the key changed, a `delete` of the old key (with old values)
//!   followed by an `insert` of the new key, two rows in that order.
//!
//! The old values are the key columns followed by the spec's extra columns (say, foreign keys
//! a mapping joins on). Values are encoded as in [`value`](super::value).
//!
//! The triggers run inside the *writer's* transaction, on the writer's SQLite library, which
//! must therefore provide the JSON functions (built in since SQLite 3.38, and in most builds
//! before). Because SQLite has a single writer, change-log ids are assigned in commit order:
//! a lower id can never become visible after a higher one.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::error::sql_err;
use super::ident::{quote_ident, quote_literal};
use super::schema::{table_info, TableInfo};
use super::value::encode_expr;
use super::CaptureError;

/// The change-log table the triggers append to.
pub const CHANGE_LOG: &str = "_overseer_changes";

/// The prefix of every object the capture creates in the source database.
pub const OBJECT_PREFIX: &str = "_overseer_";

const CHANGE_LOG_DDL: &str = "CREATE TABLE IF NOT EXISTS \"_overseer_changes\" (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    key_json TEXT NOT NULL,
    old_json TEXT,
    created_at INTEGER NOT NULL
)";

/// Unix milliseconds from functions every SQLite has (`unixepoch('subsec')` needs 3.42).
const NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

/// What to capture of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The table.
    pub table: String,
    /// Columns whose old values to record on update and delete, besides the key columns
    /// (which are always recorded): the columns a mapping needs to find the documents a row
    /// belongs to, such as foreign keys.
    pub old_columns: Vec<String>,
}

impl TableSpec {
    /// A spec recording only the key columns' old values.
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            old_columns: Vec::new(),
        }
    }

    /// The same spec, recording also `columns`' old values.
    pub fn with_old_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.old_columns.extend(columns.into_iter().map(Into::into));
        self
    }
}

/// What [`install`] did to one table's triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallOutcome {
    /// The triggers did not exist and were created.
    Created,
    /// The triggers existed with another definition and were replaced.
    Replaced,
    /// The triggers existed exactly as specified; nothing was written.
    Unchanged,
}

/// The three trigger operations.
const OPS: [&str; 3] = ["insert", "update", "delete"];

/// The name of the capture trigger of `table` for `op` (`insert`, `update`, `delete`).
pub fn trigger_name(table: &str, op: &str) -> String {
    format!("{OBJECT_PREFIX}{table}_{op}")
}

/// Installs the change log and the capture triggers of every table in `specs`, in one
/// `BEGIN IMMEDIATE` transaction: all tables or none.
///
/// Idempotent: a table whose triggers already read exactly as specified is left alone; one
/// whose triggers differ (another spec, a renamed column) gets them dropped and re-created.
/// Triggers of tables not in `specs` are not touched (see [`uninstall`]). `conn` must not be
/// inside a transaction.
pub fn install(
    conn: &Connection,
    specs: &[TableSpec],
) -> Result<Vec<(String, InstallOutcome)>, CaptureError> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(sql_err(conn, "begin trigger installation"))?;
    tx.execute_batch(CHANGE_LOG_DDL)
        .map_err(sql_err(conn, format!("create change log `{CHANGE_LOG}`")))?;
    let mut outcomes = Vec::with_capacity(specs.len());
    for spec in specs {
        check_table_name(&spec.table)?;
        let info = table_info(conn, &spec.table)?;
        let wanted = trigger_sql(&info, spec)?;
        let mut present = 0;
        let mut same = 0;
        for (name, sql) in &wanted {
            let existing: Option<Option<String>> = tx
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql_err(conn, format!("read trigger `{name}`")))?;
            if let Some(existing) = existing {
                present += 1;
                if existing.as_deref() == Some(sql.as_str()) {
                    same += 1;
                }
            }
        }
        let outcome = if same == wanted.len() {
            InstallOutcome::Unchanged
        } else if present == 0 {
            InstallOutcome::Created
        } else {
            InstallOutcome::Replaced
        };
        if outcome != InstallOutcome::Unchanged {
            for (name, sql) in &wanted {
                tx.execute_batch(&format!(
                    "DROP TRIGGER IF EXISTS {}",
                    quote_ident("trigger", name)?
                ))
                .map_err(sql_err(conn, format!("drop trigger `{name}`")))?;
                tx.execute_batch(sql)
                    .map_err(sql_err(conn, format!("create trigger `{name}`")))?;
            }
        }
        outcomes.push((spec.table.clone(), outcome));
    }
    tx.commit()
        .map_err(sql_err(conn, "commit trigger installation"))?;
    Ok(outcomes)
}

/// Drops the capture triggers of `table`, if any; returns whether there were any. The change
/// log and its rows stay.
pub fn uninstall(conn: &Connection, table: &str) -> Result<bool, CaptureError> {
    quote_ident("table", table)?;
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(
        sql_err(conn, format!("begin removing triggers of `{table}`")),
    )?;
    let mut dropped = false;
    for op in OPS {
        let name = trigger_name(table, op);
        let exists: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'trigger' AND name = ?1",
                [&name],
                |row| row.get(0),
            )
            .map_err(sql_err(conn, format!("read trigger `{name}`")))?;
        if exists {
            tx.execute_batch(&format!("DROP TRIGGER {}", quote_ident("trigger", &name)?))
                .map_err(sql_err(conn, format!("drop trigger `{name}`")))?;
            dropped = true;
        }
    }
    tx.commit().map_err(sql_err(
        conn,
        format!("commit removing triggers of `{table}`"),
    ))?;
    Ok(dropped)
}

/// Quotes a table name to capture, rejecting the capture's own tables.
fn check_table_name(table: &str) -> Result<String, CaptureError> {
    if table.starts_with(OBJECT_PREFIX) {
        return Err(CaptureError::BadName {
            kind: "table",
            name: table.to_owned(),
            reason: "names starting with `_overseer_` belong to the capture itself",
        });
    }
    quote_ident("table", table)
}

/// The `CREATE TRIGGER` statements (name, SQL) of `spec` on a table described by `info`, in
/// the order insert, update, delete. Pure: the same inputs give byte-identical SQL, which is
/// what makes [`install`] idempotent.
pub fn trigger_sql(
    info: &TableInfo,
    spec: &TableSpec,
) -> Result<Vec<(String, String)>, CaptureError> {
    let table = check_table_name(&spec.table)?;
    let table_lit = quote_literal(&spec.table);
    let known: BTreeSet<&str> = info.columns.iter().map(String::as_str).collect();
    let key: Vec<String> = info
        .key
        .iter()
        .map(|c| quote_ident("column", c))
        .collect::<Result<_, _>>()?;

    // Old values: the key columns, then the extra columns, each once.
    let mut old_names: Vec<&str> = info.key.iter().map(String::as_str).collect();
    for column in &spec.old_columns {
        if !known.contains(column.as_str()) {
            return Err(CaptureError::UnknownColumn {
                table: spec.table.clone(),
                column: column.clone(),
            });
        }
        if !old_names.contains(&column.as_str()) {
            old_names.push(column);
        }
    }
    let mut old_pairs = Vec::with_capacity(old_names.len());
    for name in &old_names {
        let quoted = quote_ident("column", name)?;
        old_pairs.push(format!(
            "{}, {}",
            quote_literal(name),
            encode_expr("OLD", &quoted)
        ));
    }
    let old_json = format!("json_object({})", old_pairs.join(", "));
    let key_of = |row: &str| {
        let parts: Vec<String> = key.iter().map(|c| encode_expr(row, c)).collect();
        format!("json_array({})", parts.join(", "))
    };
    let same_key = key
        .iter()
        .map(|c| format!("OLD.{c} IS NEW.{c} COLLATE BINARY"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let log = quote_ident("table", CHANGE_LOG)?;
    let append = |kind: &str, key_json: &str, old: &str, condition: Option<&str>| {
        let head = format!(
            "INSERT INTO {log} (table_name, kind, key_json, old_json, created_at) SELECT \
             {table_lit}, '{kind}', {key_json}, {old}, {NOW_MS}"
        );
        match condition {
            Some(condition) => format!("{head} WHERE {condition};"),
            None => format!("{head};"),
        }
    };
    let new_key = key_of("NEW");
    let old_key = key_of("OLD");
    let bodies = [
        append("insert", &new_key, "NULL", None),
        [
            append(
                "delete",
                &old_key,
                &old_json,
                Some(&format!("NOT ({same_key})")),
            ),
            append(
                "insert",
                &new_key,
                "NULL",
                Some(&format!("NOT ({same_key})")),
            ),
            append("update", &new_key, &old_json, Some(&same_key)),
        ]
        .join("\n  "),
        append("delete", &old_key, &old_json, None),
    ];
    OPS.iter()
        .zip(bodies)
        .map(|(op, body)| {
            let name = trigger_name(&spec.table, op);
            let sql = format!(
                "CREATE TRIGGER {} AFTER {} ON {table} FOR EACH ROW BEGIN\n  {body}\nEND",
                quote_ident("trigger", &name)?,
                op.to_ascii_uppercase()
            );
            Ok((name, sql))
        })
        .collect()
}
