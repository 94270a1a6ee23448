//! The overseer's run loop: external commands in, subsystem exits watched, one-deadline
//! shutdown out.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
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

/// What ends the run loop.
enum Stop {
    /// A subsystem ended on its own.
    Exited(Result<SubsystemExit, SubsystemExit>),
    /// Shutdown was requested, within this deadline (the default one when `None`).
    Requested(Option<Duration>),
}

/// Drive `delivery` (a message or a signal on its way to a subsystem, which waits while that
/// subsystem's queue is full) while still watching for what stops the run loop: a subsystem
/// that ends, or a shutdown request further down the command queue. Other commands read
/// meanwhile are appended to `read_ahead`, in order, up to the command capacity.
///
/// Without this, one subsystem that stopped reading would block the loop for good: shutdown
/// requests and the ends of other subsystems would go unnoticed.
async fn deliver<Spec: OverseerSpec, T>(
    delivery: impl Future<Output = T>,
    running: &mut FuturesUnordered<RunningSubsystem>,
    commands: &async_channel::Receiver<Command<Spec>>,
    commands_open: &mut bool,
    read_ahead: &mut VecDeque<Command<Spec>>,
) -> Result<T, Stop> {
    futures::pin_mut!(delivery);
    loop {
        let look_ahead = *commands_open && read_ahead.len() < DEFAULT_COMMAND_CAPACITY;
        let next_command = async move {
            if look_ahead {
                commands.recv().await.ok()
            } else {
                future::pending().await
            }
        };
        let next_exit = async {
            match running.next().await {
                Some(result) => result,
                None => future::pending().await,
            }
        };
        futures::pin_mut!(next_command, next_exit);
        // Biased towards the delivery: it wins whenever it is ready.
        match future::select(delivery.as_mut(), future::select(next_exit, next_command)).await {
            Either::Left((delivered, _)) => return Ok(delivered),
            Either::Right((Either::Left((result, _)), _)) => return Err(Stop::Exited(result)),
            Either::Right((Either::Right((command, _)), _)) => match command {
                Some(Command::Shutdown { deadline }) => return Err(Stop::Requested(deadline)),
                Some(command) => read_ahead.push_back(command),
                None => *commands_open = false,
            },
        }
    }
}

/// Drive a built overseer until it stops; called by the generated `run()`, which passes the
/// conclude signal of [`ConcludeSignal`](crate::ConcludeSignal).
///
/// Returns `Ok` with the report after a requested shutdown, and
/// `Err(OverseerError::SubsystemExited)` naming the subsystem when one ended on its own.
/// Both are noticed even while a message or signal waits for room in a full queue.
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
    // Commands produced by the event handler, run before any command read after the event.
    let mut queued: VecDeque<Command<Spec>> = VecDeque::new();
    // Commands read from the handle while a delivery waited, in the order they were sent.
    let mut read_ahead: VecDeque<Command<Spec>> = VecDeque::new();
    let stop = loop {
        let command = match queued.pop_front().or_else(|| read_ahead.pop_front()) {
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
                    Either::Left((Some(result), _)) => break Stop::Exited(result),
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
                let delivery = message.route(&core.channels, watermark, PriorityLevel::Normal);
                let delivered = deliver(
                    delivery,
                    running,
                    &core.commands,
                    &mut commands_open,
                    &mut read_ahead,
                )
                .await;
                match delivered {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(overseer = Spec::NAME, %error, "message from the handle not delivered");
                    }
                    Err(stop) => break stop,
                }
            }
            Command::Signal(signal) => {
                let delivery = broadcast_signal(&mut subsystems, signal);
                let delivered = deliver(
                    delivery,
                    running,
                    &core.commands,
                    &mut commands_open,
                    &mut read_ahead,
                )
                .await;
                match delivered {
                    Ok(()) => watermark += 1,
                    Err(stop) => break stop,
                }
            }
            Command::Shutdown { deadline } => break Stop::Requested(deadline),
        }
    };
    match stop {
        Stop::Exited(result) => {
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
            Err(OverseerError::SubsystemExited(Box::new(ExitReport {
                cause,
                exits,
            })))
        }
        Stop::Requested(deadline) => {
            let deadline = deadline.unwrap_or(core.shutdown_deadline);
            let exits = shutdown(&mut subsystems, running, conclude(), deadline, Vec::new()).await;
            Ok(ExitReport {
                cause: ShutdownCause::Requested,
                exits,
            })
        }
    }
}
