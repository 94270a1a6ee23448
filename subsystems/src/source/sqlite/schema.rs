//! What the capture needs to know about a source table: its columns and primary key.

use rusqlite::{Connection, OptionalExtension};

use super::error::{db_name, sql_err};
use super::CaptureError;

/// The columns of a table and its primary key, as SQLite reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// The table name as the caller spelled it.
    pub name: String,
    /// Every (non-hidden) column, in declaration order.
    pub columns: Vec<String>,
    /// The primary-key columns in key order (`PRAGMA table_info`'s `pk` index).
    pub key: Vec<String>,
}

/// Reads the columns and primary key of `table` from `PRAGMA table_info`.
///
/// Fails if `table` does not exist, is a view, or declares no primary key. Tables without a
/// declared primary key are rejected rather than keyed by their implicit rowid: SQLite may
/// renumber such rowids on `VACUUM`, which would silently change document identities. (An
/// `INTEGER PRIMARY KEY` column is an alias of the rowid and is stable, so it is fine.)
pub fn table_info(conn: &Connection, table: &str) -> Result<TableInfo, CaptureError> {
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_schema WHERE name = ?1 COLLATE NOCASE \
             AND type IN ('table', 'view') LIMIT 1",
            [table],
            |row| row.get(0),
        )
        .optional()
        .map_err(sql_err(conn, format!("look up table `{table}`")))?;
    match kind.as_deref() {
        None => {
            return Err(CaptureError::NoSuchTable {
                db: db_name(conn),
                table: table.to_owned(),
            })
        }
        Some("table") => {}
        Some(other) => {
            return Err(CaptureError::NotATable {
                db: db_name(conn),
                table: table.to_owned(),
                kind: other.to_owned(),
            })
        }
    }
    let mut rows: Vec<(String, i64)> = conn
        .prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")
        .and_then(|mut stmt| {
            stmt.query_map([table], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .map_err(sql_err(conn, format!("read columns of table `{table}`")))?;
    let columns = rows.iter().map(|(name, _)| name.clone()).collect();
    rows.retain(|(_, pk)| *pk > 0);
    rows.sort_by_key(|(_, pk)| *pk);
    if rows.is_empty() {
        return Err(CaptureError::NoPrimaryKey {
            db: db_name(conn),
            table: table.to_owned(),
        });
    }
    Ok(TableInfo {
        name: table.to_owned(),
        columns,
        key: rows.into_iter().map(|(name, _)| name).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn reads_composite_key_in_key_order() -> TestResult {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE t (a TEXT, b INTEGER, c TEXT, PRIMARY KEY (c, a));
             CREATE TABLE norowid (id INTEGER PRIMARY KEY, x);
             CREATE TABLE bare (x, y);
             CREATE VIEW v AS SELECT * FROM t;",
        )?;
        let info = table_info(&conn, "T")?;
        assert_eq!(info.columns, ["a", "b", "c"]);
        assert_eq!(info.key, ["c", "a"]);
        assert_eq!(table_info(&conn, "norowid")?.key, ["id"]);
        assert!(matches!(
            table_info(&conn, "bare"),
            Err(CaptureError::NoPrimaryKey { table, .. }) if table == "bare"
        ));
        assert!(matches!(
            table_info(&conn, "v"),
            Err(CaptureError::NotATable { kind, .. }) if kind == "view"
        ));
        assert!(matches!(
            table_info(&conn, "missing"),
            Err(CaptureError::NoSuchTable { table, .. }) if table == "missing"
        ));
        Ok(())
    }
}
