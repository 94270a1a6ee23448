//! Tests of parsing and compiling mappings, and of their error messages.

use serde_json::json;

use super::*;
use crate::builder::fixtures::{blog_db, posts_mapping};
use crate::builder::schema::Schema;

/// The error text for `text`, or "ok".
fn error(text: &str) -> String {
    match CompiledMapping::from_toml_str(text, "posts.toml") {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str = "index = \"posts\"\ntable = \"posts\"\nprimary_key = \"id\"\n";

/// `HEAD` plus `rest` (which starts on line 4).
fn with_head(rest: &str) -> String {
    format!("{HEAD}{rest}")
}

#[test]
fn the_fixture_compiles_into_a_tree() {
    let mapping = posts_mapping();
    assert_eq!(mapping.index(), "posts");
    assert_eq!(mapping.file(), "posts.toml");
    let names: Vec<(&str, &str)> = mapping
        .nodes()
        .iter()
        .map(|n| (n.name.as_str(), n.table.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("", "posts"),
            ("author", "authors"),
            ("comments", "comments"),
            ("author", "authors"),
            ("reactions", "reactions"),
        ]
    );
    let root = mapping.root();
    assert_eq!(root.children.len(), 2);
    assert_eq!(root.filters.len(), 1);
    assert_eq!(
        root.filters[0].predicate,
        Predicate::In(vec![json!("published"), json!("archived")])
    );
    assert_eq!(
        root.fields[2].default,
        Some(json!([])),
        "the default goes through split"
    );
    let reactions = &mapping.nodes()[4];
    assert_eq!(reactions.key, ["comment_id", "user_name"]);
    assert_eq!(
        reactions.relation,
        Relation::HasMany {
            parent: mapping.nodes()[2].id,
            foreign_key: vec!["comment_id".to_owned()]
        }
    );
    assert_eq!(
        mapping.tables().into_iter().collect::<Vec<_>>(),
        ["authors", "comments", "posts", "reactions"]
    );
    let path: Vec<&str> = mapping
        .path_to(reactions.id)
        .iter()
        .map(|n| n.table.as_str())
        .collect();
    assert_eq!(path, ["posts", "comments", "reactions"]);
    assert_eq!(reactions.location.to_string(), "46:9");
    assert_eq!(
        reactions.location.path,
        "has_many.comments.has_many.reactions.table"
    );
}

#[test]
fn unknown_key() {
    assert_eq!(
        error(&with_head("[[fields]]\ncolum = \"id\"\ntype = \"int\"\n")),
        "posts.toml:5:1: fields[0].colum: unknown field `colum`, expected one of `column`, \
         `name`, `type`, `transforms`, `split`, `default`"
    );
    assert_eq!(
        error(&with_head("[has_many.comments]\ntable = \"comments\"\nforeign_key = \"post_id\"\nprimary_key = \"id\"\nfields = [{ column = \"id\", type = \"int\", bogus = 1 }]\n")),
        "posts.toml:8:42: has_many.comments.fields[0].bogus: unknown field `bogus`, expected \
         one of `column`, `name`, `type`, `transforms`, `split`, `default`"
    );
    assert_eq!(
        error(&with_head("sql = \"DROP TABLE posts\"\n")),
        "posts.toml:4:1: sql: unknown field `sql`, expected one of `index`, `table`, \
         `primary_key`, `filter`, `soft_delete`, `fields`, `belongs_to`, `has_many`"
    );
}

#[test]
fn wrong_type() {
    assert_eq!(
        error(&with_head("[[fields]]\ncolumn = \"id\"\ntype = 3\n")),
        "posts.toml:6:8: fields[0].type: invalid type: integer `3`, expected a string"
    );
    assert_eq!(
        error(&with_head(
            "[[fields]]\ncolumn = \"id\"\ntype = \"integer\"\n"
        )),
        "posts.toml:6:8: fields[0].type: unknown variant `integer`, expected one of `string`, \
         `int`, `float`, `bool`, `timestamp`, `json`"
    );
    assert_eq!(
        error("index = \"posts\"\ntable = \"posts\"\nprimary_key = 7\n"),
        "posts.toml:3:15: primary_key: invalid type: integer `7`, expected a column name or \
         an array of column names"
    );
    assert_eq!(
        error(&with_head(
            "filter = [{ column = \"status\", op = \"like\", value = \"%x\" }]\n"
        )),
        "posts.toml:4:37: filter[0].op: unknown variant `like`, expected one of `eq`, `ne`, \
         `in`, `not_in`, `is_null`, `not_null`"
    );
}

#[test]
fn missing_key() {
    assert_eq!(
        error("table = \"posts\"\nprimary_key = \"id\"\n"),
        "posts.toml:1:1: missing field `index`"
    );
    assert_eq!(
        error(&with_head("[[fields]]\ncolumn = \"id\"\n")),
        "posts.toml:4:1: fields[0]: missing field `type`"
    );
    assert_eq!(
        error(&with_head("[has_many.comments]\ntable = \"comments\"\nprimary_key = \"id\"\nfields = [{ column = \"id\", type = \"int\" }]\n")),
        "posts.toml:4:1: has_many.comments: missing field `foreign_key`"
    );
}

#[test]
fn bad_identifier() {
    assert_eq!(
        error(&with_head(
            "[[fields]]\ncolumn = \"post id\"\ntype = \"int\"\n"
        )),
        "posts.toml:5:10: fields[0].column: \"post id\" is not a plain SQL identifier (letters, \
         digits and underscores, not starting with a digit, at most 63 bytes)"
    );
    assert_eq!(
        error("index = \"posts\"\ntable = \"posts; DROP TABLE x\"\nprimary_key = [\"id\", \"a\\\"b\"]\nfields = [{ column = \"id\", type = \"int\" }]\n"),
        "posts.toml:2:9: table: \"posts; DROP TABLE x\" is not a plain SQL identifier (letters, \
         digits and underscores, not starting with a digit, at most 63 bytes)\n\
         posts.toml:3:22: primary_key[1]: \"a\\\"b\" is not a plain SQL identifier (letters, \
         digits and underscores, not starting with a digit, at most 63 bytes)"
    );
}

#[test]
fn syntax_error() {
    assert_eq!(
        error(&with_head("[[fields]\n")),
        "posts.toml:4:10: unclosed array table, expected `]`"
    );
}

#[test]
fn semantic_errors_are_all_reported_in_file_order() {
    let text = with_head(
        r#"filter = [
  { column = "status", op = "eq" },
  { column = "status", op = "is_null", value = 1 },
  { column = "status", op = "in", value = [] },
  { column = "status", op = "ne", value = ["a"] },
]
fields = [
  { column = "id", type = "int", transforms = ["trim"] },
  { column = "title", name = "id", type = "string" },
  { column = "views", type = "int", default = "many" },
  { column = "tags", type = "string", split = "" },
  { column = "_secret", type = "string" },
]

[belongs_to.author]
table = "authors"
foreign_key = ["author_id", "x"]
primary_key = "id"
fields = [{ column = "name", name = "the.name", type = "string" }]

[has_many.comments]
table = "comments"
foreign_key = []
primary_key = "id"
"#,
    );
    let expected = [
        "posts.toml:5:29: filter[0].op: op \"eq\" needs a value",
        "posts.toml:6:48: filter[1].value: op \"is_null\" takes no value",
        "posts.toml:7:43: filter[2].value: op \"in\" needs a non-empty array of values \
         (strings, numbers, booleans or datetimes)",
        "posts.toml:8:43: filter[3].value: op \"ne\" needs a single value (a string, number, \
         boolean or datetime)",
        "posts.toml:11:48: fields[0].transforms: transforms apply to string fields only; this \
         field is int",
        "posts.toml:12:30: fields[1].name: duplicate output field \"id\" (first at line 11, \
         column 14)",
        "posts.toml:13:47: fields[2].default: default \"many\" is not a valid int: not an \
         integer",
        "posts.toml:14:47: fields[3].split: split needs a non-empty separator",
        "posts.toml:15:14: fields[4].column: column \"_secret\" cannot name a document field \
         (an ASCII letter, then letters, digits, underscores or hyphens, at most 255 bytes); \
         give the field a name",
        "posts.toml:20:15: belongs_to.author.foreign_key: foreign_key has 2 column(s) but \
         primary_key of \"authors\" has 1",
        "posts.toml:22:37: belongs_to.author.fields[0].name: \"the.name\" cannot name a \
         document field (an ASCII letter, then letters, digits, underscores or hyphens, at \
         most 255 bytes)",
        "posts.toml:26:15: has_many.comments.foreign_key: names no column",
        "posts.toml:25:9: has_many.comments.table: the document part maps nothing: add \
         fields or a join",
    ];
    let mut expected = expected.to_vec();
    // Diagnostics are sorted by position.
    expected.sort_by_key(|line| {
        let mut parts = line.split(':').skip(1);
        let line_no: usize = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let col: usize = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        (line_no, col)
    });
    assert_eq!(error(&text), expected.join("\n"));
}

#[test]
fn names_must_be_unique_across_fields_and_joins() {
    let text = with_head(
        r#"fields = [{ column = "author_id", name = "author", type = "int" }]
[belongs_to.author]
table = "authors"
foreign_key = "author_id"
primary_key = "id"
fields = [{ column = "name", type = "string" }]
[has_many.author]
table = "comments"
foreign_key = "post_id"
primary_key = "id"
fields = [{ column = "id", type = "int" }]
"#,
    );
    assert_eq!(
        error(&text),
        "posts.toml:5:13: belongs_to.author: duplicate output field \"author\" (first at line \
         4, column 42)\n\
         posts.toml:10:11: has_many.author: duplicate output field \"author\" (first at line 4, \
         column 42)"
    );
}

#[test]
fn has_many_foreign_key_must_match_the_parent_key() {
    let text = r#"index = "docs"
table = "docs"
primary_key = ["tenant", "id"]
fields = [{ column = "id", type = "int" }]
[has_many.tags]
table = "doc_tags"
foreign_key = "doc_id"
primary_key = "id"
fields = [{ column = "tag", type = "string" }]
"#;
    assert_eq!(
        error(text),
        "posts.toml:7:15: has_many.tags.foreign_key: foreign_key has 1 column(s) but the key \
         of \"docs\" it references has 2"
    );
}

#[test]
fn index_names_are_checked() {
    assert_eq!(
        error("index = \"Posts\"\ntable = \"posts\"\nprimary_key = \"id\"\nfields = [{ column = \"id\", type = \"int\" }]\n"),
        "posts.toml:1:9: index: \"Posts\" is not a valid index name (a lowercase letter or \
         digit, then lowercase letters, digits, '_', '-' or '.', at most 255 bytes)"
    );
}

#[test]
fn defaults_fit_the_type_and_go_through_transforms() {
    let text = with_head(
        r#"fields = [
  { column = "a", type = "timestamp", default = 1970-01-02T00:00:00Z },
  { column = "b", type = "string", transforms = ["uppercase"], default = "x" },
  { column = "c", type = "json", default = { k = [1, 2] } },
  { column = "d", type = "bool", default = false },
]
"#,
    );
    let mapping = CompiledMapping::from_toml_str(&text, "m.toml").map_err(|e| e.to_string());
    let defaults: Result<Vec<_>, _> =
        mapping.map(|m| m.root().fields.iter().map(|f| f.default.clone()).collect());
    assert_eq!(
        defaults,
        Ok(vec![
            Some(json!("1970-01-02T00:00:00Z")),
            Some(json!("X")),
            Some(json!({"k": [1, 2]})),
            Some(json!(false)),
        ])
    );
}

#[test]
fn validate_against_a_live_schema() -> rusqlite::Result<()> {
    let db = blog_db();
    let schema = Schema::from_sqlite(&db)?;
    assert_eq!(
        schema.tables["reactions"].primary_key,
        ["comment_id", "user_name"]
    );
    assert!(!schema.tables["comments"].columns[1].nullable);
    assert_eq!(posts_mapping().validate_against(&schema), Ok(()));

    let text = r#"index = "posts"
table = "posts"
primary_key = "id"
filter = [{ column = "state", op = "eq", value = "x" }]
fields = [{ column = "titel", type = "string" }, { column = "id", type = "int" }]

[belongs_to.author]
table = "authors"
foreign_key = "writer_id"
primary_key = "name"
fields = [{ column = "name", type = "string" }]

[has_many.likes]
table = "likes"
foreign_key = "post_id"
primary_key = "id"
fields = [{ column = "id", type = "int" }]
"#;
    let mapping = CompiledMapping::from_toml_str(text, "bad.toml");
    let result = mapping.map(|m| m.validate_against(&schema));
    assert_eq!(
        result.map(|r| r.map_err(|e| e.to_string())),
        Ok(Err(
            "bad.toml:4:22: filter[0].column: column \"state\" does not exist in table \
                \"posts\"\n\
                bad.toml:5:22: fields[0].column: column \"titel\" does not exist in table \
                \"posts\"\n\
                bad.toml:9:15: belongs_to.author.foreign_key: column \"writer_id\" does not \
                exist in table \"posts\"\n\
                bad.toml:10:15: belongs_to.author.primary_key: primary_key [\"name\"] is not \
                the primary key of table \"authors\" in the database, which is [\"id\"]\n\
                bad.toml:14:9: has_many.likes.table: table \"likes\" does not exist in the \
                database"
                .to_owned()
        ))
    );
    Ok(())
}

/// The TOML example of the `mapping` module docs.
fn documented_example() -> String {
    include_str!("../mapping.rs")
        .lines()
        .skip_while(|line| *line != "//! ```toml")
        .skip(1)
        .take_while(|line| *line != "//! ```")
        .map(|line| {
            line.strip_prefix("//! ")
                .unwrap_or(line.trim_start_matches("//!"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_documented_example_compiles_and_fits_the_blog_schema(
) -> Result<(), Box<dyn std::error::Error>> {
    let text = documented_example();
    assert!(text.contains("[has_many.comments.belongs_to.author]"));
    let mapping = CompiledMapping::from_toml_str(&text, "posts.toml")?;
    assert_eq!(mapping.nodes().len(), 4);
    mapping.validate_against(&Schema::from_sqlite(&blog_db())?)?;
    Ok(())
}
