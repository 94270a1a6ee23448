//! Shared pieces of the runtime behaviour tests: the signal type, a subsystem that records
//! everything it receives, a subsystem that ends in a chosen way, deadline helpers, and a small
//! three-subsystem overseer (`Trio`).
//!
//! Every test binary includes this module but uses only part of it.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use overseer::*;
use tokio::sync::{mpsc, oneshot};

/// How long any awaited condition may take before the test fails. Generous: it only bounds
/// a hang, it never paces a test.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Await `future`, failing the test if it takes longer than [`DEADLINE`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {DEADLINE:?} waiting for {what}"),
    }
}

/// Poll `condition` until it holds, failing the test after [`DEADLINE`].
pub async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

/// The spawner of the current tokio runtime.
pub fn spawner() -> TokioSpawner {
    TokioSpawner::current().expect("tests run inside a tokio runtime")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sig {
    Tick(u32),
    Conclude,
}

impl ConcludeSignal for Sig {
    fn conclude() -> Self {
        Sig::Conclude
    }
    fn is_conclude(&self) -> bool {
        matches!(self, Sig::Conclude)
    }
}

#[derive(Debug)]
pub struct Event;

/// One thing a [`Recorder`] received, in the order it received them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen<M> {
    Signal(Sig),
    Message(M),
}

impl<M> Seen<M> {
    pub fn is_signal(&self) -> bool {
        matches!(self, Seen::Signal(_))
    }
}

/// A subsystem for any slot: reports every signal and message it receives, in order, and ends
/// cleanly on `Conclude` (after reporting it). With a gate, it reads nothing until the gate
/// opens, so its queues fill up.
#[derive(Debug)]
pub struct Recorder<M> {
    seen: mpsc::UnboundedSender<Seen<M>>,
    gate: Option<oneshot::Receiver<()>>,
}

/// The receiving end of a [`Recorder`]'s reports.
pub type Log<M> = mpsc::UnboundedReceiver<Seen<M>>;

impl<M> Recorder<M> {
    /// A recorder that reads from the start.
    pub fn new() -> (Self, Log<M>) {
        let (seen, log) = mpsc::unbounded_channel();
        (Self { seen, gate: None }, log)
    }

    /// A recorder that reads nothing until the returned sender is used (or dropped).
    pub fn gated() -> (Self, Log<M>, oneshot::Sender<()>) {
        let (seen, log) = mpsc::unbounded_channel();
        let (open, gate) = oneshot::channel();
        (
            Self {
                seen,
                gate: Some(gate),
            },
            log,
            open,
        )
    }
}

impl<Ctx, M> Subsystem<Ctx, OverseerError> for Recorder<M>
where
    Ctx: SubsystemContext<Message = M, Signal = Sig, Error = OverseerError>,
    M: Send + 'static,
{
    fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "recorder",
            future: Box::pin(async move {
                if let Some(gate) = self.gate {
                    let _ = gate.await;
                }
                loop {
                    let seen = match ctx.recv().await? {
                        FromOverseer::Signal(signal) => Seen::Signal(signal),
                        FromOverseer::Communication { msg } => Seen::Message(msg),
                    };
                    let conclude = matches!(seen, Seen::Signal(Sig::Conclude));
                    // The test may have stopped listening; recording is best effort then.
                    let _ = self.seen.send(seen);
                    if conclude {
                        return Ok(());
                    }
                }
            }),
        }
    }
}

/// The next report of a recorder.
pub async fn next<M>(log: &mut Log<M>) -> Seen<M> {
    within("the next report of a recorder", log.recv())
        .await
        .expect("the recorder is gone")
}

/// The next `n` reports of a recorder.
pub async fn take<M>(log: &mut Log<M>, n: usize) -> Vec<Seen<M>> {
    let mut seen = Vec::with_capacity(n);
    for _ in 0..n {
        seen.push(next(log).await);
    }
    seen
}

/// Every report until the recorder is gone (it ended and dropped its end).
pub async fn drain<M>(log: &mut Log<M>) -> Vec<Seen<M>> {
    within("a recorder to end", async {
        let mut seen = Vec::new();
        while let Some(report) = log.recv().await {
            seen.push(report);
        }
        seen
    })
    .await
}

/// How an [`Ends`] subsystem ends.
#[derive(Debug, Clone)]
pub enum Ending {
    /// Return `Ok(())` at once.
    Return,
    /// Return `Err` with this text at once.
    Fail(&'static str),
    /// Panic with this message at once.
    Panic(&'static str),
    /// Never end and never read anything: ignores every signal, including `Conclude`.
    Hang,
}

/// A subsystem for any slot that ends as told, without reading its context.
#[derive(Debug, Clone)]
pub struct Ends(pub Ending);

impl<Ctx> Subsystem<Ctx, OverseerError> for Ends
where
    Ctx: SubsystemContext,
{
    fn start(self, ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "ends",
            future: Box::pin(async move {
                // Hold the context for the subsystem's whole life, as a real subsystem would.
                let _ctx = ctx;
                match self.0 {
                    Ending::Return => Ok(()),
                    Ending::Fail(text) => Err(OverseerError::Context(text.to_owned())),
                    Ending::Panic(message) => panic!("{message}"),
                    Ending::Hang => futures::future::pending().await,
                }
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping(pub u32);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query(pub u32);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(pub u32);

/// The default implementation of each `Trio` slot: a recorder of its messages.
pub type Alpha = Recorder<Ping>;
pub type Beta = Recorder<Query>;
pub type Gamma = Recorder<Note>;

/// Three subsystems that may all talk to each other.
#[overlord(signal = Sig, event = Event, gen = AllMessages)]
pub struct Trio {
    #[subsystem(consumes: Ping, sends: [Query, Note])]
    alpha: Alpha,
    #[subsystem(consumes: Query, sends: [Ping, Note])]
    beta: Beta,
    #[subsystem(consumes: Note, sends: [Ping, Query])]
    gamma: Gamma,
}
