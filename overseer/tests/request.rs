#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Typed request/response: answered, timed out, unanswered, and a requester dropped before the
//! answer leaves nothing behind.

mod common;
mod support;

use std::time::{Duration, Instant};

use common::*;
use overseer::*;
use prometheus::Registry;
use support::*;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kick;

/// A request for the double of `key`.
#[derive(Debug)]
pub struct Ask {
    pub key: u32,
    pub responder: Responder<u32>,
}

pub type Client = Recorder<Kick>;
pub type Server = Recorder<Kick>;

#[overlord(signal = Sig, event = Event, gen = AllMessages)]
pub struct Desk {
    #[subsystem(consumes: Kick, sends: [Ask])]
    client: Client,
    #[subsystem(consumes: Ask, sends: [Kick])]
    server: Server,
}

type ClientSender = DeskSender<ClientOutgoingMessages>;
type ServerScript = Script<DeskSubsystemContext<Ask>>;

/// A server that does `handle` with every request until `Conclude`.
fn server(mut handle: impl FnMut(Ask) + Send + 'static) -> ServerScript {
    Script::new(move |mut ctx: DeskSubsystemContext<Ask>| async move {
        loop {
            match ctx.recv().await? {
                FromOverseer::Communication { msg } => handle(msg),
                FromOverseer::Signal(Sig::Conclude) => return Ok(()),
                FromOverseer::Signal(_) => {}
            }
        }
    })
}

/// A server that hands every request to the test instead of answering.
fn holding_server() -> (ServerScript, mpsc::UnboundedReceiver<Ask>) {
    let (give, asks) = mpsc::unbounded_channel();
    (server(move |ask| give.send(ask).unwrap()), asks)
}

/// A running `Desk` with the given server, the client's sender, the handle and the run task.
async fn desk(
    server: ServerScript,
    registry: &Registry,
) -> (
    ClientSender,
    DeskHandle,
    tokio::task::JoinHandle<Result<ExitReport, OverseerError>>,
) {
    let (give, sender) = oneshot::channel();
    let client = Script::new(move |mut ctx: DeskSubsystemContext<Kick>| async move {
        let _ = give.send(ctx.sender().clone());
        until_conclude(&mut ctx).await
    });
    let (overseer, handle) = Desk::builder()
        .client(client)
        .server(server)
        .metrics(Metrics::new(registry).unwrap())
        .spawner(spawner())
        .build()
        .unwrap();
    let run = tokio::spawn(overseer.run());
    let sender = within("the client's sender", sender).await.unwrap();
    (sender, handle, run)
}

/// Stop the overseer; every subsystem must end cleanly, none hangs.
async fn stop_cleanly(
    handle: DeskHandle,
    run: tokio::task::JoinHandle<Result<ExitReport, OverseerError>>,
) {
    handle.shutdown(Duration::from_secs(2)).await.unwrap();
    let report = within("run() to return", run).await.unwrap().unwrap();
    assert!(report.is_clean(), "{report}");
}

fn answered(registry: &Registry) -> u64 {
    histogram(
        registry,
        "overseer_request_seconds",
        &[("subsystem", "client"), ("request", "Ask")],
    )
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_returns_the_responders_answer() {
    let registry = Registry::new();
    let server = server(|Ask { key, responder }| {
        responder.respond(key * 2).unwrap();
    });
    let (mut sender, handle, run) = desk(server, &registry).await;

    for key in [21, 5] {
        let answer = sender
            .request(|responder| Ask { key, responder }, DEADLINE)
            .await;
        assert_eq!(answer, Ok(key * 2));
    }
    assert_eq!(answered(&registry), 2);
    stop_cleanly(handle, run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_times_out_when_the_responder_never_answers() {
    const TIMEOUT: Duration = Duration::from_millis(50);
    let registry = Registry::new();
    let (server, mut asks) = holding_server();
    let (mut sender, handle, run) = desk(server, &registry).await;

    let started = Instant::now();
    let answer = within(
        "the request to time out",
        sender.request(|responder| Ask { key: 1, responder }, TIMEOUT),
    )
    .await;
    assert_eq!(
        answer,
        Err(RequestError::Timeout {
            request: "Ask",
            timeout: TIMEOUT
        })
    );
    assert!(
        started.elapsed() >= TIMEOUT,
        "gave up after {:?}",
        started.elapsed()
    );
    assert_eq!(
        answered(&registry),
        0,
        "only answered requests are observed"
    );

    // The responder outlived the request: it learns that nobody waits any more.
    let ask = within("the held request", asks.recv()).await.unwrap();
    assert!(ask.responder.is_canceled());
    assert_eq!(ask.responder.respond(2), Err(2));
    stop_cleanly(handle, run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_is_unanswered_when_the_responder_is_dropped() {
    let registry = Registry::new();
    let server = server(drop);
    let (mut sender, handle, run) = desk(server, &registry).await;

    let answer = within(
        "the request to fail",
        sender.request(|responder| Ask { key: 1, responder }, DEADLINE),
    )
    .await;
    assert_eq!(answer, Err(RequestError::Unanswered { request: "Ask" }));
    assert_eq!(answered(&registry), 0);
    stop_cleanly(handle, run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_dropped_before_the_answer_cancels_the_responder_and_leaves_nothing_behind() {
    let registry = Registry::new();
    let (server, mut asks) = holding_server();
    let (mut sender, handle, run) = desk(server, &registry).await;

    let mut request = Box::pin(sender.request(|responder| Ask { key: 1, responder }, DEADLINE));
    // Drive the request until the server holds it.
    let ask = within("the server to get the request", async {
        tokio::select! {
            ask = asks.recv() => ask.unwrap(),
            answer = &mut request => panic!("the request ended without an answer: {answer:?}"),
        }
    })
    .await;
    assert!(!ask.responder.is_canceled(), "the requester still waits");

    drop(request);
    assert!(ask.responder.is_canceled(), "the requester is gone");
    assert_eq!(ask.responder.respond(2), Err(2), "the answer comes back");
    assert_eq!(answered(&registry), 0);

    // The sender and the server are still usable, and nothing hangs on the way out.
    let second = tokio::spawn(async move {
        sender
            .request(|responder| Ask { key: 3, responder }, DEADLINE)
            .await
    });
    let ask = within("the second request", asks.recv()).await.unwrap();
    ask.responder.respond(6).unwrap();
    assert_eq!(within("the second answer", second).await.unwrap(), Ok(6));
    stop_cleanly(handle, run).await;
}
