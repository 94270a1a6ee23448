//! Test fixtures: a blog database (authors, posts, comments, reactions) in SQLite, its mapping,
//! and an executor that counts queries.

use rusqlite::Connection;

use super::compiled::CompiledMapping;
use super::executor::Executor;
use crate::change::{Row, Value};

/// The mapping of the `posts` index: filter, soft delete, a required belongs_to, a has_many
/// with its own filter, soft delete, order, a nested belongs_to and a nested has_many with a
/// composite key. Nodes: posts, author, comments, comments.author, comments.reactions.
pub(super) const POSTS_TOML: &str = r#"
index = "posts"
table = "posts"
primary_key = "id"
filter = [{ column = "status", op = "in", value = ["published", "archived"] }]
soft_delete = { column = "deleted_at" }

fields = [
  { column = "id", type = "int" },
  { column = "title", type = "string", transforms = ["trim"] },
  { column = "tags", type = "string", split = ",", transforms = ["trim", "lowercase"], default = "" },
  { column = "published_at", name = "published", type = "timestamp" },
  { column = "views", type = "int", default = 0 },
  { column = "meta", type = "json" },
]

[belongs_to.author]
table = "authors"
foreign_key = "author_id"
primary_key = "id"
required = true
fields = [
  { column = "name", type = "string" },
  { column = "email", type = "string", transforms = ["lowercase"] },
]

[has_many.comments]
table = "comments"
foreign_key = "post_id"
primary_key = "id"
order_by = ["created_at"]
filter = [{ column = "approved", op = "eq", value = true }]
soft_delete = { column = "deleted_at" }
fields = [
  { column = "id", type = "int" },
  { column = "body", type = "string" },
]

[has_many.comments.belongs_to.author]
table = "authors"
foreign_key = "author_id"
primary_key = "id"
fields = [{ column = "name", type = "string" }]

[has_many.comments.has_many.reactions]
table = "reactions"
foreign_key = "comment_id"
primary_key = ["comment_id", "user_name"]
fields = [
  { column = "user_name", name = "user", type = "string" },
  { column = "kind", type = "string" },
]
"#;

/// The schema of the blog database.
pub(super) const SCHEMA_SQL: &str = "
CREATE TABLE authors (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, deleted_at TEXT);
CREATE TABLE posts (
  id INTEGER PRIMARY KEY, author_id INTEGER, title TEXT, status TEXT NOT NULL, tags TEXT,
  published_at TEXT, views INTEGER, meta TEXT, deleted_at TEXT);
CREATE TABLE comments (
  id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, author_id INTEGER, body TEXT,
  approved INTEGER NOT NULL DEFAULT 1, created_at TEXT, deleted_at TEXT);
CREATE TABLE reactions (
  comment_id INTEGER NOT NULL, user_name TEXT NOT NULL, kind TEXT NOT NULL,
  PRIMARY KEY (comment_id, user_name));
";

/// Rows covering every outcome: post 1 builds fully, 2 is a draft (filtered), 3 is
/// soft-deleted, 4's author is missing, 5 has a bad `views`, 6 has no author, 7 uses defaults.
pub(super) const SEED_SQL: &str = "
INSERT INTO authors (id, name, email) VALUES
  (1, 'Ada', 'ADA@Example.com'), (2, 'Bob', NULL), (3, 'Cy', 'cy@example.com');
INSERT INTO posts (id, author_id, title, status, tags, published_at, views, meta, deleted_at) VALUES
  (1, 1, ' Hello ', 'published', 'Rust, SQL', '2024-05-01 10:00:00', 10, '{\"a\":1}', NULL),
  (2, 2, 'Draft', 'draft', NULL, NULL, 0, NULL, NULL),
  (3, 1, 'Gone', 'published', NULL, NULL, 0, NULL, '2024-01-01'),
  (4, 99, 'Orphan', 'published', NULL, NULL, 0, NULL, NULL),
  (5, 2, 'Bad', 'archived', NULL, NULL, 'lots', NULL, NULL),
  (6, NULL, 'Anonymous', 'published', NULL, NULL, 0, NULL, NULL),
  (7, 3, 'Plain', 'published', NULL, NULL, NULL, NULL, NULL);
INSERT INTO comments (id, post_id, author_id, body, approved, created_at, deleted_at) VALUES
  (10, 1, 2, 'First', 1, '2024-05-02', NULL),
  (11, 1, 3, 'Second', 1, '2024-05-01', NULL),
  (12, 1, 1, 'Unapproved', 0, '2024-05-03', NULL),
  (13, 1, 1, 'Deleted', 1, '2024-05-04', '2024-05-05'),
  (14, 1, NULL, 'Undated', 1, NULL, NULL),
  (15, 5, 1, 'On a bad post', 1, '2024-05-01', NULL),
  (16, 2, 1, 'On a draft', 1, '2024-05-01', NULL);
INSERT INTO reactions (comment_id, user_name, kind) VALUES
  (10, 'bob', 'love'), (10, 'ann', 'like'), (11, 'ann', 'like');
";

/// The compiled posts mapping.
pub(super) fn posts_mapping() -> CompiledMapping {
    match CompiledMapping::from_toml_str(POSTS_TOML, "posts.toml") {
        Ok(mapping) => mapping,
        Err(e) => panic!("fixture mapping: {e}"),
    }
}

/// An in-memory blog database with the seed rows.
pub(super) fn blog_db() -> Connection {
    let db = match Connection::open_in_memory() {
        Ok(db) => db,
        Err(e) => panic!("open: {e}"),
    };
    if let Err(e) = db
        .execute_batch(SCHEMA_SQL)
        .and_then(|()| db.execute_batch(SEED_SQL))
    {
        panic!("seed: {e}");
    }
    db
}

/// Records every statement run through it.
#[derive(Debug)]
pub(super) struct Counting<E> {
    pub(super) inner: E,
    pub(super) statements: Vec<String>,
}

impl<E> Counting<E> {
    pub(super) fn new(inner: E) -> Self {
        Self {
            inner,
            statements: Vec::new(),
        }
    }
}

impl<E: Executor> Executor for Counting<E> {
    type Error = E::Error;

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Self::Error> {
        self.statements.push(sql.to_owned());
        self.inner.query(sql, params)
    }
}
