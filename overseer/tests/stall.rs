#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The stall watch: it reports a subsystem whose queue waits while it receives nothing, once,
//! leaves a busy subsystem that keeps up alone, and can shut down or restart the stalled one.

mod common;
mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use overseer::*;
use prometheus::Registry;
use support::*;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kick;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grain(pub u32);

pub type Feeder = Recorder<Kick>;
pub type Stone = Recorder<Grain>;

/// The stall threshold of `stone`, as its attribute says.
const THRESHOLD: Duration = Duration::from_millis(100);

#[overlord(signal = Sig, event = Event, gen = AllMessages)]
pub struct Mill {
    #[subsystem(consumes: Kick, sends: [Grain])]
    feeder: Feeder,
    #[subsystem(consumes: Grain, sends: [Kick], stall_ms: 100)]
    stone: Stone,
}

type FeederSender = MillSender<FeederOutgoingMessages>;

/// A `feeder` that hands its sender to the test and ends on `Conclude`.
fn feeder() -> (
    Script<MillSubsystemContext<Kick>>,
    oneshot::Receiver<FeederSender>,
) {
    let (give, sender) = oneshot::channel();
    let feeder = Script::new(move |mut ctx: MillSubsystemContext<Kick>| async move {
        let _ = give.send(ctx.sender().clone());
        until_conclude(&mut ctx).await
    });
    (feeder, sender)
}

/// A stall watch with `policy` whose hook collects every stall it is called with.
fn watch(policy: StallPolicy) -> (StallWatch, Arc<Mutex<Vec<Stall>>>) {
    let stalls = Arc::new(Mutex::new(Vec::new()));
    let collected = Arc::clone(&stalls);
    let hook = Arc::new(move |stall: &Stall| collected.lock().unwrap().push(stall.clone()));
    let watch = StallWatch {
        policy,
        hook: Some(hook),
        default_threshold: None,
    };
    (watch, stalls)
}

fn stalled(registry: &Registry) -> Option<i64> {
    gauge(
        registry,
        "overseer_subsystem_stalled",
        &[("subsystem", "stone")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_is_reported_once_for_a_subsystem_that_stops_receiving_while_messages_queue() {
    let registry = Registry::new();
    let (stone, mut stone_log, open) = Stone::gated();
    let (feeder, sender) = feeder();
    let (watch, stalls) = watch(StallPolicy::Report);
    let (overseer, handle) = Mill::builder()
        .feeder(feeder)
        .stone(stone)
        .metrics(Metrics::new(&registry).unwrap())
        .stall_watch(watch)
        .spawner(spawner())
        .build()
        .unwrap();
    let mut sender = within("the feeder's sender", sender).await.unwrap();
    for n in 1..=3 {
        sender.send_message(Grain(n)).await;
    }
    let run = tokio::spawn(overseer.run());

    until("the stall hook", || !stalls.lock().unwrap().is_empty()).await;
    let stall = stalls.lock().unwrap()[0].clone();
    assert_eq!(stall.subsystem, "stone");
    assert_eq!(stall.queued, 3);
    assert!(stall.stalled_for >= THRESHOLD, "{stall:?}");
    assert_eq!(stalled(&registry), Some(1));

    // Still stalled several thresholds later: still reported only once.
    tokio::time::sleep(THRESHOLD * 3).await;
    assert_eq!(
        stalls.lock().unwrap().len(),
        1,
        "{:?}",
        stalls.lock().unwrap()
    );
    assert_eq!(stalled(&registry), Some(1));

    open.send(()).unwrap();
    assert_eq!(take(&mut stone_log, 3).await.len(), 3);
    until("the stall to be over", || stalled(&registry) == Some(0)).await;
    assert_eq!(stalls.lock().unwrap().len(), 1);

    handle.stop().await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_watch_leaves_a_busy_subsystem_that_keeps_up_alone() {
    const GRAINS: u32 = 200;
    // 3 ms per grain: the queue is never empty for 6 thresholds, but it always moves.
    const WORK: Duration = Duration::from_millis(3);
    let registry = Registry::new();
    let (done, mut handled) = mpsc::unbounded_channel();
    let stone = Script::new(move |mut ctx: MillSubsystemContext<Grain>| async move {
        loop {
            match ctx.recv().await? {
                FromOverseer::Communication { msg: Grain(n) } => {
                    tokio::time::sleep(WORK).await;
                    let _ = done.send(n);
                }
                FromOverseer::Signal(Sig::Conclude) => return Ok(()),
                FromOverseer::Signal(_) => {}
            }
        }
    });
    let (feeder, sender) = feeder();
    let (watch, stalls) = watch(StallPolicy::Report);
    let (overseer, handle) = Mill::builder()
        .feeder(feeder)
        .stone(stone)
        .metrics(Metrics::new(&registry).unwrap())
        .stall_watch(watch)
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());
    let mut sender = within("the feeder's sender", sender).await.unwrap();

    for n in 1..=GRAINS {
        sender.send_message(Grain(n)).await;
    }
    let queued = gauge(
        &registry,
        "overseer_queue_depth",
        &[("subsystem", "stone"), ("channel", "bounded")],
    )
    .unwrap();
    assert!(queued > 0, "the scenario needs a queue that waits");
    for n in 1..=GRAINS {
        assert_eq!(within("the next grain", handled.recv()).await, Some(n));
    }

    assert_eq!(
        *stalls.lock().unwrap(),
        [],
        "a subsystem that keeps up is not stalled"
    );
    assert_eq!(stalled(&registry), Some(0));
    handle.stop().await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_under_shutdown_policy_stops_the_overseer_naming_the_subsystem() {
    let (stone, _stone_log, _open) = Stone::gated();
    let (feeder, sender) = feeder();
    let (watch, stalls) = watch(StallPolicy::Shutdown);
    let (overseer, _handle) = Mill::builder()
        .feeder(feeder)
        .stone(stone)
        .stall_watch(watch)
        .shutdown_deadline(Duration::from_millis(200))
        .spawner(spawner())
        .build()
        .unwrap();
    let mut sender = within("the feeder's sender", sender).await.unwrap();
    for n in 1..=2 {
        sender.send_message(Grain(n)).await;
    }

    let error = within("run() to return", overseer.run()).await.unwrap_err();
    let OverseerError::Stalled(report) = &error else {
        panic!("expected Stalled, got {error:?}");
    };
    assert_eq!(report.cause, ShutdownCause::Stalled { name: "stone" });
    assert!(
        error.to_string().contains("subsystem `stone` stalled"),
        "{error}"
    );
    assert_eq!(stalls.lock().unwrap().len(), 1);
    assert_eq!(report.outcome("feeder"), Some(&ExitOutcome::Ok), "{report}");
    // Still gated: it never saw the conclude signal.
    assert_eq!(report.aborted(), ["stone"], "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_under_restart_policy_restarts_the_subsystem_which_keeps_its_queue() {
    let registry = Registry::new();
    let incarnations = Arc::new(AtomicU32::new(0));
    let (seen, mut log) = mpsc::unbounded_channel();
    let factory = {
        let incarnations = Arc::clone(&incarnations);
        move || {
            let incarnation = incarnations.fetch_add(1, Ordering::SeqCst) + 1;
            let seen = seen.clone();
            Script::new(move |mut ctx: MillSubsystemContext<Grain>| async move {
                if incarnation == 1 {
                    // Stuck for good, holding its context.
                    return futures::future::pending().await;
                }
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg } => {
                            let _ = seen.send((incarnation, msg));
                        }
                        FromOverseer::Signal(Sig::Conclude) => return Ok(()),
                        FromOverseer::Signal(_) => {}
                    }
                }
            })
        }
    };
    let (feeder, sender) = feeder();
    let (watch, stalls) = watch(StallPolicy::Restart);
    let (overseer, handle) = Mill::builder()
        .feeder(feeder)
        .stone_factory(factory)
        .supervise_stone(Supervision {
            restart: RestartPolicy::on_failure(3, Duration::from_secs(10)).with_backoff(Backoff {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(1),
                multiplier: 1.0,
                jitter: 0.0,
            }),
            stall_threshold: Some(THRESHOLD),
        })
        .metrics(Metrics::new(&registry).unwrap())
        .stall_watch(watch)
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());
    let mut sender = within("the feeder's sender", sender).await.unwrap();
    for n in 1..=3 {
        sender.send_message(Grain(n)).await;
    }

    let mut received = Vec::new();
    for _ in 1..=3 {
        received.push(
            within("the restarted stone to read", log.recv())
                .await
                .unwrap(),
        );
    }
    assert_eq!(received, [(2, Grain(1)), (2, Grain(2)), (2, Grain(3))]);
    assert_eq!(restarts(&registry, "stone", "stall"), 1);
    assert_eq!(stalls.lock().unwrap().len(), 1);
    assert_eq!(stalls.lock().unwrap()[0].subsystem, "stone");
    assert_eq!(incarnations.load(Ordering::SeqCst), 2);

    handle.stop().await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_restart_of_a_subsystem_given_as_a_value_ends_the_overseer_saying_it_stalled() {
    let registry = Registry::new();
    let (stone, _stone_log, _open) = Stone::gated();
    let (feeder, sender) = feeder();
    let (watch, stalls) = watch(StallPolicy::Restart);
    let (overseer, _handle) = Mill::builder()
        .feeder(feeder)
        .stone(stone)
        .metrics(Metrics::new(&registry).unwrap())
        .stall_watch(watch)
        .spawner(spawner())
        .build()
        .unwrap();
    let mut sender = within("the feeder's sender", sender).await.unwrap();
    sender.send_message(Grain(1)).await;

    let error = within("run() to return", overseer.run()).await.unwrap_err();
    let OverseerError::SubsystemExited(report) = &error else {
        panic!("expected SubsystemExited, got {error:?}");
    };
    let ShutdownCause::SubsystemExited(exit) = &report.cause else {
        panic!("expected a subsystem exit, got {:?}", report.cause);
    };
    assert_eq!(exit.name, "stone");
    let ExitOutcome::Err(text) = &exit.outcome else {
        panic!("expected the cannot-be-restarted error, got {report}");
    };
    assert!(text.contains("`stone` stalled"), "{text}");
    assert!(text.contains("cannot be restarted"), "{text}");
    assert!(text.contains("stone_factory"), "{text}");
    assert_eq!(stalls.lock().unwrap().len(), 1);
    assert_eq!(
        restarts(&registry, "stone", "stall"),
        0,
        "nothing was restarted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_seen_during_a_restart_backoff_is_not_taken_for_the_next_incarnations_end() {
    let registry = Registry::new();
    let incarnations = Arc::new(AtomicU32::new(0));
    let (seen, mut log) = mpsc::unbounded_channel();
    let factory = {
        let incarnations = Arc::clone(&incarnations);
        move || {
            let incarnation = incarnations.fetch_add(1, Ordering::SeqCst) + 1;
            let seen = seen.clone();
            Script::new(move |mut ctx: MillSubsystemContext<Grain>| async move {
                let mut left = 2;
                while left > 0 {
                    if let FromOverseer::Communication { msg } = ctx.recv().await? {
                        if incarnation == 1 {
                            // Fails at once (no panic: a slow backtrace would blur the timing).
                            return Err(OverseerError::Context(format!("reject {msg:?}")));
                        }
                        let _ = seen.send((incarnation, msg));
                        left -= 1;
                    }
                }
                // The second incarnation ends cleanly: under `on_failure` that ends the overseer.
                Ok(())
            })
        }
    };
    let (feeder, sender) = feeder();
    let (watch, stalls) = watch(StallPolicy::Restart);
    // The backoff is much longer than the stall threshold: the queue waits, unread, while no
    // incarnation runs.
    let backoff = Duration::from_millis(400);
    let (overseer, _handle) = Mill::builder()
        .feeder(feeder)
        .stone_factory(factory)
        .supervise_stone(Supervision {
            restart: RestartPolicy::on_failure(3, Duration::from_secs(10)).with_backoff(Backoff {
                initial: backoff,
                max: backoff,
                multiplier: 1.0,
                jitter: 0.0,
            }),
            stall_threshold: Some(THRESHOLD),
        })
        .metrics(Metrics::new(&registry).unwrap())
        .stall_watch(watch)
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());
    let mut sender = within("the feeder's sender", sender).await.unwrap();
    for n in 1..=3 {
        sender.send_message(Grain(n)).await;
    }
    let mut received = Vec::new();
    for _ in 0..2 {
        received.push(
            within("the second stone to read", log.recv())
                .await
                .unwrap(),
        );
    }
    assert_eq!(received, [(2, Grain(2)), (2, Grain(3))]);

    let error = within("run() to return", run).await.unwrap().unwrap_err();
    let OverseerError::SubsystemExited(report) = &error else {
        panic!("expected the clean end of `stone` to end the overseer, got {error}");
    };
    assert_eq!(
        report.cause,
        ShutdownCause::SubsystemExited(SubsystemExit {
            name: "stone",
            outcome: ExitOutcome::Ok
        }),
        "{report}"
    );
    assert!(
        !stalls.lock().unwrap().is_empty(),
        "the waiting queue was seen as a stall"
    );
    assert_eq!(restarts(&registry, "stone", "stall"), 0);
    assert_eq!(restarts(&registry, "stone", "error"), 1);
    assert_eq!(incarnations.load(Ordering::SeqCst), 2);
}
