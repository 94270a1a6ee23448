//! End to end through the overseer: a SQLite database of 100 000 posts is backfilled, then
//! inserts, updates and deletes (of posts and of their child comments) stream through capture →
//! builder → a recording sink; the recorded documents are compared with a fresh full build.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    missing_debug_implementations
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use overseer::*;
use rusqlite::Connection;
use serde_json::Value;
use subsystems::builder::{CompiledMapping, Dialect, DocumentBuilder, Outcome};
use subsystems::capture::{Capture, SqliteBackend, SqliteCaptureConfig};
use subsystems::document_builder::SqliteDocumentBuilder;
use subsystems::messages::*;
use subsystems::source::sqlite::TableSpec;
use subsystems::state::SqliteStateStore;
use subsystems::NodeError;

const POSTS: i64 = 100_000;

const MAPPING: &str = r#"
index = "posts"
table = "posts"
primary_key = "id"
soft_delete = { column = "deleted_at" }

[[fields]]
column = "title"
type = "string"
transforms = ["trim"]

[belongs_to.author]
table = "authors"
foreign_key = "author_id"
primary_key = "id"
fields = [{ column = "name", type = "string" }]

[has_many.comments]
table = "comments"
foreign_key = "post_id"
primary_key = "id"
order_by = ["id"]
fields = [{ column = "body", type = "string" }]
"#;

/// The documents the sink holds, by id.
type Index = Arc<Mutex<BTreeMap<String, Value>>>;

#[overlord(signal = NodeSignal, event = NodeEvent, gen = AllMessages, error = NodeError)]
pub struct Pipeline {
    #[subsystem(consumes: CaptureMessage, sends: [BuildMessage], blocking)]
    capture: CaptureSubsystem,
    #[subsystem(consumes: BuildMessage, sends: [DocumentMessage], blocking)]
    builder: Builder,
    #[subsystem(consumes: DocumentMessage, sends: [CaptureMessage])]
    sink: RecordingSink,
}

/// Applies document batches to an in-memory index and acknowledges each batch once all its
/// indexes are applied: the stand-in for the orchestrator and a search engine.
pub struct RecordingSink {
    index: Index,
}

impl<Ctx> Subsystem<Ctx, NodeError> for RecordingSink
where
    Ctx: SubsystemContext<Message = DocumentMessage, Signal = NodeSignal, Error = NodeError>,
    Ctx::Sender: SubsystemSender<CaptureMessage>,
{
    fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<NodeError> {
        SpawnedSubsystem {
            name: "recording-sink",
            future: Box::pin(async move {
                let mut parts: BTreeMap<u64, usize> = BTreeMap::new();
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Signal(NodeSignal::Conclude) => return Ok(()),
                        FromOverseer::Communication {
                            msg: DocumentMessage::Documents(batch),
                        } => {
                            {
                                let mut index = self.index.lock().unwrap();
                                if batch.clear_index {
                                    index.clear();
                                }
                                for outcome in batch.outcomes {
                                    match outcome {
                                        Outcome::Upsert { id, document, .. } => {
                                            index.insert(id, document);
                                        }
                                        Outcome::Delete { id, .. } => {
                                            index.remove(&id);
                                        }
                                        Outcome::Failed { failure, .. } => {
                                            panic!("unexpected failure: {failure:?}")
                                        }
                                    }
                                }
                            }
                            let done = parts.entry(batch.seq).or_default();
                            *done += 1;
                            if *done == batch.of_indexes {
                                parts.remove(&batch.seq);
                                ctx.sender()
                                    .send_message(CaptureMessage::Ack {
                                        through_seq: batch.seq,
                                    })
                                    .await;
                            }
                        }
                    }
                }
            }),
        }
    }
}

fn create_source(path: &Path) -> Connection {
    let app = Connection::open(path).unwrap();
    app.busy_timeout(Duration::from_secs(10)).unwrap();
    app.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, author_id INTEGER REFERENCES authors(id), deleted_at TEXT);
         CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, body TEXT NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
           INSERT INTO authors SELECT i, 'author ' || i FROM n;",
    )
    .unwrap();
    app.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO posts SELECT i, ' post ' || i || ' ', 1 + i % 100, NULL FROM n",
        [POSTS],
    )
    .unwrap();
    app.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO comments SELECT i, 1 + (i * 7) % ?2, 'comment ' || i FROM n",
        [POSTS / 2, POSTS],
    )
    .unwrap();
    app
}

/// Every document of the source, built afresh: what the index must equal.
fn fresh_build(path: &Path, mapping: &CompiledMapping) -> BTreeMap<String, Value> {
    let mut connection = Connection::open(path).unwrap();
    let keys: Vec<Vec<Value>> = connection
        .prepare("SELECT id FROM posts ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get::<_, i64>(0))
        .unwrap()
        .map(|id| vec![Value::from(id.unwrap())])
        .collect();
    let builder = DocumentBuilder::new(mapping, Dialect::Sqlite);
    let mut documents = BTreeMap::new();
    for chunk in keys.chunks(5_000) {
        for outcome in builder.build(&mut connection, chunk).unwrap() {
            if let Outcome::Upsert { id, document, .. } = outcome {
                documents.insert(id, document);
            }
        }
    }
    documents
}

/// Waits until `condition` holds, polling, or fails after `limit`.
async fn until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_then_live_changes_reach_the_index_with_the_source_contents() {
    let dir = tempfile::tempdir().unwrap();
    let source_path = dir.path().join("app.db");
    let app = create_source(&source_path);
    let mapping = CompiledMapping::from_toml_str(MAPPING, "posts.toml").unwrap();
    let store = SqliteStateStore::open(dir.path().join("state.db")).unwrap();
    let tables = ["posts", "authors", "comments"]
        .into_iter()
        .map(|table| TableSpec::new(table).with_old_columns(mapping.required_old_columns(table)))
        .collect();
    let backend = SqliteBackend::open(
        SqliteCaptureConfig {
            database: source_path.clone(),
            pipeline: "posts".into(),
            tables,
            backfill: vec!["posts".into()],
            batch_size: 1_000,
            chunk_size: 2_000,
        },
        store,
    )
    .unwrap();
    let capture = Capture::new(backend, 8);
    let index: Index = Arc::default();
    let started = Instant::now();
    let (overseer, handle) = Pipeline::builder()
        .capture(capture)
        .builder(SqliteDocumentBuilder::new(
            &source_path,
            vec![mapping.clone()],
        ))
        .sink(RecordingSink {
            index: Arc::clone(&index),
        })
        .spawner(TokioSpawner::current().unwrap())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    until("the backfill", Duration::from_secs(600), || {
        index.lock().unwrap().len() as i64 == POSTS
    })
    .await;
    eprintln!(
        "backfilled {POSTS} documents end to end in {:?}",
        started.elapsed()
    );

    // Live changes: inserts, updates of a post, of its author and of a comment, deletes of a
    // post and of a comment, a soft delete, and a comment moved to another post.
    app.execute_batch(
        "INSERT INTO posts VALUES (100001, 'brand new', 3, NULL);
         INSERT INTO comments VALUES (900001, 100001, 'first!');
         UPDATE posts SET title = 'renamed' WHERE id = 10;
         UPDATE authors SET name = 'prolific' WHERE id = 7;
         UPDATE comments SET body = 'edited' WHERE id = 14;
         DELETE FROM posts WHERE id = 20;
         DELETE FROM comments WHERE id = 21;
         UPDATE posts SET deleted_at = '2026-11-22' WHERE id = 30;
         UPDATE comments SET post_id = 40 WHERE id = 35;",
    )
    .unwrap();
    let expected = fresh_build(&source_path, &mapping);
    assert_eq!(
        expected.len() as i64,
        POSTS - 1,
        "one post deleted, one soft-deleted, one added"
    );
    until("the live changes", Duration::from_secs(60), || {
        *index.lock().unwrap() == expected
    })
    .await;
    assert_eq!(
        index.lock().unwrap()["100001"]["comments"][0]["body"],
        "first!"
    );
    assert_eq!(index.lock().unwrap()["10"]["title"], "renamed");
    assert!(!index.lock().unwrap().contains_key("20") && !index.lock().unwrap().contains_key("30"));

    handle.stop().await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

/// Runs the pipeline over `source_path` with the state in `state_path`, recording into `index`.
fn pipeline(
    source_path: &Path,
    state_path: &Path,
    mapping: &CompiledMapping,
    index: &Index,
) -> (Pipeline<TokioSpawner>, PipelineHandle) {
    let tables = ["posts", "authors", "comments"]
        .into_iter()
        .map(|table| TableSpec::new(table).with_old_columns(mapping.required_old_columns(table)))
        .collect();
    let backend = SqliteBackend::open(
        SqliteCaptureConfig {
            database: source_path.to_owned(),
            pipeline: "posts".into(),
            tables,
            backfill: vec!["posts".into()],
            batch_size: 500,
            chunk_size: 1_000,
        },
        SqliteStateStore::open(state_path).unwrap(),
    )
    .unwrap();
    let capture = Capture::new(backend, 4);
    Pipeline::builder()
        .capture(capture)
        .builder(SqliteDocumentBuilder::new(
            source_path,
            vec![mapping.clone()],
        ))
        .sink(RecordingSink {
            index: Arc::clone(index),
        })
        .spawner(TokioSpawner::current().unwrap())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_stopped_mid_backfill_resumes_from_its_checkpoint_and_misses_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let source_path = dir.path().join("app.db");
    let state_path = dir.path().join("state.db");
    let app = create_source(&source_path);
    let mapping = CompiledMapping::from_toml_str(MAPPING, "posts.toml").unwrap();

    // First run: stopped (everything dropped, as in a crash) once a fifth of the posts are
    // indexed, while the application keeps writing.
    let first: Index = Arc::default();
    let (overseer, _handle) = pipeline(&source_path, &state_path, &mapping, &first);
    let run = tokio::spawn(overseer.run());
    until("a fifth of the backfill", Duration::from_secs(600), || {
        first.lock().unwrap().len() as i64 >= POSTS / 5
    })
    .await;
    app.execute_batch(
        "UPDATE posts SET title = 'early edit' WHERE id = 5;
         UPDATE posts SET title = 'late edit' WHERE id = 99000;
         DELETE FROM comments WHERE post_id = 7;
         INSERT INTO posts VALUES (200000, 'written during the backfill', 2, NULL);",
    )
    .unwrap();
    run.abort();
    let _ = run.await;

    // Second run from the same state: resumes after the last acknowledged chunk.
    let second: Index = Arc::default();
    let (overseer, handle) = pipeline(&source_path, &state_path, &mapping, &second);
    let run = tokio::spawn(overseer.run());
    app.execute_batch("UPDATE posts SET title = 'after restart' WHERE id = 6;")
        .unwrap();
    let expected = fresh_build(&source_path, &mapping);
    until(
        "the resumed run to catch up",
        Duration::from_secs(600),
        || {
            let (first, second) = (first.lock().unwrap(), second.lock().unwrap());
            let mut merged = first.clone();
            merged.extend(
                second
                    .iter()
                    .map(|(id, document)| (id.clone(), document.clone())),
            );
            merged.retain(|id, _| expected.contains_key(id));
            merged == expected
        },
    )
    .await;
    {
        let resumed = second.lock().unwrap();
        let backfilled_again = resumed
            .keys()
            .filter(|id| id.parse::<i64>().is_ok_and(|id| id <= POSTS))
            .count() as i64;
        eprintln!(
            "first run indexed {} posts; the resumed run re-sent {backfilled_again}",
            first.lock().unwrap().len()
        );
        assert!(
            backfilled_again < POSTS - POSTS / 5 + 5_000,
            "the resumed run started over: {backfilled_again} posts"
        );
        assert!(
            !resumed.contains_key("1000"),
            "the first chunk was backfilled again"
        );
        assert_eq!(resumed["6"]["title"], "after restart");
        assert_eq!(resumed["200000"]["title"], "written during the backfill");
    }

    handle.stop().await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}
