//! Rows to documents: renames, types, transforms and defaults, nested joins; a document that
//! cannot be built is a failure of that document only.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use super::compiled::{CompiledMapping, Node, Relation};
use super::convert::{render_field, ConversionError};
use super::key::{document_id, key_text, KeyText};
use super::mapping::FilterOp;
use super::plan::{filter_alias, SOFT_DELETED_ALIAS};
use crate::change::{Key, Row};

/// What to do with one document of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Index `document` under `id`.
    Upsert {
        /// The document id ([`document_id`] of the key).
        id: String,
        /// The root key.
        key: Key,
        /// The document.
        document: Value,
    },
    /// Delete the document `id` from the index (a no-op if it is not there).
    Delete {
        /// The document id.
        id: String,
        /// The root key.
        key: Key,
        /// Why.
        reason: DeleteReason,
    },
    /// The document could not be built; the index is left as it is.
    Failed {
        /// The document id.
        id: String,
        /// The root key.
        key: Key,
        /// What went wrong, and where.
        failure: DocumentFailure,
    },
}

impl Outcome {
    /// The document id.
    pub fn id(&self) -> &str {
        match self {
            Self::Upsert { id, .. } | Self::Delete { id, .. } | Self::Failed { id, .. } => id,
        }
    }
}

/// Why a document is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteReason {
    /// The root row does not exist.
    Missing,
    /// The root row is soft-deleted.
    SoftDeleted,
    /// The root row fails a filter.
    Filtered {
        /// The filter's position in `filter`.
        filter: usize,
        /// Its column.
        column: String,
        /// Its operator.
        op: FilterOp,
    },
}

impl fmt::Display for DeleteReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("the row does not exist"),
            Self::SoftDeleted => f.write_str("the row is soft-deleted"),
            Self::Filtered { filter, column, op } => {
                write!(f, "the row fails filter[{filter}] ({column} {})", op.name())
            }
        }
    }
}

/// Why one document could not be built: the offending row and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("table {table:?}, key {key}: {reason} (at {path})", key = Value::from(.key.clone()))]
pub struct DocumentFailure {
    /// The table of the offending row.
    pub table: String,
    /// The offending row's key.
    pub key: Key,
    /// Where in the document (`comments[2].author`; `$` for the root).
    pub path: String,
    /// What is wrong.
    pub reason: FailureReason,
}

/// What is wrong with a row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FailureReason {
    /// A column value does not fit its field's type.
    #[error("column {column:?}: {error}")]
    BadValue {
        /// The column.
        column: String,
        /// The conversion error.
        error: ConversionError,
    },
    /// A required belongs_to target does not exist (or is NULL).
    #[error("required {relation:?} ({table:?}) not found for foreign key {foreign_key}", foreign_key = Value::from(.foreign_key.clone()))]
    MissingParent {
        /// The join's name.
        relation: String,
        /// The target table.
        table: String,
        /// The foreign key values (NULLs for a NULL foreign key).
        foreign_key: Key,
    },
    /// The requested key has a NULL.
    #[error("the key has a NULL part")]
    NullKey,
}

/// The rows fetched for a batch, per node, indexed by the columns the node was matched on.
#[derive(Debug, Default)]
pub(super) struct Fetched {
    nodes: Vec<NodeRows>,
}

#[derive(Debug, Default)]
struct NodeRows {
    rows: Vec<Row>,
    by_match: HashMap<KeyText, Vec<usize>>,
}

impl Fetched {
    /// Room for `nodes` nodes.
    pub(super) fn new(nodes: usize) -> Self {
        Self {
            nodes: (0..nodes).map(|_| NodeRows::default()).collect(),
        }
    }

    /// Adds rows of node `index`, matched on `match_columns` (rows with a NULL there match
    /// nothing).
    pub(super) fn add(&mut self, index: usize, match_columns: &[String], rows: Vec<Row>) {
        let Some(node) = self.nodes.get_mut(index) else {
            return;
        };
        for row in rows {
            if let Some(text) = values_of(&row, match_columns).and_then(|k| key_text(&k)) {
                node.by_match.entry(text).or_default().push(node.rows.len());
            }
            node.rows.push(row);
        }
    }

    /// All rows of node `index`, in fetch order.
    pub(super) fn rows(&self, index: usize) -> &[Row] {
        self.nodes.get(index).map_or(&[], |n| &n.rows)
    }

    /// The rows of node `index` matching `text`, in fetch order.
    fn matching(&self, index: usize, text: &KeyText) -> impl Iterator<Item = &Row> {
        let node = self.nodes.get(index);
        node.and_then(|n| n.by_match.get(text))
            .into_iter()
            .flatten()
            .filter_map(move |&i| node.and_then(|n| n.rows.get(i)))
    }
}

/// The values of `columns` in `row`; `None` if a column is absent.
pub(super) fn values_of(row: &Row, columns: &[String]) -> Option<Key> {
    columns.iter().map(|c| row.get(c).cloned()).collect()
}

/// Whether a root row is excluded from the index, and why: soft-deleted first, then the first
/// failing filter (a NULL outcome fails, as in SQL).
pub(super) fn excluded(root: &Node, row: &Row) -> Option<DeleteReason> {
    if root.soft_delete.is_some() && row.get(SOFT_DELETED_ALIAS).is_some_and(truthy) {
        return Some(DeleteReason::SoftDeleted);
    }
    root.filters.iter().enumerate().find_map(|(i, filter)| {
        (!row.get(&filter_alias(i)).is_some_and(truthy)).then(|| DeleteReason::Filtered {
            filter: i,
            column: filter.column.clone(),
            op: filter.predicate.op(),
        })
    })
}

/// A SQL boolean as returned: SQLite's 0/1, Postgres' `t`/`f`.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.as_str(), "t" | "true" | "1"),
        _ => false,
    }
}

/// The outcome for each of `keys` (root keys, already deduplicated), in order.
pub(super) fn assemble(mapping: &CompiledMapping, fetched: &Fetched, keys: &[Key]) -> Vec<Outcome> {
    let root = mapping.root();
    keys.iter()
        .map(|key| {
            let id = document_id(key);
            let key = key.clone();
            let Some(text) = key_text(&key) else {
                let failure = DocumentFailure {
                    table: root.table.clone(),
                    key: key.clone(),
                    path: "$".to_owned(),
                    reason: FailureReason::NullKey,
                };
                return Outcome::Failed { id, key, failure };
            };
            let Some(row) = fetched.matching(root.id.index(), &text).next() else {
                let reason = DeleteReason::Missing;
                return Outcome::Delete { id, key, reason };
            };
            if let Some(reason) = excluded(root, row) {
                return Outcome::Delete { id, key, reason };
            }
            match object(mapping, fetched, root, row, "$") {
                Ok(document) => Outcome::Upsert {
                    id,
                    key,
                    document: Value::Object(document),
                },
                Err(failure) => Outcome::Failed {
                    id,
                    key,
                    failure: *failure,
                },
            }
        })
        .collect()
}

/// The object for `row` of `node`: its fields, then its joins.
fn object(
    mapping: &CompiledMapping,
    fetched: &Fetched,
    node: &Node,
    row: &Row,
    path: &str,
) -> Result<Map<String, Value>, Box<DocumentFailure>> {
    let fail = |reason| {
        Box::new(DocumentFailure {
            table: node.table.clone(),
            key: values_of(row, &node.key).unwrap_or_default(),
            path: path.to_owned(),
            reason,
        })
    };
    let mut out = Map::new();
    for field in &node.fields {
        let value = render_field(field, row.get(&field.column)).map_err(|error| {
            fail(FailureReason::BadValue {
                column: field.column.clone(),
                error,
            })
        })?;
        out.insert(field.name.clone(), value);
    }
    for child in node.children.iter().filter_map(|&c| mapping.node(c)) {
        let child_path = if path == "$" {
            child.name.clone()
        } else {
            format!("{path}.{}", child.name)
        };
        let value = match &child.relation {
            Relation::Root => continue,
            Relation::BelongsTo {
                foreign_key,
                required,
                ..
            } => {
                let foreign_key_values = values_of(row, foreign_key).unwrap_or_default();
                let target = key_text(&foreign_key_values)
                    .and_then(|text| fetched.matching(child.id.index(), &text).next());
                match target {
                    Some(target) => {
                        Value::Object(object(mapping, fetched, child, target, &child_path)?)
                    }
                    None if *required => {
                        return Err(fail(FailureReason::MissingParent {
                            relation: child.name.clone(),
                            table: child.table.clone(),
                            foreign_key: foreign_key_values,
                        }))
                    }
                    None => Value::Null,
                }
            }
            Relation::HasMany { .. } => {
                let key = values_of(row, &node.key).unwrap_or_default();
                let mut items = Vec::new();
                if let Some(text) = key_text(&key) {
                    for (i, item) in fetched.matching(child.id.index(), &text).enumerate() {
                        let item_path = format!("{child_path}[{i}]");
                        items.push(Value::Object(object(
                            mapping, fetched, child, item, &item_path,
                        )?));
                    }
                }
                Value::Array(items)
            }
        };
        out.insert(child.name.clone(), value);
    }
    Ok(out)
}
