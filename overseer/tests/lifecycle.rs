#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! How an overseer stops: a subsystem that ends on its own is named in the exit report, and a
//! requested shutdown keeps to its one deadline.

mod common;

use std::time::{Duration, Instant};

use common::*;
use overseer::*;

/// Run a `Trio` whose `alpha` ends as told; the others are well-behaved recorders.
async fn run_until_alpha_ends(ending: Ending) -> OverseerError {
    let (beta, _beta_log) = Recorder::new();
    let (gamma, _gamma_log) = Recorder::new();
    let (overseer, _handle) = Trio::builder()
        .alpha(Ends(ending))
        .beta(beta)
        .gamma(gamma)
        .spawner(spawner())
        .build()
        .unwrap();
    within("run() to return", overseer.run()).await.unwrap_err()
}

/// The report of a `SubsystemExited` error, after checking what the others did.
fn report_naming_alpha(error: &OverseerError) -> &ExitReport {
    let OverseerError::SubsystemExited(report) = error else {
        panic!("expected SubsystemExited, got {error:?}");
    };
    let ShutdownCause::SubsystemExited(cause) = &report.cause else {
        panic!(
            "expected a subsystem to be the cause, got {:?}",
            report.cause
        );
    };
    assert_eq!(cause.name, "alpha");
    // The others were shut down, cleanly.
    assert_eq!(report.outcome("beta"), Some(&ExitOutcome::Ok), "{report}");
    assert_eq!(report.outcome("gamma"), Some(&ExitOutcome::Ok), "{report}");
    assert_eq!(report.exits.len(), 3, "{report}");
    assert!(
        error.to_string().contains("subsystem `alpha`"),
        "the error names the subsystem: {error}"
    );
    report
}

fn cause_outcome(report: &ExitReport) -> &ExitOutcome {
    match &report.cause {
        ShutdownCause::SubsystemExited(exit) => &exit.outcome,
        other => panic!("not a subsystem exit: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_report_names_the_subsystem_that_returned_ok() {
    let error = run_until_alpha_ends(Ending::Return).await;
    let report = report_naming_alpha(&error);
    assert_eq!(cause_outcome(report), &ExitOutcome::Ok);
    assert_eq!(report.outcome("alpha"), Some(&ExitOutcome::Ok));
    assert!(error.to_string().contains("ended cleanly"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_report_names_the_subsystem_that_returned_an_error_with_its_text() {
    let error = run_until_alpha_ends(Ending::Fail("disk on fire")).await;
    let report = report_naming_alpha(&error);
    let ExitOutcome::Err(text) = cause_outcome(report) else {
        panic!("expected Err, got {report}");
    };
    assert!(text.contains("disk on fire"), "{text}");
    assert_eq!(report.failed(), ["alpha"]);
    assert!(error.to_string().contains("disk on fire"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_report_names_the_subsystem_that_panicked_with_its_message() {
    let error = run_until_alpha_ends(Ending::Panic("boom")).await;
    let report = report_naming_alpha(&error);
    assert_eq!(
        cause_outcome(report),
        &ExitOutcome::Panic("boom".to_owned())
    );
    assert_eq!(report.failed(), ["alpha"]);
    assert!(error.to_string().contains("panicked: boom"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_aborts_a_subsystem_ignoring_signals_at_the_deadline() {
    const SHUTDOWN_DEADLINE: Duration = Duration::from_millis(300);
    // The acceptance bound: run() returns within the deadline plus 50 ms.
    const SLACK: Duration = Duration::from_millis(50);

    let (beta, _beta_log) = Recorder::new();
    let (gamma, _gamma_log) = Recorder::new();
    let (overseer, handle) = Trio::builder()
        .alpha(Ends(Ending::Hang))
        .beta(beta)
        .gamma(gamma)
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(async move {
        let report = overseer.run().await;
        (report, Instant::now())
    });

    let requested = Instant::now();
    handle.shutdown(SHUTDOWN_DEADLINE).await.unwrap();
    let (report, returned) = within("run() to return", run).await.unwrap();
    let report = report.unwrap();
    let took = returned - requested;

    assert!(
        took < SHUTDOWN_DEADLINE + SLACK,
        "run() took {took:?} after the shutdown request"
    );
    // The deadline is counted from the request, which is handled after it was sent; allow for
    // timer granularity only.
    assert!(
        took >= SHUTDOWN_DEADLINE - Duration::from_millis(5),
        "run() returned after {took:?}, before the deadline: the straggler was not waited for"
    );
    assert_eq!(report.cause, ShutdownCause::Requested);
    assert_eq!(report.aborted(), ["alpha"], "{report}");
    let mut clean = report.clean();
    clean.sort_unstable();
    assert_eq!(clean, ["beta", "gamma"], "{report}");
}

/// A `Trio` whose `alpha` never reads anything, with the given capacities for every queue.
fn trio_with_a_hung_alpha(
    message_capacity: usize,
    signal_capacity: usize,
) -> (Trio<TokioSpawner>, TrioHandle) {
    let (beta, _beta_log) = Recorder::new();
    let (gamma, _gamma_log) = Recorder::new();
    Trio::builder()
        .alpha(Ends(Ending::Hang))
        .beta(beta)
        .gamma(gamma)
        .spawner(spawner())
        .message_channel_capacity(message_capacity)
        .signal_channel_capacity(signal_capacity)
        .build()
        .unwrap()
}

/// Request a shutdown with a 300 ms deadline; `run` must return within it plus 50 ms, with
/// only `alpha` aborted.
async fn shutdown_in_time(
    handle: &TrioHandle,
    run: tokio::task::JoinHandle<(Result<ExitReport, OverseerError>, Instant)>,
) {
    let requested = Instant::now();
    handle.shutdown(Duration::from_millis(300)).await.unwrap();
    let (report, returned) = within("run() to return", run).await.unwrap();
    let report = report.unwrap();
    let took = returned - requested;
    assert!(
        took < Duration::from_millis(350),
        "run() took {took:?} after the shutdown request"
    );
    assert_eq!(report.aborted(), ["alpha"], "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_keeps_its_deadline_while_a_broadcast_waits_on_a_full_signal_channel() {
    let (overseer, handle) = trio_with_a_hung_alpha(16, 2);
    let run = tokio::spawn(async move { (overseer.run().await, Instant::now()) });
    // Two signals fill alpha's signal channel; the run loop waits to deliver the third.
    for n in 1..=3 {
        handle.broadcast_signal(Sig::Tick(n)).await.unwrap();
    }
    shutdown_in_time(&handle, run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_keeps_its_deadline_while_a_message_waits_on_a_full_queue() {
    let (overseer, handle) = trio_with_a_hung_alpha(2, 16);
    let run = tokio::spawn(async move { (overseer.run().await, Instant::now()) });
    // Two messages fill alpha's queue; the run loop waits to deliver the third.
    for n in 1..=3 {
        handle.send_message(Ping(n)).await.unwrap();
    }
    shutdown_in_time(&handle, run).await;
}

/// A subsystem for any slot that fails once told to.
#[derive(Debug)]
struct FailsWhenTold(tokio::sync::oneshot::Receiver<()>);

impl<Ctx: SubsystemContext> Subsystem<Ctx, OverseerError> for FailsWhenTold {
    fn start(self, ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "fails-when-told",
            future: Box::pin(async move {
                let _ctx = ctx;
                let _ = self.0.await;
                Err(OverseerError::Context("give up".to_owned()))
            }),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subsystem_exit_is_noticed_while_a_message_waits_on_a_full_queue() {
    let (tell, told) = tokio::sync::oneshot::channel();
    let (gamma, _gamma_log) = Recorder::new();
    let (overseer, handle) = Trio::builder()
        .alpha(Ends(Ending::Hang))
        .beta(FailsWhenTold(told))
        .gamma(gamma)
        .spawner(spawner())
        .message_channel_capacity(2)
        .shutdown_deadline(Duration::from_millis(100))
        .build()
        .unwrap();
    let alpha_queue = overseer.alpha.instance.as_ref().unwrap().tx_bounded.clone();
    let run = tokio::spawn(overseer.run());
    for n in 1..=3 {
        handle.send_message(Ping(n)).await.unwrap();
    }
    // Alpha's queue is full, so the run loop is (about to be) stuck on the third message.
    until("alpha's queue to fill", || alpha_queue.len() == 2).await;
    tell.send(()).unwrap();

    let error = within("run() to return", run).await.unwrap().unwrap_err();
    let OverseerError::SubsystemExited(report) = &error else {
        panic!("expected SubsystemExited, got {error:?}");
    };
    assert_eq!(
        report.cause,
        ShutdownCause::SubsystemExited(SubsystemExit {
            name: "beta",
            outcome: ExitOutcome::Err("failed to give up".to_owned()),
        })
    );
    assert_eq!(report.aborted(), ["alpha"], "{report}");
}
