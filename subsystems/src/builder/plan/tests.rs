//! Tests of the generated SQL.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::builder::compiled::NodeId;
use crate::builder::fixtures::posts_mapping;

/// `?` and `$<digit>` placeholders in `sql`.
fn placeholders(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| {
            b == b'?' || (b == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        })
        .count()
}

fn node(mapping: &CompiledMapping, index: usize) -> &Node {
    &mapping.nodes()[index]
}

#[test]
fn root_fetch_reports_filters_and_soft_delete() {
    let mapping = posts_mapping();
    let queries = Planner::new(&mapping, Dialect::Sqlite)
        .fetch(mapping.root(), &[vec![json!(1)], vec![json!(2)]]);
    assert_eq!(
        queries,
        [Query {
            sql: "SELECT \"id\", \"title\", \"tags\", \"published_at\", \"views\", \"meta\", \
                  \"author_id\", (\"status\" IN (?, ?)) AS \"$filter_0\", (\"deleted_at\" IS NOT \
                  NULL) AS \"$soft_deleted\" FROM \"posts\" WHERE \"id\" IN (?, ?)"
                .to_owned(),
            params: vec![json!("published"), json!("archived"), json!(1), json!(2)],
        }]
    );
    let postgres =
        Planner::new(&mapping, Dialect::Postgres).fetch(mapping.root(), &[vec![json!(1)]]);
    assert_eq!(
        postgres[0].sql,
        "SELECT \"id\", \"title\", \"tags\", \"published_at\", \"views\", \"meta\", \
         \"author_id\", (\"status\" IN ($1, $2)) AS \"$filter_0\", (\"deleted_at\" IS NOT NULL) \
         AS \"$soft_deleted\" FROM \"posts\" WHERE \"id\" IN ($3)"
    );
}

#[test]
fn has_many_fetch_filters_and_orders() {
    let mapping = posts_mapping();
    let comments = node(&mapping, 2);
    let queries = Planner::new(&mapping, Dialect::Postgres).fetch(comments, &[vec![json!(1)]]);
    assert_eq!(
        queries,
        [Query {
            sql: "SELECT \"id\", \"body\", \"post_id\", \"author_id\" FROM \"comments\" WHERE \
                  \"post_id\" IN ($1) AND \"approved\" = $2 AND \"deleted_at\" IS NULL ORDER BY \
                  \"created_at\" NULLS FIRST, \"id\" NULLS FIRST"
                .to_owned(),
            params: vec![json!(1), json!(true)],
        }]
    );
}

#[test]
fn composite_keys_use_row_values() {
    let mapping = posts_mapping();
    let reactions = node(&mapping, 4);
    let planner = Planner::new(&mapping, Dialect::Sqlite);
    assert_eq!(planner.match_columns(reactions), ["comment_id"]);
    let text = r#"index = "docs"
table = "docs"
primary_key = ["tenant", "id"]
fields = [{ column = "title", type = "string" }]
"#;
    let docs = CompiledMapping::from_toml_str(text, "docs.toml").map_err(|e| e.to_string());
    let Ok(docs) = docs else {
        panic!("{docs:?}");
    };
    let keys = [vec![json!("a"), json!(1)], vec![json!("b"), json!(2)]];
    let sqlite = Planner::new(&docs, Dialect::Sqlite).fetch(docs.root(), &keys);
    assert_eq!(
        sqlite[0].sql,
        "SELECT \"title\", \"tenant\", \"id\" FROM \"docs\" WHERE (\"tenant\", \"id\") IN \
         (VALUES (?, ?), (?, ?))"
    );
    assert_eq!(
        sqlite[0].params,
        [json!("a"), json!(1), json!("b"), json!(2)]
    );
    let postgres = Planner::new(&docs, Dialect::Postgres).fetch(docs.root(), &keys);
    assert_eq!(
        postgres[0].sql,
        "SELECT \"title\", \"tenant\", \"id\" FROM \"docs\" WHERE (\"tenant\", \"id\") IN \
         (($1, $2), ($3, $4))"
    );
}

#[test]
fn lookups_join_down_from_the_root() {
    let mapping = posts_mapping();
    let planner = Planner::new(&mapping, Dialect::Sqlite);
    let by_comment_author = Lookup {
        node: node(&mapping, 2).id,
        condition: LookupCondition::In {
            columns: vec!["author_id".to_owned()],
            values: vec![vec![json!(2)], vec![json!(3)]],
        },
    };
    assert_eq!(
        planner.lookup(&by_comment_author),
        [Query {
            sql: "SELECT DISTINCT \"t0\".\"id\" FROM \"posts\" AS \"t0\" JOIN \"comments\" AS \
                  \"t1\" ON \"t1\".\"post_id\" = \"t0\".\"id\" WHERE \"t1\".\"author_id\" IN (?, ?) \
                  AND \"t0\".\"status\" IN (?, ?) AND \"t0\".\"deleted_at\" IS NULL ORDER BY \
                  \"t0\".\"id\""
                .to_owned(),
            params: vec![json!(2), json!(3), json!("published"), json!("archived")],
        }]
    );
    let reactions_any = Lookup {
        node: node(&mapping, 4).id,
        condition: LookupCondition::Any,
    };
    assert_eq!(
        Planner::new(&mapping, Dialect::Postgres).lookup(&reactions_any)[0].sql,
        "SELECT DISTINCT \"t0\".\"id\" FROM \"posts\" AS \"t0\" JOIN \"comments\" AS \"t1\" ON \
         \"t1\".\"post_id\" = \"t0\".\"id\" JOIN \"reactions\" AS \"t2\" ON \"t2\".\"comment_id\" \
         = \"t1\".\"id\" WHERE \"t0\".\"status\" IN ($1, $2) AND \"t0\".\"deleted_at\" IS NULL \
         ORDER BY \"t0\".\"id\""
    );
    let comment_author_not_null = Lookup {
        node: node(&mapping, 3).id,
        condition: LookupCondition::NotNull {
            columns: vec!["id".to_owned()],
        },
    };
    assert_eq!(
        planner.lookup(&comment_author_not_null)[0].sql,
        "SELECT DISTINCT \"t0\".\"id\" FROM \"posts\" AS \"t0\" JOIN \"comments\" AS \"t1\" ON \
         \"t1\".\"post_id\" = \"t0\".\"id\" JOIN \"authors\" AS \"t2\" ON \"t2\".\"id\" = \
         \"t1\".\"author_id\" WHERE \"t2\".\"id\" IS NOT NULL AND \"t0\".\"status\" IN (?, ?) \
         AND \"t0\".\"deleted_at\" IS NULL ORDER BY \"t0\".\"id\""
    );
    let all = Lookup {
        node: NodeId::ROOT,
        condition: LookupCondition::Any,
    };
    assert_eq!(
        planner.lookup(&all)[0].sql,
        "SELECT DISTINCT \"t0\".\"id\" FROM \"posts\" AS \"t0\" WHERE \"t0\".\"status\" IN (?, ?) \
         AND \"t0\".\"deleted_at\" IS NULL ORDER BY \"t0\".\"id\""
    );
}

#[test]
fn filters_render_null_aware_negations() {
    let text = r#"index = "posts"
table = "posts"
primary_key = "id"
filter = [
  { column = "a", op = "ne", value = "x" },
  { column = "b", op = "not_in", value = [1, 2] },
  { column = "c", op = "is_null" },
  { column = "d", op = "not_null" },
  { column = "e", op = "eq", value = 2024-05-01 },
]
soft_delete = { column = "hidden", when = "true" }
fields = [{ column = "id", type = "int" }]
"#;
    let mapping = CompiledMapping::from_toml_str(text, "m.toml").map_err(|e| e.to_string());
    let Ok(mapping) = mapping else {
        panic!("{mapping:?}");
    };
    let all = Lookup {
        node: NodeId::ROOT,
        condition: LookupCondition::Any,
    };
    let sqlite = Planner::new(&mapping, Dialect::Sqlite).lookup(&all);
    assert_eq!(
        sqlite[0].sql,
        "SELECT DISTINCT \"t0\".\"id\" FROM \"posts\" AS \"t0\" WHERE \"t0\".\"a\" IS NOT ? AND \
         (\"t0\".\"b\" IS NULL OR \"t0\".\"b\" NOT IN (?, ?)) AND \"t0\".\"c\" IS NULL AND \
         \"t0\".\"d\" IS NOT NULL AND \"t0\".\"e\" = ? AND \"t0\".\"hidden\" IS NOT TRUE ORDER BY \
         \"t0\".\"id\""
    );
    assert_eq!(
        sqlite[0].params,
        [json!("x"), json!(1), json!(2), json!("2024-05-01")]
    );
    let postgres = Planner::new(&mapping, Dialect::Postgres).lookup(&all);
    assert!(postgres[0]
        .sql
        .contains("\"t0\".\"a\" IS DISTINCT FROM $1 AND"));
}

#[test]
fn no_values_no_queries() {
    let mapping = posts_mapping();
    let planner = Planner::new(&mapping, Dialect::Sqlite);
    assert!(planner.fetch(mapping.root(), &[]).is_empty());
    let empty = Lookup {
        node: NodeId::ROOT,
        condition: LookupCondition::In {
            columns: vec!["author_id".to_owned()],
            values: Vec::new(),
        },
    };
    assert!(planner.lookup(&empty).is_empty());
}

proptest! {
    /// For any batch size the query count per node is ceil(params / room) (one below the
    /// limit), and no statement exceeds the limit.
    #[test]
    fn fetches_are_bounded_and_within_the_parameter_limit(
        batch in 0usize..3000,
        max_params in prop::option::of(3usize..500),
        postgres in any::<bool>(),
    ) {
        let mapping = posts_mapping();
        let dialect = if postgres { Dialect::Postgres } else { Dialect::Sqlite };
        let mut planner = Planner::new(&mapping, dialect);
        if let Some(max) = max_params {
            planner = planner.with_max_params(max);
        }
        let limit = max_params.unwrap_or(dialect.max_params());
        let keys: Vec<Key> = (0..batch).map(|i| vec![json!(i)]).collect();
        let root = planner.fetch(mapping.root(), &keys);
        let room = limit - 2; // the root filter binds two values
        prop_assert_eq!(root.len(), batch.div_ceil(room));
        if max_params.is_none() {
            prop_assert!(root.len() <= 1);
        }
        for query in &root {
            prop_assert!(query.params.len() <= limit);
            prop_assert_eq!(placeholders(&query.sql), query.params.len());
        }
        let reactions = &mapping.nodes()[4];
        let pairs: Vec<Key> = (0..batch).map(|i| vec![json!(i)]).collect();
        let fetched = planner.fetch(reactions, &pairs);
        prop_assert_eq!(fetched.len(), batch.div_ceil(limit));
        prop_assert_eq!(fetched.iter().map(|q| q.params.len()).sum::<usize>(), batch);
    }
}
