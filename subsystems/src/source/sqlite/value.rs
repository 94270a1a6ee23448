//! One JSON encoding of SQLite values, shared by the triggers (in SQL) and the backfill (in
//! Rust), so a row's key reads the same whichever path delivers it.
//!
//! | SQLite    | JSON                                   |
//! |-----------|----------------------------------------|
//! | `NULL`    | `null`                                 |
//! | `INTEGER` | number                                 |
//! | `REAL`    | number                                 |
//! | `TEXT`    | string                                 |
//! | `BLOB`    | `{"$blob": "<upper-case hex>"}`        |
//!
//! JSON cannot hold blobs, and `json_array` raises an error on one (which would abort the
//! application's write); the tagged object keeps blob keys (UUIDs, say) usable and
//! distinguishable from text.

use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::{Map, Number, Value};

/// The tag of an encoded blob.
pub const BLOB_TAG: &str = "$blob";

/// Encodes a SQLite value as JSON (see the [module docs](self)).
pub fn sql_to_json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        // SQLite never stores NaN; an infinity has no JSON number and becomes null.
        ValueRef::Real(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) => {
            let mut map = Map::new();
            map.insert(BLOB_TAG.to_owned(), Value::String(hex_upper(bytes)));
            Value::Object(map)
        }
    }
}

/// Decodes a JSON value of this encoding back to a SQLite value, or says why it cannot.
pub fn json_to_sql(value: &Value) -> Result<SqlValue, String> {
    match value {
        Value::Null => Ok(SqlValue::Null),
        Value::Bool(b) => Ok(SqlValue::Integer(i64::from(*b))),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(SqlValue::Integer(i))
            } else if let Some(f) = n.as_f64() {
                Ok(SqlValue::Real(f))
            } else {
                Err(format!("number {n} fits neither i64 nor f64"))
            }
        }
        Value::String(s) => Ok(SqlValue::Text(s.clone())),
        Value::Object(map) => match (map.len(), map.get(BLOB_TAG)) {
            (1, Some(Value::String(hex))) => decode_hex(hex)
                .map(SqlValue::Blob)
                .ok_or_else(|| format!("`{BLOB_TAG}` value {hex:?} is not hex")),
            _ => Err(format!("object {value} is not an encoded blob")),
        },
        Value::Array(_) => Err(format!("array {value} is not a column value")),
    }
}

/// The SQL expression that encodes `column` of the trigger row `row` (`NEW` or `OLD`); the
/// column must already be quoted.
pub(crate) fn encode_expr(row: &str, quoted_column: &str) -> String {
    format!(
        "CASE WHEN typeof({row}.{quoted_column}) = 'blob' \
         THEN json_object('{BLOB_TAG}', hex({row}.{quoted_column})) \
         ELSE {row}.{quoted_column} END"
    )
}

fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(digits, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use serde_json::json;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn rust_and_sql_encodings_agree() -> TestResult {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE v (x);
             INSERT INTO v VALUES (NULL), (42), (-7), (2.5), (2.0), ('text \"q\"'), (x'00FF10'), (x'');",
        )?;
        let expr = encode_expr("v", "\"x\"");
        let mut stmt = conn.prepare(&format!("SELECT x, json_array({expr}) FROM v"))?;
        let rows: Vec<(SqlValue, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (raw, from_sql) in rows {
            let from_rust = sql_to_json(ValueRef::from(&raw));
            let parsed: Value = serde_json::from_str(&from_sql)?;
            assert_eq!(parsed, json!([from_rust]), "value {raw:?}");
            assert_eq!(json_to_sql(&from_rust)?, raw, "value {raw:?}");
        }
        Ok(())
    }

    #[test]
    fn rejects_non_values() {
        assert!(json_to_sql(&json!([1])).is_err());
        assert!(json_to_sql(&json!({"a": 1})).is_err());
        assert!(json_to_sql(&json!({ "$blob": "XYZ" })).is_err());
        assert_eq!(
            json_to_sql(&json!({ "$blob": "0a" })),
            Ok(SqlValue::Blob(vec![10]))
        );
    }
}
