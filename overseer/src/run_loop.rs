//! The overseer's run loop: external commands in, subsystem exits watched, one-deadline
//! shutdown out.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
use crate::stall::StallWatch;

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
    stall_watch: StallWatch,
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
        stall_watch: StallWatch,
    ) -> Self {
        Self {
            commands,
            channels,
            event_handler,
            shutdown_deadline,
            stall_watch,
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

/// Wait for subsystem ends until `until`, recording each; `true` once `name` (if given) has
/// ended, or every subsystem has.
async fn collect_exits(
    running: &mut FuturesUnordered<RunningSubsystem>,
    exits: &mut Vec<SubsystemExit>,
    name: Option<&'static str>,
    until: Instant,
) -> bool {
    loop {
        if name.is_some_and(|name| exits.iter().any(|exit| exit.name == name)) {
            return true;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match future::select(running.next(), Delay::new(left)).await {
            Either::Left((Some(result), _)) => exits.push(flatten(result)),
            Either::Left((None, _)) => return true,
            Either::Right(_) => return false,
        }
    }
}

/// Stop every subsystem within one overall `deadline`, upstream first.
///
/// No subsystem is restarted any more. Each, in declared order, gets `signal` (normally the
/// conclude signal) and its share of the time left to end, so what it flushes downstream still
/// finds its consumers running; one that overruns its share keeps running while the next ones
/// are told to conclude. Whoever still runs at the deadline is aborted. `exits` holds ends
/// already seen; the result lists every subsystem once.
pub async fn shutdown<S: Clone>(
    subsystems: &mut [&mut dyn Supervised<S>],
    running: &mut FuturesUnordered<RunningSubsystem>,
    signal: S,
    deadline: Duration,
    mut exits: Vec<SubsystemExit>,
) -> Vec<SubsystemExit> {
    let end = Instant::now() + deadline;
    for subsystem in subsystems.iter() {
        subsystem.stop_restarting();
    }
    for position in 0..subsystems.len() {
        let name = subsystems[position].name();
        if exits.iter().any(|exit| exit.name == name) {
            continue;
        }
        let still_running = subsystems[position..]
            .iter()
            .filter(|subsystem| !exits.iter().any(|exit| exit.name == subsystem.name()))
            .count()
            .max(1) as u32;
        let share = end.saturating_duration_since(Instant::now()) / still_running;
        let until = Instant::now() + share;
        if let Some(sender) = subsystems[position].signal_sender() {
            // A subsystem that already ended has closed its signal channel.
            let conclude = sender.send(signal.clone());
            futures::pin_mut!(conclude);
            if let Either::Left((Ok(()), _)) = future::select(conclude, Delay::new(share)).await {
                subsystems[position].count_signal();
            }
        }
        collect_exits(running, &mut exits, Some(name), until).await;
    }
    collect_exits(running, &mut exits, None, end).await;
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
    /// The stall watch found this subsystem stalled, under policy `shutdown`.
    Stalled(&'static str),
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

/// Serve commands until something stops the overseer.
async fn serve<Spec: OverseerSpec>(
    subsystems: &mut [&mut dyn Supervised<Spec::Signal>],
    running: &mut FuturesUnordered<RunningSubsystem>,
    core: &mut Core<Spec>,
) -> Stop {
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
    loop {
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
                    Either::Left((Some(result), _)) => return Stop::Exited(result),
                    // No subsystem runs at all: nothing left to oversee.
                    Either::Left((None, _)) => return Stop::Requested(None),
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
                    Err(stop) => return stop,
                }
            }
            Command::Signal(signal) => {
                let delivery = broadcast_signal(subsystems, signal);
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
                    Err(stop) => return stop,
                }
            }
            Command::Shutdown { deadline } => return Stop::Requested(deadline),
        }
    }
}

/// Drive a built overseer until it stops; called by the generated `run()`, which passes the
/// conclude signal of [`ConcludeSignal`](crate::ConcludeSignal).
///
/// Returns `Ok` with the report after a requested shutdown, and an error naming the subsystem
/// when one ended for good on its own ([`OverseerError::SubsystemExited`]), exceeded its restart
/// intensity ([`OverseerError::Escalated`]) or stalled under the `shutdown` stall policy. Each is
/// noticed even while a message or signal waits for room in a full queue.
pub async fn run<Spec>(
    mut subsystems: Vec<&mut dyn Supervised<Spec::Signal>>,
    running: &mut FuturesUnordered<RunningSubsystem>,
    core: &mut Core<Spec>,
    conclude: impl Fn() -> Spec::Signal,
) -> Result<ExitReport, OverseerError>
where
    Spec: OverseerSpec,
{
    let probes = subsystems
        .iter()
        .filter_map(|subsystem| subsystem.stall_probe(core.stall_watch.default_threshold))
        .collect();
    let stop = {
        let stall_watch = crate::stall::watch(probes, core.stall_watch.clone());
        let serving = serve(&mut subsystems, running, core);
        futures::pin_mut!(stall_watch, serving);
        match future::select(serving, stall_watch).await {
            Either::Left((stop, _)) => stop,
            Either::Right((stalled, _)) => Stop::Stalled(stalled),
        }
    };
    match stop {
        Stop::Exited(result) => {
            let exit = flatten(result);
            let escalated = subsystems
                .iter()
                .find(|subsystem| subsystem.name() == exit.name)
                .filter(|subsystem| subsystem.escalated());
            let (cause, escalated) = match escalated {
                Some(subsystem) => (
                    ShutdownCause::Escalated {
                        exit: exit.clone(),
                        restarts: subsystem.restarts(),
                    },
                    true,
                ),
                None => (ShutdownCause::SubsystemExited(exit.clone()), false),
            };
            tracing::error!(overseer = Spec::NAME, "{exit}; shutting down the others");
            let exits = shutdown(
                &mut subsystems,
                running,
                conclude(),
                core.shutdown_deadline,
                vec![exit],
            )
            .await;
            let report = Box::new(ExitReport { cause, exits });
            Err(if escalated {
                OverseerError::Escalated(report)
            } else {
                OverseerError::SubsystemExited(report)
            })
        }
        Stop::Stalled(name) => {
            let exits = shutdown(
                &mut subsystems,
                running,
                conclude(),
                core.shutdown_deadline,
                Vec::new(),
            )
            .await;
            Err(OverseerError::Stalled(Box::new(ExitReport {
                cause: ShutdownCause::Stalled { name },
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
