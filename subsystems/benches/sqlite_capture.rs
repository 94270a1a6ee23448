//! SQLite capture throughput on 100 000 rows: insert cost of the capture triggers (against the
//! same insert without them, measured in the same run), backfill rows/s, and tail changes/s
//! draining a log and following a live writer.
//!
//! `cargo bench -p subsystems --bench sqlite_capture` (release); under `cargo test` it runs once
//! on 2 000 rows as a smoke test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use subsystems::change::{Change, Position};
use subsystems::source::sqlite::{install, Backfill, CaptureError, IdleBackoff, TableSpec, Tail};
use subsystems::state::{Checkpoint, SqliteStateStore};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn database(dir: &Path) -> Result<(PathBuf, Connection), rusqlite::Error> {
    let path = dir.join("app.db");
    let app = Connection::open(&path)?;
    app.busy_timeout(Duration::from_secs(10))?;
    app.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, category_id INTEGER);",
    )?;
    Ok((path, app))
}

fn specs() -> Vec<TableSpec> {
    vec![TableSpec::new("items").with_old_columns(["category_id"])]
}

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

fn fill_items(app: &Connection, from: i64, to: i64) -> rusqlite::Result<()> {
    app.execute(
        "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         INSERT INTO items SELECT i, 'row ' || i, i % 7 FROM n",
        [from, to],
    )?;
    Ok(())
}

fn main() -> TestResult {
    let full = std::env::args().any(|arg| arg == "--bench");
    run(if full { 100_000 } else { 2_000 })
}

fn run(rows: i64) -> TestResult {
    let dir = tempfile::tempdir()?;
    let (path, app) = database(dir.path())?;
    install(&app, &specs())?;

    let t = Instant::now();
    fill_items(&app, 1, rows)?;
    let insert = t.elapsed();
    app.execute_batch(
        "CREATE TABLE plain (id INTEGER PRIMARY KEY, name TEXT, category_id INTEGER)",
    )?;
    let t = Instant::now();
    app.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO plain SELECT i, 'row ' || i, i % 7 FROM n",
        [rows],
    )?;
    let plain = t.elapsed();
    println!(
        "insert of {rows} rows in one transaction: {:.0} rows/s with capture triggers, \
         {:.0} rows/s without",
        rows as f64 / insert.as_secs_f64(),
        rows as f64 / plain.as_secs_f64()
    );

    let store = SqliteStateStore::open(dir.path().join("state.db"))?;
    let source = Connection::open(&path)?;
    for chunk_size in [1_000, 10_000] {
        let pipeline = format!("p{chunk_size}");
        let t = Instant::now();
        let mut backfill = Backfill::resume(&source, &store, &pipeline, "items", chunk_size)?;
        let mut n = 0;
        while let Some(chunk) = backfill.next_chunk(&source)? {
            n += chunk.keys.len();
            backfill.complete(&store, &chunk)?;
        }
        let took = t.elapsed();
        assert_eq!(n as i64, rows, "every row is seen once");
        println!(
            "backfill: {n} keys in chunks of {chunk_size} (count(*) estimate, fsync'd progress \
             per chunk) in {took:?}: {:.0} rows/s",
            n as f64 / took.as_secs_f64()
        );
    }

    for batch in [1_000, 10_000] {
        let mut tail = Tail::open(&path, Checkpoint::default(), batch)?;
        let t = Instant::now();
        let n = drain(&mut tail)?.len();
        let took = t.elapsed();
        assert_eq!(n as i64, rows, "every row is seen once");
        println!(
            "tail: {n} changes in batches of {batch} (decoded to Change) in {took:?}: {:.0} changes/s",
            n as f64 / took.as_secs_f64()
        );
    }

    // The tail against a live writer: 100 transactions of 1 000 rows each.
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || -> rusqlite::Result<()> {
        let app = Connection::open(&writer_path)?;
        app.busy_timeout(Duration::from_secs(10))?;
        for b in 0..(rows / 1_000).max(1) {
            let from = rows + 1 + b * 1_000;
            fill_items(&app, from, from + 999)?;
        }
        Ok(())
    });
    let mut tail = Tail::open(
        &path,
        Checkpoint {
            position: Position(rows as u64),
            seq: 0,
        },
        1_000,
    )?;
    let mut backoff = IdleBackoff::default();
    let t = Instant::now();
    let mut n = 0i64;
    while n < rows && t.elapsed() < Duration::from_secs(120) {
        let batch = tail.poll_batch()?;
        n += batch.len() as i64;
        std::thread::sleep(backoff.delay_after(batch.len()));
    }
    let took = t.elapsed();
    writer.join().map_err(|_| "writer panicked")??;
    println!(
        "tail following a live writer (1 000-row transactions): {n} changes in {took:?}: \
         {:.0} changes/s end to end, {} polls, {} queries",
        n as f64 / took.as_secs_f64(),
        tail.stats().polls,
        tail.stats().queries
    );
    let trim = Instant::now();
    let trimmed = tail.trim(tail.position())?;
    println!("trim: {trimmed} rows in {:?}", trim.elapsed());
    Ok(())
}
