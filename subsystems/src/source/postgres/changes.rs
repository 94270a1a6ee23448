//! From pgoutput row messages to changes: the relation cache and the conversion of tuples.
//! Pure: no I/O, no clock.
//!
//! * **Key.** A change's key is the table's primary key, in key order, read by column name
//!   from the catalog ([`TableInfo::key`]): from the new tuple for inserts and updates, from
//!   the old tuple (key or full) for deletes. (The columns a Relation message flags `key` are
//!   the replica identity: the primary key under `DEFAULT`, every column under `FULL`.)
//! * **Primary-key updates.** An update whose old tuple has a different key is a `Delete` of
//!   the old key (with its old values) followed by an `Insert` of the new key.
//! * **Old values.** `old` holds the key columns and the spec's
//!   [`old_columns`](super::TableSpec::old_columns), as far as the old tuple carries them: all
//!   of them under `REPLICA IDENTITY FULL`, the identity columns otherwise. An update without
//!   an old tuple (key unchanged, identity `DEFAULT`) carries the key as its old values. Like
//!   the SQLite backend, `old` stays thin: other columns of a `FULL` old row are left out.
//! * **Unchanged TOAST.** A value pgoutput does not send because it is TOASTed and was not
//!   changed is left out of `old` (absent, not `null`), and counted in
//!   [`DecodeStats::unchanged_toast`]. In a key column of a new tuple it is taken from the old
//!   tuple if there is one, and is an error otherwise.
//! * **Truncate.** One `Truncate` change per captured relation of the message, empty key.
//! * Changes of relations the capture was not asked for (a publication shared with others,
//!   `FOR ALL TABLES`) are skipped and counted.

use std::collections::HashMap;

use super::pgoutput::{named, Column, Message, OldTuple, Relation, Tuple};
use super::tables::TableInfo;
use super::value::text_to_json;
use super::PgError;
use crate::change::{ChangeKind, Key, Row, Value};

/// A change before it gets its sequence number and position.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The table (its [`TableSpec::table`](super::TableSpec::table)).
    pub table: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The primary key (empty for `Truncate`).
    pub key: Key,
    /// Old values (see the [module docs](self)).
    pub old: Option<Row>,
}

/// Counters of the conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeStats {
    /// Row changes of relations the capture does not capture, skipped.
    pub skipped: u64,
    /// Old values left out because pgoutput sent them as unchanged TOAST.
    pub unchanged_toast: u64,
}

/// How one relation (by OID) maps to a captured table.
#[derive(Debug, Clone)]
struct Resolved {
    relation: Relation,
    /// `None`: not a captured table.
    captured: Option<Captured>,
}

#[derive(Debug, Clone)]
struct Captured {
    /// The change's table name.
    table: String,
    /// Tuple positions of the key columns, in key order.
    key: Vec<usize>,
    /// Tuple positions of the columns `old` may carry: key and requested old columns.
    old: Vec<usize>,
}

/// The relation cache: what the Relation messages of the current session said, resolved
/// against the captured tables.
#[derive(Debug, Clone)]
pub struct Relations {
    tables: Vec<TableInfo>,
    by_oid: HashMap<u32, Resolved>,
    stats: DecodeStats,
}

impl Relations {
    /// A cache for the captured `tables` (their descriptions from the catalog).
    pub fn new(tables: Vec<TableInfo>) -> Self {
        Self {
            tables,
            by_oid: HashMap::new(),
            stats: DecodeStats::default(),
        }
    }

    /// The captured tables.
    pub fn tables(&self) -> &[TableInfo] {
        &self.tables
    }

    /// The counters so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Forgets every relation: a new replication session sends them again.
    pub fn clear(&mut self) {
        self.by_oid.clear();
    }

    /// Records a Relation message. Fails if a captured table's relation lacks a key or
    /// requested old column (the table changed since the capture read the catalog: restart
    /// it).
    pub fn relation(&mut self, relation: Relation) -> Result<(), PgError> {
        let info = self
            .tables
            .iter()
            .find(|t| t.spec.schema == schema_of(&relation) && t.spec.table == relation.name);
        let captured = match info {
            None => None,
            Some(info) => {
                let position = |column: &str, what: &str| {
                    relation
                        .columns
                        .iter()
                        .position(|c| c.name == column)
                        .ok_or_else(|| PgError::BadTuple {
                            table: info.name().to_owned(),
                            reason: format!(
                                "the stream's Relation message has no column `{column}` ({what}); \
                                 the table changed since the capture started: restart it"
                            ),
                        })
                };
                let key = info
                    .key
                    .iter()
                    .map(|k| position(k, "primary key"))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut old = key.clone();
                for column in &info.spec.old_columns {
                    let at = position(column, "requested old value")?;
                    if !old.contains(&at) {
                        old.push(at);
                    }
                }
                Some(Captured {
                    table: info.name().to_owned(),
                    key,
                    old,
                })
            }
        };
        self.by_oid
            .insert(relation.id, Resolved { relation, captured });
        Ok(())
    }

    /// Appends the drafts of a row message (Insert, Update, Delete, Truncate) to `out`; other
    /// messages add nothing. Fails on a row change of a relation no Relation message
    /// described, and on tuples that cannot give a key.
    pub fn drafts(&mut self, message: &Message, out: &mut Vec<Draft>) -> Result<(), PgError> {
        match message {
            Message::Insert { relation, new } => {
                let Some((resolved, captured)) = self.captured(*relation)? else {
                    return Ok(());
                };
                let key = key_of(resolved, captured, new, None)?;
                out.push(Draft {
                    table: captured.table.clone(),
                    kind: ChangeKind::Insert,
                    key,
                    old: None,
                });
            }
            Message::Update { relation, old, new } => {
                let Some((resolved, captured)) = self.captured(*relation)? else {
                    return Ok(());
                };
                let old_tuple = old.as_ref().map(OldTuple::tuple);
                let new_key = key_of(resolved, captured, new, old_tuple)?;
                let mut toast = 0;
                match old {
                    None => {
                        let old_row = captured
                            .key
                            .iter()
                            .zip(&new_key)
                            .map(|(&at, value)| (column_name(resolved, at), value.clone()))
                            .collect();
                        out.push(Draft {
                            table: captured.table.clone(),
                            kind: ChangeKind::Update,
                            key: new_key,
                            old: Some(old_row),
                        });
                    }
                    Some(old) => {
                        let old_key = key_of(resolved, captured, old.tuple(), None)?;
                        let old_row = old_row(resolved, captured, old, &mut toast);
                        if old_key == new_key {
                            out.push(Draft {
                                table: captured.table.clone(),
                                kind: ChangeKind::Update,
                                key: new_key,
                                old: Some(old_row),
                            });
                        } else {
                            out.push(Draft {
                                table: captured.table.clone(),
                                kind: ChangeKind::Delete,
                                key: old_key,
                                old: Some(old_row),
                            });
                            out.push(Draft {
                                table: captured.table.clone(),
                                kind: ChangeKind::Insert,
                                key: new_key,
                                old: None,
                            });
                        }
                    }
                }
                self.stats.unchanged_toast += toast;
            }
            Message::Delete { relation, old } => {
                let Some((resolved, captured)) = self.captured(*relation)? else {
                    return Ok(());
                };
                let key = key_of(resolved, captured, old.tuple(), None)?;
                let mut toast = 0;
                let old_row = old_row(resolved, captured, old, &mut toast);
                out.push(Draft {
                    table: captured.table.clone(),
                    kind: ChangeKind::Delete,
                    key,
                    old: Some(old_row),
                });
                self.stats.unchanged_toast += toast;
            }
            Message::Truncate { relations, .. } => {
                for oid in relations {
                    if let Some((_, captured)) = self.captured(*oid)? {
                        out.push(Draft {
                            table: captured.table.clone(),
                            kind: ChangeKind::Truncate,
                            key: Vec::new(),
                            old: None,
                        });
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The resolved relation of `oid` if it is captured; counts a skip if it is not.
    fn captured(&mut self, oid: u32) -> Result<Option<(&Resolved, &Captured)>, PgError> {
        let Some(resolved) = self.by_oid.get(&oid) else {
            return Err(PgError::BadTuple {
                table: format!("OID {oid}"),
                reason: "row change for a relation no Relation message described".to_owned(),
            });
        };
        match &resolved.captured {
            Some(captured) => Ok(Some((resolved, captured))),
            None => {
                self.stats.skipped += 1;
                Ok(None)
            }
        }
    }
}

/// A relation's schema: pgoutput sends `pg_catalog` as the empty string.
fn schema_of(relation: &Relation) -> &str {
    if relation.namespace.is_empty() {
        "pg_catalog"
    } else {
        &relation.namespace
    }
}

fn column_name(resolved: &Resolved, at: usize) -> String {
    resolved
        .relation
        .columns
        .get(at)
        .map(|c| c.name.clone())
        .unwrap_or_default()
}

/// A column value as JSON; `None` for unchanged TOAST.
fn value(resolved: &Resolved, at: usize, column: &Column) -> Result<Option<Value>, String> {
    let type_id = resolved.relation.columns.get(at).map_or(0, |c| c.type_id);
    match column {
        Column::Null => Ok(Some(Value::Null)),
        Column::UnchangedToast => Ok(None),
        Column::Text(bytes) => Ok(Some(text_to_json(type_id, &String::from_utf8_lossy(bytes)))),
        Column::Binary(_) => Err(
            "binary column values are not supported (the capture never asks for them)".to_owned(),
        ),
    }
}

/// The key from `tuple`, taking unchanged-TOAST key values from `fallback` (the old tuple).
fn key_of(
    resolved: &Resolved,
    captured: &Captured,
    tuple: &Tuple,
    fallback: Option<&Tuple>,
) -> Result<Key, PgError> {
    let bad = |reason: String| PgError::BadTuple {
        table: captured.table.clone(),
        reason,
    };
    named(&resolved.relation, tuple).map_err(|e| bad(e.to_string()))?;
    captured
        .key
        .iter()
        .map(|&at| {
            let name = column_name(resolved, at);
            let from_tuple = tuple
                .0
                .get(at)
                .map(|c| value(resolved, at, c))
                .transpose()
                .map_err(&bad)?;
            let found = match from_tuple.flatten() {
                Some(v) => Some(v),
                None => fallback
                    .and_then(|old| old.0.get(at))
                    .map(|c| value(resolved, at, c))
                    .transpose()
                    .map_err(&bad)?
                    .flatten(),
            };
            match found {
                Some(Value::Null) => Err(bad(format!(
                    "key column `{name}` is NULL in the tuple (a replica identity that does \
                     not cover the primary key?)"
                ))),
                Some(v) => Ok(v),
                None => Err(bad(format!(
                    "key column `{name}` was sent as an unchanged TOAST value without an old value"
                ))),
            }
        })
        .collect()
}

/// The old values an old tuple carries (see the [module docs](self)).
fn old_row(resolved: &Resolved, captured: &Captured, old: &OldTuple, toast: &mut u64) -> Row {
    let tuple = old.tuple();
    let mut row = Row::new();
    for &at in &captured.old {
        let Some(column) = resolved.relation.columns.get(at) else {
            continue;
        };
        // A key tuple carries the identity columns only; the others are placeholders.
        if matches!(old, OldTuple::Key(_)) && !column.key {
            continue;
        }
        match tuple.0.get(at).map(|c| value(resolved, at, c)) {
            Some(Ok(Some(v))) => {
                row.insert(column.name.clone(), v);
            }
            Some(Ok(None)) => *toast += 1,
            Some(Err(_)) | None => {}
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::source::postgres::pgoutput::{RelationColumn, ReplicaIdentity};
    use crate::source::postgres::tables::tests::info;
    use crate::source::postgres::TableSpec;

    fn text(s: &str) -> Column {
        Column::Text(s.as_bytes().to_vec())
    }

    fn relation(identity: ReplicaIdentity) -> Relation {
        let full = identity == ReplicaIdentity::Full;
        Relation {
            id: 1,
            namespace: "public".to_owned(),
            name: "items".to_owned(),
            replica_identity: identity,
            columns: vec![
                RelationColumn {
                    key: true,
                    name: "id".to_owned(),
                    type_id: 23,
                    type_modifier: -1,
                },
                RelationColumn {
                    key: full,
                    name: "category_id".to_owned(),
                    type_id: 23,
                    type_modifier: -1,
                },
                RelationColumn {
                    key: full,
                    name: "body".to_owned(),
                    type_id: 25,
                    type_modifier: -1,
                },
            ],
        }
    }

    fn cache(identity: ReplicaIdentity) -> Result<Relations, PgError> {
        let spec = TableSpec::new("items").with_old_columns(["category_id"]);
        let table = info(
            spec,
            &[("id", 23), ("category_id", 23), ("body", 25)],
            &["id"],
            identity,
        );
        let other = info(TableSpec::new("tags"), &[("id", 23)], &["id"], identity);
        let mut relations = Relations::new(vec![table, other]);
        relations.relation(relation(identity))?;
        let mut unrelated = relation(identity);
        unrelated.id = 2;
        unrelated.name = "not_captured".to_owned();
        relations.relation(unrelated)?;
        Ok(relations)
    }

    fn drafts(relations: &mut Relations, message: Message) -> Result<Vec<Draft>, PgError> {
        let mut out = Vec::new();
        relations.drafts(&message, &mut out)?;
        Ok(out)
    }

    fn row(pairs: &[(&str, Value)]) -> Option<Row> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn every_kind() -> Result<(), PgError> {
        let mut r = cache(ReplicaIdentity::Full)?;
        let new = Tuple(vec![text("1"), text("7"), text("hello")]);
        let insert = drafts(
            &mut r,
            Message::Insert {
                relation: 1,
                new: new.clone(),
            },
        )?;
        assert_eq!(insert[0].kind, ChangeKind::Insert);
        assert_eq!(insert[0].key, vec![json!(1)]);
        assert_eq!(insert[0].old, None);

        let moved = Tuple(vec![text("1"), text("8"), Column::UnchangedToast]);
        let update = drafts(
            &mut r,
            Message::Update {
                relation: 1,
                old: Some(OldTuple::Full(new.clone())),
                new: moved,
            },
        )?;
        assert_eq!(update.len(), 1);
        assert_eq!(update[0].kind, ChangeKind::Update);
        assert_eq!(
            update[0].old,
            row(&[("id", json!(1)), ("category_id", json!(7))])
        );

        let delete = drafts(
            &mut r,
            Message::Delete {
                relation: 1,
                old: OldTuple::Full(new),
            },
        )?;
        assert_eq!(delete[0].kind, ChangeKind::Delete);
        assert_eq!(delete[0].key, vec![json!(1)]);

        let truncate = drafts(
            &mut r,
            Message::Truncate {
                relations: vec![1, 2],
                cascade: false,
                restart_identity: false,
            },
        )?;
        assert_eq!(truncate.len(), 1, "the uncaptured relation adds nothing");
        assert_eq!(truncate[0].kind, ChangeKind::Truncate);
        assert!(truncate[0].key.is_empty());
        assert_eq!(r.stats().skipped, 1);
        Ok(())
    }

    #[test]
    fn key_change_is_delete_then_insert() -> Result<(), PgError> {
        let mut r = cache(ReplicaIdentity::Default)?;
        let old = OldTuple::Key(Tuple(vec![text("1"), Column::Null, Column::Null]));
        let new = Tuple(vec![text("100"), text("7"), text("x")]);
        let out = drafts(
            &mut r,
            Message::Update {
                relation: 1,
                old: Some(old),
                new,
            },
        )?;
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].kind, out[0].key.clone()),
            (ChangeKind::Delete, vec![json!(1)])
        );
        // Key tuple: the placeholders of non-identity columns are not old values.
        assert_eq!(out[0].old, row(&[("id", json!(1))]));
        assert_eq!(
            (out[1].kind, out[1].key.clone()),
            (ChangeKind::Insert, vec![json!(100)])
        );
        assert_eq!(out[1].old, None);
        Ok(())
    }

    #[test]
    fn update_without_old_tuple_carries_the_key() -> Result<(), PgError> {
        let mut r = cache(ReplicaIdentity::Default)?;
        let new = Tuple(vec![text("5"), Column::Null, Column::UnchangedToast]);
        let out = drafts(
            &mut r,
            Message::Update {
                relation: 1,
                old: None,
                new,
            },
        )?;
        assert_eq!(out[0].kind, ChangeKind::Update);
        assert_eq!(out[0].old, row(&[("id", json!(5))]));
        Ok(())
    }

    #[test]
    fn unchanged_toast_is_left_out_and_counted() -> Result<(), PgError> {
        let mut r = cache(ReplicaIdentity::Full)?;
        let old = OldTuple::Full(Tuple(vec![text("1"), Column::UnchangedToast, text("b")]));
        let new = Tuple(vec![text("1"), text("2"), text("b")]);
        let out = drafts(
            &mut r,
            Message::Update {
                relation: 1,
                old: Some(old),
                new,
            },
        )?;
        assert_eq!(out[0].old, row(&[("id", json!(1))]));
        assert_eq!(r.stats().unchanged_toast, 1);
        Ok(())
    }

    #[test]
    fn errors_name_the_table() -> Result<(), PgError> {
        let mut r = cache(ReplicaIdentity::Default)?;
        let unknown = drafts(
            &mut r,
            Message::Insert {
                relation: 99,
                new: Tuple::default(),
            },
        );
        assert!(matches!(unknown, Err(PgError::BadTuple { table, .. }) if table == "OID 99"));
        let short = drafts(
            &mut r,
            Message::Insert {
                relation: 1,
                new: Tuple(vec![text("1")]),
            },
        );
        assert!(matches!(short, Err(PgError::BadTuple { table, .. }) if table == "items"));
        let null_key = drafts(
            &mut r,
            Message::Insert {
                relation: 1,
                new: Tuple(vec![Column::Null, Column::Null, Column::Null]),
            },
        );
        assert!(
            matches!(null_key, Err(PgError::BadTuple { reason, .. }) if reason.contains("NULL"))
        );
        let mut renamed = relation(ReplicaIdentity::Default);
        renamed.columns[0].name = "ident".to_owned();
        assert!(matches!(
            r.relation(renamed),
            Err(PgError::BadTuple { reason, .. }) if reason.contains("`id`")
        ));
        Ok(())
    }
}
