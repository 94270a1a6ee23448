//! Column values to typed document values: the field types, transforms and defaults.
//!
//! Pure functions. The database hands over JSON values ([`Value`]): SQLite gives numbers and
//! text, Postgres' text protocol gives text for everything, so each type also accepts its
//! text form.

use serde_json::{Number, Value};

use super::compiled::Field;
use super::mapping::{FieldType, Transform};

/// Why a value does not fit its declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not a valid {ty}: {detail}")]
pub struct ConversionError {
    /// The declared type.
    pub ty: FieldType,
    /// The value, as JSON text (shortened).
    pub value: String,
    /// What is wrong with it.
    pub detail: &'static str,
}

impl ConversionError {
    fn new(ty: FieldType, value: &Value, detail: &'static str) -> Self {
        let mut text = value.to_string();
        if text.len() > 80 {
            let mut end = 77;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push_str("...");
        }
        Self {
            ty,
            value: text,
            detail,
        }
    }
}

/// The document value of `field` for the column value `raw` (`None`: the column is absent,
/// treated as NULL): NULL becomes the field's default (already rendered) or `null`; anything
/// else is converted to the field's type, then split and transformed.
pub fn render_field(field: &Field, raw: Option<&Value>) -> Result<Value, ConversionError> {
    match raw {
        None | Some(Value::Null) => Ok(field.default.clone().unwrap_or(Value::Null)),
        Some(raw) => render_value(field.ty, &field.transforms, field.split.as_deref(), raw),
    }
}

/// Converts a non-NULL `raw` to `ty`, then splits (string fields with a separator) and
/// applies `transforms` (string fields).
pub fn render_value(
    ty: FieldType,
    transforms: &[Transform],
    split: Option<&str>,
    raw: &Value,
) -> Result<Value, ConversionError> {
    let value = convert(ty, raw)?;
    let Value::String(text) = value else {
        return Ok(value);
    };
    match split {
        Some(separator) => Ok(Value::Array(
            text.split(separator)
                .map(|piece| transform(piece, transforms))
                .filter(|piece| !piece.is_empty())
                .map(Value::String)
                .collect(),
        )),
        None => Ok(Value::String(transform(&text, transforms))),
    }
}

fn transform(text: &str, transforms: &[Transform]) -> String {
    transforms
        .iter()
        .fold(text.to_owned(), |text, transform| match transform {
            Transform::Lowercase => text.to_lowercase(),
            Transform::Uppercase => text.to_uppercase(),
            Transform::Trim => text.trim().to_owned(),
        })
}

/// Converts a non-NULL `raw` value to `ty`.
pub fn convert(ty: FieldType, raw: &Value) -> Result<Value, ConversionError> {
    let fail = |detail| ConversionError::new(ty, raw, detail);
    match ty {
        FieldType::String => match raw {
            Value::String(_) => Ok(raw.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(fail("expected text, a number or a boolean")),
        },
        FieldType::Int => match raw {
            Value::Number(n) => int_of_number(n).ok_or_else(|| fail("not an integer")),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| fail("not an integer")),
            _ => Err(fail("expected an integer")),
        },
        FieldType::Float => {
            let float = match raw {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => return Err(fail("expected a number")),
            };
            float
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| fail("not a finite number"))
        }
        FieldType::Bool => match raw {
            Value::Bool(_) => Ok(raw.clone()),
            Value::Number(n) => match n.as_i64() {
                Some(0) => Ok(Value::Bool(false)),
                Some(1) => Ok(Value::Bool(true)),
                _ => Err(fail("only 0 and 1 are booleans")),
            },
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "1" => Ok(Value::Bool(true)),
                "f" | "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(fail("expected t, f, true, false, 1 or 0")),
            },
            _ => Err(fail("expected a boolean")),
        },
        FieldType::Timestamp => match raw {
            Value::String(s) => parse_timestamp(s.trim())
                .map(Value::String)
                .ok_or_else(|| fail("expected an ISO 8601 date or date-time")),
            Value::Number(n) => n
                .as_i64()
                .and_then(unix_seconds_to_rfc3339)
                .map(Value::String)
                .ok_or_else(|| fail("expected integer Unix seconds between years 0 and 9999")),
            _ => Err(fail("expected a date-time")),
        },
        FieldType::Json => match raw {
            Value::String(s) => serde_json::from_str(s).map_err(|_| fail("not JSON text")),
            _ => Ok(raw.clone()),
        },
    }
}

fn int_of_number(n: &Number) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i));
    }
    if n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    // Integral floats within the range where f64 is exact.
    (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then(|| Value::from(f as i64))
}

/// Parses `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:MM[:SS[.fraction]]` and a
/// zone (`Z`, `±HH`, `±HHMM`, `±HH:MM`), and renders it as RFC 3339
/// (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; no zone if none was given; a date alone
/// stays a date).
fn parse_timestamp(text: &str) -> Option<String> {
    let mut p = Cursor { rest: text };
    let year = p.digits(4)?;
    p.eat('-')?;
    let month = p.digits(2)?;
    p.eat('-')?;
    let day = p.digits(2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut out = format!("{year:04}-{month:02}-{day:02}");
    if p.rest.is_empty() {
        return Some(out);
    }
    if !(p.eat('T').is_some() || p.eat('t').is_some() || p.eat(' ').is_some()) {
        return None;
    }
    let hour = p.digits(2)?;
    p.eat(':')?;
    let minute = p.digits(2)?;
    let second = if p.eat(':').is_some() {
        p.digits(2)?
    } else {
        0
    };
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    out.push_str(&format!("T{hour:02}:{minute:02}:{second:02}"));
    if p.eat('.').is_some() {
        let digits = p.rest.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        out.push('.');
        out.push_str(&p.rest[..digits]);
        p.rest = &p.rest[digits..];
    }
    if p.eat('Z').is_some() || p.eat('z').is_some() {
        out.push('Z');
    } else if let Some(sign) = p.eat('+').or_else(|| p.eat('-')) {
        let hours = p.digits(2)?;
        let _ = p.eat(':');
        let minutes = if p.rest.is_empty() { 0 } else { p.digits(2)? };
        if hours > 23 || minutes > 59 {
            return None;
        }
        out.push_str(&format!("{sign}{hours:02}:{minutes:02}"));
    }
    p.rest.is_empty().then_some(out)
}

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn eat(&mut self, c: char) -> Option<char> {
        let rest = self.rest.strip_prefix(c)?;
        self.rest = rest;
        Some(c)
    }

    fn digits(&mut self, n: usize) -> Option<u32> {
        let digits = self.rest.get(..n)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.rest = &self.rest[n..];
        digits.parse().ok()
    }
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix seconds as an RFC 3339 UTC date-time, for years 0 to 9999.
fn unix_seconds_to_rfc3339(seconds: i64) -> Option<String> {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    ))
}

/// A TOML value (a default or a filter value) as JSON: datetimes become their text.
/// `None` for a float that JSON cannot hold (NaN, infinities).
pub(super) fn toml_to_json(value: &toml::Value) -> Option<Value> {
    Some(match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::Number(Number::from_f64(*f)?),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => {
            Value::Array(items.iter().map(toml_to_json).collect::<Option<_>>()?)
        }
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| Some((k.clone(), toml_to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(ty: FieldType, raw: Value) -> Value {
        match convert(ty, &raw) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn ints_take_numbers_and_integral_text() {
        assert_eq!(ok(FieldType::Int, json!(42)), json!(42));
        assert_eq!(ok(FieldType::Int, json!("-7")), json!(-7));
        assert_eq!(ok(FieldType::Int, json!(3.0)), json!(3));
        assert!(convert(FieldType::Int, &json!(3.5)).is_err());
        assert!(convert(FieldType::Int, &json!("abc")).is_err());
        assert!(convert(FieldType::Int, &json!(true)).is_err());
    }

    #[test]
    fn floats_bools_strings_json() {
        assert_eq!(ok(FieldType::Float, json!("2.5")), json!(2.5));
        assert!(convert(FieldType::Float, &json!("NaN")).is_err());
        assert_eq!(ok(FieldType::Bool, json!(1)), json!(true));
        assert_eq!(ok(FieldType::Bool, json!("f")), json!(false));
        assert!(convert(FieldType::Bool, &json!(2)).is_err());
        assert_eq!(ok(FieldType::String, json!(12)), json!("12"));
        assert!(convert(FieldType::String, &json!([1])).is_err());
        assert_eq!(ok(FieldType::Json, json!("{\"a\":1}")), json!({"a": 1}));
        assert_eq!(ok(FieldType::Json, json!([1, 2])), json!([1, 2]));
        assert!(convert(FieldType::Json, &json!("{nope")).is_err());
    }

    #[test]
    fn timestamps_are_normalised() {
        let ts = |s: &str| ok(FieldType::Timestamp, json!(s));
        assert_eq!(ts("2024-05-01"), json!("2024-05-01"));
        assert_eq!(ts("2024-05-01 10:00:00"), json!("2024-05-01T10:00:00"));
        assert_eq!(
            ts("2024-05-01 10:00:00+02"),
            json!("2024-05-01T10:00:00+02:00")
        );
        assert_eq!(
            ts("2024-05-01T10:00:00.123456-0530"),
            json!("2024-05-01T10:00:00.123456-05:30")
        );
        assert_eq!(ts("2024-02-29T23:59Z"), json!("2024-02-29T23:59:00Z"));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-05-01 25:00",
            "yesterday",
            "infinity",
            "2024-05-01T10:00:00.",
            "2024-05-01T10:00:00+2",
        ] {
            assert!(convert(FieldType::Timestamp, &json!(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            ok(FieldType::Timestamp, json!(0)),
            json!("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            ok(FieldType::Timestamp, json!(1_714_557_600)),
            json!("2024-05-01T10:00:00Z")
        );
        assert_eq!(
            ok(FieldType::Timestamp, json!(-1)),
            json!("1969-12-31T23:59:59Z")
        );
    }

    #[test]
    fn transforms_and_split() {
        let split = render_value(
            FieldType::String,
            &[Transform::Trim, Transform::Lowercase],
            Some(","),
            &json!(" Rust, SQL ,, "),
        );
        assert_eq!(split, Ok(json!(["rust", "sql"])));
        let upper = render_value(
            FieldType::String,
            &[Transform::Uppercase],
            None,
            &json!("ab"),
        );
        assert_eq!(upper, Ok(json!("AB")));
    }

    #[test]
    fn errors_show_the_value() {
        let err = convert(FieldType::Int, &json!("12x")).map(|_| ());
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("\"12x\" is not a valid int: not an integer".to_owned())
        );
    }
}
