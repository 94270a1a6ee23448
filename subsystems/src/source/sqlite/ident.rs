//! Quoting of identifiers and literals for generated SQL.

use super::CaptureError;

/// Quotes `name` as a SQL identifier: `"..."` with embedded `"` doubled.
///
/// Rejects names that cannot be quoted safely or are surely wrong: the empty name and names
/// with control characters (NUL would cut the statement short; newlines and the like only
/// ever come from a mistake). `kind` ("table", "column") names the thing in the error.
pub fn quote_ident(kind: &'static str, name: &str) -> Result<String, CaptureError> {
    let bad = |reason| CaptureError::BadName {
        kind,
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("it contains a control character"));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// Quotes `text` as a SQL string literal: `'...'` with embedded `'` doubled.
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_doubles() -> Result<(), CaptureError> {
        assert_eq!(quote_ident("table", "items")?, "\"items\"");
        assert_eq!(quote_ident("table", "we\"ird")?, "\"we\"\"ird\"");
        assert_eq!(quote_ident("table", "a b'c")?, "\"a b'c\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        Ok(())
    }

    #[test]
    fn rejects_unquotable() {
        assert!(matches!(
            quote_ident("table", ""),
            Err(CaptureError::BadName { kind: "table", .. })
        ));
        assert!(matches!(
            quote_ident("column", "a\0b"),
            Err(CaptureError::BadName { kind: "column", .. })
        ));
        assert!(quote_ident("column", "a\nb").is_err());
    }
}
