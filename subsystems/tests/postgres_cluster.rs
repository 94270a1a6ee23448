//! Postgres capture tests that need the cluster to themselves, run one at a time: a walsender
//! terminated and the server restarted mid-stream, a process crash resumed from the stored
//! checkpoint, and an idle slot's lag returning to zero (cluster-wide WAL from parallel tests
//! would keep it moving).
//!
//! `DATABASE_URL` names the server and `PG_TMP_ROOT` its data directory (both exported by
//! `tests/pg.sh start`, which `bash tests/run.sh` runs).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod postgres_support;

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use postgres_support::{read_until, unique, TestDb, TestResult};
use subsystems::change::{Change, ChangeKind};
use subsystems::source::postgres::{
    begin_capture, install, slot_lag, CaptureSetup, ChangeStream, InstallOutcome, SlotLag,
    StreamConfig, TableSpec,
};
use subsystems::state::{Checkpoint, MemoryStateStore, StateStore};
use tokio_postgres::Client;

const WAIT: Duration = Duration::from_secs(60);

/// Runs `test` alone: no other test of this binary writes WAL meanwhile.
fn serial<F, Fut>(test: F) -> TestResult
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = TestResult>,
{
    static LOCK: Mutex<()> = Mutex::new(());
    let _alone = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(test())
}

async fn capture(db: &mut TestDb) -> TestResult<(CaptureSetup, InstallOutcome, Checkpoint)> {
    let setup = CaptureSetup {
        publication: unique("pub"),
        slot: db.slot(),
        tables: vec![TableSpec::new("items")],
    };
    let outcome = install(&db.client, &setup).await?;
    let store = MemoryStateStore::new();
    let start = begin_capture(&db.client, &store, "p", &setup.slot, outcome.slot_created).await?;
    Ok((setup, outcome, start.checkpoint))
}

fn stream(
    db: &TestDb,
    setup: &CaptureSetup,
    outcome: &InstallOutcome,
    from: Checkpoint,
) -> TestResult<ChangeStream> {
    Ok(ChangeStream::new(
        db.source.clone(),
        StreamConfig::new(&setup.slot, &setup.publication),
        outcome.tables.clone(),
        from,
    )?)
}

fn ids(changes: &[Change]) -> Vec<i64> {
    changes
        .iter()
        .map(|c| c.key[0].as_i64().expect("integer key"))
        .collect()
}

/// Reads and acknowledges changes until `n` in all, also while something else (a restart)
/// goes on: a walsender shutting down waits for its client to confirm what it sent.
async fn read_and_ack(stream: &mut ChangeStream, all: &mut Vec<Change>, n: usize) -> TestResult {
    let more = read_until(stream, WAIT, |read| all.len() + read.len() >= n).await?;
    if let Some(last) = more.last() {
        stream.ack(last.seq)?;
    }
    all.extend(more);
    Ok(())
}

/// Inserts rows `from..=to` with 400-byte names in one transaction (a big one is more than
/// the socket buffers between server and stream hold).
async fn insert(client: &Client, from: i64, to: i64) -> TestResult {
    client
        .execute(
            "INSERT INTO items SELECT i, repeat('x', 400) FROM generate_series($1::bigint, $2) i",
            &[&from, &to],
        )
        .await?;
    Ok(())
}

async fn terminate_walsender(client: &Client, slot: &str) -> TestResult {
    let terminated: i64 = client
        .query_one(
            "SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots
             WHERE slot_name = $1 AND active_pid IS NOT NULL",
            &[&slot],
        )
        .await?
        .get(0);
    assert_eq!(terminated, 1, "the stream's walsender was running");
    Ok(())
}

fn pg_tmp_root() -> TestResult<String> {
    std::env::var("PG_TMP_ROOT").map_err(|_| {
        "PG_TMP_ROOT is not set: run `bash tests/run.sh`, which starts PostgreSQL with \
         tests/pg.sh (the restart test restarts that cluster)"
            .into()
    })
}

#[test]
fn postgres_walsender_terminated_and_server_restarted_mid_stream_lose_nothing() -> TestResult {
    serial(|| async {
        let mut db = TestDb::create(
            "restart",
            "CREATE TABLE items (id bigint PRIMARY KEY, name text)",
        )
        .await?;
        let root = pg_tmp_root()?;
        let (setup, outcome, from) = capture(&mut db).await?;
        let mut stream = stream(&db, &setup, &outcome, from)?;
        let mut all = Vec::new();

        // A transaction larger than the buffers between server and stream: the walsender is
        // in the middle of sending it when it is terminated.
        const BIG: i64 = 50_000;
        insert(&db.client, 1, BIG).await?;
        read_and_ack(&mut stream, &mut all, 1_000).await?;
        terminate_walsender(&db.client, &setup.slot).await?;
        read_and_ack(&mut stream, &mut all, BIG as usize).await?;
        let after_terminate = stream.stats();
        assert!(after_terminate.disconnects >= 1, "{after_terminate:?}");
        assert!(
            after_terminate.resent_skipped > 0,
            "the interrupted transaction was resent and its delivered part skipped: {after_terminate:?}"
        );

        // Small transactions, another big one, and a server restart while it streams.
        for start in (BIG + 1..=BIG + 100).step_by(10) {
            insert(&db.client, start, start + 9).await?;
        }
        insert(&db.client, BIG + 101, 2 * BIG + 100).await?;
        read_and_ack(&mut stream, &mut all, BIG as usize + 1_100).await?;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/pg.sh");
        let restart = tokio::task::spawn_blocking(move || {
            std::process::Command::new("bash")
                .args([script, "restart", root.as_str()])
                .status()
        });
        read_and_ack(&mut stream, &mut all, 2 * BIG as usize + 100).await?;
        let status = restart.await??;
        assert!(status.success(), "pg.sh restart failed: {status}");

        // Writes after the restart, on a new connection.
        let client = db.connect().await?;
        insert(&client, 2 * BIG + 101, 2 * BIG + 200).await?;
        read_and_ack(&mut stream, &mut all, 2 * BIG as usize + 200).await?;

        let expected: Vec<i64> = (1..=2 * BIG + 200).collect();
        assert!(ids(&all) == expected, "every row once, in commit order");
        assert!(all.iter().all(|c| c.kind == ChangeKind::Insert));
        let seqs: Vec<u64> = all.iter().map(|c| c.seq).collect();
        assert!(
            seqs == (1..=expected.len() as u64).collect::<Vec<_>>(),
            "gap-free seqs"
        );
        let stats = stream.stats();
        eprintln!("after a terminated walsender and a restart: {stats:?}");
        assert!(stats.disconnects >= 2, "{stats:?}");
        assert!(stats.connections >= 3, "{stats:?}");
        stream.close().await;
        Ok(())
    })
}

#[test]
fn postgres_after_a_crash_the_stream_resumes_from_the_stored_checkpoint() -> TestResult {
    serial(|| async {
        let mut db = TestDb::create(
            "crash",
            "CREATE TABLE items (id bigint PRIMARY KEY, name text)",
        )
        .await?;
        let (setup, outcome, from) = capture(&mut db).await?;
        let store = MemoryStateStore::new();
        let mut first = stream(&db, &setup, &outcome, from)?;
        for start in [1, 4, 7] {
            insert(&db.client, start, start + 2).await?;
        }
        let read = read_until(&mut first, WAIT, |all| all.len() >= 9).await?;
        assert_eq!(ids(&read), (1..=9).collect::<Vec<_>>());
        // Acknowledged through the middle of the second transaction, then the process dies.
        let checkpoint = first.ack(5)?.ok_or("ack 5")?;
        assert_eq!(
            checkpoint.position, read[4].position,
            "a partial transaction: its commit"
        );
        store.set_checkpoint("p", checkpoint)?;
        drop(first);
        insert(&db.client, 10, 12).await?;

        // The partly acknowledged transaction comes again, whole, numbered after seq 5.
        let stored = store.checkpoint("p")?.ok_or("stored checkpoint")?;
        let mut second = stream(&db, &setup, &outcome, stored)?;
        let again = read_until(&mut second, WAIT, |all| all.len() >= 9).await?;
        assert_eq!(ids(&again), (4..=12).collect::<Vec<_>>());
        assert_eq!(again[0].seq, 6);
        // Acknowledged through the end of a transaction: the next start is after it.
        let checkpoint = second.ack(again[2].seq)?.ok_or("ack")?;
        assert!(
            checkpoint.position > again[2].position,
            "a whole transaction: its end"
        );
        store.set_checkpoint("p", checkpoint)?;
        drop(second);
        let mut third = stream(&db, &setup, &outcome, store.checkpoint("p")?.ok_or("cp")?)?;
        let rest = read_until(&mut third, WAIT, |all| all.len() >= 6).await?;
        assert_eq!(ids(&rest), (7..=12).collect::<Vec<_>>());
        assert_eq!(rest[0].seq, again[2].seq + 1);
        third.close().await;
        Ok(())
    })
}

/// Waits until the slot's lag is 0, keeping the stream polled (briefly, cancelling each wait)
/// so it sees the server's keepalives, as a capture loop waiting for changes does.
async fn lag_reaches_zero(
    stream: &mut ChangeStream,
    client: &Client,
    slot: &str,
) -> TestResult<SlotLag> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(batch) =
            tokio::time::timeout(Duration::from_millis(100), stream.next_batch(10)).await
        {
            return Err(format!("unexpected changes: {:?}", batch?).into());
        }
        let lag = slot_lag(client, slot).await?;
        if lag.bytes == Some(0) {
            return Ok(lag);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("slot lag still {lag:?} after 30 s").into());
        }
    }
}

#[test]
fn postgres_idle_slot_lag_returns_to_zero_after_acks() -> TestResult {
    serial(|| async {
        let mut db = TestDb::create(
            "lag",
            "CREATE TABLE items (id bigint PRIMARY KEY, name text);
             CREATE TABLE other (id bigint PRIMARY KEY);",
        )
        .await?;
        let (setup, outcome, from) = capture(&mut db).await?;
        let mut stream = stream(&db, &setup, &outcome, from)?;
        for start in [1, 101, 201] {
            insert(&db.client, start, start + 99).await?;
        }
        let read = read_until(&mut stream, WAIT, |all| all.len() >= 300).await?;
        let before = slot_lag(&db.client, &setup.slot).await?;
        assert!(
            before.bytes.is_some_and(|b| b > 0),
            "unacknowledged: {before:?}"
        );
        assert!(before.active);
        stream.ack(read[299].seq)?;

        let lag = lag_reaches_zero(&mut stream, &db.client, &setup.slot).await?;
        assert_eq!(lag.wal_status.as_deref(), Some("reserved"));

        // Writes the capture does not see (another table) leave no lag behind either.
        db.client
            .batch_execute("INSERT INTO other SELECT generate_series(1, 1000)")
            .await?;
        let moved = slot_lag(&db.client, &setup.slot).await?;
        assert!(moved.bytes.is_some_and(|b| b > 0), "{moved:?}");
        lag_reaches_zero(&mut stream, &db.client, &setup.slot).await?;
        stream.close().await;
        Ok(())
    })
}
