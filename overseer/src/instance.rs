//! The overseer's side of a running subsystem, and how the generated `build()` starts them
//! under supervision.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::AbortHandle;
use futures::stream::FuturesUnordered;
use futures_timer::Delay;

use crate::channel::{signal_channel, MessageReceiver, MessageSender, QueueConfig};
use crate::context::OverseerContext;
use crate::error::{OverseerError, TrySendError};
use crate::lifecycle::{panic_message, run_once, spawn_life, ExitOutcome, RunningSubsystem};
use crate::message::{make_packet, Priority, SignalsReceived};
use crate::metrics::Metrics;
use crate::route::Consumable;
use crate::sender::OverseerSender;
use crate::spawner::{SharedSpawner, Spawner};
use crate::spec::OverseerSpec;
use crate::subsystem::Subsystem;
use crate::supervisor::{Decision, RestartPolicy, RestartReason, RestartTracker};

/// How one subsystem is supervised: its restart policy and stall threshold.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Supervision {
    /// Whether and how often it is restarted.
    pub restart: RestartPolicy,
    /// A non-empty queue with nothing received for this long is a stall; `None`: not watched.
    pub stall_threshold: Option<Duration>,
}

/// Where the instances of a subsystem come from: one value, or a factory for restarts.
pub enum Source<T> {
    /// A single instance; a restart finds none left.
    Once(Option<T>),
    /// A factory called for every start.
    Factory(Box<dyn FnMut() -> T + Send>),
}

impl<T> fmt::Debug for Source<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Once(value) => write!(f, "Source::Once(used: {})", value.is_none()),
            Self::Factory(_) => f.write_str("Source::Factory(..)"),
        }
    }
}

impl<T> Source<T> {
    /// Whether [`next_instance`](Self::next_instance) has an instance to give.
    pub fn has_next(&self) -> bool {
        match self {
            Self::Once(value) => value.is_some(),
            Self::Factory(_) => true,
        }
    }

    /// The next instance, if any.
    pub fn next_instance(&mut self) -> Option<T> {
        match self {
            Self::Once(value) => value.take(),
            Self::Factory(factory) => Some(factory()),
        }
    }
}

/// What the overseer and a subsystem's supervising task share.
#[derive(Debug, Default)]
pub(crate) struct LifeState {
    /// Restarts so far.
    restarts: AtomicU32,
    /// The subsystem exceeded its restart intensity.
    escalated: AtomicBool,
    /// The overseer is shutting down: whatever ends now stays ended.
    stopping: AtomicBool,
    /// The stall watch asked for a restart of the current incarnation.
    stall_restart: AtomicBool,
    /// Aborts the current incarnation only.
    current: Mutex<Option<AbortHandle>>,
}

impl LifeState {
    /// End the current incarnation so the supervisor restarts it, counted as a stall.
    ///
    /// Only a running incarnation can stall: between incarnations (during a backoff) the request
    /// is ignored, so it cannot be mistaken for the end of the next one.
    fn request_stall_restart(&self) {
        if let Ok(current) = self.current.lock() {
            if let Some(current) = current.as_ref() {
                self.stall_restart.store(true, Ordering::Release);
                current.abort();
            }
        }
    }

    /// The current incarnation ended: nothing to abort until the next starts.
    fn incarnation_ended(&self) {
        if let Ok(mut current) = self.current.lock() {
            *current = None;
        }
    }
}

/// The live parts of a running subsystem: its signal sender, its queue, and how many signals
/// the overseer has sent it.
pub struct SubsystemInstance<P, S> {
    /// The subsystem's signal channel.
    pub tx_signal: async_channel::Sender<S>,
    /// The subsystem's message queue.
    pub tx_bounded: MessageSender<P>,
    /// Signals sent to it so far: the watermark of messages the overseer sends it.
    pub signals_received: usize,
    /// The subsystem's name.
    pub name: &'static str,
    abort: AbortHandle,
    reader: MessageReceiver<P>,
    life: Arc<LifeState>,
    supervision: Supervision,
    metrics: Option<Metrics>,
}

impl<P, S> fmt::Debug for SubsystemInstance<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubsystemInstance")
            .field("name", &self.name)
            .field("signals_received", &self.signals_received)
            .field("queued", &self.tx_bounded.len())
            .finish_non_exhaustive()
    }
}

/// A subsystem as the overseer holds it: the handle through which it sends it signals and
/// messages directly.
pub struct OverseenSubsystem<M, Spec>
where
    Spec: OverseerSpec,
    M: Consumable<Spec::Channels>,
{
    /// The running instance; `None` only for hand-built overseers.
    pub instance: Option<SubsystemInstance<M::Payload, Spec::Signal>>,
}

impl<M, Spec> fmt::Debug for OverseenSubsystem<M, Spec>
where
    Spec: OverseerSpec,
    M: Consumable<Spec::Channels>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OverseenSubsystem")
            .field("instance", &self.instance)
            .finish()
    }
}

impl<M, Spec> OverseenSubsystem<M, Spec>
where
    Spec: OverseerSpec,
    M: Consumable<Spec::Channels>,
{
    /// Send a message with normal priority.
    pub async fn send_message(&mut self, message: M) -> Result<(), Spec::Error> {
        self.send_message_with_priority::<crate::NormalPriority>(message, "overseer")
            .await
    }

    /// orchestra's name for [`send_message`](Self::send_message), with an origin for logs.
    pub async fn send_message2(
        &mut self,
        message: M,
        origin: &'static str,
    ) -> Result<(), Spec::Error> {
        self.send_message_with_priority::<crate::NormalPriority>(message, origin)
            .await
    }

    /// Send a message with the given priority.
    pub async fn send_message_with_priority<P: Priority>(
        &mut self,
        message: M,
        origin: &'static str,
    ) -> Result<(), Spec::Error> {
        let Some(instance) = &self.instance else {
            return Ok(());
        };
        tracing::trace!(
            subsystem = instance.name,
            origin,
            "overseer sends a message"
        );
        let packet = make_packet(instance.signals_received, message.into_payload());
        Ok(instance.tx_bounded.send(packet, P::priority()).await?)
    }

    /// Send a signal without waiting.
    pub fn try_send_signal(
        &mut self,
        signal: Spec::Signal,
    ) -> Result<(), TrySendError<Spec::Signal>> {
        let Some(instance) = &mut self.instance else {
            return Ok(());
        };
        instance
            .tx_signal
            .try_send(signal)
            .map_err(|error| match error {
                async_channel::TrySendError::Full(signal) => TrySendError::Full(signal),
                async_channel::TrySendError::Closed(signal) => TrySendError::Closed(signal),
            })?;
        Supervised::count_signal(self);
        Ok(())
    }

    /// Send a signal, waiting while the signal channel is full.
    pub async fn send_signal(&mut self, signal: Spec::Signal) -> Result<(), Spec::Error> {
        let Some(instance) = &mut self.instance else {
            return Ok(());
        };
        instance
            .tx_signal
            .send(signal)
            .await
            .map_err(|_| OverseerError::QueueClosed {
                subsystem: instance.name,
            })?;
        Supervised::count_signal(self);
        Ok(())
    }
}

/// The overseer's control over one subsystem, independent of its message type.
pub trait Supervised<S>: Send {
    /// The subsystem's name.
    fn name(&self) -> &'static str;
    /// Its signal channel, if it runs.
    fn signal_sender(&self) -> Option<async_channel::Sender<S>>;
    /// Count a signal that was delivered to it.
    fn count_signal(&mut self);
    /// Signals delivered so far.
    fn signals_sent(&self) -> usize;
    /// Messages waiting in its queue.
    fn queued(&self) -> usize;
    /// Messages it has taken from its queue so far.
    fn received(&self) -> u64;
    /// Its supervision settings.
    fn supervision(&self) -> Supervision;
    /// Restarts so far.
    fn restarts(&self) -> u32;
    /// Whether it ended by exceeding its restart intensity.
    fn escalated(&self) -> bool;
    /// The overseer is shutting down: do not restart it any more.
    fn stop_restarting(&self);
    /// Restart the current incarnation because it stalled (counted against its intensity).
    fn restart_stalled(&self);
    /// Mark it stalled or not in the metrics.
    fn set_stalled(&self, stalled: bool);
    /// Abort its task, current incarnation and future restarts alike.
    fn abort(&self);
    /// What the stall watch needs, if it is watched (its own threshold, else `default`).
    #[doc(hidden)]
    fn stall_probe(&self, default: Option<Duration>) -> Option<crate::stall::StallProbe>;
}

impl<M, Spec> Supervised<Spec::Signal> for OverseenSubsystem<M, Spec>
where
    Spec: OverseerSpec,
    M: Consumable<Spec::Channels>,
{
    fn name(&self) -> &'static str {
        self.instance
            .as_ref()
            .map_or("<not running>", |instance| instance.name)
    }

    fn signal_sender(&self) -> Option<async_channel::Sender<Spec::Signal>> {
        self.instance
            .as_ref()
            .map(|instance| instance.tx_signal.clone())
    }

    fn count_signal(&mut self) {
        if let Some(instance) = &mut self.instance {
            instance.signals_received += 1;
            if let Some(metrics) = instance.reader.metrics() {
                metrics.on_signal_sent();
            }
        }
    }

    fn signals_sent(&self) -> usize {
        self.instance
            .as_ref()
            .map_or(0, |instance| instance.signals_received)
    }

    fn queued(&self) -> usize {
        self.instance
            .as_ref()
            .map_or(0, |instance| instance.tx_bounded.len())
    }

    fn received(&self) -> u64 {
        self.instance
            .as_ref()
            .map_or(0, |instance| instance.reader.received_count())
    }

    fn supervision(&self) -> Supervision {
        self.instance
            .as_ref()
            .map(|instance| instance.supervision)
            .unwrap_or_default()
    }

    fn restarts(&self) -> u32 {
        self.instance
            .as_ref()
            .map_or(0, |instance| instance.life.restarts.load(Ordering::Relaxed))
    }

    fn escalated(&self) -> bool {
        self.instance
            .as_ref()
            .is_some_and(|instance| instance.life.escalated.load(Ordering::Acquire))
    }

    fn stop_restarting(&self) {
        if let Some(instance) = &self.instance {
            instance.life.stopping.store(true, Ordering::Release);
        }
    }

    fn restart_stalled(&self) {
        if let Some(instance) = &self.instance {
            instance.life.request_stall_restart();
        }
    }

    fn set_stalled(&self, stalled: bool) {
        if let Some(instance) = &self.instance {
            if let Some(metrics) = &instance.metrics {
                metrics.stalled(instance.name).set(i64::from(stalled));
            }
        }
    }

    fn abort(&self) {
        if let Some(instance) = &self.instance {
            instance.abort.abort();
        }
    }

    fn stall_probe(&self, default: Option<Duration>) -> Option<crate::stall::StallProbe> {
        let instance = self.instance.as_ref()?;
        let threshold = instance.supervision.stall_threshold.or(default)?;
        let (reader, queue, life) = (
            instance.reader.clone(),
            instance.tx_bounded.clone(),
            Arc::clone(&instance.life),
        );
        let stalled = instance
            .metrics
            .as_ref()
            .map(|metrics| metrics.stalled(instance.name));
        Some(crate::stall::StallProbe {
            name: instance.name,
            threshold,
            received: Box::new(move || reader.received_count()),
            queued: Box::new(move || queue.len()),
            restart: Box::new(move || life.request_stall_restart()),
            mark: Box::new(move |is_stalled| {
                if let Some(gauge) = &stalled {
                    gauge.set(i64::from(is_stalled));
                }
            }),
        })
    }
}

/// Holds `overseer_subsystem_up` at 1 while alive.
struct UpGauge<'a>(&'a prometheus::IntGauge);

impl<'a> UpGauge<'a> {
    fn raise(gauge: &'a prometheus::IntGauge) -> Self {
        gauge.set(1);
        Self(gauge)
    }
}

impl Drop for UpGauge<'_> {
    fn drop(&mut self) {
        self.0.set(0);
    }
}

/// A number in `0.0..1.0` for backoff jitter; quality hardly matters, independence from other
/// subsystems does.
fn jitter_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Starts subsystems for the generated `build()`.
pub struct Launcher<'a, Spec: OverseerSpec, Sp> {
    spawner: &'a Sp,
    shared_spawner: SharedSpawner,
    channels: Arc<Spec::Channels>,
    metrics: Option<Metrics>,
    running: FuturesUnordered<RunningSubsystem>,
}

impl<Spec: OverseerSpec, Sp> fmt::Debug for Launcher<'_, Spec, Sp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Launcher")
            .field("overseer", &Spec::NAME)
            .field("started", &self.running.len())
            .finish()
    }
}

impl<'a, Spec, Sp> Launcher<'a, Spec, Sp>
where
    Spec: OverseerSpec,
    Sp: Spawner + 'static,
{
    /// A launcher over the given spawner and channels.
    pub fn new(spawner: &'a Sp, channels: Arc<Spec::Channels>, metrics: Option<Metrics>) -> Self {
        Self {
            spawner,
            shared_spawner: Arc::new(spawner.clone()),
            channels,
            metrics,
            running: FuturesUnordered::new(),
        }
    }

    /// Start one subsystem on its queue, under supervision: it is restarted from `source` as its
    /// policy says, on the same queue, so queued messages survive the restart.
    #[allow(clippy::too_many_arguments)]
    pub fn launch<M, O, Sub>(
        &mut self,
        name: &'static str,
        mut source: Source<Sub>,
        messages: MessageReceiver<M::Payload>,
        queue: MessageSender<M::Payload>,
        config: QueueConfig,
        blocking: bool,
        supervision: Supervision,
    ) -> OverseenSubsystem<M, Spec>
    where
        M: Consumable<Spec::Channels>,
        O: 'static,
        Sub: Subsystem<OverseerContext<M, O, Spec>, Spec::Error> + Send + 'static,
        OverseerContext<M, O, Spec>: crate::SubsystemContext,
    {
        let (tx_signal, rx_signal) = signal_channel(config.signal_capacity);
        if let Some(metrics) = &self.metrics {
            let signals = tx_signal.downgrade();
            let depth = move || signals.upgrade().map_or(0, |signals| signals.len());
            metrics.watch_queue(
                name,
                "signal",
                Some(config.signal_capacity.max(1)),
                Box::new(depth),
            );
        }
        let signals_received = SignalsReceived::default();
        let life = Arc::new(LifeState::default());
        let (channels, spawner, metrics) = (
            Arc::clone(&self.channels),
            Arc::clone(&self.shared_spawner),
            self.metrics.clone(),
        );
        let reader = messages.clone();
        let shared = Arc::clone(&life);
        let work = async move {
            let up = metrics.as_ref().map(|metrics| metrics.up(name));
            let mut tracker = RestartTracker::new(supervision.restart, Instant::now());
            let outcome = loop {
                let Some(subsystem) = source.next_instance() else {
                    break ExitOutcome::Err(format!(
                        "`{name}` cannot be restarted: it was given as a value; give it with `{name}_factory(|| ..)` to restart it"
                    ));
                };
                // One signal count across restarts: queued messages keep their meaning.
                let sender = OverseerSender::new(
                    name,
                    Arc::clone(&channels),
                    signals_received.clone(),
                    metrics.clone(),
                );
                let context = OverseerContext::new(
                    name,
                    messages.clone(),
                    rx_signal.clone(),
                    sender,
                    signals_received.clone(),
                    Arc::clone(&spawner),
                );
                let (abort, registration) = AbortHandle::new_pair();
                if let Ok(mut current) = shared.current.lock() {
                    *current = Some(abort);
                }
                let outcome = {
                    // Down again when this incarnation ends, aborted or not.
                    let _up = up.as_ref().map(UpGauge::raise);
                    match std::panic::catch_unwind(AssertUnwindSafe(|| subsystem.start(context))) {
                        Ok(spawned) => run_once(spawned.future, registration).await,
                        Err(payload) => ExitOutcome::Panic(panic_message(payload.as_ref())),
                    }
                };
                shared.incarnation_ended();
                // A stall restart counts only if the abort is what ended the incarnation: one that
                // ended by itself meanwhile (a panic, say) is judged by how it ended.
                let stall_requested = shared.stall_restart.swap(false, Ordering::AcqRel);
                let stalled = stall_requested && outcome == ExitOutcome::Aborted;
                let outcome = if stalled {
                    ExitOutcome::Stalled
                } else {
                    outcome
                };
                if shared.stopping.load(Ordering::Acquire) {
                    break outcome;
                }
                let decision = if stalled {
                    tracker.on_stall(Instant::now(), jitter_unit())
                } else {
                    tracker.on_exit(&outcome, Instant::now(), jitter_unit())
                };
                match decision {
                    Decision::Restart { reason, .. } if !source.has_next() => {
                        // Not a restart: nothing to restart with. Keep what ended it.
                        let ended = match reason {
                            RestartReason::Stall => "stalled".to_owned(),
                            _ => outcome.to_string(),
                        };
                        break ExitOutcome::Err(format!(
                            "`{name}` {ended}, and cannot be restarted: it was given as a value; give it with `{name}_factory(|| ..)` to restart it"
                        ));
                    }
                    Decision::Restart { delay, reason } => {
                        let restarts = shared.restarts.fetch_add(1, Ordering::Relaxed) + 1;
                        tracing::warn!(
                            subsystem = name,
                            reason = reason.as_str(),
                            ?delay,
                            restarts,
                            "subsystem {outcome}; restarting"
                        );
                        if let Some(metrics) = &metrics {
                            metrics.restart(name, reason.as_str());
                        }
                        Delay::new(delay).await;
                        if shared.stopping.load(Ordering::Acquire) {
                            break outcome;
                        }
                    }
                    Decision::Stop => break outcome,
                    Decision::Escalate { .. } => {
                        shared.escalated.store(true, Ordering::Release);
                        break outcome;
                    }
                }
            };
            // Nobody will read this queue again: senders learn it at once.
            messages.close();
            outcome
        };
        let task_name = name;
        let (running, abort) = spawn_life(self.spawner, name, task_name, blocking, work);
        self.running.push(running);
        let instance = SubsystemInstance {
            tx_signal,
            tx_bounded: queue,
            signals_received: 0,
            name,
            abort,
            reader,
            life,
            supervision,
            metrics: self.metrics.clone(),
        };
        OverseenSubsystem {
            instance: Some(instance),
        }
    }

    /// The started subsystems, as futures of their ends.
    pub fn into_running(self) -> FuturesUnordered<RunningSubsystem> {
        self.running
    }
}
