#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Messages reach their consumer, whichever way they are sent; builder variations
//! (`replace_<field>`, `<field>_with`) and jobs spawned before `run()`.

mod common;

use common::*;
use overseer::*;
use tokio::sync::oneshot;

/// The field name of the subsystem that consumes `message`. Exhaustive on purpose: a new
/// variant must be added to the routing test.
fn consumer_of(message: &AllMessages) -> &'static str {
    match message {
        AllMessages::Ping(_) => "alpha",
        AllMessages::Query(_) => "beta",
        AllMessages::Note(_) => "gamma",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_all_messages_variant_reaches_exactly_its_consumer() {
    let (alpha, mut alpha_log) = Recorder::new();
    let (beta, mut beta_log) = Recorder::new();
    let (gamma, mut gamma_log) = Recorder::new();
    let (mut overseer, handle) = Trio::builder()
        .alpha(alpha)
        .beta(beta)
        .gamma(gamma)
        .spawner(spawner())
        .build()
        .unwrap();

    // Before the run loop: straight through `route_message`.
    let routed = [
        AllMessages::Ping(Ping(10)),
        AllMessages::Query(Query(20)),
        AllMessages::Note(Note(30)),
    ];
    let consumers: Vec<_> = routed.iter().map(consumer_of).collect();
    assert_eq!(consumers, ["alpha", "beta", "gamma"], "one of each variant");
    for message in routed {
        overseer.route_message(message, "test").await.unwrap();
    }

    // With the run loop: through the handle, as `AllMessages` and as the bare message type.
    let run = tokio::spawn(overseer.run());
    handle
        .send_message(AllMessages::Ping(Ping(11)))
        .await
        .unwrap();
    handle.send_message(Query(21)).await.unwrap();
    handle
        .send_message(AllMessages::Note(Note(31)))
        .await
        .unwrap();

    assert_eq!(
        take(&mut alpha_log, 2).await,
        [Seen::Message(Ping(10)), Seen::Message(Ping(11))]
    );
    assert_eq!(
        take(&mut beta_log, 2).await,
        [Seen::Message(Query(20)), Seen::Message(Query(21))]
    );
    assert_eq!(
        take(&mut gamma_log, 2).await,
        [Seen::Message(Note(30)), Seen::Message(Note(31))]
    );

    handle.shutdown(DEADLINE).await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
    // Nothing else arrived: after its two messages, each saw only the conclude signal.
    assert_eq!(drain(&mut alpha_log).await, [Seen::Signal(Sig::Conclude)]);
    assert_eq!(drain(&mut beta_log).await, [Seen::Signal(Sig::Conclude)]);
    assert_eq!(drain(&mut gamma_log).await, [Seen::Signal(Sig::Conclude)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_subsystem_dummy_swallows_its_messages_while_the_rest_keeps_working() {
    let (alpha, mut alpha_log) = Recorder::new();
    let (beta, mut beta_log) = Recorder::new();
    let (gamma, mut gamma_log) = Recorder::new();
    let (overseer, handle) = Trio::builder()
        .alpha(alpha)
        .beta(beta)
        .gamma(gamma)
        .spawner(spawner())
        // Small queues: a dummy that did not read would stall the run loop within 5 messages.
        .message_channel_capacity(4)
        .replace_beta(|_real_beta: Beta| DummySubsystem)
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    for n in 0..100 {
        within(
            "the handle to route to the dummy",
            handle.send_message(Query(n)),
        )
        .await
        .unwrap();
    }
    handle.send_message(Ping(1)).await.unwrap();
    handle.send_message(Note(2)).await.unwrap();
    // The run loop got past all 100 messages for the dummy, so the dummy drained its queue.
    assert_eq!(next(&mut alpha_log).await, Seen::Message(Ping(1)));
    assert_eq!(next(&mut gamma_log).await, Seen::Message(Note(2)));

    handle.shutdown(DEADLINE).await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "the dummy ends on conclude: {report}");
    assert_eq!(report.outcome("beta"), Some(&ExitOutcome::Ok));
    // The replaced recorder was dropped unstarted: it never saw anything.
    assert_eq!(drain(&mut beta_log).await, []);
}

/// An `alpha` that forwards what it receives to `gamma` through the overseer's handle.
#[derive(Debug)]
struct ForwardsThroughHandle {
    handle: TrioHandle,
}

impl Subsystem<TrioSubsystemContext<Ping>, OverseerError> for ForwardsThroughHandle {
    fn start(self, mut ctx: TrioSubsystemContext<Ping>) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "forwards-through-handle",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Signal(Sig::Conclude) => return Ok(()),
                        FromOverseer::Signal(_) => {}
                        FromOverseer::Communication { msg: Ping(n) } => {
                            self.handle.send_message(Note(n + 100)).await?;
                        }
                    }
                }
            }),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_initializer_gets_a_handle_to_the_overseer_being_built() {
    let (beta, _beta_log) = Recorder::new();
    let (gamma, mut gamma_log) = Recorder::new();
    let (overseer, handle) = Trio::builder()
        .alpha_with(|handle| Ok(ForwardsThroughHandle { handle }))
        .beta(beta)
        .gamma(gamma)
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());

    handle.send_message(Ping(1)).await.unwrap();
    assert_eq!(next(&mut gamma_log).await, Seen::Message(Note(101)));

    handle.shutdown(DEADLINE).await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

/// An `alpha` that spawns one job at start; the job reports and sends `Note(5)`.
#[derive(Debug)]
struct SpawnsAJob {
    ran: oneshot::Sender<()>,
}

impl Subsystem<TrioSubsystemContext<Ping>, OverseerError> for SpawnsAJob {
    fn start(self, mut ctx: TrioSubsystemContext<Ping>) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "spawns-a-job",
            future: Box::pin(async move {
                let mut sender = ctx.sender().clone();
                let ran = self.ran;
                ctx.spawn(
                    "job",
                    Box::pin(async move {
                        let _ = ran.send(());
                        sender.send_message(Note(5)).await;
                    }),
                )?;
                loop {
                    if let FromOverseer::Signal(Sig::Conclude) = ctx.recv().await? {
                        return Ok(());
                    }
                }
            }),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_job_runs_although_run_was_never_called() {
    let (ran, job_ran) = oneshot::channel();
    let (beta, _beta_log) = Recorder::new();
    let (gamma, mut gamma_log) = Recorder::new();
    // Kept alive, but `run()` is never called.
    let (_overseer, _handle) = Trio::builder()
        .alpha(SpawnsAJob { ran })
        .beta(beta)
        .gamma(gamma)
        .spawner(spawner())
        .build()
        .unwrap();

    within("the job to run", job_ran).await.unwrap();
    assert_eq!(next(&mut gamma_log).await, Seen::Message(Note(5)));
}
