//! The index mapping: how rows of a database become the documents of one search index,
//! declared in a TOML file (one file per index).
//!
//! # Example
//!
//! ```toml
//! # posts.toml: one document per row of `posts`.
//! index = "posts"                # the search index
//! table = "posts"                # the root table: one document per row
//! primary_key = "id"             # its key columns; ["tenant_id", "id"] for a composite key
//!
//! # Only rows matching every filter are indexed; the others are deleted from the index.
//! filter = [
//!   { column = "status", op = "in", value = ["published", "archived"] },
//!   { column = "title", op = "not_null" },
//! ]
//! # A soft-deleted row's document is deleted from the index.
//! soft_delete = { column = "deleted_at" }          # deleted when the column is not NULL
//! # soft_delete = { column = "is_deleted", when = "true" }   # or: a boolean flag
//!
//! [[fields]]
//! column = "id"
//! type = "int"
//!
//! [[fields]]
//! column = "title"
//! type = "string"
//! transforms = ["trim"]
//!
//! [[fields]]
//! column = "tags"                # "Rust, SQL" becomes ["rust", "sql"]
//! type = "string"
//! split = ","
//! transforms = ["trim", "lowercase"]
//! default = ""                   # used when the column is NULL
//!
//! [[fields]]
//! column = "published_at"
//! name = "published"             # the field's name in the document (default: the column)
//! type = "timestamp"
//!
//! # Many-to-one: posts.author_id -> authors.id, rendered as an object (or null).
//! [belongs_to.author]
//! table = "authors"
//! foreign_key = "author_id"      # column(s) of the parent table (posts)
//! primary_key = "id"             # key column(s) of the target table (authors)
//! required = true                # no author: the document fails instead of author = null
//! fields = [
//!   { column = "name", type = "string" },
//!   { column = "email", type = "string", transforms = ["lowercase"] },
//! ]
//!
//! # One-to-many: comments.post_id -> posts.id, rendered as an array of objects.
//! [has_many.comments]
//! table = "comments"
//! foreign_key = "post_id"        # column(s) of the child table (comments)
//! primary_key = "id"             # the child table's key column(s)
//! order_by = ["created_at"]      # ascending, then by primary key; NULLs first
//! filter = [{ column = "approved", op = "eq", value = true }]
//! soft_delete = { column = "deleted_at" }
//! fields = [
//!   { column = "id", type = "int" },
//!   { column = "body", type = "string" },
//!   { column = "created_at", type = "timestamp" },
//! ]
//!
//! # Joins nest: each comment's author.
//! [has_many.comments.belongs_to.author]
//! table = "authors"
//! foreign_key = "author_id"      # column of comments
//! primary_key = "id"
//! fields = [{ column = "name", type = "string" }]
//! ```
//!
//! builds documents like
//!
//! ```json
//! { "id": 1, "title": "Hello", "tags": ["rust", "sql"], "published": "2024-05-01T10:00:00Z",
//!   "author": { "name": "Ada", "email": "ada@example.com" },
//!   "comments": [ { "id": 10, "body": "Nice", "created_at": "2024-05-02T08:00:00Z",
//!                   "author": { "name": "Bob" } } ] }
//! ```
//!
//! # Reference
//!
//! Top level (the root node):
//!
//! | key | | |
//! |---|---|---|
//! | `index` | required | index name: `[a-z0-9][a-z0-9_.-]*` |
//! | `table` | required | root table; one document per row |
//! | `primary_key` | required | column or array of columns; must be the table's primary key, in order (the key changes carry) |
//! | `filter` | optional | array of predicates, all must hold |
//! | `soft_delete` | optional | `{ column, when = "not_null" \| "true" }` |
//! | `fields` | optional | array of fields |
//! | `belongs_to.<name>` | optional | many-to-one joins |
//! | `has_many.<name>` | optional | one-to-many joins |
//!
//! A field: `column` (required), `name` (default: the column), `type` (required: `string`,
//! `int`, `float`, `bool`, `timestamp` or `json`), `transforms` (`trim`, `lowercase`,
//! `uppercase`, applied in order; string fields only), `split` (a separator: the string becomes
//! an array of strings, transforms apply to each piece, empty pieces are dropped), `default` (a
//! TOML value used when the column is NULL; it goes through the same conversion and must suit
//! the type). Without a default a NULL column is `null` in the document.
//!
//! Types convert what the database returns: `int` takes integers and integral text, `float`
//! numbers and numeric text, `bool` booleans, 0/1 and `t`/`f`/`true`/`false`, `timestamp` ISO
//! 8601 / SQL text (`2024-05-01 10:00:00+02` becomes `2024-05-01T10:00:00+02:00`) and integer
//! Unix seconds (rendered in UTC), `json` JSON values and JSON text, `string` text, numbers and
//! booleans. A value that does not convert fails that one document, not the batch.
//!
//! `belongs_to.<name>`: `table`, `foreign_key` (columns of the parent node's table),
//! `primary_key` (the target table's primary key, same number of columns), `required`
//! (default false), `fields`, and nested `belongs_to` / `has_many`.
//!
//! `has_many.<name>`: `table`, `foreign_key` (columns of the child table referencing the parent
//! node's key: the root's `primary_key`, a has_many's or belongs_to's `primary_key`),
//! `primary_key` (the child table's primary key), `order_by` (optional columns), `filter`,
//! `soft_delete` (rows failing them are left out of the array), `fields`, and nested
//! `belongs_to` / `has_many`.
//!
//! A filter: `{ column, op, value }` with `op` one of `eq`, `ne`, `in`, `not_in` (value: a
//! non-empty array), `is_null`, `not_null` (no value). Values are strings, integers, floats,
//! booleans or datetimes, always sent as bound parameters; there is no way to write SQL in a
//! mapping. `ne` and `not_in` hold for NULL (a NULL status is not "draft"); `eq` and `in` do not.
//!
//! Every table and column name must be a plain SQL identifier (letters, digits, underscores,
//! not starting with a digit, at most 63 bytes); names are quoted in SQL and so are
//! case-sensitive in Postgres. Output names (`name`, the `<name>` of a join) start with a
//! letter and hold letters, digits, `_` and `-`; they must be unique within an object.
//!
//! Unknown keys are errors. Every error names the file, line, column and key path, as in
//! `posts.toml:12:1: fields[2].colum: unknown field `colum`, expected one of ...`.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{MappingError, Source};

/// A parsed, not yet validated mapping file. [`Mapping::compile`] validates it.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub(super) root: RawRoot,
    pub(super) source: Source,
}

impl Mapping {
    /// Parses the mapping in `text`; `file_name` is only used in error messages.
    ///
    /// Syntax errors, unknown keys, missing keys and values of the wrong type are reported
    /// here, with file, line, column and key path.
    pub fn from_toml_str(text: &str, file_name: &str) -> Result<Self, MappingError> {
        let source = Source::new(file_name, text);
        match toml::from_str::<RawRoot>(text) {
            Ok(root) => Ok(Self { root, source }),
            Err(error) => Err(MappingError::new(vec![source.toml_error(&error)])),
        }
    }

    /// The file name given to [`Mapping::from_toml_str`].
    pub fn file(&self) -> &str {
        self.source.file()
    }

    /// The index name, as written (not yet validated).
    pub fn index(&self) -> &str {
        self.root.index.get_ref()
    }
}

/// The type of a document field; see the [module docs](self) for what each accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text.
    String,
    /// A 64-bit integer.
    Int,
    /// A finite 64-bit float.
    Float,
    /// A boolean.
    Bool,
    /// A point in time, rendered as RFC 3339 text.
    Timestamp,
    /// Any JSON value; JSON text is parsed.
    Json,
}

impl FieldType {
    /// Every type, in the order of the documentation.
    pub const ALL: [Self; 6] = [
        Self::String,
        Self::Int,
        Self::Float,
        Self::Bool,
        Self::Timestamp,
        Self::Json,
    ];

    /// The name used in mapping files.
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Int => "int",
            Self::Float => "float",
            Self::Bool => "bool",
            Self::Timestamp => "timestamp",
            Self::Json => "json",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string transform of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// Unicode lowercase.
    Lowercase,
    /// Unicode uppercase.
    Uppercase,
    /// Strip leading and trailing whitespace.
    Trim,
}

/// The operator of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    /// Equal to the value (NULL is never equal).
    Eq,
    /// Not equal to the value (NULL is not equal).
    Ne,
    /// One of the values (NULL is never one of them).
    In,
    /// None of the values (NULL is none of them).
    NotIn,
    /// NULL.
    IsNull,
    /// Not NULL.
    NotNull,
}

impl FilterOp {
    /// Every operator, in the order of the documentation.
    pub const ALL: [Self; 6] = [
        Self::Eq,
        Self::Ne,
        Self::In,
        Self::NotIn,
        Self::IsNull,
        Self::NotNull,
    ];

    /// The name used in mapping files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::In => "in",
            Self::NotIn => "not_in",
            Self::IsNull => "is_null",
            Self::NotNull => "not_null",
        }
    }
}

/// When a row counts as soft-deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SoftDeleteWhen {
    /// When the column is not NULL (a `deleted_at` timestamp).
    #[default]
    NotNull,
    /// When the column is true (a boolean flag).
    True,
}

impl Transform {
    /// Every transform.
    pub const ALL: [Self; 3] = [Self::Lowercase, Self::Uppercase, Self::Trim];

    /// The name used in mapping files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lowercase => "lowercase",
            Self::Uppercase => "uppercase",
            Self::Trim => "trim",
        }
    }
}

impl SoftDeleteWhen {
    /// Every variant.
    pub const ALL: [Self; 2] = [Self::NotNull, Self::True];

    /// The name used in mapping files.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotNull => "not_null",
            Self::True => "true",
        }
    }
}

/// Deserializes one of a fixed set of names: the value must be a string (not a TOML table
/// as serde's enum support would also accept), and an unknown one lists the known ones.
macro_rules! deserialize_by_name {
    ($($ty:ty => [$($name:literal),+]),+ $(,)?) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                const NAMES: &[&str] = &[$($name),+];
                let name = String::deserialize(deserializer)?;
                Self::ALL
                    .into_iter()
                    .find(|v| v.name() == name)
                    .ok_or_else(|| de::Error::unknown_variant(&name, NAMES))
            }
        }
    )+};
}

deserialize_by_name! {
    FieldType => ["string", "int", "float", "bool", "timestamp", "json"],
    Transform => ["lowercase", "uppercase", "trim"],
    FilterOp => ["eq", "ne", "in", "not_in", "is_null", "not_null"],
    SoftDeleteWhen => ["not_null", "true"],
}

/// One column name or an array of them, as written.
#[derive(Debug, Clone)]
pub(super) enum Columns {
    /// `"id"`.
    One(String),
    /// `["tenant_id", "id"]`.
    Many(Vec<Spanned<String>>),
}

impl Columns {
    /// The column names with their spans; a single name gets `outer`, the span of the whole
    /// value.
    pub(super) fn items(&self, outer: &Range<usize>) -> Vec<(String, Range<usize>)> {
        match self {
            Self::One(name) => vec![(name.clone(), outer.clone())],
            Self::Many(names) => names
                .iter()
                .map(|name| (name.get_ref().clone(), name.span()))
                .collect(),
        }
    }
}

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ColumnsVisitor;

        impl<'de> Visitor<'de> for ColumnsVisitor {
            type Value = Columns;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column name or an array of column names")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Columns, E> {
                Ok(Columns::One(name.to_owned()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Columns, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<Spanned<String>>()? {
                    names.push(name);
                }
                Ok(Columns::Many(names))
            }
        }

        deserializer.deserialize_any(ColumnsVisitor)
    }
}

/// Relations of a node, by output name.
pub(super) type Relations<T> = BTreeMap<Spanned<String>, Spanned<T>>;

/// The top level of a mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoot {
    pub(super) index: Spanned<String>,
    pub(super) table: Spanned<String>,
    pub(super) primary_key: Spanned<Columns>,
    #[serde(default)]
    pub(super) filter: Vec<Spanned<RawFilter>>,
    pub(super) soft_delete: Option<Spanned<RawSoftDelete>>,
    #[serde(default)]
    pub(super) fields: Vec<Spanned<RawField>>,
    #[serde(default)]
    pub(super) belongs_to: Relations<RawBelongsTo>,
    #[serde(default)]
    pub(super) has_many: Relations<RawHasMany>,
}

/// `[belongs_to.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBelongsTo {
    pub(super) table: Spanned<String>,
    pub(super) foreign_key: Spanned<Columns>,
    pub(super) primary_key: Spanned<Columns>,
    #[serde(default)]
    pub(super) required: bool,
    #[serde(default)]
    pub(super) fields: Vec<Spanned<RawField>>,
    #[serde(default)]
    pub(super) belongs_to: Relations<RawBelongsTo>,
    #[serde(default)]
    pub(super) has_many: Relations<RawHasMany>,
}

/// `[has_many.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHasMany {
    pub(super) table: Spanned<String>,
    pub(super) foreign_key: Spanned<Columns>,
    pub(super) primary_key: Spanned<Columns>,
    pub(super) order_by: Option<Spanned<Columns>>,
    #[serde(default)]
    pub(super) filter: Vec<Spanned<RawFilter>>,
    pub(super) soft_delete: Option<Spanned<RawSoftDelete>>,
    #[serde(default)]
    pub(super) fields: Vec<Spanned<RawField>>,
    #[serde(default)]
    pub(super) belongs_to: Relations<RawBelongsTo>,
    #[serde(default)]
    pub(super) has_many: Relations<RawHasMany>,
}

/// One element of `fields`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawField {
    pub(super) column: Spanned<String>,
    pub(super) name: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub(super) ty: Spanned<FieldType>,
    #[serde(default)]
    pub(super) transforms: Vec<Spanned<Transform>>,
    pub(super) split: Option<Spanned<String>>,
    pub(super) default: Option<Spanned<toml::Value>>,
}

/// One element of `filter`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFilter {
    pub(super) column: Spanned<String>,
    pub(super) op: Spanned<FilterOp>,
    pub(super) value: Option<Spanned<toml::Value>>,
}

/// `soft_delete`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSoftDelete {
    pub(super) column: Spanned<String>,
    pub(super) when: Option<Spanned<SoftDeleteWhen>>,
}
