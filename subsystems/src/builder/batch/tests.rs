//! Building documents for real against SQLite.

use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::{json, Value};

use super::*;
use crate::builder::assemble::{DeleteReason, DocumentFailure, FailureReason};
use crate::builder::fixtures::{blog_db, posts_mapping, Counting, SCHEMA_SQL};
use crate::builder::mapping::FilterOp;
use crate::builder::resolve::Lookup;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn keys(ids: &[i64]) -> Vec<Key> {
    ids.iter().map(|&id| vec![json!(id)]).collect()
}

fn build(db: &mut Connection, ids: &[i64]) -> Result<Vec<Outcome>, BuildError<rusqlite::Error>> {
    let mapping = posts_mapping();
    DocumentBuilder::new(&mapping, Dialect::Sqlite).build(db, &keys(ids))
}

#[test]
fn a_full_document() -> TestResult {
    let mut db = blog_db();
    let outcomes = build(&mut db, &[1])?;
    let expected = json!({
        "id": 1,
        "title": "Hello",
        "tags": ["rust", "sql"],
        "published": "2024-05-01T10:00:00",
        "views": 10,
        "meta": {"a": 1},
        "author": {"name": "Ada", "email": "ada@example.com"},
        "comments": [
            // created_at NULL sorts first; then by date; unapproved and soft-deleted are left out.
            {"id": 14, "body": "Undated", "author": null, "reactions": []},
            {"id": 11, "body": "Second", "author": {"name": "Cy"},
             "reactions": [{"user": "ann", "kind": "like"}]},
            {"id": 10, "body": "First", "author": {"name": "Bob"},
             "reactions": [{"user": "ann", "kind": "like"}, {"user": "bob", "kind": "love"}]},
        ],
    });
    assert_eq!(
        outcomes,
        [Outcome::Upsert {
            id: "1".to_owned(),
            key: vec![json!(1)],
            document: expected
        }]
    );
    Ok(())
}

#[test]
fn every_outcome_in_one_batch() -> TestResult {
    let mut db = blog_db();
    let mut counting = Counting::new(&mut db);
    let mapping = posts_mapping();
    let outcomes = DocumentBuilder::new(&mapping, Dialect::Sqlite)
        .build(&mut counting, &keys(&[7, 2, 3, 4, 5, 6, 404, 1, 7]))?;
    let summary: Vec<(String, String)> = outcomes
        .iter()
        .map(|o| {
            let what = match o {
                Outcome::Upsert { .. } => "upsert".to_owned(),
                Outcome::Delete { reason, .. } => format!("delete: {reason}"),
                Outcome::Failed { failure, .. } => format!("failed: {failure}"),
            };
            (o.id().to_owned(), what)
        })
        .collect();
    let expected = [
        ("7", "upsert"),
        ("2", "delete: the row fails filter[0] (status in)"),
        ("3", "delete: the row is soft-deleted"),
        (
            "4",
            "failed: table \"posts\", key [4]: required \"author\" (\"authors\") not found for \
             foreign key [99] (at $)",
        ),
        (
            "5",
            "failed: table \"posts\", key [5]: column \"views\": \"lots\" is not a valid int: \
             not an integer (at $)",
        ),
        (
            "6",
            "failed: table \"posts\", key [6]: required \"author\" (\"authors\") not found for \
             foreign key [null] (at $)",
        ),
        ("404", "delete: the row does not exist"),
        ("1", "upsert"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(id, what)| ((*id).to_owned(), (*what).to_owned()))
        .collect();
    assert_eq!(summary, expected);
    // Defaults: NULL tags become [], NULL views 0; no comments is an empty array.
    assert_eq!(
        outcomes[0],
        Outcome::Upsert {
            id: "7".to_owned(),
            key: vec![json!(7)],
            document: json!({
                "id": 7, "title": "Plain", "tags": [], "published": null, "views": 0,
                "meta": null, "author": {"name": "Cy", "email": "cy@example.com"},
                "comments": [],
            }),
        }
    );
    assert_eq!(
        outcomes[1],
        Outcome::Delete {
            id: "2".to_owned(),
            key: vec![json!(2)],
            reason: DeleteReason::Filtered {
                filter: 0,
                column: "status".to_owned(),
                op: FilterOp::In
            },
        }
    );
    // One query per node: posts, authors, comments, comment authors, reactions.
    assert_eq!(counting.statements.len(), 5, "{:#?}", counting.statements);
    Ok(())
}

#[test]
fn failures_deep_in_the_document_name_the_offending_row() -> TestResult {
    let mut db = blog_db();
    // A text column declared int in a nested join.
    let text = crate::builder::fixtures::POSTS_TOML.replace(
        "{ column = \"user_name\", name = \"user\", type = \"string\" }",
        "{ column = \"user_name\", name = \"user\", type = \"int\" }",
    );
    let mapping = CompiledMapping::from_toml_str(&text, "posts.toml")?;
    let outcomes =
        DocumentBuilder::new(&mapping, Dialect::Sqlite).build(&mut db, &keys(&[1, 7]))?;
    let failure = DocumentFailure {
        table: "reactions".to_owned(),
        key: vec![json!(11), json!("ann")],
        path: "comments[1].reactions[0]".to_owned(),
        reason: FailureReason::BadValue {
            column: "user_name".to_owned(),
            error: crate::builder::convert::ConversionError {
                ty: crate::builder::mapping::FieldType::Int,
                value: "\"ann\"".to_owned(),
                detail: "not an integer",
            },
        },
    };
    assert_eq!(
        outcomes[0],
        Outcome::Failed {
            id: "1".to_owned(),
            key: vec![json!(1)],
            failure
        }
    );
    assert!(
        matches!(outcomes[1], Outcome::Upsert { .. }),
        "other documents still build"
    );
    Ok(())
}

#[test]
fn a_missing_optional_belongs_to_is_null() -> TestResult {
    let mut db = blog_db();
    db.execute("UPDATE comments SET author_id = 77 WHERE id = 11", [])?;
    let outcomes = build(&mut db, &[1])?;
    let Some(Outcome::Upsert { document, .. }) = outcomes.first() else {
        panic!("{outcomes:?}");
    };
    assert_eq!(document["comments"][1]["author"], Value::Null);
    Ok(())
}

#[test]
fn keys_match_across_value_forms_and_are_built_once() -> TestResult {
    let mut db = blog_db();
    let mapping = posts_mapping();
    let outcomes = DocumentBuilder::new(&mapping, Dialect::Sqlite).build(
        &mut db,
        &[
            vec![json!("1")],
            vec![json!(1)],
            vec![json!(1.0)],
            vec![Value::Null],
        ],
    )?;
    assert_eq!(outcomes.len(), 2);
    assert!(matches!(&outcomes[0], Outcome::Upsert { id, .. } if id == "1"));
    assert!(matches!(
        &outcomes[1],
        Outcome::Failed { failure, .. } if failure.reason == FailureReason::NullKey
    ));
    Ok(())
}

#[test]
fn an_empty_batch_runs_no_query() -> TestResult {
    let mut db = blog_db();
    let mut counting = Counting::new(&mut db);
    let mapping = posts_mapping();
    let outcomes = DocumentBuilder::new(&mapping, Dialect::Sqlite).build(&mut counting, &[])?;
    assert!(outcomes.is_empty());
    assert!(counting.statements.is_empty());
    Ok(())
}

#[test]
fn executor_errors_fail_the_batch_with_context() {
    let mut db = blog_db();
    let result = db.execute_batch("DROP TABLE reactions");
    assert!(result.is_ok());
    let error = build(&mut db, &[1]).map(|_| ());
    let Err(error) = error else {
        panic!("{error:?}");
    };
    let query = &error.query;
    assert_eq!(
        (query.index.as_str(), query.table.as_str()),
        ("posts", "reactions")
    );
    assert!(query
        .sql
        .starts_with("SELECT \"user_name\", \"kind\", \"comment_id\" FROM \"reactions\""));
    assert!(error.to_string().starts_with(
        "index \"posts\": query on table \"reactions\" failed: no such table: reactions \
         (SQL: SELECT"
    ));
}

#[test]
fn null_aware_filters_and_a_flag_soft_delete_run_on_sqlite() -> TestResult {
    let mut db = Connection::open_in_memory()?;
    db.execute_batch(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, kind TEXT, level INTEGER, hidden INTEGER);
         INSERT INTO items VALUES
           (1, 'a', 1, 0), (2, NULL, NULL, NULL), (3, 'b', 2, 0), (4, 'x', 1, 0), (5, 'a', 3, 1);",
    )?;
    let text = r#"index = "items"
table = "items"
primary_key = "id"
filter = [
  { column = "kind", op = "ne", value = "x" },
  { column = "level", op = "not_in", value = [2] },
]
soft_delete = { column = "hidden", when = "true" }
fields = [{ column = "kind", type = "string", default = "none" }]
"#;
    let mapping = CompiledMapping::from_toml_str(text, "items.toml")?;
    let builder = DocumentBuilder::new(&mapping, Dialect::Sqlite);
    let outcomes = builder.build(&mut db, &keys(&[1, 2, 3, 4, 5]))?;
    let summary: Vec<String> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Upsert { document, .. } => document.to_string(),
            Outcome::Delete { reason, .. } => reason.to_string(),
            Outcome::Failed { failure, .. } => failure.to_string(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "{\"kind\":\"a\"}",
            // NULL is "not x" and "not in [2]"; a NULL flag is not soft-deleted.
            "{\"kind\":\"none\"}",
            "the row fails filter[1] (level not_in)",
            "the row fails filter[0] (kind ne)",
            "the row is soft-deleted",
        ]
    );
    let all = Lookup {
        node: crate::builder::compiled::NodeId::ROOT,
        condition: crate::builder::resolve::LookupCondition::Any,
    };
    assert_eq!(builder.lookup(&mut db, &all)?, keys(&[1, 2]));
    Ok(())
}

#[test]
fn composite_root_keys_build_on_sqlite() -> TestResult {
    let mut db = Connection::open_in_memory()?;
    db.execute_batch(
        "CREATE TABLE docs (tenant TEXT, id INTEGER, title TEXT, PRIMARY KEY (tenant, id));
         CREATE TABLE doc_tags (tenant TEXT, doc_id INTEGER, tag TEXT,
                                PRIMARY KEY (tenant, doc_id, tag));
         INSERT INTO docs VALUES ('a', 1, 'A1'), ('b', 1, 'B1'), ('a', 2, 'A2');
         INSERT INTO doc_tags VALUES ('a', 1, 'z'), ('a', 1, 'y'), ('b', 1, 'x');",
    )?;
    let text = r#"index = "docs"
table = "docs"
primary_key = ["tenant", "id"]
fields = [{ column = "title", type = "string" }]
[has_many.tags]
table = "doc_tags"
foreign_key = ["tenant", "doc_id"]
primary_key = ["tenant", "doc_id", "tag"]
fields = [{ column = "tag", type = "string" }]
"#;
    let mapping = CompiledMapping::from_toml_str(text, "docs.toml")?;
    let outcomes = DocumentBuilder::new(&mapping, Dialect::Sqlite).build(
        &mut db,
        &[
            vec![json!("a"), json!(1)],
            vec![json!("b"), json!("1")],
            vec![json!("c"), json!(1)],
        ],
    )?;
    let summary: Vec<(String, Value)> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Upsert { id, document, .. } => (id.clone(), document.clone()),
            other => (other.id().to_owned(), Value::Null),
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "a:1".to_owned(),
                json!({"title": "A1", "tags": [{"tag": "y"}, {"tag": "z"}]})
            ),
            (
                "b:1".to_owned(),
                json!({"title": "B1", "tags": [{"tag": "x"}]})
            ),
            ("c:1".to_owned(), Value::Null),
        ]
    );
    Ok(())
}

/// A database of `posts` posts, each with two comments with two reactions each.
fn large_db(posts: usize) -> Result<Connection, rusqlite::Error> {
    let db = Connection::open_in_memory()?;
    db.execute_batch(SCHEMA_SQL)?;
    db.execute_batch("INSERT INTO authors (id, name) VALUES (1, 'Ada'), (2, 'Bob');")?;
    let tx = db.unchecked_transaction()?;
    for p in 1..=posts {
        let p = i64::try_from(p).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO posts (id, author_id, title, status) VALUES (?1, 1 + ?1 % 2, 'T', 'published')",
            [p],
        )?;
        for c in 0..2 {
            let comment = p * 10 + c;
            tx.execute(
                "INSERT INTO comments (id, post_id, author_id, body, created_at) \
                 VALUES (?1, ?2, 2, 'c', '2024-01-01')",
                [comment, p],
            )?;
            tx.execute(
                "INSERT INTO reactions (comment_id, user_name, kind) VALUES (?1, 'a', 'x'), (?1, 'b', 'y')",
                [comment],
            )?;
        }
    }
    tx.commit()?;
    Ok(db)
}

#[test]
fn a_batch_of_500_uses_five_queries() -> TestResult {
    let mut db = large_db(500)?;
    let ids: Vec<i64> = (1..=500).collect();
    let mut counting = Counting::new(&mut db);
    let mapping = posts_mapping();
    let outcomes =
        DocumentBuilder::new(&mapping, Dialect::Sqlite).build(&mut counting, &keys(&ids))?;
    assert_eq!(counting.statements.len(), 5);
    assert_eq!(outcomes.len(), 500);
    for (outcome, id) in outcomes.iter().zip(1..) {
        let Outcome::Upsert { document, .. } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(document["id"], json!(id));
        assert_eq!(document["comments"].as_array().map(Vec::len), Some(2));
        assert_eq!(document["comments"][1]["id"], json!(id * 10 + 1));
        assert_eq!(document["comments"][1]["reactions"][1]["user"], json!("b"));
        assert_eq!(
            document["author"]["name"],
            json!(if id % 2 == 0 { "Ada" } else { "Bob" })
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any batch size costs at most one query per node, and every key gets one outcome.
    #[test]
    fn queries_per_batch_do_not_grow_with_the_batch(batch in 0usize..1200, offset in 0i64..100) {
        let db = large_db(300);
        prop_assert!(db.is_ok());
        let Ok(mut db) = db else { return Ok(()) };
        let ids: Vec<i64> = (0..batch).map(|i| i64::try_from(i).unwrap_or(0) + offset).collect();
        let mut counting = Counting::new(&mut db);
        let mapping = posts_mapping();
        let outcomes = DocumentBuilder::new(&mapping, Dialect::Sqlite).build(&mut counting, &keys(&ids));
        prop_assert!(outcomes.is_ok());
        let outcomes = outcomes.unwrap_or_default();
        prop_assert!(counting.statements.len() <= mapping.nodes().len());
        prop_assert_eq!(outcomes.len(), batch);
        let upserts = outcomes.iter().filter(|o| matches!(o, Outcome::Upsert { .. })).count();
        let existing = ids.iter().filter(|&&id| (1..=300).contains(&id)).count();
        prop_assert_eq!(upserts, existing);
    }

    /// Past the parameter limit, batches split: still bounded by nodes × chunks.
    #[test]
    fn a_small_parameter_limit_splits_but_stays_bounded(batch in 1usize..400, max in 5usize..120) {
        let db = large_db(200);
        prop_assert!(db.is_ok());
        let Ok(mut db) = db else { return Ok(()) };
        let ids: Vec<i64> = (1..=i64::try_from(batch).unwrap_or(1)).collect();
        let mut counting = Counting::new(&mut db);
        let mapping = posts_mapping();
        let builder = DocumentBuilder::new(&mapping, Dialect::Sqlite).with_max_params(max);
        let outcomes = builder.build(&mut counting, &keys(&ids));
        prop_assert!(outcomes.is_ok());
        let existing = batch.min(200);
        // Widest level: the comments (2 per post) feeding the reactions query.
        let bound = mapping.nodes().len() * (2 * existing).div_ceil(max - 2).max(1);
        prop_assert!(counting.statements.len() <= bound, "{} > {}", counting.statements.len(), bound);
        let upserts = outcomes.unwrap_or_default().iter().filter(|o| matches!(o, Outcome::Upsert { .. })).count();
        prop_assert_eq!(upserts, existing);
    }
}
