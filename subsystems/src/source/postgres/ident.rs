//! Quoting of identifiers and literals for generated SQL, and the names Postgres accepts for
//! slots and publications.

use super::PgError;

/// The longest name Postgres keeps (`NAMEDATALEN - 1`); longer names are truncated, which
/// would make the capture look for an object that does not exist.
pub(crate) const MAX_NAME_LEN: usize = 63;

/// Quotes `name` as an SQL identifier: `"..."` with embedded `"` doubled.
///
/// Rejects the empty name, names with control characters (NUL would cut the statement short)
/// and names longer than 63 bytes (`NAMEDATALEN - 1`). `kind` ("table", "column") names the thing
/// in the error.
pub fn quote_ident(kind: &'static str, name: &str) -> Result<String, PgError> {
    let bad = |reason| PgError::BadName {
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
    if name.len() > MAX_NAME_LEN {
        return Err(bad("it is longer than 63 bytes, which Postgres truncates"));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// Quotes `text` as an SQL string literal: `'...'` with embedded `'` doubled (for
/// `standard_conforming_strings = on`, the default since PostgreSQL 9.1).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Checks a replication slot or publication name: 1 to 63 characters of `a-z`, `0-9` and
/// `_`, not starting with a digit.
///
/// Postgres itself allows only these characters in slot names. Publication names could be
/// any identifier, but the `publication_names` option of pgoutput folds unquoted names to
/// lower case and splits at commas, so the capture accepts only names that mean the same
/// thing quoted and unquoted.
pub fn check_object_name(kind: &'static str, name: &str) -> Result<(), PgError> {
    let bad = |reason| PgError::BadName {
        kind,
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad("it is longer than 63 characters"));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad("it starts with a digit"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(bad("only lower-case letters, digits and `_` are allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_doubles() -> Result<(), PgError> {
        assert_eq!(quote_ident("table", "items")?, "\"items\"");
        assert_eq!(quote_ident("table", "we\"ird")?, "\"we\"\"ird\"");
        assert_eq!(quote_ident("table", "Mixed Case")?, "\"Mixed Case\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        Ok(())
    }

    #[test]
    fn rejects_unquotable() {
        assert!(quote_ident("table", "").is_err());
        assert!(quote_ident("column", "a\0b").is_err());
        assert!(quote_ident("column", &"x".repeat(64)).is_err());
        assert!(quote_ident("column", &"x".repeat(63)).is_ok());
    }

    #[test]
    fn object_names() {
        assert!(check_object_name("slot", "overseer_items_1").is_ok());
        for bad in ["", "1slot", "Slot", "a-b", "a,b", "a'b", &"s".repeat(64)] {
            assert!(
                matches!(
                    check_object_name("slot", bad),
                    Err(PgError::BadName { kind: "slot", .. })
                ),
                "{bad:?}"
            );
        }
    }
}
