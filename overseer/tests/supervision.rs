#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Supervision: restarts from a factory keep the queue, exceeding the intensity escalates,
//! `never` and values end the overseer with a report, restarts are counted by reason, and
//! shutdown concludes subsystems in declared order.

mod common;
mod support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use overseer::*;
use prometheus::Registry;
use support::*;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kick;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job(pub u32);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chore(pub u32);

pub type Feeder = Recorder<Kick>;
pub type Worker = Recorder<Job>;
pub type Helper = Recorder<Chore>;

#[overlord(signal = Sig, event = Event, gen = AllMessages)]
pub struct Plant {
    #[subsystem(consumes: Kick, sends: [Job, Chore])]
    feeder: Feeder,
    #[subsystem(consumes: Job, sends: [Kick], restart: on_failure, intensity: 3, period_ms: 10_000)]
    worker: Worker,
    // No restart key: `never`.
    #[subsystem(consumes: Chore, sends: [Kick])]
    helper: Helper,
}

type FeederSender = PlantSender<FeederOutgoingMessages>;
type WorkerScript = Script<PlantSubsystemContext<Job>>;

/// A `feeder` that hands its sender to the test and ends on `Conclude`.
fn feeder() -> (
    Script<PlantSubsystemContext<Kick>>,
    oneshot::Receiver<FeederSender>,
) {
    let (give, sender) = oneshot::channel();
    let feeder = Script::new(move |mut ctx: PlantSubsystemContext<Kick>| async move {
        let _ = give.send(ctx.sender().clone());
        until_conclude(&mut ctx).await
    });
    (feeder, sender)
}

/// A factory that counts its calls and makes the subsystem `make(incarnation)`, from 1.
fn counted<T>(
    mut make: impl FnMut(u32) -> T + Send + 'static,
) -> (impl FnMut() -> T + Send + 'static, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let factory = move || make(counter.fetch_add(1, Ordering::SeqCst) + 1);
    (factory, calls)
}

/// A small backoff, so that restarts do not slow the tests down.
fn quick(policy: RestartPolicy) -> Supervision {
    Supervision {
        restart: policy.with_backoff(Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
            multiplier: 1.0,
            jitter: 0.0,
        }),
        stall_threshold: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subsystem_that_panics_twice_is_restarted_twice_and_keeps_its_queued_messages() {
    let registry = Registry::new();
    // Incarnations 1 and 2 read nothing and panic when told; incarnation 3 reads.
    let (go_1, gate_1) = oneshot::channel::<()>();
    let (go_2, gate_2) = oneshot::channel::<()>();
    let mut gates = VecDeque::from([gate_1, gate_2]);
    let (seen, mut log) = mpsc::unbounded_channel();
    let (factory, incarnations) = counted(move |incarnation| {
        let gate = gates.pop_front();
        let seen = seen.clone();
        Script::new(move |mut ctx: PlantSubsystemContext<Job>| async move {
            if let Some(gate) = gate {
                let _ = gate.await;
                panic!("incarnation {incarnation} fails");
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
    });
    let (feeder, sender) = feeder();
    let (helper, _helper_log) = Helper::new();
    // The attribute's policy (`on_failure`, intensity 3) with its default backoff.
    let (overseer, handle) = Plant::builder()
        .feeder(feeder)
        .worker_factory(factory)
        .helper(helper)
        .metrics(Metrics::new(&registry).unwrap())
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());
    let mut sender = within("the feeder's sender", sender).await.unwrap();

    for n in 1..=4 {
        sender.send_message(Job(n)).await;
    }
    go_1.send(()).unwrap();
    until("the first restart", || {
        restarts(&registry, "worker", "panic") == 1
    })
    .await;
    // Sent while the worker is down (its restart waits for the backoff) or not reading.
    for n in 5..=7 {
        sender.send_message(Job(n)).await;
    }
    until("the second incarnation", || {
        incarnations.load(Ordering::SeqCst) == 2
    })
    .await;
    go_2.send(()).unwrap();
    until("the second restart", || {
        restarts(&registry, "worker", "panic") == 2
    })
    .await;
    for n in 8..=10 {
        sender.send_message(Job(n)).await;
    }

    let mut received = Vec::new();
    for _ in 1..=10 {
        received.push(
            within("the third incarnation to read", log.recv())
                .await
                .unwrap(),
        );
    }
    let expected: Vec<_> = (1..=10).map(|n| (3, Job(n))).collect();
    assert_eq!(
        received, expected,
        "every queued message reaches the third incarnation, in order"
    );
    assert_eq!(incarnations.load(Ordering::SeqCst), 3);
    assert_eq!(restarts(&registry, "worker", "panic"), 2);
    assert_eq!(restarts(&registry, "worker", "error"), 0);

    handle.stop().await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subsystem_that_keeps_panicking_escalates_and_run_names_it_and_its_last_failure() {
    let registry = Registry::new();
    let (factory, incarnations) = counted(|_| Ends(Ending::Panic("gearbox jammed")));
    let (feeder, _sender) = feeder();
    let (helper, _helper_log) = Helper::new();
    let (overseer, _handle) = Plant::builder()
        .feeder(feeder)
        .worker_factory(factory)
        .helper(helper)
        .metrics(Metrics::new(&registry).unwrap())
        .spawner(spawner())
        .build()
        .unwrap();

    let error = within("run() to return", overseer.run()).await.unwrap_err();
    let OverseerError::Escalated(report) = &error else {
        panic!("expected Escalated, got {error:?}");
    };
    assert_eq!(
        report.cause,
        ShutdownCause::Escalated {
            exit: SubsystemExit {
                name: "worker",
                outcome: ExitOutcome::Panic("gearbox jammed".to_owned()),
            },
            restarts: 3,
        }
    );
    let text = error.to_string();
    assert!(text.contains("`worker`"), "{text}");
    assert!(text.contains("restart intensity"), "{text}");
    assert!(text.contains("panicked: gearbox jammed"), "{text}");
    // Intensity 3: three restarts, the fourth failure escalates.
    assert_eq!(incarnations.load(Ordering::SeqCst), 4);
    assert_eq!(restarts(&registry, "worker", "panic"), 3);
    assert_eq!(report.outcome("feeder"), Some(&ExitOutcome::Ok), "{report}");
    assert_eq!(report.outcome("helper"), Some(&ExitOutcome::Ok), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_are_counted_by_reason_error_and_panic() {
    let registry = Registry::new();
    let (factory, incarnations) = counted(|incarnation| -> WorkerScript {
        Script::new(move |mut ctx: PlantSubsystemContext<Job>| async move {
            match incarnation {
                1 => Err(OverseerError::Context("first incarnation fails".to_owned())),
                2 => panic!("second incarnation panics"),
                _ => until_conclude(&mut ctx).await,
            }
        })
    });
    let (feeder, _sender) = feeder();
    let (helper, _helper_log) = Helper::new();
    let (overseer, handle) = Plant::builder()
        .feeder(feeder)
        .worker_factory(factory)
        .supervise_worker(quick(RestartPolicy::on_failure(3, Duration::from_secs(10))))
        .helper(helper)
        .metrics(Metrics::new(&registry).unwrap())
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    until("the third incarnation", || {
        incarnations.load(Ordering::SeqCst) == 3
    })
    .await;
    assert_eq!(restarts(&registry, "worker", "error"), 1);
    assert_eq!(restarts(&registry, "worker", "panic"), 1);
    assert_eq!(
        gauge(
            &registry,
            "overseer_subsystem_up",
            &[("subsystem", "worker")]
        ),
        Some(1),
        "the third incarnation runs"
    );

    handle.stop().await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert_eq!(report.outcome("worker"), Some(&ExitOutcome::Ok), "{report}");
    assert_eq!(
        incarnations.load(Ordering::SeqCst),
        3,
        "no restart during shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_always_restarts_a_clean_exit_counted_as_exit() {
    let registry = Registry::new();
    let (factory, incarnations) = counted(|incarnation| -> WorkerScript {
        Script::new(move |mut ctx: PlantSubsystemContext<Job>| async move {
            if incarnation == 1 {
                return Ok(());
            }
            until_conclude(&mut ctx).await
        })
    });
    let (feeder, _sender) = feeder();
    let (helper, _helper_log) = Helper::new();
    let (overseer, handle) = Plant::builder()
        .feeder(feeder)
        .worker_factory(factory)
        .supervise_worker(quick(RestartPolicy::always(3, Duration::from_secs(10))))
        .helper(helper)
        .metrics(Metrics::new(&registry).unwrap())
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    until("the second incarnation", || {
        incarnations.load(Ordering::SeqCst) == 2
    })
    .await;
    assert_eq!(restarts(&registry, "worker", "exit"), 1);
    handle.stop().await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_never_ends_the_overseer_with_a_report_even_with_a_factory() {
    let registry = Registry::new();
    let (factory, incarnations) = counted(|_| Ends(Ending::Fail("helper gave up")));
    let (feeder, _sender) = feeder();
    let (worker, _worker_log) = Worker::new();
    let (overseer, _handle) = Plant::builder()
        .feeder(feeder)
        .worker(worker)
        .helper_factory(factory)
        .metrics(Metrics::new(&registry).unwrap())
        .spawner(spawner())
        .build()
        .unwrap();

    let error = within("run() to return", overseer.run()).await.unwrap_err();
    let OverseerError::SubsystemExited(report) = &error else {
        panic!("expected SubsystemExited, got {error:?}");
    };
    let ShutdownCause::SubsystemExited(exit) = &report.cause else {
        panic!("expected a subsystem exit, got {:?}", report.cause);
    };
    assert_eq!(exit.name, "helper");
    assert!(
        matches!(&exit.outcome, ExitOutcome::Err(text) if text.contains("helper gave up")),
        "{report}"
    );
    assert!(
        error.to_string().contains("subsystem `helper` failed"),
        "{error}"
    );
    assert_eq!(incarnations.load(Ordering::SeqCst), 1, "never restarted");
    assert_eq!(restarts(&registry, "helper", "error"), 0);
    assert_eq!(report.outcome("feeder"), Some(&ExitOutcome::Ok), "{report}");
    assert_eq!(report.outcome("worker"), Some(&ExitOutcome::Ok), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subsystem_given_as_a_value_cannot_be_restarted_and_ends_the_overseer() {
    let registry = Registry::new();
    let (feeder, _sender) = feeder();
    let (helper, _helper_log) = Helper::new();
    let (overseer, _handle) = Plant::builder()
        .feeder(feeder)
        .worker(Ends(Ending::Panic("only once")))
        .helper(helper)
        .metrics(Metrics::new(&registry).unwrap())
        .spawner(spawner())
        .build()
        .unwrap();

    let error = within("run() to return", overseer.run()).await.unwrap_err();
    let OverseerError::SubsystemExited(report) = &error else {
        panic!("expected SubsystemExited, got {error:?}");
    };
    let ShutdownCause::SubsystemExited(exit) = &report.cause else {
        panic!("expected a subsystem exit, got {:?}", report.cause);
    };
    assert_eq!(exit.name, "worker");
    let ExitOutcome::Err(text) = &exit.outcome else {
        panic!("expected the cannot-be-restarted error, got {report}");
    };
    assert!(text.contains("cannot be restarted"), "{text}");
    assert!(
        text.contains("worker_factory"),
        "the error says how to fix it: {text}"
    );
    assert!(
        text.contains("panicked: only once"),
        "the failure itself is kept: {text}"
    );
    assert_eq!(
        restarts(&registry, "worker", "panic"),
        0,
        "nothing was restarted"
    );
}

/// A subsystem for any slot that records `<name> concluded` when it sees `Conclude`, takes
/// `flush` to end (simulated work), then records `<name> ended`.
fn concluding<Ctx>(
    name: &'static str,
    flush: Duration,
    order: &Arc<Mutex<Vec<String>>>,
) -> Script<Ctx>
where
    Ctx: SubsystemContext<Signal = Sig, Error = OverseerError>,
{
    let order = Arc::clone(order);
    Script::new(move |mut ctx: Ctx| async move {
        until_conclude(&mut ctx).await?;
        order.lock().unwrap().push(format!("{name} concluded"));
        tokio::time::sleep(flush).await;
        order.lock().unwrap().push(format!("{name} ended"));
        Ok(())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_concludes_subsystems_in_declared_order_each_ending_before_the_next() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let flush = Duration::from_millis(20);
    let (overseer, handle) = Plant::builder()
        .feeder(concluding("feeder", flush, &order))
        .worker(concluding("worker", flush, &order))
        .helper(concluding("helper", flush, &order))
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    handle.shutdown(Duration::from_secs(5)).await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        *order.lock().unwrap(),
        [
            "feeder concluded",
            "feeder ended",
            "worker concluded",
            "worker ended",
            "helper concluded",
            "helper ended",
        ]
    );
    let ended: Vec<_> = report.exits.iter().map(|exit| exit.name).collect();
    assert_eq!(ended, ["feeder", "worker", "helper"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_straggler_does_not_hold_back_the_conclude_of_later_subsystems() {
    const DEADLINE: Duration = Duration::from_millis(400);
    let order = Arc::new(Mutex::new(Vec::new()));
    let (overseer, handle) = Plant::builder()
        .feeder(concluding("feeder", Duration::ZERO, &order))
        .worker(Ends(Ending::Hang))
        .helper(concluding("helper", Duration::ZERO, &order))
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    let requested = Instant::now();
    handle.shutdown(DEADLINE).await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    let took = requested.elapsed();
    assert_eq!(
        *order.lock().unwrap(),
        [
            "feeder concluded",
            "feeder ended",
            "helper concluded",
            "helper ended"
        ]
    );
    assert_eq!(report.outcome("helper"), Some(&ExitOutcome::Ok), "{report}");
    assert_eq!(report.aborted(), ["worker"], "{report}");
    assert!(
        took < DEADLINE + Duration::from_millis(100),
        "shutdown took {took:?}"
    );
}
