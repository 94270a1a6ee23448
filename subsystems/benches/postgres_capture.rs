//! Postgres capture throughput on 100 000 rows: backfill rows/s (keyset chunks, progress
//! stored in a SQLite state file), and stream changes/s decoded to `Change`s and acknowledged,
//! against `pg_recvlogical` reading the same changes from a slot of its own (the ceiling: the
//! server's decoding, no client work), if it is installed.
//!
//! `cargo bench -p subsystems --bench postgres_capture` (release); under `cargo test` it runs
//! once on 2 000 rows as a smoke test. Both need `DATABASE_URL` (`bash tests/run.sh` starts a
//! server; by hand: `eval "$(bash tests/pg.sh start)"`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/postgres_support/mod.rs"]
mod postgres_support;

use std::time::{Duration, Instant};

use postgres_support::{unique, TestDb, TestResult};
use subsystems::source::postgres::{
    begin_capture, install, Backfill, CaptureSetup, ChangeStream, PgSource, StreamConfig, TableSpec,
};
use subsystems::state::{MemoryStateStore, SqliteStateStore};
use tokio_postgres::config::Host;

fn main() -> TestResult {
    let full = std::env::args().any(|arg| arg == "--bench");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(if full { 100_000 } else { 2_000 }))
}

async fn run(rows: i64) -> TestResult {
    let mut db = TestDb::create(
        "bench",
        "CREATE TABLE items (id integer PRIMARY KEY, name text, category_id integer)",
    )
    .await?;
    let setup = CaptureSetup {
        publication: unique("pub"),
        slot: db.slot(),
        tables: vec![TableSpec::new("items").with_old_columns(["category_id"])],
    };
    let outcome = install(&db.client, &setup).await?;
    let ceiling_slot = db.slot();
    db.client
        .execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&ceiling_slot],
        )
        .await?;
    let store = MemoryStateStore::new();
    let start = begin_capture(&db.client, &store, "p", &setup.slot, outcome.slot_created).await?;

    // The writes: transactions of 1 000 rows.
    let t = Instant::now();
    for from in (1..=rows).step_by(1_000) {
        db.client
            .execute(
                "INSERT INTO items SELECT i, 'row ' || i, i % 7
                 FROM generate_series($1::int, $2::int) i",
                &[&(from as i32), &((from + 999).min(rows) as i32)],
            )
            .await?;
    }
    let insert = t.elapsed();
    let end_lsn: String = db
        .client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await?
        .get(0);
    println!(
        "insert of {rows} rows in transactions of 1 000: {:.0} rows/s",
        rows as f64 / insert.as_secs_f64()
    );

    // Backfill.
    let dir = tempfile::tempdir()?;
    let state = SqliteStateStore::open(dir.path().join("state.db"))?;
    for chunk_size in [1_000, 10_000] {
        let pipeline = format!("p{chunk_size}");
        let t = Instant::now();
        let mut backfill = Backfill::resume(
            &db.client,
            &state,
            &pipeline,
            &outcome.tables[0],
            chunk_size,
        )
        .await?;
        let mut n = 0;
        while let Some(chunk) = backfill.next_chunk(&db.client).await? {
            n += chunk.keys.len();
            backfill.complete(&state, &chunk)?;
        }
        let took = t.elapsed();
        assert_eq!(n as i64, rows, "every row once");
        println!(
            "backfill: {n} keys in chunks of {chunk_size} (fsync'd progress per chunk) in \
             {took:?}: {:.0} rows/s",
            n as f64 / took.as_secs_f64()
        );
    }

    // The stream: connect, decode, number, acknowledge every batch.
    let t = Instant::now();
    let mut stream = ChangeStream::new(
        db.source.clone(),
        StreamConfig::new(&setup.slot, &setup.publication),
        outcome.tables.clone(),
        start.checkpoint,
    )?;
    let mut n = 0usize;
    let mut batches = 0usize;
    let deadline = Instant::now() + Duration::from_secs(600);
    while (n as i64) < rows {
        let batch =
            tokio::time::timeout(Duration::from_secs(60), stream.next_batch(1_000)).await??;
        n += batch.len();
        batches += 1;
        if let Some(last) = batch.last() {
            stream.ack(last.seq)?;
        }
        if Instant::now() > deadline {
            return Err(format!("stream: only {n} of {rows} changes in 600 s").into());
        }
    }
    let ours = t.elapsed();
    let ours_rate = n as f64 / ours.as_secs_f64();
    println!(
        "stream: {n} changes in {batches} batches (connect, decode, Change, ack) in {ours:?}: \
         {ours_rate:.0} changes/s"
    );
    stream.close().await;

    // The ceiling: pg_recvlogical on its own slot, to the same end position.
    match recvlogical(&db.source, &ceiling_slot, &setup.publication, &end_lsn) {
        Ok(Some(took)) => {
            let rate = rows as f64 / took.as_secs_f64();
            println!(
                "pg_recvlogical (pgoutput to /dev/null, same changes): {took:?}: {rate:.0} changes/s; \
                 stream / pg_recvlogical = {:.2}",
                ours_rate / rate
            );
        }
        Ok(None) => println!("pg_recvlogical is not installed: no ceiling measured"),
        Err(error) => return Err(error),
    }
    Ok(())
}

/// Runs `pg_recvlogical` from the start of `slot` to `end_lsn`; `None` if it is not installed.
fn recvlogical(
    source: &PgSource,
    slot: &str,
    publication: &str,
    end_lsn: &str,
) -> TestResult<Option<Duration>> {
    let config = source.config();
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let mut command = std::process::Command::new("pg_recvlogical");
    command.args([
        "--no-password",
        "-h",
        &host,
        "-p",
        &port,
        "-U",
        source.user(),
        "-d",
        source.database(),
        "--slot",
        slot,
        "--start",
        "--no-loop",
        "-o",
        "proto_version=1",
        "-o",
        &format!("publication_names={publication}"),
        "--endpos",
        end_lsn,
        "-f",
        "/dev/null",
    ]);
    if let Some(password) = config.get_password() {
        command.env("PGPASSWORD", String::from_utf8_lossy(password).into_owned());
    }
    let t = Instant::now();
    let status = match command.status() {
        Ok(status) => status,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let took = t.elapsed();
    if !status.success() {
        return Err(format!("pg_recvlogical failed: {status}").into());
    }
    Ok(Some(took))
}
