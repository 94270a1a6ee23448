//! The Postgres capture against a real server (`DATABASE_URL`; `bash tests/run.sh` starts
//! one): change kinds and their order, primary-key updates, TRUNCATE, setup idempotence and
//! the operator's SQL when the role may not set up, and a backfill resumed after a crash with
//! the writes made meanwhile captured from the high-water mark.
//!
//! Each test has a database, publication and slot of its own, so they run in parallel. The
//! tests that need the whole cluster (restarts, idle lag) are in `postgres_cluster.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod postgres_support;

use std::collections::BTreeSet;
use std::time::Duration;

use postgres_support::{confirmed_past, read_n, unique, TestDb, TestResult};
use serde_json::{json, Value};
use subsystems::change::{Change, ChangeKind, Key, Position, Row};
use subsystems::source::postgres::pgoutput::ReplicaIdentity;
use subsystems::source::postgres::{
    begin_capture, install, uninstall, Backfill, CaptureSetup, ChangeStream, InstallOutcome,
    PgError, StreamConfig, TableSpec,
};
use subsystems::state::{Checkpoint, MemoryStateStore, SqliteStateStore, StateStore};

const SCHEMA: &str = "
CREATE TABLE items (id integer PRIMARY KEY, name text, category_id integer, price numeric(10, 2),
                    tags jsonb, active boolean);
CREATE TABLE pairs (a text, b bigint, v text, PRIMARY KEY (a, b));
CREATE TABLE other (id integer PRIMARY KEY, v text);
";

const WAIT: Duration = Duration::from_secs(30);

fn specs() -> Vec<TableSpec> {
    vec![
        TableSpec::new("items").with_old_columns(["category_id", "price", "tags", "active"]),
        TableSpec::new("pairs"),
    ]
}

fn setup_for(db: &mut TestDb, tables: Vec<TableSpec>) -> CaptureSetup {
    CaptureSetup {
        publication: unique("pub"),
        slot: db.slot(),
        tables,
    }
}

/// Installs the capture and opens a stream from the new pipeline's high-water mark, with
/// its sequence numbers starting after `seq`.
async fn capture(
    db: &mut TestDb,
    seq: u64,
) -> TestResult<(CaptureSetup, InstallOutcome, ChangeStream)> {
    let setup = setup_for(db, specs());
    let outcome = install(&db.client, &setup).await?;
    let store = MemoryStateStore::new();
    let start = begin_capture(&db.client, &store, "p", &setup.slot, outcome.slot_created).await?;
    assert!(start.fresh);
    let from = Checkpoint {
        position: start.checkpoint.position,
        seq,
    };
    let stream = ChangeStream::new(
        db.source.clone(),
        StreamConfig::new(&setup.slot, &setup.publication),
        outcome.tables.clone(),
        from,
    )?;
    Ok((setup, outcome, stream))
}

fn row(pairs: &[(&str, Value)]) -> Option<Row> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

type Summary = (String, ChangeKind, Key, Option<Row>);

fn summary(changes: &[Change]) -> Vec<Summary> {
    changes
        .iter()
        .map(|c| (c.table.clone(), c.kind, c.key.clone(), c.old.clone()))
        .collect()
}

fn change(table: &str, kind: ChangeKind, key: Key, old: Option<Row>) -> Summary {
    (table.to_owned(), kind, key, old)
}

/// Splits changes into transactions by position; asserts positions never go back.
fn transactions(changes: &[Change]) -> Vec<Vec<Change>> {
    let mut out: Vec<Vec<Change>> = Vec::new();
    for c in changes {
        match out.last_mut() {
            Some(tx) if tx[0].position == c.position => tx.push(c.clone()),
            Some(tx) => {
                assert!(
                    tx[0].position < c.position,
                    "positions go back: {changes:?}"
                );
                out.push(vec![c.clone()]);
            }
            None => out.push(vec![c.clone()]),
        }
    }
    out
}

#[tokio::test]
async fn postgres_every_kind_reaches_the_consumer_in_commit_order() -> TestResult {
    let mut db = TestDb::create("kinds", SCHEMA).await?;
    let (_setup, outcome, mut stream) = capture(&mut db, 41).await?;
    assert_eq!(outcome.tables[0].replica_identity, ReplicaIdentity::Full);
    assert_eq!(outcome.tables[1].replica_identity, ReplicaIdentity::Default);

    let c = &db.client;
    c.batch_execute(
        r#"INSERT INTO items VALUES (1, 'one', 7, 9.50, '{"a": [1, 2]}', true),
                                    (2, 'two', 8, NULL, NULL, false)"#,
    )
    .await?;
    c.batch_execute("INSERT INTO other VALUES (1, 'not captured')")
        .await?;
    c.batch_execute("UPDATE items SET name = 'uno', category_id = 9 WHERE id = 1")
        .await?;
    c.batch_execute("DELETE FROM items WHERE id = 2").await?;
    c.batch_execute(
        "BEGIN;
         INSERT INTO pairs VALUES ('x', 1, 'v');
         UPDATE pairs SET v = 'w' WHERE a = 'x' AND b = 1;
         DELETE FROM pairs WHERE a = 'x';
         COMMIT;",
    )
    .await?;
    // Two transactions interleaved: the one that commits first comes first.
    let c2 = db.connect().await?;
    c.batch_execute("BEGIN; INSERT INTO items (id, name, category_id) VALUES (10, 'ten', 1)")
        .await?;
    c2.batch_execute(
        "BEGIN; INSERT INTO items (id, name, category_id) VALUES (11, 'eleven', 1); COMMIT",
    )
    .await?;
    c.batch_execute("UPDATE items SET category_id = 2 WHERE id = 10; COMMIT")
        .await?;

    let changes = read_n(&mut stream, 10, WAIT).await?;
    use ChangeKind::*;
    let items_old = |id: i64, category: i64, price: Value, tags: Value, active: Value| {
        row(&[
            ("id", json!(id)),
            ("category_id", json!(category)),
            ("price", price),
            ("tags", tags),
            ("active", active),
        ])
    };
    assert_eq!(
        summary(&changes),
        [
            change("items", Insert, vec![json!(1)], None),
            change("items", Insert, vec![json!(2)], None),
            change(
                "items",
                Update,
                vec![json!(1)],
                items_old(1, 7, json!(9.5), json!({"a": [1, 2]}), json!(true))
            ),
            change(
                "items",
                Delete,
                vec![json!(2)],
                items_old(2, 8, Value::Null, Value::Null, json!(false))
            ),
            change("pairs", Insert, vec![json!("x"), json!(1)], None),
            // Identity DEFAULT, key unchanged: the key is the old value.
            change(
                "pairs",
                Update,
                vec![json!("x"), json!(1)],
                row(&[("a", json!("x")), ("b", json!(1))])
            ),
            change(
                "pairs",
                Delete,
                vec![json!("x"), json!(1)],
                row(&[("a", json!("x")), ("b", json!(1))])
            ),
            change("items", Insert, vec![json!(11)], None),
            change("items", Insert, vec![json!(10)], None),
            change(
                "items",
                Update,
                vec![json!(10)],
                items_old(10, 1, Value::Null, Value::Null, Value::Null)
            ),
        ]
    );

    // Gap-free from the checkpoint's seq; one position per transaction, increasing (the
    // transaction writing only the uncaptured table sends nothing).
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (42..52).collect::<Vec<_>>());
    let sizes: Vec<usize> = transactions(&changes).iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 1, 1, 3, 1, 2]);

    // Acknowledging everything moves the slot to the last transaction, and past it once its
    // commit is in.
    let checkpoint = stream.ack(51)?.ok_or("first ack of seq 51")?;
    assert_eq!(checkpoint.seq, 51);
    assert!(checkpoint.position >= changes[9].position);
    confirmed_past(&mut stream, changes[9].position.0).await?;
    assert!(stream.ack(51)?.is_none());
    assert!(matches!(
        stream.ack(52),
        Err(PgError::AckBeyondDelivered { .. })
    ));
    stream.close().await;
    Ok(())
}

#[tokio::test]
async fn postgres_primary_key_update_is_a_delete_then_an_insert() -> TestResult {
    let mut db = TestDb::create("pk", SCHEMA).await?;
    let (_setup, _outcome, mut stream) = capture(&mut db, 0).await?;
    let c = &db.client;
    c.batch_execute("INSERT INTO items (id, name, category_id) VALUES (1, 'one', 7)")
        .await?;
    c.batch_execute("INSERT INTO pairs VALUES ('x', 1, 'v')")
        .await?;
    c.batch_execute("UPDATE items SET id = 100, category_id = 8 WHERE id = 1")
        .await?;
    c.batch_execute("UPDATE pairs SET b = 2 WHERE a = 'x'")
        .await?;
    c.batch_execute("UPDATE items SET name = 'same key' WHERE id = 100")
        .await?;
    let changes = read_n(&mut stream, 7, WAIT).await?;
    use ChangeKind::*;
    let old = |id: i64, category: i64| {
        row(&[
            ("id", json!(id)),
            ("category_id", json!(category)),
            ("price", Value::Null),
            ("tags", Value::Null),
            ("active", Value::Null),
        ])
    };
    assert_eq!(
        summary(&changes),
        [
            change("items", Insert, vec![json!(1)], None),
            change("pairs", Insert, vec![json!("x"), json!(1)], None),
            change("items", Delete, vec![json!(1)], old(1, 7)),
            change("items", Insert, vec![json!(100)], None),
            // Identity DEFAULT: the old key tuple carries the key only.
            change(
                "pairs",
                Delete,
                vec![json!("x"), json!(1)],
                row(&[("a", json!("x")), ("b", json!(1))])
            ),
            change("pairs", Insert, vec![json!("x"), json!(2)], None),
            change("items", Update, vec![json!(100)], old(100, 8)),
        ]
    );
    // The delete and insert of one update share its transaction's position.
    assert_eq!(changes[2].position, changes[3].position);
    assert_eq!(changes[4].position, changes[5].position);
    stream.close().await;
    Ok(())
}

#[tokio::test]
async fn postgres_truncate_gives_a_truncate_change_per_table() -> TestResult {
    let mut db = TestDb::create("truncate", SCHEMA).await?;
    let (_setup, _outcome, mut stream) = capture(&mut db, 0).await?;
    let c = &db.client;
    c.batch_execute(
        "INSERT INTO items (id) VALUES (1), (2); INSERT INTO pairs VALUES ('a', 1, NULL);
         INSERT INTO other VALUES (1, 'x');",
    )
    .await?;
    c.batch_execute("TRUNCATE items, pairs, other").await?;
    c.batch_execute("INSERT INTO items (id) VALUES (3)").await?;
    let changes = read_n(&mut stream, 6, WAIT).await?;
    let truncated: BTreeSet<String> = changes[3..5]
        .iter()
        .map(|c| {
            assert_eq!(c.kind, ChangeKind::Truncate);
            assert!(c.key.is_empty());
            assert!(c.old.is_none());
            c.table.clone()
        })
        .collect();
    assert_eq!(truncated, ["items".to_owned(), "pairs".to_owned()].into());
    assert_eq!(changes[3].position, changes[4].position);
    assert_eq!(
        (changes[5].kind, changes[5].key.clone()),
        (ChangeKind::Insert, vec![json!(3)])
    );
    stream.close().await;
    Ok(())
}

#[tokio::test]
async fn postgres_setup_is_idempotent() -> TestResult {
    let mut db = TestDb::create("setup", SCHEMA).await?;
    let setup = setup_for(&mut db, specs());
    let first = install(&db.client, &setup).await?;
    assert!(first.slot_created);
    let pub_q = format!("\"{}\"", setup.publication);
    assert_eq!(
        first.executed,
        [
            "ALTER TABLE \"public\".\"items\" REPLICA IDENTITY FULL;".to_owned(),
            format!(
                "CREATE PUBLICATION {pub_q} FOR TABLE \"public\".\"items\", \"public\".\"pairs\" \
                 WITH (publish = 'insert, update, delete, truncate');"
            ),
            format!(
                "SELECT pg_create_logical_replication_slot('{}', 'pgoutput');",
                setup.slot
            ),
        ]
    );
    let again = install(&db.client, &setup).await?;
    assert!(again.executed.is_empty(), "{:?}", again.executed);
    assert!(!again.slot_created);
    assert_eq!(again.tables, first.tables);

    let published: BTreeSet<String> = db
        .client
        .query(
            "SELECT tablename::text FROM pg_publication_tables WHERE pubname = $1",
            &[&setup.publication],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(published, ["items".to_owned(), "pairs".to_owned()].into());
    let plugin: String = db
        .client
        .query_one(
            "SELECT plugin::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&setup.slot],
        )
        .await?
        .get(0);
    assert_eq!(plugin, "pgoutput");

    // A table added to the mapping joins the publication, nothing else changes.
    let mut wider = setup.clone();
    wider.tables.push(TableSpec::new("other"));
    let added = install(&db.client, &wider).await?;
    assert_eq!(
        added.executed,
        [format!(
            "ALTER PUBLICATION {pub_q} ADD TABLE \"public\".\"other\";"
        )]
    );

    // A slot of another plugin is refused, not reused.
    let foreign = db.slot();
    db.client
        .execute(
            "SELECT pg_create_logical_replication_slot($1, 'test_decoding')",
            &[&foreign],
        )
        .await?;
    let mut other_plugin = setup.clone();
    other_plugin.slot = foreign;
    assert!(matches!(
        install(&db.client, &other_plugin).await,
        Err(PgError::SlotMismatch { reason, .. }) if reason.contains("test_decoding")
    ));

    uninstall(&db.client, &setup).await?;
    uninstall(&db.client, &setup).await?;
    let left: i64 = db
        .client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)
                  + (SELECT count(*) FROM pg_publication WHERE pubname = $2)",
            &[&setup.slot, &setup.publication],
        )
        .await?
        .get(0);
    assert_eq!(left, 0);
    Ok(())
}

#[tokio::test]
async fn postgres_permission_denied_gives_the_sql_to_run() -> TestResult {
    let mut db = TestDb::create("perm", SCHEMA).await?;
    let role = db.role();
    // A role that may log in, and nothing else: no REPLICATION, no CREATE on the database,
    // not the tables' owner, no SELECT.
    db.client
        .batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN"))
        .await?;
    let limited = db.source.with_user(&role, None);
    let client = limited.connect().await?;
    let setup = setup_for(&mut db, specs());
    let error = install(&client, &setup)
        .await
        .err()
        .ok_or("install as a role without rights succeeded")?;
    let message = error.to_string();
    let PgError::NeedsOperator {
        sql, role: named, ..
    } = error
    else {
        return Err(format!("expected NeedsOperator, got {message}").into());
    };
    assert_eq!(named, role);
    let expected = [
        "ALTER TABLE \"public\".\"items\" REPLICA IDENTITY FULL;".to_owned(),
        format!(
            "CREATE PUBLICATION \"{}\" FOR TABLE \"public\".\"items\", \"public\".\"pairs\" \
             WITH (publish = 'insert, update, delete, truncate');",
            setup.publication
        ),
        format!(
            "SELECT pg_create_logical_replication_slot('{}', 'pgoutput');",
            setup.slot
        ),
        format!("ALTER ROLE \"{role}\" WITH REPLICATION;"),
        format!("GRANT SELECT ON \"public\".\"items\" TO \"{role}\";"),
        format!("GRANT SELECT ON \"public\".\"pairs\" TO \"{role}\";"),
    ];
    assert_eq!(sql, expected);
    for statement in &expected {
        assert!(message.contains(statement.as_str()), "{message}");
    }
    assert!(
        message.contains("permission denied") || message.contains("must be owner"),
        "{message}"
    );

    // The operator runs it; then the capture's role finds everything in place and streams.
    for statement in &sql {
        db.client.batch_execute(statement).await?;
    }
    let outcome = install(&client, &setup).await?;
    assert!(outcome.executed.is_empty(), "{:?}", outcome.executed);
    let store = MemoryStateStore::new();
    let start = begin_capture(&client, &store, "p", &setup.slot, false).await?;
    let mut stream = ChangeStream::new(
        limited,
        StreamConfig::new(&setup.slot, &setup.publication),
        outcome.tables,
        start.checkpoint,
    )?;
    db.client
        .batch_execute("INSERT INTO pairs VALUES ('after', 1, NULL)")
        .await?;
    let changes = read_n(&mut stream, 1, WAIT).await?;
    assert_eq!(changes[0].key, vec![json!("after"), json!(1)]);
    stream.close().await;
    Ok(())
}

#[tokio::test]
async fn postgres_backfill_resumes_after_a_crash_and_writes_meanwhile_are_captured() -> TestResult {
    let mut db = TestDb::create(
        "backfill",
        "CREATE TABLE items (id integer PRIMARY KEY, name text, category_id integer);
         INSERT INTO items SELECT i, 'row ' || i, i % 7 FROM generate_series(1, 10000) i;",
    )
    .await?;
    let setup = setup_for(&mut db, vec![TableSpec::new("items")]);
    let outcome = install(&db.client, &setup).await?;
    let table = &outcome.tables[0];
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state.db");
    let store = SqliteStateStore::open(&state)?;
    // The mark is taken before the first chunk is read.
    let start = begin_capture(&db.client, &store, "p", &setup.slot, outcome.slot_created).await?;
    assert!(start.fresh);

    let key_of = |key: &Key| key[0].as_i64().expect("integer key");
    let mut backfilled = BTreeSet::new();
    let mut backfill = Backfill::resume(&db.client, &store, "p", table, 1_000).await?;
    let estimate = backfill.progress().estimated_total.ok_or("no estimate")?;
    assert!((5_000..=20_000).contains(&estimate), "estimate {estimate}");
    for _ in 0..3 {
        let chunk = backfill.next_chunk(&db.client).await?.ok_or("chunk")?;
        backfilled.extend(chunk.keys.iter().map(key_of));
        backfill.complete(&store, &chunk)?;
    }
    // Read but never completed: the crash loses it.
    let lost = backfill
        .next_chunk(&db.client)
        .await?
        .ok_or("fourth chunk")?;
    assert_eq!(lost.after, Some(vec![json!(3000)]));

    // Writes while the backfill runs: behind its cursor and ahead of it.
    let c = &db.client;
    c.batch_execute("INSERT INTO items SELECT i, 'new', 1 FROM generate_series(10001, 10050) i")
        .await?;
    c.batch_execute("UPDATE items SET name = 'changed' WHERE id IN (5, 9000)")
        .await?;
    c.batch_execute("DELETE FROM items WHERE id IN (20, 9500)")
        .await?;

    // Crash: the backfill and the store go away; a new process reopens the store.
    drop(backfill);
    drop(store);
    let store = SqliteStateStore::open(&state)?;
    assert_eq!(store.checkpoint("p")?, Some(start.checkpoint));
    let mut backfill = Backfill::resume(&db.client, &store, "p", table, 1_000).await?;
    assert_eq!(backfill.progress().rows_done, 3_000);
    assert_eq!(backfill.progress().estimated_total, Some(estimate));
    let mut first = true;
    let mut read_after_crash = 0;
    while let Some(chunk) = backfill.next_chunk(&db.client).await? {
        if first {
            assert_eq!(
                chunk.after,
                Some(vec![json!(3000)]),
                "resumes after the last completed chunk"
            );
            first = false;
        }
        read_after_crash += chunk.keys.len() as u64;
        backfilled.extend(chunk.keys.iter().map(key_of));
        backfill.complete(&store, &chunk)?;
    }
    assert!(backfill.is_finished());
    assert_eq!(backfill.progress().rows_done, 3_000 + read_after_crash);
    let expected: BTreeSet<i64> = (1..=10_050).filter(|id| *id != 9_500).collect();
    assert_eq!(
        backfilled, expected,
        "every key once, the deleted one ahead of the cursor not"
    );

    // The stream from the mark delivers exactly the writes made since.
    let mut stream = ChangeStream::new(
        db.source.clone(),
        StreamConfig::new(&setup.slot, &setup.publication),
        outcome.tables.clone(),
        start.checkpoint,
    )?;
    let changes = read_n(&mut stream, 54, WAIT).await?;
    let of_kind = |kind: ChangeKind| -> Vec<i64> {
        changes
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| key_of(&c.key))
            .collect()
    };
    assert_eq!(
        of_kind(ChangeKind::Insert),
        (10_001..=10_050).collect::<Vec<_>>()
    );
    assert_eq!(of_kind(ChangeKind::Update), [5, 9_000]);
    assert_eq!(of_kind(ChangeKind::Delete), [20, 9_500]);
    assert_eq!(changes[0].seq, 1);

    // Together they cover every row as it is now.
    let now: BTreeSet<i64> = db
        .client
        .query("SELECT id::bigint FROM items", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let streamed: BTreeSet<i64> = changes.iter().map(|c| key_of(&c.key)).collect();
    for id in &now {
        assert!(
            backfilled.contains(id) || streamed.contains(id),
            "row {id} missed"
        );
    }
    let position: Position = changes[53].position;
    let checkpoint = stream.ack(54)?.ok_or("ack")?;
    assert!(checkpoint.position >= position);
    confirmed_past(&mut stream, position.0).await?;
    stream.close().await;
    Ok(())
}

#[tokio::test]
async fn postgres_errors_a_reconnect_cannot_repair_stop_the_stream() -> TestResult {
    let mut db = TestDb::create("fatal", SCHEMA).await?;
    let (setup, outcome, _stream) = capture(&mut db, 0).await?;

    // No such slot: refused before streaming.
    let mut missing_slot = ChangeStream::new(
        db.source.clone(),
        StreamConfig::new(unique("no_slot"), &setup.publication),
        outcome.tables.clone(),
        Checkpoint::default(),
    )?;
    let error = tokio::time::timeout(WAIT, missing_slot.next_batch(10))
        .await?
        .err()
        .ok_or("a stream of a missing slot delivered changes")?;
    assert!(matches!(error, PgError::SlotMissing { .. }), "{error}");

    // No such publication: the server says so once a change is decoded; no retry loop.
    let mut missing_publication = ChangeStream::new(
        db.source.clone(),
        StreamConfig::new(&setup.slot, unique("no_pub")),
        outcome.tables.clone(),
        Checkpoint::default(),
    )?;
    db.client
        .batch_execute("INSERT INTO items (id) VALUES (1)")
        .await?;
    let error = tokio::time::timeout(WAIT, missing_publication.next_batch(10))
        .await?
        .err()
        .ok_or("a stream of a missing publication delivered changes")?;
    assert!(
        matches!(&error, PgError::Replication { .. }) && error.to_string().contains("42704"),
        "{error}"
    );
    // The stream stays stopped.
    assert!(matches!(
        missing_publication.next_batch(10).await,
        Err(PgError::Protocol { reason, .. }) if reason.contains("earlier error")
    ));
    Ok(())
}
