//! Tests of change resolution.

use serde_json::json;

use super::*;
use crate::builder::batch::DocumentBuilder;
use crate::builder::fixtures::{blog_db, posts_mapping};
use crate::builder::plan::Dialect;
use crate::change::{Position, Row, Value};

fn change(table: &str, kind: ChangeKind, key: Key, old: Option<Vec<(&str, Value)>>) -> Change {
    Change {
        seq: 1,
        position: Position(1),
        table: table.to_owned(),
        kind,
        key,
        old: old.map(|pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Row>()
        }),
    }
}

fn node_id(mapping: &CompiledMapping, index: usize) -> NodeId {
    mapping.nodes()[index].id
}

fn one_key(key: i64) -> Key {
    vec![json!(key)]
}

fn by(node: NodeId, columns: &[&str], values: Vec<Key>) -> Lookup {
    Lookup {
        node,
        condition: LookupCondition::In {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            values,
        },
    }
}

#[test]
fn root_changes_name_their_key_once() {
    let mapping = posts_mapping();
    let resolution = resolve(
        &mapping,
        &[
            change("posts", ChangeKind::Insert, one_key(1), None),
            change("posts", ChangeKind::Update, vec![json!("1")], None),
            change("posts", ChangeKind::Delete, one_key(2), None),
            change("unmapped", ChangeKind::Delete, one_key(3), None),
        ],
    );
    assert_eq!(
        resolution,
        Resolution {
            keys: vec![one_key(1), one_key(2)],
            ..Resolution::default()
        }
    );
}

#[test]
fn root_truncate_clears_the_index() {
    let mapping = posts_mapping();
    let resolution = resolve(
        &mapping,
        &[
            change("posts", ChangeKind::Truncate, Vec::new(), None),
            change("posts", ChangeKind::Insert, one_key(5), None),
        ],
    );
    assert!(resolution.clear_index);
    assert_eq!(resolution.keys, [one_key(5)]);
}

#[test]
fn has_many_children_name_old_and_new_parents() {
    let mapping = posts_mapping();
    let comments = node_id(&mapping, 2);
    let resolution = resolve(
        &mapping,
        &[
            // Insert: the current parent, looked up.
            change("comments", ChangeKind::Insert, one_key(10), None),
            // Moved from post 2: the old parent directly, the new one looked up.
            change(
                "comments",
                ChangeKind::Update,
                one_key(11),
                Some(vec![("post_id", json!(2)), ("id", json!(11))]),
            ),
            // Deleted: the old parent.
            change(
                "comments",
                ChangeKind::Delete,
                one_key(12),
                Some(vec![("post_id", json!(3))]),
            ),
            // A NULL old foreign key had no parent.
            change(
                "comments",
                ChangeKind::Delete,
                one_key(13),
                Some(vec![("post_id", Value::Null)]),
            ),
        ],
    );
    assert_eq!(resolution.keys, [one_key(2), one_key(3)]);
    assert_eq!(
        resolution.lookups,
        [by(comments, &["id"], vec![one_key(10), one_key(11)])]
    );
    assert!(!resolution.clear_index);
}

#[test]
fn a_missing_old_foreign_key_falls_back_to_every_root() {
    let mapping = posts_mapping();
    let resolution = resolve(
        &mapping,
        &[
            change("comments", ChangeKind::Delete, one_key(12), None),
            change("authors", ChangeKind::Update, one_key(1), None),
        ],
    );
    assert_eq!(
        resolution.lookups,
        [Lookup {
            node: NodeId::ROOT,
            condition: LookupCondition::Any
        }],
        "every root makes the author lookups redundant"
    );
}

#[test]
fn nested_children_resolve_through_their_parent() {
    let mapping = posts_mapping();
    let comments = node_id(&mapping, 2);
    let reactions = node_id(&mapping, 4);
    let resolution = resolve(
        &mapping,
        &[
            change(
                "reactions",
                ChangeKind::Delete,
                vec![json!(10), json!("ann")],
                Some(vec![("comment_id", json!(10))]),
            ),
            change(
                "reactions",
                ChangeKind::Insert,
                vec![json!(11), json!("bob")],
                None,
            ),
            change("reactions", ChangeKind::Truncate, Vec::new(), None),
        ],
    );
    assert!(resolution.keys.is_empty());
    assert_eq!(
        resolution.lookups,
        [
            by(comments, &["id"], vec![one_key(10)]),
            Lookup {
                node: comments,
                condition: LookupCondition::Any
            },
            by(
                reactions,
                &["comment_id", "user_name"],
                vec![vec![json!(11), json!("bob")]]
            ),
        ]
    );
}

#[test]
fn belongs_to_targets_find_the_rows_referencing_them() {
    let mapping = posts_mapping();
    let comments = node_id(&mapping, 2);
    let resolution = resolve(
        &mapping,
        &[
            change("authors", ChangeKind::Update, one_key(2), None),
            change("authors", ChangeKind::Delete, one_key(3), None),
            change("authors", ChangeKind::Update, vec![json!("2")], None),
        ],
    );
    assert!(resolution.keys.is_empty());
    assert_eq!(
        resolution.lookups,
        [
            by(NodeId::ROOT, &["author_id"], vec![one_key(2), one_key(3)]),
            by(comments, &["author_id"], vec![one_key(2), one_key(3)]),
        ]
    );
    let truncated = resolve(
        &mapping,
        &[change("authors", ChangeKind::Truncate, Vec::new(), None)],
    );
    assert_eq!(
        truncated.lookups,
        [
            Lookup {
                node: NodeId::ROOT,
                condition: LookupCondition::NotNull {
                    columns: vec!["author_id".to_owned()]
                }
            },
            Lookup {
                node: comments,
                condition: LookupCondition::NotNull {
                    columns: vec!["author_id".to_owned()]
                }
            },
        ]
    );
}

#[test]
fn child_truncate_of_a_first_level_has_many_is_every_root() {
    let mapping = posts_mapping();
    let resolution = resolve(
        &mapping,
        &[change("comments", ChangeKind::Truncate, Vec::new(), None)],
    );
    assert_eq!(
        resolution.lookups,
        [Lookup {
            node: NodeId::ROOT,
            condition: LookupCondition::Any
        }]
    );
}

#[test]
fn keys_of_the_wrong_width_are_skipped_and_reported() {
    let mapping = posts_mapping();
    let mut bad = change("posts", ChangeKind::Insert, vec![json!(1), json!(2)], None);
    bad.seq = 42;
    let resolution = resolve(&mapping, &[bad]);
    assert!(resolution.is_empty());
    assert_eq!(
        resolution.skipped,
        [SkippedChange {
            seq: 42,
            reason: "key [1,2] of table \"posts\" does not fit primary_key [\"id\"] of the mapping"
                .to_owned()
        }]
    );
}

#[test]
fn required_old_columns_are_the_has_many_foreign_keys() {
    let mapping = posts_mapping();
    assert_eq!(mapping.required_old_columns("comments"), ["post_id"]);
    assert_eq!(mapping.required_old_columns("reactions"), ["comment_id"]);
    assert!(mapping.required_old_columns("posts").is_empty());
    assert!(mapping.required_old_columns("authors").is_empty());
    assert!(mapping.required_old_columns("elsewhere").is_empty());
}

#[test]
fn lookups_run_against_sqlite() -> Result<(), Box<dyn std::error::Error>> {
    let mapping = posts_mapping();
    let mut db = blog_db();
    let builder = DocumentBuilder::new(&mapping, Dialect::Sqlite);
    // Bob (2) wrote post 2 (a draft: not indexed), post 5, and comment 10 on post 1.
    let resolution = resolve(
        &mapping,
        &[
            change("authors", ChangeKind::Update, one_key(2), None),
            change("posts", ChangeKind::Update, one_key(7), None),
        ],
    );
    assert_eq!(
        builder.keys_for(&mut db, &resolution)?,
        [one_key(7), one_key(5), one_key(1)]
    );
    // A reaction on comment 11 (post 1).
    let resolution = resolve(
        &mapping,
        &[change(
            "reactions",
            ChangeKind::Insert,
            vec![json!(11), json!("ann")],
            None,
        )],
    );
    assert_eq!(builder.keys_for(&mut db, &resolution)?, [one_key(1)]);
    // Truncating comments: every indexed root.
    let resolution = resolve(
        &mapping,
        &[change("comments", ChangeKind::Truncate, Vec::new(), None)],
    );
    assert_eq!(
        builder.keys_for(&mut db, &resolution)?,
        [1, 4, 5, 6, 7].map(one_key)
    );
    Ok(())
}
