//! The capture subsystem over the Postgres backend, through the overseer: a backfill and live
//! changes reach a stand-in builder that acknowledges them, and the checkpoint advances only
//! over what it acknowledged. (`DATABASE_URL`; `bash tests/run.sh` starts PostgreSQL.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    missing_debug_implementations
)]

mod postgres_support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use overseer::*;
use postgres_support::{eventually, TestDb};
use subsystems::capture::{Capture, PostgresBackend, PostgresCaptureConfig};
use subsystems::change::{Change, ChangeKind};
use subsystems::messages::*;
use subsystems::source::postgres::{CaptureSetup, TableSpec};
use subsystems::state::{SqliteStateStore, StateStore};
use subsystems::NodeError;

#[overlord(signal = NodeSignal, event = NodeEvent, gen = AllMessages, error = NodeError)]
pub struct CaptureOnly {
    #[subsystem(consumes: CaptureMessage, sends: [BuildMessage])]
    capture: CaptureSubsystem,
    #[subsystem(consumes: BuildMessage, sends: [CaptureMessage])]
    builder: RecordingBuilder,
}

/// Records every change it gets and acknowledges each batch at once.
pub struct RecordingBuilder {
    seen: Arc<Mutex<Vec<Change>>>,
}

impl<Ctx> Subsystem<Ctx, NodeError> for RecordingBuilder
where
    Ctx: SubsystemContext<Message = BuildMessage, Signal = NodeSignal, Error = NodeError>,
    Ctx::Sender: SubsystemSender<CaptureMessage>,
{
    fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<NodeError> {
        SpawnedSubsystem {
            name: "recording-builder",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Signal(NodeSignal::Conclude) => return Ok(()),
                        FromOverseer::Communication {
                            msg: BuildMessage::Changes(batch),
                        } => {
                            self.seen.lock().unwrap().extend(batch.changes);
                            let ack = CaptureMessage::Ack {
                                through_seq: batch.seq,
                            };
                            ctx.sender().send_message(ack).await;
                        }
                    }
                }
            }),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_and_live_changes_flow_through_the_capture_subsystem_and_advance_the_checkpoint() {
    let mut db = TestDb::create(
        "pipeline",
        "CREATE TABLE items (id integer PRIMARY KEY, name text);
         INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 5000) AS i;",
    )
    .await
    .unwrap();
    let slot = db.slot();
    // The durable store: the capture owns one handle; the test reads the same file through
    // another.
    let state_dir = tempfile::tempdir().unwrap();
    let state_file = state_dir.path().join("state.db");
    let store = SqliteStateStore::open(&state_file).unwrap();
    let backend = PostgresBackend::open(
        PostgresCaptureConfig {
            source: db.source.clone(),
            setup: CaptureSetup {
                publication: format!("{slot}_pub"),
                slot: slot.clone(),
                tables: vec![TableSpec::new("items")],
            },
            pipeline: "items".into(),
            backfill: vec!["items".into()],
            batch_size: 500,
            chunk_size: 1_000,
        },
        store,
    )
    .await
    .unwrap();
    let store = SqliteStateStore::open(&state_file).unwrap();
    let seen: Arc<Mutex<Vec<Change>>> = Arc::default();
    let (overseer, handle) = CaptureOnly::builder()
        .capture(Capture::new(backend, 4))
        .builder(RecordingBuilder {
            seen: Arc::clone(&seen),
        })
        .spawner(TokioSpawner::current().unwrap())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    let backfilled = |seen: &[Change]| {
        seen.iter()
            .filter(|change| change.kind == ChangeKind::Update)
            .map(|change| change.key[0].as_i64().unwrap())
            .collect::<BTreeSet<_>>()
    };
    eventually("the backfill", Duration::from_secs(60), || {
        let done = backfilled(&seen.lock().unwrap()).len() == 5_000;
        async move { Ok(done.then_some(())) }
    })
    .await
    .unwrap();

    db.client
        .batch_execute(
            "INSERT INTO items VALUES (5001, 'new');
             UPDATE items SET name = 'renamed' WHERE id = 1;
             DELETE FROM items WHERE id = 2;",
        )
        .await
        .unwrap();
    eventually("the live changes", Duration::from_secs(30), || {
        let seen = seen.lock().unwrap();
        let has = |kind: ChangeKind, id: i64| {
            seen.iter()
                .filter(|change| change.kind == kind && change.key[0] == id)
                .count()
        };
        // The update of item 1 comes once from the backfill and once live.
        let done = has(ChangeKind::Insert, 5001) == 1
            && has(ChangeKind::Delete, 2) == 1
            && has(ChangeKind::Update, 1) == 2;
        async move { Ok(done.then_some(())) }
    })
    .await
    .unwrap();
    // Every batch was acknowledged: the checkpoint names the last one.
    eventually("the checkpoint", Duration::from_secs(30), || {
        let checkpoint = store.checkpoint("items").unwrap();
        async move {
            Ok(checkpoint
                .filter(|checkpoint| checkpoint.position.0 > 0 && checkpoint.seq > 5)
                .map(|_| ()))
        }
    })
    .await
    .unwrap();

    handle.stop().await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}
