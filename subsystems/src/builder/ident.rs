//! Names in a mapping: SQL identifiers, output field names and index names.
//!
//! Every table and column name a mapping gives ends up in generated SQL. Two defences keep
//! configuration from ever injecting SQL: names are checked against a deliberately narrow
//! grammar when the mapping is compiled ([`is_sql_identifier`]), and the SQL generator still
//! quotes every identifier it writes ([`quote`]), doubling any quote character.

/// The longest identifier Postgres keeps without truncating it (`NAMEDATALEN - 1`).
pub const MAX_IDENTIFIER_LEN: usize = 63;

/// Whether `name` is a plain SQL identifier: ASCII letters, digits and underscores, not
/// starting with a digit, between 1 and [`MAX_IDENTIFIER_LEN`] bytes.
///
/// Anything else (quotes, semicolons, spaces, dots, non-ASCII letters) is rejected, so no
/// name from a mapping can change the shape of a generated statement.
pub fn is_sql_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    name.len() <= MAX_IDENTIFIER_LEN
        && (first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What [`is_sql_identifier`] accepts, for error messages.
pub const SQL_IDENTIFIER_RULE: &str =
    "letters, digits and underscores, not starting with a digit, at most 63 bytes";

/// Whether `name` may name a field of a document: an ASCII letter followed by ASCII letters,
/// digits, underscores or hyphens, at most 255 bytes.
///
/// Dots (object paths in search engines), a leading underscore (reserved metadata fields such
/// as `_id`) and whitespace are thereby excluded.
pub fn is_output_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    name.len() <= 255
        && first.is_ascii_alphabetic()
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What [`is_output_name`] accepts, for error messages.
pub const OUTPUT_NAME_RULE: &str =
    "an ASCII letter, then letters, digits, underscores or hyphens, at most 255 bytes";

/// Whether `name` may name a search index: lowercase ASCII letters and digits, then also
/// `_`, `-` and `.`, at most 255 bytes (a subset of what OpenSearch and Elasticsearch allow).
pub fn is_index_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    name.len() <= 255
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' || b == b'.'
        })
}

/// What [`is_index_name`] accepts, for error messages.
pub const INDEX_NAME_RULE: &str =
    "a lowercase letter or digit, then lowercase letters, digits, '_', '-' or '.', at most 255 bytes";

/// `name` as a quoted SQL identifier, valid in SQLite and Postgres: `"name"`, with any `"`
/// doubled.
pub fn quote(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len() + 2);
    push_quoted(&mut quoted, name);
    quoted
}

/// Appends `name` as a quoted SQL identifier to `sql` (see [`quote`]).
pub fn push_quoted(sql: &mut String, name: &str) {
    sql.push('"');
    for c in name.chars() {
        if c == '"' {
            sql.push('"');
        }
        sql.push(c);
    }
    sql.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_identifiers_are_accepted() {
        for name in ["posts", "author_id", "_private", "T1", "a"] {
            assert!(is_sql_identifier(name), "{name}");
        }
    }

    #[test]
    fn anything_else_is_rejected() {
        for name in [
            "",
            "1posts",
            "post id",
            "posts;",
            "posts\"",
            "a'b",
            "public.posts",
            "naïve",
            "a-b",
            "x--",
            "a\0",
        ] {
            assert!(!is_sql_identifier(name), "{name:?}");
        }
        assert!(is_sql_identifier(&"a".repeat(63)));
        assert!(!is_sql_identifier(&"a".repeat(64)));
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote("posts"), "\"posts\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn output_and_index_names() {
        assert!(is_output_name("author"));
        assert!(is_output_name("first-name"));
        assert!(!is_output_name("_id"));
        assert!(!is_output_name("a.b"));
        assert!(!is_output_name("a b"));
        assert!(is_index_name("posts-v2.1"));
        assert!(!is_index_name("Posts"));
        assert!(!is_index_name("_posts"));
        assert!(!is_index_name("a/b"));
    }

    proptest! {
        #[test]
        fn identifiers_never_contain_dangerous_characters(name in ".{0,80}") {
            if is_sql_identifier(&name) {
                prop_assert!(!name.contains(['"', '\'', ';', ' ', '\t', '\n', '.', '-', '/', '*', '\\', '\0']));
                prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            }
        }

        #[test]
        fn strings_with_quotes_semicolons_or_spaces_are_rejected(
            prefix in "[a-z_]{0,10}",
            bad in prop::sample::select(vec!['"', '\'', ';', ' ', '\t', '\n', '.', '-', '(', ')', '`', '[']),
            suffix in "[a-z0-9_]{0,10}",
        ) {
            let name = format!("{prefix}{bad}{suffix}");
            prop_assert!(!is_sql_identifier(&name));
        }

        #[test]
        fn quoted_names_round_trip(name in ".{0,40}") {
            let quoted = quote(&name);
            let inner = &quoted[1..quoted.len() - 1];
            prop_assert_eq!(inner.replace("\"\"", "\""), name);
            // An odd run of quotes inside would end the identifier early: never produced.
            prop_assert!(!inner.replace("\"\"", "").contains('"'));
        }
    }
}
