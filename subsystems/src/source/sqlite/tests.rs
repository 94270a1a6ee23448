//! Tests of the SQLite backend on real database files, with a second connection standing in
//! for the application process that writes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::json;

use super::*;
use crate::change::{Change, ChangeKind, Key, Position, Row};
use crate::state::{Checkpoint, MemoryStateStore, SqliteStateStore, StateStore};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, category_id INTEGER);
CREATE TABLE pairs (a TEXT, b INTEGER, v TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE TABLE blobs (k BLOB PRIMARY KEY, v TEXT);
";

/// A fresh database file with the test schema; the returned connection plays the
/// application (another process, as far as SQLite is concerned).
fn database(dir: &Path) -> Result<(PathBuf, Connection), rusqlite::Error> {
    let path = dir.join("app.db");
    let app = Connection::open(&path)?;
    app.busy_timeout(Duration::from_secs(10))?;
    app.execute_batch(SCHEMA)?;
    Ok((path, app))
}

fn specs() -> Vec<TableSpec> {
    vec![
        TableSpec::new("items").with_old_columns(["category_id"]),
        TableSpec::new("pairs"),
        TableSpec::new("blobs"),
    ]
}

/// Polls until a poll comes back empty.
fn drain(tail: &mut Tail) -> Result<Vec<Change>, CaptureError> {
    let mut all = Vec::new();
    loop {
        let batch = tail.poll_batch()?;
        if batch.is_empty() {
            return Ok(all);
        }
        all.extend(batch);
    }
}

fn old(pairs: &[(&str, serde_json::Value)]) -> Option<Row> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn summary(changes: &[Change]) -> Vec<(String, ChangeKind, Key, Option<Row>)> {
    changes
        .iter()
        .map(|c| (c.table.clone(), c.kind, c.key.clone(), c.old.clone()))
        .collect()
}

#[test]
fn sqlite_records_every_kind_in_commit_order() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    install(&app, &specs())?;
    let start = Checkpoint {
        position: high_water_mark(&app)?,
        seq: 41,
    };
    let mut tail = Tail::open(&path, start, 100)?;
    app.execute_batch(
        "INSERT INTO items VALUES (1, 'one', 10);
         BEGIN;
         INSERT INTO items VALUES (2, 'two', 20);
         UPDATE items SET name = 'uno' WHERE id = 1;
         COMMIT;
         DELETE FROM items WHERE id = 2;
         UPDATE items SET category_id = 11 WHERE id = 1;
         INSERT INTO pairs VALUES ('x', 1, 'v');
         DELETE FROM pairs;",
    )?;
    let changes = drain(&mut tail)?;
    assert_eq!(
        summary(&changes),
        vec![
            ("items".into(), ChangeKind::Insert, vec![json!(1)], None),
            ("items".into(), ChangeKind::Insert, vec![json!(2)], None),
            (
                "items".into(),
                ChangeKind::Update,
                vec![json!(1)],
                old(&[("id", json!(1)), ("category_id", json!(10))])
            ),
            (
                "items".into(),
                ChangeKind::Delete,
                vec![json!(2)],
                old(&[("id", json!(2)), ("category_id", json!(20))])
            ),
            (
                "items".into(),
                ChangeKind::Update,
                vec![json!(1)],
                old(&[("id", json!(1)), ("category_id", json!(10))])
            ),
            (
                "pairs".into(),
                ChangeKind::Insert,
                vec![json!("x"), json!(1)],
                None
            ),
            (
                "pairs".into(),
                ChangeKind::Delete,
                vec![json!("x"), json!(1)],
                old(&[("a", json!("x")), ("b", json!(1))])
            ),
        ]
    );
    // seq continues the checkpoint's without gaps; positions are the ascending log ids.
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (42..49).collect::<Vec<_>>());
    assert!(changes.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(tail.position(), changes[6].position);
    assert_eq!(tail.next_seq(), 49);
    Ok(())
}

#[test]
fn sqlite_primary_key_change_is_delete_then_insert() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    install(&app, &specs())?;
    app.execute_batch(
        "INSERT INTO items VALUES (1, 'one', 10);
         INSERT INTO pairs VALUES ('x', 1, 'v');
         INSERT INTO blobs VALUES (x'0A0B', 'b');",
    )?;
    let mut tail = Tail::open(&path, Checkpoint::default(), 100)?;
    drain(&mut tail)?;
    app.execute_batch(
        "UPDATE items SET id = 7, category_id = 70 WHERE id = 1;
         UPDATE pairs SET b = 2 WHERE a = 'x';
         UPDATE blobs SET k = x'FF' WHERE v = 'b';
         UPDATE items SET id = 7 WHERE id = 7;",
    )?;
    let changes = drain(&mut tail)?;
    assert_eq!(
        summary(&changes),
        vec![
            (
                "items".into(),
                ChangeKind::Delete,
                vec![json!(1)],
                old(&[("id", json!(1)), ("category_id", json!(10))])
            ),
            ("items".into(), ChangeKind::Insert, vec![json!(7)], None),
            (
                "pairs".into(),
                ChangeKind::Delete,
                vec![json!("x"), json!(1)],
                old(&[("a", json!("x")), ("b", json!(1))])
            ),
            (
                "pairs".into(),
                ChangeKind::Insert,
                vec![json!("x"), json!(2)],
                None
            ),
            (
                "blobs".into(),
                ChangeKind::Delete,
                vec![json!({"$blob": "0A0B"})],
                old(&[("k", json!({"$blob": "0A0B"}))])
            ),
            (
                "blobs".into(),
                ChangeKind::Insert,
                vec![json!({"$blob": "FF"})],
                None
            ),
            // Setting the key to itself is not a key change.
            (
                "items".into(),
                ChangeKind::Update,
                vec![json!(7)],
                old(&[("id", json!(7)), ("category_id", json!(70))])
            ),
        ]
    );

    // Keys compare binary: a case-only change under NOCASE is still a key change.
    app.execute_batch(
        "CREATE TABLE tags (name TEXT PRIMARY KEY COLLATE NOCASE);
         INSERT INTO tags VALUES ('rust');",
    )?;
    install(&app, &[TableSpec::new("tags")])?;
    app.execute("UPDATE tags SET name = 'Rust'", [])?;
    let kinds: Vec<(ChangeKind, Key)> = drain(&mut tail)?
        .into_iter()
        .map(|c| (c.kind, c.key))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (ChangeKind::Delete, vec![json!("rust")]),
            (ChangeKind::Insert, vec![json!("Rust")])
        ]
    );
    Ok(())
}

fn trigger_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE '\\_overseer\\_%' ESCAPE '\\'",
        [],
        |r| r.get(0),
    )
}

#[test]
fn sqlite_install_is_idempotent_and_replaces_a_changed_spec() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    let outcomes = install(&app, &specs())?;
    assert!(outcomes.iter().all(|(_, o)| *o == InstallOutcome::Created));
    assert_eq!(trigger_count(&app)?, 9);

    // Same spec: nothing written, not even the schema cookie.
    let cookie = |c: &Connection| c.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0));
    let before = cookie(&app)?;
    let outcomes = install(&app, &specs())?;
    assert!(outcomes
        .iter()
        .all(|(_, o)| *o == InstallOutcome::Unchanged));
    assert_eq!(cookie(&app)?, before);
    assert_eq!(trigger_count(&app)?, 9);

    // A changed spec replaces that table's triggers only.
    let mut changed = specs();
    changed[0] = TableSpec::new("items").with_old_columns(["name", "category_id"]);
    let outcomes = install(&app, &changed)?;
    assert_eq!(outcomes[0], ("items".to_owned(), InstallOutcome::Replaced));
    assert_eq!(outcomes[1].1, InstallOutcome::Unchanged);
    assert_eq!(trigger_count(&app)?, 9);
    let mut tail = Tail::open(&path, Checkpoint::default(), 10)?;
    app.execute_batch("INSERT INTO items VALUES (1, 'a', 2); DELETE FROM items;")?;
    let changes = drain(&mut tail)?;
    assert_eq!(
        changes[1].old,
        old(&[
            ("id", json!(1)),
            ("name", json!("a")),
            ("category_id", json!(2))
        ])
    );

    // Uninstall stops the recording of that table.
    assert!(uninstall(&app, "items")?);
    assert!(!uninstall(&app, "items")?);
    assert_eq!(trigger_count(&app)?, 6);
    app.execute_batch("INSERT INTO items VALUES (2, 'b', 3);")?;
    assert!(drain(&mut tail)?.is_empty());
    Ok(())
}

#[test]
fn sqlite_install_rejects_what_it_cannot_capture() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    app.execute_batch(
        "CREATE TABLE bare (x, y);
         CREATE VIEW v AS SELECT * FROM items;
         CREATE TABLE \"we\"\"ird 'name'\" (\"i\"\"d\" INTEGER PRIMARY KEY, \"c'ol\" TEXT);",
    )?;
    let err = install(&app, &[TableSpec::new("bare")]);
    assert!(
        matches!(&err, Err(CaptureError::NoPrimaryKey { table, .. }) if table == "bare"),
        "{err:?}"
    );
    assert!(err.is_err_and(|e| e.to_string().contains("`bare`")));
    assert!(matches!(
        install(&app, &[TableSpec::new("v")]),
        Err(CaptureError::NotATable { .. })
    ));
    assert!(matches!(
        install(&app, &[TableSpec::new("items").with_old_columns(["nope"])]),
        Err(CaptureError::UnknownColumn { table, column }) if table == "items" && column == "nope"
    ));
    assert!(matches!(
        install(&app, &[TableSpec::new("_overseer_changes")]),
        Err(CaptureError::BadName { .. })
    ));
    assert!(matches!(
        install(&app, &[TableSpec::new("")]),
        Err(CaptureError::BadName { .. })
    ));
    // A failed install leaves nothing behind (one transaction for all tables).
    assert!(install(&app, &[TableSpec::new("items"), TableSpec::new("bare")]).is_err());
    assert_eq!(trigger_count(&app)?, 0);

    // Names needing quotes work end to end.
    let weird = "we\"ird 'name'";
    install(&app, &[TableSpec::new(weird).with_old_columns(["c'ol"])])?;
    let mut tail = Tail::open(&path, Checkpoint::default(), 10)?;
    app.execute_batch(
        "INSERT INTO \"we\"\"ird 'name'\" VALUES (5, 'x'); DELETE FROM \"we\"\"ird 'name'\";",
    )?;
    let changes = drain(&mut tail)?;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].table, weird);
    assert_eq!(
        changes[1].old,
        old(&[("i\"d", json!(5)), ("c'ol", json!("x"))])
    );
    Ok(())
}

#[test]
fn sqlite_tail_sees_every_change_of_a_concurrent_writer() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    install(&app, &specs())?;
    drop(app);
    let writes = 600i64;
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || -> rusqlite::Result<()> {
        let app = Connection::open(&writer_path)?;
        app.busy_timeout(Duration::from_secs(10))?;
        for i in 0..writes {
            // Small transactions, some with several changes, at an uneven pace.
            app.execute_batch(&format!(
                "BEGIN; INSERT INTO items VALUES ({i}, 'n{i}', {i}); \
                 UPDATE items SET name = 'm{i}' WHERE id = {i}; COMMIT;"
            ))?;
            if i % 3 == 0 {
                app.execute("DELETE FROM items WHERE id = ?1", [i])?;
            }
            if i % 50 == 0 {
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        Ok(())
    });
    let mut tail = Tail::open(&path, Checkpoint::default(), 64)?;
    let mut backoff = IdleBackoff::default();
    let mut seen = Vec::new();
    let expected = (writes * 2 + (writes + 2) / 3) as usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < expected && Instant::now() < deadline {
        let batch = tail.poll_batch()?;
        std::thread::sleep(backoff.delay_after(batch.len()));
        seen.extend(batch);
    }
    writer.join().map_err(|_| "writer panicked")??;
    seen.extend(drain(&mut tail)?);
    assert_eq!(seen.len(), expected);
    // Per key: insert, update, then (every third) delete, in that order.
    let mut per_key: BTreeMap<i64, Vec<ChangeKind>> = BTreeMap::new();
    for change in &seen {
        let id = change.key[0].as_i64().ok_or("integer key")?;
        per_key.entry(id).or_default().push(change.kind);
    }
    for (id, kinds) in per_key {
        let mut want = vec![ChangeKind::Insert, ChangeKind::Update];
        if id % 3 == 0 {
            want.push(ChangeKind::Delete);
        }
        assert_eq!(kinds, want, "key {id}");
    }
    assert!(seen.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    let stats = tail.stats();
    assert!(stats.queries <= stats.polls);
    assert_eq!(stats.changes, expected as u64);
    Ok(())
}

#[test]
fn sqlite_idle_tail_does_not_query_the_change_log() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    install(&app, &specs())?;
    let mut tail = Tail::open(&path, Checkpoint::default(), 10)?;
    assert!(tail.poll_batch()?.is_empty()); // the first poll always queries
    assert_eq!(tail.stats().queries, 1);
    for _ in 0..100 {
        assert!(tail.poll_batch()?.is_empty());
    }
    assert_eq!(tail.stats().polls, 101);
    assert_eq!(tail.stats().queries, 1, "idle polls must not query");

    // A commit by another connection makes exactly the next poll query.
    app.execute("INSERT INTO items VALUES (1, 'a', 1)", [])?;
    assert_eq!(tail.poll_batch()?.len(), 1);
    assert_eq!(tail.stats().queries, 2);
    assert!(tail.poll_batch()?.is_empty());
    assert_eq!(tail.stats().queries, 2);

    // A full batch is followed by a query even without a new commit.
    app.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 26)
         INSERT INTO items SELECT i, 'x', 0 FROM n;",
    )?;
    let sizes: Vec<usize> = (0..4)
        .map(|_| tail.poll_batch().map(|b| b.len()))
        .collect::<Result<_, _>>()?;
    assert_eq!(sizes, [10, 10, 5, 0]);
    assert_eq!(tail.stats().queries, 5);
    Ok(())
}

#[test]
fn sqlite_trim_removes_only_acknowledged_rows() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    install(&app, &specs())?;
    app.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
         INSERT INTO items SELECT i, 'x', 0 FROM n;",
    )?;
    let ids = |c: &Connection| -> rusqlite::Result<Vec<i64>> {
        c.prepare("SELECT id FROM _overseer_changes ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect()
    };
    let mut tail = Tail::open(&path, Checkpoint::default(), 4)?;
    let first = tail.poll_batch()?;
    assert_eq!(first.len(), 4);
    // Acknowledged through 3: rows 1..=3 go.
    assert_eq!(tail.trim(first[2].position)?, 3);
    assert_eq!(ids(&app)?, (4..=10).collect::<Vec<_>>());
    // An acknowledgement past what was read is clamped to the read position (4).
    assert_eq!(tail.trim(Position(1_000))?, 1);
    assert_eq!(ids(&app)?, (5..=10).collect::<Vec<_>>());
    // The rest is still delivered.
    let rest = drain(&mut tail)?;
    assert_eq!(rest.len(), 6);
    assert_eq!(tail.trim(tail.position())?, 6);
    assert!(ids(&app)?.is_empty());
    // Ids are never reused: the high-water mark survives an empty log.
    assert_eq!(high_water_mark(&app)?, Position(10));
    app.execute("INSERT INTO items VALUES (11, 'y', 0)", [])?;
    assert_eq!(ids(&app)?, [11]);
    Ok(())
}

#[test]
fn sqlite_trim_in_chunks_deletes_large_backlogs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    install(&app, &specs())?;
    app.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
         INSERT INTO items SELECT i, 'x', 0 FROM n;",
    )?;
    let mut tail = Tail::open(&path, Checkpoint::default(), 20_000)?;
    assert_eq!(tail.poll_batch()?.len(), 12_000);
    assert_eq!(tail.trim(Position(11_999))?, 11_999);
    let left: i64 = app.query_row("SELECT count(*) FROM _overseer_changes", [], |r| r.get(0))?;
    assert_eq!(left, 1);
    Ok(())
}

#[test]
fn sqlite_capture_needs_the_change_log() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    assert!(matches!(
        Tail::open(&path, Checkpoint::default(), 10),
        Err(CaptureError::ChangeLogMissing { .. })
    ));
    let store = MemoryStateStore::new();
    assert!(matches!(
        begin_capture(&app, &store, "p"),
        Err(CaptureError::ChangeLogMissing { .. })
    ));
    assert!(matches!(
        Tail::open(dir.path().join("missing.db"), Checkpoint::default(), 10),
        Err(CaptureError::Open { .. })
    ));
    Ok(())
}

fn fill_items(app: &Connection, from: i64, to: i64) -> rusqlite::Result<()> {
    app.execute(
        "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         INSERT INTO items SELECT i, 'row ' || i, i % 7 FROM n",
        [from, to],
    )?;
    Ok(())
}

#[test]
fn sqlite_backfill_resumes_after_a_crash_with_each_key_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    fill_items(&app, 1, 10_000)?;
    drop(app);
    let state_file = dir.path().join("state.db");
    let chunk_size = 512;
    let mut delivered: Vec<Key> = Vec::new();
    let in_flight: Vec<Key>;
    {
        let source = Connection::open(&path)?;
        let store = SqliteStateStore::open(&state_file)?;
        let mut backfill = Backfill::resume(&source, &store, "p", "items", chunk_size)?;
        assert_eq!(backfill.progress().estimated_total, Some(10_000));
        for _ in 0..7 {
            let chunk = backfill.next_chunk(&source)?.ok_or("chunk")?;
            delivered.extend(chunk.keys.iter().cloned());
            backfill.complete(&store, &chunk)?;
        }
        // Read, delivered, but not completed when the process dies.
        let chunk = backfill.next_chunk(&source)?.ok_or("chunk")?;
        delivered.extend(chunk.keys.iter().cloned());
        in_flight = chunk.keys;
        // Crash: everything is dropped without further ado.
    }
    let source = Connection::open(&path)?;
    let store = SqliteStateStore::open(&state_file)?;
    let mut backfill = Backfill::resume(&source, &store, "p", "items", chunk_size)?;
    assert_eq!(backfill.progress().rows_done, 7 * 512);
    assert_eq!(backfill.progress().last_key, Some(vec![json!(7 * 512)]));
    while let Some(chunk) = backfill.next_chunk(&source)? {
        delivered.extend(chunk.keys.iter().cloned());
        backfill.complete(&store, &chunk)?;
    }
    assert!(backfill.is_finished());
    let progress = store.backfill("p", "items")?.ok_or("progress")?;
    assert!(progress.finished);
    assert_eq!(progress.rows_done, 10_000);
    assert_eq!(progress.estimated_total, Some(10_000));

    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for key in &delivered {
        *counts
            .entry(key[0].as_i64().ok_or("integer key")?)
            .or_default() += 1;
    }
    assert_eq!(counts.len(), 10_000, "every key delivered");
    assert_eq!(counts.keys().next(), Some(&1));
    assert_eq!(counts.keys().last(), Some(&10_000));
    let twice: Vec<Key> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| vec![json!(k)])
        .collect();
    assert_eq!(
        twice, in_flight,
        "only the in-flight chunk is delivered again"
    );
    assert!(counts.values().all(|n| *n <= 2));

    // A finished backfill resumes as finished.
    let mut again = Backfill::resume(&source, &store, "p", "items", chunk_size)?;
    assert!(again.is_finished());
    assert_eq!(again.next_chunk(&source)?, None);
    Ok(())
}

#[test]
fn sqlite_backfill_chunks_must_complete_in_order() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    fill_items(&app, 1, 10)?;
    let store = MemoryStateStore::new();
    let source = Connection::open(&path)?;
    let mut backfill = Backfill::resume(&source, &store, "p", "items", 4)?;
    let first = backfill.next_chunk(&source)?.ok_or("chunk")?;
    let second = backfill.next_chunk(&source)?.ok_or("chunk")?;
    assert!(matches!(
        backfill.complete(&store, &second),
        Err(CaptureError::OutOfOrder { .. })
    ));
    backfill.complete(&store, &first)?;
    assert!(backfill.complete(&store, &first).is_err(), "twice");
    backfill.complete(&store, &second)?;
    let third = backfill.next_chunk(&source)?.ok_or("chunk")?;
    assert!(third.last);
    assert_eq!(third.keys, vec![vec![json!(9)], vec![json!(10)]]);
    assert_eq!(backfill.next_chunk(&source)?, None);
    backfill.complete(&store, &third)?;
    assert_eq!(store.backfill("p", "items")?.map(|p| p.rows_done), Some(10));
    Ok(())
}

#[test]
fn sqlite_backfill_pages_composite_and_blob_keys_like_the_triggers() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    install(&app, &specs())?;
    app.execute_batch(
        "INSERT INTO pairs VALUES ('a', 2, ''), ('a', 1, ''), ('b', 1, ''), ('a', 3, ''),
                                  ('c', -5, ''), ('b', 0, ''), ('a''q', 1, '');
         INSERT INTO blobs VALUES (x'00', ''), (x'0001', ''), (x'FF', ''), (x'', ''), (x'7F80', '');",
    )?;
    let store = MemoryStateStore::new();
    let mut pairs = Backfill::resume(&app, &store, "p", "pairs", 2)?;
    let mut keys = Vec::new();
    while let Some(chunk) = pairs.next_chunk(&app)? {
        keys.extend(chunk.keys.iter().cloned());
        pairs.complete(&store, &chunk)?;
    }
    assert_eq!(
        keys,
        vec![
            vec![json!("a"), json!(1)],
            vec![json!("a"), json!(2)],
            vec![json!("a"), json!(3)],
            vec![json!("a'q"), json!(1)],
            vec![json!("b"), json!(0)],
            vec![json!("b"), json!(1)],
            vec![json!("c"), json!(-5)],
        ]
    );

    // Blob keys page correctly (a text cursor would loop forever) and read exactly as the
    // triggers record them.
    let mut blobs = Backfill::resume(&app, &store, "p", "blobs", 2)?;
    let mut backfilled = Vec::new();
    while let Some(chunk) = blobs.next_chunk(&app)? {
        backfilled.extend(chunk.keys.iter().cloned());
        blobs.complete(&store, &chunk)?;
    }
    assert_eq!(backfilled.len(), 5);
    let mut tail = Tail::open(&path, Checkpoint::default(), 100)?;
    let tailed: Vec<Key> = drain(&mut tail)?
        .into_iter()
        .filter(|c| c.table == "blobs")
        .map(|c| c.key)
        .collect();
    let as_set = |keys: &[Key]| {
        keys.iter()
            .map(|k| k[0].to_string())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(as_set(&backfilled), as_set(&tailed));
    Ok(())
}

#[test]
fn sqlite_backfill_reports_null_keys_and_uses_sqlite_stat1() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    // Legacy rowid tables accept NULL in a non-integer primary key.
    app.execute_batch(
        "CREATE TABLE legacy (k TEXT PRIMARY KEY, v);
         INSERT INTO legacy VALUES (NULL, 1), ('a', 2);",
    )?;
    let store = MemoryStateStore::new();
    let source = Connection::open(&path)?;
    let mut backfill = Backfill::resume(&source, &store, "p", "legacy", 10)?;
    assert!(matches!(
        backfill.next_chunk(&source),
        Err(CaptureError::NullKey { table, .. }) if table == "legacy"
    ));

    fill_items(&app, 1, 300)?;
    assert_eq!(estimate_rows(&app, "items")?, 300);
    app.execute_batch("ANALYZE; DELETE FROM items WHERE id > 100;")?;
    // The statistics are from before the delete: an estimate, not a count.
    assert_eq!(estimate_rows(&app, "items")?, 300);
    Ok(())
}

#[test]
fn sqlite_writes_during_backfill_are_tailed_from_the_high_water_mark() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    install(&app, &specs())?;
    // History from before the pipeline existed: in the log, below the mark.
    fill_items(&app, 1, 3_000)?;
    app.execute("UPDATE items SET name = 'old' WHERE id = 1", [])?;

    let state_file = dir.path().join("state.db");
    let store = SqliteStateStore::open(&state_file)?;
    let source = Connection::open(&path)?;
    let start = begin_capture(&source, &store, "p")?;
    assert!(start.fresh);
    assert_eq!(start.checkpoint.position, Position(3_001));
    assert_eq!(store.checkpoint("p")?, Some(start.checkpoint));

    let mut backfill = Backfill::resume(&source, &store, "p", "items", 500)?;
    let mut backfilled: BTreeSet<i64> = BTreeSet::new();
    let mut take = |backfill: &mut Backfill, n: usize| -> TestResult {
        for _ in 0..n {
            if let Some(chunk) = backfill.next_chunk(&source)? {
                for key in &chunk.keys {
                    backfilled.insert(key[0].as_i64().ok_or("integer key")?);
                }
                backfill.complete(&store, &chunk)?;
            }
        }
        Ok(())
    };
    take(&mut backfill, 2)?; // keys 1..=1000 copied

    // The application writes behind and ahead of the cursor.
    app.execute_batch(
        "UPDATE items SET name = 'behind' WHERE id = 100;
         UPDATE items SET name = 'ahead' WHERE id = 2500;
         INSERT INTO items VALUES (5000, 'new', 1);
         DELETE FROM items WHERE id = 50;
         DELETE FROM items WHERE id = 2999;",
    )?;
    // A restart in the middle keeps the original mark.
    let again = begin_capture(&source, &store, "p")?;
    assert!(!again.fresh);
    assert_eq!(again.checkpoint, start.checkpoint);

    take(&mut backfill, 100)?;
    assert!(backfill.is_finished());

    let mut tail = Tail::open(&path, start.checkpoint, 100)?;
    let tailed = drain(&mut tail)?;
    let tailed_keys: Vec<(ChangeKind, i64)> = tailed
        .iter()
        .map(|c| Ok((c.kind, c.key[0].as_i64().ok_or("integer key")?)))
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    assert_eq!(
        tailed_keys,
        vec![
            (ChangeKind::Update, 100),
            (ChangeKind::Update, 2500),
            (ChangeKind::Insert, 5000),
            (ChangeKind::Delete, 50),
            (ChangeKind::Delete, 2999),
        ]
    );
    assert_eq!(tailed[0].seq, 1);

    // Nothing lost: every row now in the table was backfilled or tailed, and every write made
    // after the mark was tailed, whether the backfill had passed its key or not.
    let live: Vec<i64> = app
        .prepare("SELECT id FROM items ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let tailed_set: BTreeSet<i64> = tailed_keys.iter().map(|(_, k)| *k).collect();
    for id in &live {
        assert!(
            backfilled.contains(id) || tailed_set.contains(id),
            "row {id} lost"
        );
    }
    assert!(backfilled.contains(&5000) || tailed_set.contains(&5000));
    assert!(!backfilled.contains(&2999), "deleted ahead of the cursor");
    Ok(())
}
