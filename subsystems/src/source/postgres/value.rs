//! Column values in Postgres' text output format, as JSON: one conversion shared by the
//! replication stream (pgoutput sends text) and the backfill (which reads keys as `::text`),
//! so a row's key reads the same whichever path delivers it.
//!
//! By the column's type OID (`pg_attribute.atttypid`, the `type_id` of a pgoutput relation
//! column):
//!
//! | Postgres type                        | JSON                                                |
//! |--------------------------------------|-----------------------------------------------------|
//! | `NULL`                               | `null`                                              |
//! | `int2`, `int4`, `int8`, `oid`        | number                                              |
//! | `float4`, `float8`                   | number; `NaN`, `Infinity`, `-Infinity` as strings   |
//! | `numeric`                            | number when exact in an `i64`/`u64`/`f64`, else the text as a string (`NaN`, 30 digits, ...) |
//! | `bool`                               | `true` / `false`                                    |
//! | `json`, `jsonb`                      | the JSON value                                      |
//! | everything else (text, uuid, dates, arrays, domains, enums, ...) | the text as a string    |
//!
//! Domains and user types are identified by their own OID, not their base type, so they are
//! strings: the same on both paths, which is what matters for keys. Numbers never lose
//! precision silently: a `numeric` that a JSON number would round stays a string.

use serde_json::{Number, Value};

/// Type OIDs of the built-in types the conversion knows (`pg_type.oid`, fixed in
/// `pg_type.dat`).
pub mod oid {
    /// `bool`
    pub const BOOL: u32 = 16;
    /// `int8`
    pub const INT8: u32 = 20;
    /// `int2`
    pub const INT2: u32 = 21;
    /// `int4`
    pub const INT4: u32 = 23;
    /// `oid`
    pub const OID: u32 = 26;
    /// `json`
    pub const JSON: u32 = 114;
    /// `float4`
    pub const FLOAT4: u32 = 700;
    /// `float8`
    pub const FLOAT8: u32 = 701;
    /// `numeric`
    pub const NUMERIC: u32 = 1700;
    /// `jsonb`
    pub const JSONB: u32 = 3802;
}

/// Converts a value in the text output format of the type `type_oid` to JSON (see the
/// [module docs](self)). Never fails: text that does not parse as its type says it should is
/// kept as a string.
pub fn text_to_json(type_oid: u32, text: &str) -> Value {
    match type_oid {
        oid::INT2 | oid::INT4 | oid::INT8 | oid::OID => integer(text),
        oid::FLOAT4 | oid::FLOAT8 => float(text),
        oid::NUMERIC => numeric(text),
        oid::BOOL => match text {
            "t" | "true" => Value::Bool(true),
            "f" | "false" => Value::Bool(false),
            _ => string(text),
        },
        oid::JSON | oid::JSONB => serde_json::from_str(text).unwrap_or_else(|_| string(text)),
        _ => string(text),
    }
}

/// A key value as the text to bind for a `$n::text` parameter: the inverse of
/// [`text_to_json`] for every value it produces. `None` for values no column yields
/// (arrays, objects that are not JSON columns are impossible in keys).
pub fn json_to_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "t" } else { "f" }.to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        // A json/jsonb key column: its text form parses back to the same value.
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
    }
}

fn string(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn integer(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        Value::from(i)
    } else if let Ok(u) = text.parse::<u64>() {
        Value::from(u)
    } else {
        string(text)
    }
}

fn float(text: &str) -> Value {
    match text.parse::<f64>() {
        Ok(f) => Number::from_f64(f).map_or_else(|| string(text), Value::Number),
        Err(_) => string(text),
    }
}

fn numeric(text: &str) -> Value {
    if !text.contains('.') {
        let as_integer = integer(text);
        if as_integer.is_number() {
            return as_integer;
        }
    }
    // numeric's output never uses an exponent; a decimal is a number only if f64 keeps it
    // exactly as printed (trailing fractional zeros aside).
    let canonical = canonical_decimal(text);
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && format_f64(f) == canonical => {
            Number::from_f64(f).map_or_else(|| string(text), Value::Number)
        }
        _ => string(text),
    }
}

/// `text` without trailing fractional zeros (and without a trailing `.`); `-0` as `0`.
fn canonical_decimal(text: &str) -> String {
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    };
    if trimmed == "-0" {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// `f` printed like a decimal without exponent, shortest round-trip digits (Rust's `Display`
/// for `f64` never uses an exponent).
fn format_f64(f: f64) -> String {
    let text = f.to_string();
    if text == "-0" {
        "0".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn converts_by_type() {
        assert_eq!(text_to_json(oid::INT4, "42"), json!(42));
        assert_eq!(
            text_to_json(oid::INT8, "-9223372036854775808"),
            json!(i64::MIN)
        );
        assert_eq!(
            text_to_json(oid::OID, "4294967295"),
            json!(4_294_967_295u64)
        );
        assert_eq!(text_to_json(oid::FLOAT8, "2.5"), json!(2.5));
        assert_eq!(text_to_json(oid::FLOAT8, "1e+300"), json!(1e300));
        assert_eq!(text_to_json(oid::FLOAT4, "NaN"), json!("NaN"));
        assert_eq!(text_to_json(oid::FLOAT8, "-Infinity"), json!("-Infinity"));
        assert_eq!(text_to_json(oid::BOOL, "t"), json!(true));
        assert_eq!(text_to_json(oid::BOOL, "f"), json!(false));
        assert_eq!(
            text_to_json(oid::JSONB, r#"{"a": [1, 2]}"#),
            json!({"a": [1, 2]})
        );
        assert_eq!(text_to_json(oid::JSON, "not json"), json!("not json"));
        assert_eq!(text_to_json(25, "text"), json!("text"));
        assert_eq!(
            text_to_json(2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
    }

    #[test]
    fn numeric_is_exact_or_text() {
        assert_eq!(text_to_json(oid::NUMERIC, "12"), json!(12));
        assert_eq!(text_to_json(oid::NUMERIC, "1.50"), json!(1.5));
        assert_eq!(text_to_json(oid::NUMERIC, "0.1"), json!(0.1));
        assert_eq!(text_to_json(oid::NUMERIC, "-0.0"), json!(-0.0));
        assert_eq!(text_to_json(oid::NUMERIC, "3.000"), json!(3.0));
        assert_eq!(
            text_to_json(oid::NUMERIC, "123456789012345678901234567890"),
            json!("123456789012345678901234567890")
        );
        assert_eq!(
            text_to_json(oid::NUMERIC, "1.00000000000000000001"),
            json!("1.00000000000000000001")
        );
        assert_eq!(text_to_json(oid::NUMERIC, "NaN"), json!("NaN"));
    }

    #[test]
    fn key_text_round_trips() {
        for (ty, text) in [
            (oid::INT4, "7"),
            (oid::INT8, "-12"),
            (oid::NUMERIC, "1.5"),
            (oid::NUMERIC, "123456789012345678901234567890"),
            (oid::BOOL, "t"),
            (25, "it's"),
        ] {
            let value = text_to_json(ty, text);
            let back = json_to_text(&value);
            assert_eq!(
                back.as_deref().map(|t| text_to_json(ty, t)),
                Some(value),
                "{text}"
            );
        }
        assert_eq!(json_to_text(&Value::Null), None);
    }
}
