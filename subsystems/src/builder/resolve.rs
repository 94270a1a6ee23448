//! Which documents a change affects.
//!
//! Changes are thin (table, key, some old values), so a change below the root usually names
//! its documents only through the database. [`Resolver`] turns a batch of changes into a
//! [`Resolution`]: root keys known outright, plus [`Lookup`]s (root keys to find with one
//! query each, see [`Planner::lookup`](super::plan::Planner::lookup)), each affected document
//! once.
//!
//! | change on | affects |
//! |---|---|
//! | the root table | its key; a `TRUNCATE` clears the index |
//! | a has_many child, insert | the parent of the current row (lookup by the child's key) |
//! | a has_many child, update | the current parent (lookup) and the old one (`old` foreign key) |
//! | a has_many child, delete | the old parent (`old` foreign key) |
//! | a has_many child, truncate | every root with a row of the parent node |
//! | a belongs_to target | the rows of the parent node whose foreign key is the change's key |
//! | a belongs_to target, truncate | the rows of the parent node with a non-NULL foreign key |
//!
//! When the parent node is the root and the columns are its key, the key is known outright;
//! otherwise it is a lookup through the join path. When `old` lacks a foreign key the
//! resolution falls back to every root with a row of the parent node: never less than what
//! is affected. [`CompiledMapping::required_old_columns`] says which columns the capture must
//! record in `old`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::compiled::{CompiledMapping, Node, NodeId, Relation};
use super::key::{key_text, KeyText};
use crate::change::{Change, ChangeKind, Key};

/// Root keys to find through the database: the roots whose join path reaches a row of `node`
/// satisfying `condition` (and which pass the root's filters and soft delete).
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// The node whose rows are matched.
    pub node: NodeId,
    /// Which of its rows.
    pub condition: LookupCondition,
}

/// Which rows of a lookup's node count.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupCondition {
    /// Rows whose `columns` hold one of `values`.
    In {
        /// Columns of the node's table.
        columns: Vec<String>,
        /// Tuples as wide as `columns`, without duplicates.
        values: Vec<Key>,
    },
    /// Rows where none of `columns` is NULL.
    NotNull {
        /// Columns of the node's table.
        columns: Vec<String>,
    },
    /// Every row.
    Any,
}

/// The documents a batch of changes affects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolution {
    /// The root table was truncated: delete every document of the index before applying the
    /// outcomes of this batch.
    pub clear_index: bool,
    /// Root keys known from the changes, each once, in order of first appearance.
    pub keys: Vec<Key>,
    /// Root keys to look up; at most one per node and condition kind.
    pub lookups: Vec<Lookup>,
    /// Changes that could not be resolved.
    pub skipped: Vec<SkippedChange>,
}

/// A change the resolver could not place (a capture or mapping mismatch), for reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedChange {
    /// The change's sequence number.
    pub seq: u64,
    /// Why it was skipped.
    pub reason: String,
}

impl Resolution {
    /// Whether nothing needs doing.
    pub fn is_empty(&self) -> bool {
        !self.clear_index && self.keys.is_empty() && self.lookups.is_empty()
    }
}

/// Accumulates the effects of a batch of changes; see the [module docs](self).
#[derive(Debug)]
pub struct Resolver<'m> {
    mapping: &'m CompiledMapping,
    clear_index: bool,
    keys: Vec<Key>,
    seen: HashSet<KeyText>,
    lookups: BTreeMap<(NodeId, Kind), Pending>,
    skipped: Vec<SkippedChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    In(Vec<String>),
    NotNull(Vec<String>),
    Any,
}

#[derive(Debug, Default)]
struct Pending {
    values: Vec<Key>,
    seen: HashSet<KeyText>,
}

impl<'m> Resolver<'m> {
    /// An empty resolution for `mapping`.
    pub fn new(mapping: &'m CompiledMapping) -> Self {
        Self {
            mapping,
            clear_index: false,
            keys: Vec::new(),
            seen: HashSet::new(),
            lookups: BTreeMap::new(),
            skipped: Vec::new(),
        }
    }

    /// Adds the effects of `change`; changes to tables the mapping does not read add nothing.
    pub fn add(&mut self, change: &Change) {
        let mapping = self.mapping;
        for node in mapping.nodes().iter().filter(|n| n.table == change.table) {
            if change.kind != ChangeKind::Truncate && change.key.len() != node.key.len() {
                self.skipped.push(SkippedChange {
                    seq: change.seq,
                    reason: format!(
                        "key {} of table {:?} does not fit primary_key {:?} of the mapping",
                        serde_json::Value::from(change.key.clone()),
                        change.table,
                        node.key
                    ),
                });
                continue;
            }
            match &node.relation {
                Relation::Root => match change.kind {
                    ChangeKind::Truncate => self.clear_index = true,
                    _ => self.anchor(node, &node.key, change.key.clone()),
                },
                Relation::HasMany {
                    parent,
                    foreign_key,
                } => {
                    let Some(parent) = mapping.node(*parent) else {
                        continue;
                    };
                    if matches!(change.kind, ChangeKind::Insert | ChangeKind::Update) {
                        self.anchor(node, &node.key, change.key.clone());
                    }
                    if matches!(change.kind, ChangeKind::Update | ChangeKind::Delete) {
                        let old = change.old.as_ref().and_then(|old| {
                            foreign_key
                                .iter()
                                .map(|c| old.get(c).cloned())
                                .collect::<Option<Key>>()
                        });
                        match old {
                            // A NULL foreign key had no parent.
                            Some(old) if key_text(&old).is_none() => {}
                            Some(old) => self.anchor(parent, &parent.key, old),
                            None => self.lookup(parent.id, Kind::Any, None),
                        }
                    }
                    if change.kind == ChangeKind::Truncate {
                        self.lookup(parent.id, Kind::Any, None);
                    }
                }
                Relation::BelongsTo {
                    parent,
                    foreign_key,
                    ..
                } => {
                    let Some(parent) = mapping.node(*parent) else {
                        continue;
                    };
                    if change.kind == ChangeKind::Truncate {
                        self.lookup(parent.id, Kind::NotNull(foreign_key.clone()), None);
                    } else {
                        self.anchor(parent, foreign_key, change.key.clone());
                    }
                }
            }
        }
    }

    /// Adds every change of `changes`.
    pub fn add_all<'c>(&mut self, changes: impl IntoIterator<Item = &'c Change>) {
        for change in changes {
            self.add(change);
        }
    }

    /// The roots with a row of `node` whose `columns` hold `values`: the key itself when
    /// `node` is the root and `columns` its key, a lookup otherwise.
    fn anchor(&mut self, node: &Node, columns: &[String], values: Key) {
        if node.relation == Relation::Root && columns == node.key.as_slice() {
            if let Some(text) = key_text(&values) {
                if self.seen.insert(text) {
                    self.keys.push(values);
                }
            }
        } else {
            self.lookup(node.id, Kind::In(columns.to_vec()), Some(values));
        }
    }

    fn lookup(&mut self, node: NodeId, kind: Kind, values: Option<Key>) {
        let pending = self.lookups.entry((node, kind)).or_default();
        if let Some(values) = values {
            if let Some(text) = key_text(&values) {
                if pending.seen.insert(text) {
                    pending.values.push(values);
                }
            }
        }
    }

    /// The resolution. A lookup of every root makes the other lookups redundant; they are
    /// dropped.
    pub fn finish(self) -> Resolution {
        let all_roots = self.lookups.contains_key(&(NodeId::ROOT, Kind::Any));
        let lookups = self
            .lookups
            .into_iter()
            .filter(|((node, kind), _)| !all_roots || (*node == NodeId::ROOT && *kind == Kind::Any))
            .filter_map(|((node, kind), pending)| {
                let condition = match kind {
                    Kind::In(columns) if !pending.values.is_empty() => LookupCondition::In {
                        columns,
                        values: pending.values,
                    },
                    Kind::In(_) => return None,
                    Kind::NotNull(columns) => LookupCondition::NotNull { columns },
                    Kind::Any => LookupCondition::Any,
                };
                Some(Lookup { node, condition })
            })
            .collect();
        Resolution {
            clear_index: self.clear_index,
            keys: self.keys,
            lookups,
            skipped: self.skipped,
        }
    }
}

/// The documents `changes` affect under `mapping` (a [`Resolver`] fed every change).
pub fn resolve<'c>(
    mapping: &CompiledMapping,
    changes: impl IntoIterator<Item = &'c Change>,
) -> Resolution {
    let mut resolver = Resolver::new(mapping);
    resolver.add_all(changes);
    resolver.finish()
}

impl CompiledMapping {
    /// The columns of `table` the capture must record in a change's `old` values for updates
    /// and deletes: the foreign keys of has_many joins on that table, needed to find the
    /// parent a deleted or moved row belonged to. Sorted; empty for tables the mapping does
    /// not read or where the key suffices.
    ///
    /// For Postgres this means `REPLICA IDENTITY FULL` (or an identity index covering these
    /// columns) on each table with a non-empty list.
    pub fn required_old_columns(&self, table: &str) -> Vec<String> {
        let columns: BTreeSet<&String> = self
            .nodes()
            .iter()
            .filter(|n| n.table == table)
            .filter_map(|n| match &n.relation {
                Relation::HasMany { foreign_key, .. } => Some(foreign_key),
                Relation::Root | Relation::BelongsTo { .. } => None,
            })
            .flatten()
            .collect();
        columns.into_iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests;
