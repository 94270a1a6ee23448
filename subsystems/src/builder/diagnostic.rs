//! Errors in a mapping file, each pointing at a file, line, column and key path.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Where something is in a mapping file: 1-based line and column (in characters) and the key
/// path (`has_many.comments.fields[1].type`; empty for the document itself).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Dotted key path, with `[i]` for array elements; empty for the whole document.
    pub path: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem found in a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name given to the parser.
    pub file: String,
    /// Where in the file.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.location)?;
        if !self.location.path.is_empty() {
            write!(f, "{}: ", self.location.path)?;
        }
        f.write_str(&self.message)
    }
}

/// A mapping could not be parsed, compiled or matched to a schema: one diagnostic per problem,
/// in file order, rendered one per line as `file:line:col: key.path: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.diagnostics))]
pub struct MappingError {
    diagnostics: Vec<Diagnostic>,
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl MappingError {
    /// An error made of `diagnostics`, sorted by position (stable for equal positions).
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|d| (d.location.line, d.location.column));
        Self { diagnostics }
    }

    /// The problems, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

/// A mapping file's name and text, to turn byte spans into [`Location`]s.
#[derive(Debug, Clone)]
pub(super) struct Source {
    file: String,
    text: String,
}

impl Source {
    pub(super) fn new(file: &str, text: &str) -> Self {
        Self {
            file: file.to_owned(),
            text: text.to_owned(),
        }
    }

    pub(super) fn file(&self) -> &str {
        &self.file
    }

    /// The location of byte `offset` (clamped to the text), with key path `path`.
    pub(super) fn location(&self, offset: usize, path: &str) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            path: path.to_owned(),
        }
    }

    /// A diagnostic at the start of `span`.
    pub(super) fn diagnostic(
        &self,
        span: &Range<usize>,
        path: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        self.at(self.location(span.start, path), message)
    }

    /// A diagnostic at `location`.
    pub(super) fn at(&self, location: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            location,
            message: message.into(),
        }
    }

    /// A TOML syntax or deserialization error as a diagnostic. The key path is that of the
    /// innermost key or value whose span holds the error's start.
    pub(super) fn toml_error(&self, error: &toml::de::Error) -> Diagnostic {
        let span = error.span().unwrap_or_default();
        // An empty span (a key missing from the top level) points at no key.
        let path = if span.is_empty() {
            String::new()
        } else {
            key_path_at(&self.text, span.start)
        };
        let offset = span.start;
        self.at(self.location(offset, &path), error.message().trim_end())
    }
}

/// The key path of the innermost entry of `text` whose key or value span holds `offset`.
fn key_path_at(text: &str, offset: usize) -> String {
    let (document, _) = DeTable::parse_recoverable(text);
    let mut best = Best {
        offset,
        found: None,
    };
    walk_table(document.get_ref(), "", &mut best);
    best.found.map(|(_, path)| path).unwrap_or_default()
}

struct Best {
    offset: usize,
    /// Span length and path of the best entry so far.
    found: Option<(usize, String)>,
}

impl Best {
    /// Considers `span` for `path`; a smaller or equal span (met later, so deeper) wins.
    fn consider(&mut self, span: Range<usize>, path: &str) {
        if !span.contains(&self.offset) {
            return;
        }
        let len = span.len();
        if self.found.as_ref().is_none_or(|(best, _)| len <= *best) {
            self.found = Some((len, path.to_owned()));
        }
    }
}

fn walk_table(table: &DeTable<'_>, prefix: &str, best: &mut Best) {
    for (key, value) in table {
        let path = join_key(prefix, key.get_ref());
        best.consider(key.span(), &path);
        best.consider(value.span(), &path);
        walk_value(value, &path, best);
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, path: &str, best: &mut Best) {
    match value.get_ref() {
        DeValue::Table(table) => walk_table(table, path, best),
        DeValue::Array(array) => {
            for (i, element) in array.iter().enumerate() {
                let path = format!("{path}[{i}]");
                best.consider(element.span(), &path);
                walk_value(element, &path, best);
            }
        }
        _ => {}
    }
}

/// `prefix.key`, quoting `key` the TOML way when it is not a bare key.
pub(super) fn join_key(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters() {
        let source = Source::new("m.toml", "a = 1\nbé = 2\n");
        assert_eq!(source.location(0, "").to_string(), "1:1");
        assert_eq!(source.location(6, "").to_string(), "2:1");
        // 'é' is two bytes but one column.
        assert_eq!(source.location(9, "").to_string(), "2:3");
        assert_eq!(source.location(1000, "").to_string(), "3:1");
    }

    #[test]
    fn key_paths_find_the_innermost_entry() {
        let text = "a = 1\n[b.c]\nd = [1, { e = 2 }]\n[[f]]\ng = 3\n[[f]]\nh = 4\n";
        let at = |needle: &str| key_path_at(text, text.find(needle).unwrap_or(0));
        assert_eq!(at("a ="), "a");
        assert_eq!(at("d ="), "b.c.d");
        assert_eq!(at("e ="), "b.c.d[1].e");
        assert_eq!(at("h ="), "f[1].h");
        assert_eq!(at("[b.c]"), "b.c");
    }

    #[test]
    fn non_bare_keys_are_quoted() {
        assert_eq!(join_key("a", "b c"), "a.\"b c\"");
        assert_eq!(join_key("", "x"), "x");
    }
}
