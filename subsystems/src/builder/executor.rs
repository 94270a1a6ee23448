//! Running generated SQL: a dialect-agnostic executor, implemented for SQLite.

use crate::source::sqlite::value::{json_to_sql, sql_to_json};

use crate::change::{Row, Value};

/// Runs one query with bound parameters and returns its rows, each keyed by column name (or
/// alias).
///
/// All queries of one batch should see one snapshot of the database: run them inside one
/// read transaction (SQLite) or a `REPEATABLE READ` transaction (Postgres).
pub trait Executor {
    /// Why a query failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Runs `sql` with `params` bound in placeholder order.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Self::Error>;
}

impl<E: Executor + ?Sized> Executor for &mut E {
    type Error = E::Error;

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Self::Error> {
        (**self).query(sql, params)
    }
}

impl Executor for rusqlite::Connection {
    type Error = rusqlite::Error;

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Self::Error> {
        sqlite_query(self, sql, params)
    }
}

impl Executor for rusqlite::Transaction<'_> {
    type Error = rusqlite::Error;

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Self::Error> {
        sqlite_query(self, sql, params)
    }
}

/// Runs a query on SQLite. Parameters bind as: NULL, booleans as 0/1, integers, floats,
/// text, and arrays or objects as JSON text. Results read as: NULL, integers and floats as
/// numbers, text as strings, blobs as `\x`-prefixed lowercase hex text (as Postgres prints
/// `bytea`).
fn sqlite_query(
    connection: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> rusqlite::Result<Vec<Row>> {
    let mut statement = connection.prepare_cached(sql)?;
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    // The capture's encoding, both ways: keys from changes (a BLOB as `{"$blob": HEX}`) bind
    // to the very values the database holds, and rows read back compare equal to them.
    let params = params
        .iter()
        .map(|value| {
            json_to_sql(value).map_err(|why| rusqlite::Error::ToSqlConversionFailure(why.into()))
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let params = rusqlite::params_from_iter(params);
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Row::new();
        for (i, name) in names.iter().enumerate() {
            values.insert(name.clone(), sql_to_json(row.get_ref(i)?));
        }
        out.push(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::builder::{CompiledMapping, Dialect, DocumentBuilder, Outcome};

    #[test]
    fn a_blob_key_as_the_capture_records_it_finds_its_row() {
        let mut connection =
            rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        connection
            .execute_batch("CREATE TABLE files (k BLOB PRIMARY KEY, name TEXT); INSERT INTO files VALUES (x'0A0B', 'a');")
            .unwrap_or_else(|e| panic!("{e}"));
        let mapping = CompiledMapping::from_toml_str(
            "index = \"files\"\ntable = \"files\"\nprimary_key = \"k\"\n[[fields]]\ncolumn = \"name\"\ntype = \"string\"\n",
            "files.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let key = vec![json!({ "$blob": "0A0B" })];
        let outcomes = DocumentBuilder::new(&mapping, Dialect::Sqlite)
            .build(&mut connection, &[key])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(&outcomes[..], [Outcome::Upsert { document, .. }] if document["name"] == "a"),
            "{outcomes:?}"
        );
    }
}
