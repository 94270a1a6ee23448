//! Starting subsystems and telling how they ended.
//!
//! Every subsystem runs inside a wrapper that catches panics and can be aborted; whatever
//! happens, the wrapper reports an [`ExitOutcome`] under the subsystem's name. Nothing ends
//! silently, and an `Err` is never reported as `Ok`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::channel::oneshot;
use futures::future::{AbortHandle, AbortRegistration, Abortable};
use futures::FutureExt;

use crate::spawner::Spawner;

/// How one subsystem ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitOutcome {
    /// It returned `Ok(())`.
    Ok,
    /// It returned an error; the error and its sources, rendered.
    Err(String),
    /// It panicked; the panic message.
    Panic(String),
    /// It was still running at the shutdown deadline and was aborted.
    Aborted,
    /// The stall watch ended it (policy `restart`) because it stopped receiving.
    Stalled,
    /// The spawner dropped its task before it finished (for example a runtime shutting down).
    Dropped,
}

impl ExitOutcome {
    /// `true` for a clean `Ok(())`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }
}

impl fmt::Display for ExitOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok => f.write_str("ended cleanly"),
            Self::Err(error) => write!(f, "failed: {error}"),
            Self::Panic(message) => write!(f, "panicked: {message}"),
            Self::Aborted => f.write_str("was aborted at the shutdown deadline"),
            Self::Stalled => f.write_str("stalled and was ended by the stall watch"),
            Self::Dropped => f.write_str("was dropped by the spawner before it finished"),
        }
    }
}

/// One subsystem's end: its name and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsystemExit {
    /// The subsystem's field name in the `#[overlord]` struct.
    pub name: &'static str,
    /// How it ended.
    pub outcome: ExitOutcome,
}

impl fmt::Display for SubsystemExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subsystem `{}` {}", self.name, self.outcome)
    }
}

/// Why the overseer stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShutdownCause {
    /// Shutdown was asked for through the handle.
    Requested,
    /// A subsystem ended on its own and its policy does not restart it, which ends the overseer.
    SubsystemExited(SubsystemExit),
    /// A subsystem failed more often than its restart intensity allows.
    Escalated {
        /// Its last end.
        exit: SubsystemExit,
        /// How often it had been restarted.
        restarts: u32,
    },
    /// The stall watch, with policy `shutdown`, found a subsystem stalled.
    Stalled {
        /// The stalled subsystem.
        name: &'static str,
    },
}

/// What `run()` returns: why the overseer stopped and how every subsystem ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReport {
    /// Why the overseer stopped.
    pub cause: ShutdownCause,
    /// Every subsystem's end, in the order they ended; aborted ones last.
    pub exits: Vec<SubsystemExit>,
}

impl ExitReport {
    /// The outcome of the named subsystem.
    pub fn outcome(&self, name: &str) -> Option<&ExitOutcome> {
        self.exits
            .iter()
            .find(|exit| exit.name == name)
            .map(|exit| &exit.outcome)
    }

    /// Names of the subsystems that ended cleanly.
    pub fn clean(&self) -> Vec<&'static str> {
        self.names_where(|outcome| outcome.is_ok())
    }

    /// Names of the subsystems that failed (error, panic, stall or dropped task).
    pub fn failed(&self) -> Vec<&'static str> {
        self.names_where(|outcome| {
            matches!(
                outcome,
                ExitOutcome::Err(_)
                    | ExitOutcome::Panic(_)
                    | ExitOutcome::Dropped
                    | ExitOutcome::Stalled
            )
        })
    }

    /// Names of the subsystems aborted at the deadline.
    pub fn aborted(&self) -> Vec<&'static str> {
        self.names_where(|outcome| matches!(outcome, ExitOutcome::Aborted))
    }

    /// `true` if every subsystem ended cleanly.
    pub fn is_clean(&self) -> bool {
        self.exits.iter().all(|exit| exit.outcome.is_ok())
    }

    fn names_where(&self, keep: impl Fn(&ExitOutcome) -> bool) -> Vec<&'static str> {
        self.exits
            .iter()
            .filter(|exit| keep(&exit.outcome))
            .map(|exit| exit.name)
            .collect()
    }
}

impl fmt::Display for ExitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            ShutdownCause::Requested => f.write_str("overseer shut down on request")?,
            ShutdownCause::SubsystemExited(exit) => write!(f, "overseer stopped because {exit}")?,
            ShutdownCause::Escalated { exit, restarts } => write!(
                f,
                "overseer stopped because subsystem `{}` exceeded its restart intensity after {restarts} restarts; its last end: {}",
                exit.name, exit.outcome
            )?,
            ShutdownCause::Stalled { name } => write!(f, "overseer stopped because subsystem `{name}` stalled")?,
        }
        for exit in &self.exits {
            write!(f, "; {exit}")?;
        }
        Ok(())
    }
}

/// A started subsystem, as a future that resolves when it ends: `Ok` with its exit when it
/// returned `Ok(())`, `Err` with its exit otherwise.
#[derive(Debug)]
pub struct RunningSubsystem {
    name: &'static str,
    outcome: oneshot::Receiver<ExitOutcome>,
}

impl RunningSubsystem {
    /// The subsystem's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl Future for RunningSubsystem {
    type Output = Result<SubsystemExit, SubsystemExit>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outcome = match self.outcome.poll_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(outcome)) => outcome,
            Poll::Ready(Err(oneshot::Canceled)) => ExitOutcome::Dropped,
        };
        let exit = SubsystemExit {
            name: self.name,
            outcome,
        };
        Poll::Ready(if exit.outcome.is_ok() {
            Ok(exit)
        } else {
            Err(exit)
        })
    }
}

/// Render an error with its chain of sources.
pub(crate) fn render_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut rendered = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        rendered.push_str(": ");
        rendered.push_str(&cause.to_string());
        source = cause.source();
    }
    rendered
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Run one incarnation of a subsystem to its end, catching a panic and honouring `abort`.
pub(crate) async fn run_once<E>(
    future: futures::future::BoxFuture<'static, Result<(), E>>,
    abort: AbortRegistration,
) -> ExitOutcome
where
    E: std::error::Error + Send + Sync + 'static,
{
    match Abortable::new(AssertUnwindSafe(future).catch_unwind(), abort).await {
        Ok(Ok(Ok(()))) => ExitOutcome::Ok,
        Ok(Ok(Err(error))) => ExitOutcome::Err(render_error(&error)),
        Ok(Err(payload)) => ExitOutcome::Panic(panic_message(payload.as_ref())),
        Err(futures::future::Aborted) => ExitOutcome::Aborted,
    }
}

/// Spawn `life` (a subsystem's whole supervised life) so that its final outcome is always
/// reported, and it can be aborted as a whole.
pub(crate) fn spawn_life<Sp: Spawner>(
    spawner: &Sp,
    name: &'static str,
    task_name: &'static str,
    blocking: bool,
    life: impl Future<Output = ExitOutcome> + Send + 'static,
) -> (RunningSubsystem, AbortHandle) {
    let (report, outcome) = oneshot::channel();
    let (abort, registration) = AbortHandle::new_pair();
    let task = async move {
        let outcome = Abortable::new(life, registration)
            .await
            .unwrap_or(ExitOutcome::Aborted);
        match &outcome {
            ExitOutcome::Ok => tracing::debug!(subsystem = name, "subsystem ended cleanly"),
            other => tracing::warn!(subsystem = name, "subsystem {other}"),
        }
        // The overseer may be gone already; then nobody is waiting for the outcome.
        let _ = report.send(outcome);
    };
    if blocking {
        spawner.spawn_blocking(task_name, Some(name), Box::pin(task));
    } else {
        spawner.spawn(task_name, Some(name), Box::pin(task));
    }
    (RunningSubsystem { name, outcome }, abort)
}
