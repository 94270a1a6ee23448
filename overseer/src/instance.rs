//! The overseer's side of a running subsystem, and how the generated `build()` starts them.

use std::fmt;
use std::sync::Arc;

use futures::future::AbortHandle;
use futures::stream::FuturesUnordered;

use crate::channel::{signal_channel, MessageReceiver, MessageSender, QueueConfig};
use crate::context::OverseerContext;
use crate::error::{OverseerError, TrySendError};
use crate::lifecycle::{supervise, RunningSubsystem};
use crate::message::{make_packet, Priority, SignalsReceived};
use crate::route::Consumed;
use crate::sender::OverseerSender;
use crate::spawner::{SharedSpawner, Spawner};
use crate::spec::OverseerSpec;
use crate::subsystem::Subsystem;

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
    M: Consumed<Spec::Channels>,
{
    /// The running instance; `None` only for hand-built overseers.
    pub instance: Option<SubsystemInstance<M::Payload, Spec::Signal>>,
}

impl<M, Spec> fmt::Debug for OverseenSubsystem<M, Spec>
where
    Spec: OverseerSpec,
    M: Consumed<Spec::Channels>,
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
    M: Consumed<Spec::Channels>,
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
        instance.signals_received += 1;
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
        instance.signals_received += 1;
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
    /// Abort its task.
    fn abort(&self);
}

impl<M, Spec> Supervised<Spec::Signal> for OverseenSubsystem<M, Spec>
where
    Spec: OverseerSpec,
    M: Consumed<Spec::Channels>,
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

    fn abort(&self) {
        if let Some(instance) = &self.instance {
            instance.abort.abort();
        }
    }
}

/// Starts subsystems for the generated `build()`.
pub struct Launcher<'a, Spec: OverseerSpec, Sp> {
    spawner: &'a Sp,
    shared_spawner: SharedSpawner,
    channels: Arc<Spec::Channels>,
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
    pub fn new(spawner: &'a Sp, channels: Arc<Spec::Channels>) -> Self {
        Self {
            spawner,
            shared_spawner: Arc::new(spawner.clone()),
            channels,
            running: FuturesUnordered::new(),
        }
    }

    /// Start one subsystem on its queue, under supervision.
    pub fn launch<M, O, Sub>(
        &mut self,
        name: &'static str,
        subsystem: Sub,
        messages: MessageReceiver<M::Payload>,
        queue: MessageSender<M::Payload>,
        config: QueueConfig,
        blocking: bool,
    ) -> OverseenSubsystem<M, Spec>
    where
        M: Consumed<Spec::Channels>,
        Sub: Subsystem<OverseerContext<M, O, Spec>, Spec::Error>,
        OverseerContext<M, O, Spec>: crate::SubsystemContext,
    {
        let (tx_signal, rx_signal) = signal_channel(config.signal_capacity);
        let signals_received = SignalsReceived::default();
        let sender = OverseerSender::new(Arc::clone(&self.channels), signals_received.clone());
        let context = OverseerContext::new(
            name,
            messages,
            rx_signal,
            sender,
            signals_received,
            Arc::clone(&self.shared_spawner),
        );
        let spawned = subsystem.start(context);
        let (running, abort) = supervise(self.spawner, name, blocking, spawned);
        self.running.push(running);
        OverseenSubsystem {
            instance: Some(SubsystemInstance {
                tx_signal,
                tx_bounded: queue,
                signals_received: 0,
                name,
                abort,
            }),
        }
    }

    /// The started subsystems, as futures of their ends.
    pub fn into_running(self) -> FuturesUnordered<RunningSubsystem> {
        self.running
    }
}
