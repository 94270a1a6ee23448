//! The overseer's run loop: external commands in, subsystem exits watched, one-deadline
//! shutdown out.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::{self, Either};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use futures_timer::Delay;

use crate::error::OverseerError;
use crate::handle::{Command, EventHandler};
use crate::instance::Supervised;
use crate::lifecycle::{ExitOutcome, ExitReport, RunningSubsystem, ShutdownCause, SubsystemExit};
use crate::message::PriorityLevel;
use crate::route::Route;
use crate::spec::OverseerSpec;

/// The default overall shutdown deadline.
pub const DEFAULT_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// The default capacity of the handle's command queue.
pub const DEFAULT_COMMAND_CAPACITY: usize = 1024;

/// The runtime parts of a generated overseer that are not subsystems.
pub struct Core<Spec: OverseerSpec> {
    commands: async_channel::Receiver<Command<Spec>>,
    channels: Arc<Spec::Channels>,
    event_handler: Option<EventHandler<Spec>>,
    shutdown_deadline: Duration,
}

impl<Spec: OverseerSpec> fmt::Debug for Core<Spec> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("overseer", &Spec::NAME)
            .field("has_event_handler", &self.event_handler.is_some())
            .field("shutdown_deadline", &self.shutdown_deadline)
            .finish_non_exhaustive()
    }
}

impl<Spec: OverseerSpec> Core<Spec> {
    /// Assemble the core; called by the generated `build()`.
    pub fn new(
        commands: async_channel::Receiver<Command<Spec>>,
        channels: Arc<Spec::Channels>,
        event_handler: Option<EventHandler<Spec>>,
        shutdown_deadline: Duration,
    ) -> Self {
        Self {
            commands,
            channels,
            event_handler,
            shutdown_deadline,
        }
    }

    /// The sending halves of every queue.
    pub fn channels(&self) -> &Spec::Channels {
        &self.channels
    }

    /// The default overall shutdown deadline.
    pub fn shutdown_deadline(&self) -> Duration {
        self.shutdown_deadline
    }
}

fn flatten(result: Result<SubsystemExit, SubsystemExit>) -> SubsystemExit {
    result.unwrap_or_else(|exit| exit)
}

/// Send `signal` to every subsystem at once; a subsystem that is gone is skipped.
pub async fn broadcast_signal<S: Clone>(subsystems: &mut [&mut dyn Supervised<S>], signal: S) {
    let deliveries = subsystems.iter().map(|subsystem| {
        let sender = subsystem.signal_sender();
        let signal = signal.clone();
        async move {
            match sender {
                Some(sender) => sender.send(signal).await.is_ok(),
                None => false,
            }
        }
    });
    let delivered = future::join_all(deliveries).await;
    for (subsystem, delivered) in subsystems.iter_mut().zip(delivered) {
        if delivered {
            subsystem.count_signal();
        }
    }
}

/// Send `signal` (normally the conclude signal) to every subsystem at once and collect exits
/// until all have ended or `deadline` passes; whoever is still running then is aborted.
///
/// `exits` holds ends already seen; the result lists every subsystem once.
pub async fn shutdown<S: Clone>(
    subsystems: &mut [&mut dyn Supervised<S>],
    running: &mut FuturesUnordered<RunningSubsystem>,
    signal: S,
    deadline: Duration,
    mut exits: Vec<SubsystemExit>,
) -> Vec<SubsystemExit> {
    {
        let senders: Vec<_> = subsystems
            .iter()
            .filter_map(|subsystem| subsystem.signal_sender())
            .collect();
        let conclude = future::join_all(senders.into_iter().map(|sender| {
            let signal = signal.clone();
            async move {
                // A subsystem that already ended has closed its signal channel.
                let _ = sender.send(signal).await;
            }
        }));
        let collect = async {
            while let Some(result) = running.next().await {
                exits.push(flatten(result));
            }
        };
        let all_ended = future::join(conclude, collect);
        futures::pin_mut!(all_ended);
        let _ = future::select(all_ended, Delay::new(deadline)).await;
    }
    for subsystem in subsystems.iter() {
        let name = subsystem.name();
        if !exits.iter().any(|exit| exit.name == name) {
            subsystem.abort();
            tracing::warn!(
                subsystem = name,
                ?deadline,
                "subsystem still running at the shutdown deadline; aborted"
            );
            exits.push(SubsystemExit {
                name,
                outcome: ExitOutcome::Aborted,
            });
        }
    }
    exits
}

/// Drive a built overseer until it stops; called by the generated `run()`, which passes the
/// conclude signal of [`ConcludeSignal`](crate::ConcludeSignal).
///
/// Returns `Ok` with the report after a requested shutdown, and
/// `Err(OverseerError::SubsystemExited)` naming the subsystem when one ended on its own.
pub async fn run<Spec>(
    mut subsystems: Vec<&mut dyn Supervised<Spec::Signal>>,
    running: &mut FuturesUnordered<RunningSubsystem>,
    core: &mut Core<Spec>,
    conclude: impl Fn() -> Spec::Signal,
) -> Result<ExitReport, OverseerError>
where
    Spec: OverseerSpec,
{
    let mut watermark = subsystems
        .iter()
        .map(|subsystem| subsystem.signals_sent())
        .max()
        .unwrap_or(0);
    let mut commands_open = true;
    let mut queued: VecDeque<Command<Spec>> = VecDeque::new();
    loop {
        let command = match queued.pop_front() {
            Some(command) => command,
            None => {
                let next_exit = running.next();
                let open = commands_open;
                let commands = &core.commands;
                let next_command = async move {
                    if open {
                        commands.recv().await.ok()
                    } else {
                        future::pending().await
                    }
                };
                futures::pin_mut!(next_command);
                match future::select(next_exit, next_command).await {
                    Either::Left((Some(result), _)) => {
                        let exit = flatten(result);
                        tracing::error!(overseer = Spec::NAME, "{exit}; shutting down the others");
                        let cause = ShutdownCause::SubsystemExited(exit.clone());
                        let exits = shutdown(
                            &mut subsystems,
                            running,
                            conclude(),
                            core.shutdown_deadline,
                            vec![exit],
                        )
                        .await;
                        return Err(OverseerError::SubsystemExited(Box::new(ExitReport {
                            cause,
                            exits,
                        })));
                    }
                    Either::Left((None, _)) => {
                        // No subsystem runs at all: nothing left to oversee.
                        return Ok(ExitReport {
                            cause: ShutdownCause::Requested,
                            exits: Vec::new(),
                        });
                    }
                    Either::Right((Some(command), _)) => command,
                    Either::Right((None, _)) => {
                        // Every handle is gone; keep running until a subsystem ends.
                        commands_open = false;
                        continue;
                    }
                }
            }
        };
        match command {
            Command::Event(event) => match &mut core.event_handler {
                Some(handler) => queued.extend(handler(event)),
                None => tracing::warn!(
                    overseer = Spec::NAME,
                    "external event dropped: no event handler was set on the builder"
                ),
            },
            Command::Message(message) => {
                if let Err(error) = message
                    .route(&core.channels, watermark, PriorityLevel::Normal)
                    .await
                {
                    tracing::warn!(overseer = Spec::NAME, %error, "message from the handle not delivered");
                }
            }
            Command::Signal(signal) => {
                broadcast_signal(&mut subsystems, signal).await;
                watermark += 1;
            }
            Command::Shutdown { deadline } => {
                let deadline = deadline.unwrap_or(core.shutdown_deadline);
                let exits =
                    shutdown(&mut subsystems, running, conclude(), deadline, Vec::new()).await;
                return Ok(ExitReport {
                    cause: ShutdownCause::Requested,
                    exits,
                });
            }
        }
    }
}
