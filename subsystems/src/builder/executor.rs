//! Running generated SQL: a dialect-agnostic executor, implemented for SQLite.

use rusqlite::types::{Value as SqlValue, ValueRef};

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
    let params = rusqlite::params_from_iter(params.iter().map(to_sql));
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Row::new();
        for (i, name) in names.iter().enumerate() {
            values.insert(name.clone(), from_sql(row.get_ref(i)?));
        }
        out.push(values);
    }
    Ok(out)
}

fn to_sql(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => SqlValue::Integer(i),
            (None, Some(f)) if !n.is_u64() => SqlValue::Real(f),
            _ => SqlValue::Text(n.to_string()),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Array(_) | Value::Object(_) => SqlValue::Text(value.to_string()),
    }
}

fn from_sql(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) => {
            let mut hex = String::with_capacity(2 + 2 * bytes.len());
            hex.push_str("\\x");
            for b in bytes {
                hex.push_str(&format!("{b:02x}"));
            }
            Value::String(hex)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sqlite_round_trips_values() -> rusqlite::Result<()> {
        let mut db = rusqlite::Connection::open_in_memory()?;
        let rows = db.query(
            "SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e, x'00ff' AS f, ? AS g",
            &[
                json!(null),
                json!(true),
                json!(42),
                json!(1.5),
                json!("text"),
                json!({"k": [1]}),
            ],
        )?;
        let expected: Row = [
            ("a", json!(null)),
            ("b", json!(1)),
            ("c", json!(42)),
            ("d", json!(1.5)),
            ("e", json!("text")),
            ("f", json!("\\x00ff")),
            ("g", json!("{\"k\":[1]}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(rows, vec![expected]);
        Ok(())
    }
}
