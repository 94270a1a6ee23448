//! Keys compared across sources: the same key may arrive as `1` from SQLite and `"1"` from
//! Postgres' text protocol, so keys are compared by a canonical text form.

use crate::change::{Key, Value};

/// The canonical text of one key value: strings as they are, numbers in their shortest form
/// (integral floats as integers), booleans as `true`/`false`, other JSON as JSON text. `None`
/// for NULL, which never matches anything.
pub(super) fn part_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                format!("{f:.0}")
            }
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
    }
}

/// A key in canonical form, ordered and hashable.
pub(super) type KeyText = Vec<String>;

/// The canonical form of `values`; `None` if any is NULL (or there are none).
pub(super) fn key_text<'a>(values: impl IntoIterator<Item = &'a Value>) -> Option<KeyText> {
    let text = values
        .into_iter()
        .map(part_text)
        .collect::<Option<KeyText>>()?;
    (!text.is_empty()).then_some(text)
}

/// The search document id of a root key: the canonical text of a single-column key; for a
/// composite key the parts joined by `:`, with `\` and `:` inside a part escaped by `\`.
pub fn document_id(key: &Key) -> String {
    let parts: Vec<String> = key
        .iter()
        .map(|v| part_text(v).unwrap_or_else(|| "null".to_owned()))
        .collect();
    match parts.as_slice() {
        [single] => single.clone(),
        _ => parts
            .iter()
            .map(|p| p.replace('\\', "\\\\").replace(':', "\\:"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_text_compare_equal() {
        assert_eq!(part_text(&json!(1)), part_text(&json!("1")));
        assert_eq!(part_text(&json!(1.0)), Some("1".to_owned()));
        assert_eq!(part_text(&json!(1.5)), Some("1.5".to_owned()));
        assert_eq!(part_text(&Value::Null), None);
        assert_eq!(key_text(&[json!(1), Value::Null]), None);
    }

    #[test]
    fn document_ids() {
        assert_eq!(document_id(&vec![json!(42)]), "42");
        assert_eq!(document_id(&vec![json!("a:b")]), "a:b");
        assert_eq!(document_id(&vec![json!("t1"), json!(7)]), "t1:7");
        assert_eq!(
            document_id(&vec![json!("a:b"), json!("c\\")]),
            "a\\:b:c\\\\"
        );
    }
}
