//! What a running subsystem holds: its inbox, its sender and a way to spawn jobs.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use futures::Stream;

use crate::channel::MessageReceiver;
use crate::error::OverseerError;
use crate::message::{FromOverseer, MessagePacket, SignalsReceived};
use crate::route::{Consumable, Route};
use crate::sender::{OverseerSender, SubsystemSender};
use crate::spawner::SharedSpawner;
use crate::spec::OverseerSpec;

/// The interface a subsystem sees: receive signals and messages, send, spawn jobs.
///
/// `recv` yields signals before messages, and holds back a message whose sender had seen
/// more signals than this subsystem has received (the watermark rule).
pub trait SubsystemContext: Send + 'static {
    /// The message type this subsystem consumes.
    type Message: fmt::Debug + Send + 'static;
    /// The signal type of the overseer.
    type Signal: fmt::Debug + Send + 'static;
    /// The outgoing enum of this subsystem: everything its `sends: [..]` declares.
    type OutgoingMessages: fmt::Debug + Send + 'static;
    /// The sender handed out by [`sender`](Self::sender).
    type Sender: Clone + Send + 'static + SubsystemSender<Self::OutgoingMessages>;
    /// The overseer's error type.
    type Error: std::error::Error + From<OverseerError> + Sync + Send + 'static;

    /// Take a signal or message if one is ready, without waiting. `Err(())` once the overseer
    /// is gone. Looping on this without awaiting something else is a busy loop.
    #[allow(clippy::type_complexity)]
    fn try_recv(
        &mut self,
    ) -> impl Future<Output = Result<Option<FromOverseer<Self::Message, Self::Signal>>, ()>> + Send;

    /// Wait for the next signal or message.
    fn recv(
        &mut self,
    ) -> impl Future<Output = Result<FromOverseer<Self::Message, Self::Signal>, Self::Error>> + Send;

    /// Wait for the next signal only, leaving messages queued: lets a saturated subsystem keep
    /// answering signals.
    fn recv_signal(&mut self) -> impl Future<Output = Result<Self::Signal, Self::Error>> + Send;

    /// Spawn a job. It starts at once: jobs never wait for the overseer's run loop.
    fn spawn(
        &mut self,
        name: &'static str,
        s: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Result<(), Self::Error>;

    /// Spawn a job that may block its thread.
    fn spawn_blocking(
        &mut self,
        name: &'static str,
        s: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Result<(), Self::Error>;

    /// Send a message, waiting while the receiver's queue is full.
    fn send_message<T>(&mut self, msg: T) -> impl Future<Output = ()> + Send
    where
        Self::OutgoingMessages: From<T> + Send,
        T: Send,
    {
        let msg = <Self::OutgoingMessages>::from(msg);
        let sender = self.sender();
        async move { sender.send_message(msg).await }
    }

    /// Send several messages in order.
    fn send_messages<T, I>(&mut self, msgs: I) -> impl Future<Output = ()> + Send
    where
        Self::OutgoingMessages: From<T> + Send,
        I: IntoIterator<Item = T> + Send,
        I::IntoIter: Send,
        T: Send,
    {
        let sender = self.sender();
        async move {
            sender
                .send_messages(msgs.into_iter().map(<Self::OutgoingMessages>::from))
                .await
        }
    }

    /// Send on the receiver's unbounded lane.
    fn send_unbounded_message<X>(&mut self, msg: X)
    where
        Self::OutgoingMessages: From<X> + Send,
        X: Send,
    {
        self.sender()
            .send_unbounded_message(<Self::OutgoingMessages>::from(msg))
    }

    /// The sender; clone it to send from spawned jobs.
    fn sender(&mut self) -> &mut Self::Sender;
}

/// The context the overseer gives subsystem `M`'s consumer; `O` is its outgoing enum.
///
/// The macro names it `<Name>SubsystemContext<M>`.
pub struct OverseerContext<M, O, Spec>
where
    Spec: OverseerSpec,
    M: Consumable<Spec::Channels>,
{
    name: &'static str,
    messages: MessageReceiver<M::Payload>,
    signals: Pin<Box<async_channel::Receiver<Spec::Signal>>>,
    signals_received: SignalsReceived,
    pending: Option<MessagePacket<M::Payload>>,
    sender: OverseerSender<Spec, O>,
    spawner: SharedSpawner,
    /// When the message being processed was handed over, if it is timed.
    processing_since: Option<Instant>,
}

impl<M, O, Spec> fmt::Debug for OverseerContext<M, O, Spec>
where
    Spec: OverseerSpec,
    M: Consumable<Spec::Channels>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OverseerContext")
            .field("subsystem", &self.name)
            .field("signals_received", &self.signals_received.load())
            .field("queued", &self.messages.len())
            .finish_non_exhaustive()
    }
}

enum Next<P, S> {
    Signal(S),
    Packet(P),
    Gone,
}

impl<M, O, Spec> OverseerContext<M, O, Spec>
where
    Spec: OverseerSpec,
    M: Consumable<Spec::Channels>,
{
    pub(crate) fn new(
        name: &'static str,
        messages: MessageReceiver<M::Payload>,
        signals: async_channel::Receiver<Spec::Signal>,
        sender: OverseerSender<Spec, O>,
        signals_received: SignalsReceived,
        spawner: SharedSpawner,
    ) -> Self {
        Self {
            name,
            messages,
            signals: Box::pin(signals),
            signals_received,
            pending: None,
            sender,
            spawner,
            processing_since: None,
        }
    }

    /// The name of the subsystem this context belongs to.
    pub fn subsystem_name(&self) -> &'static str {
        self.name
    }

    fn gone(&self) -> OverseerError {
        OverseerError::OverseerGone {
            subsystem: self.name,
        }
    }

    fn count_signal(&self) {
        self.signals_received.inc();
        if let Some(metrics) = self.messages.metrics() {
            metrics.on_signal_received();
        }
    }

    fn signal(&mut self, signal: Spec::Signal) -> FromOverseer<M, Spec::Signal> {
        self.count_signal();
        FromOverseer::Signal(signal)
    }

    /// The subsystem asks for more: the message it had is processed.
    fn finish_processing(&mut self) {
        if let (Some(started), Some(metrics)) =
            (self.processing_since.take(), self.messages.metrics())
        {
            metrics.on_processed(started);
        }
    }

    /// A packet is deliverable once this subsystem has seen as many signals as its sender had.
    fn deliver_or_hold(
        &mut self,
        packet: MessagePacket<M::Payload>,
    ) -> Option<FromOverseer<M, Spec::Signal>> {
        if packet.signals_received <= self.signals_received.load() {
            self.processing_since = self.messages.take_timed().then(Instant::now);
            Some(FromOverseer::Communication {
                msg: M::from_payload(packet.message),
            })
        } else {
            self.pending = Some(packet);
            None
        }
    }

    async fn next(&mut self) -> Result<FromOverseer<M, Spec::Signal>, OverseerError> {
        self.finish_processing();
        loop {
            if let Some(packet) = self.pending.take() {
                if let Some(message) = self.deliver_or_hold(packet) {
                    return Ok(message);
                }
                // The held message waits for a signal this subsystem has not seen yet.
                let signal = self.signals.recv().await.map_err(|_| self.gone())?;
                return Ok(self.signal(signal));
            }
            if let Ok(signal) = self.signals.try_recv() {
                return Ok(self.signal(signal));
            }
            let next = match self.messages.try_next() {
                Some(packet) => Next::Packet(packet),
                None => {
                    let signals = &mut self.signals;
                    let messages = &mut self.messages;
                    poll_fn(|cx| {
                        match signals.as_mut().poll_next(cx) {
                            Poll::Ready(Some(signal)) => return Poll::Ready(Next::Signal(signal)),
                            Poll::Ready(None) => return Poll::Ready(Next::Gone),
                            Poll::Pending => {}
                        }
                        match messages.poll_next_packet(cx) {
                            Poll::Ready(Some(packet)) => Poll::Ready(Next::Packet(packet)),
                            // Every sender is gone; only signals can still arrive.
                            Poll::Ready(None) | Poll::Pending => Poll::Pending,
                        }
                    })
                    .await
                }
            };
            match next {
                Next::Signal(signal) => return Ok(self.signal(signal)),
                Next::Gone => return Err(self.gone()),
                Next::Packet(packet) => {
                    if let Some(message) = self.deliver_or_hold(packet) {
                        return Ok(message);
                    }
                }
            }
        }
    }
}

impl<M, O, Spec> SubsystemContext for OverseerContext<M, O, Spec>
where
    Spec: OverseerSpec,
    M: Consumable<Spec::Channels> + fmt::Debug,
    O: Route<Spec::Channels> + fmt::Debug,
{
    type Message = M;
    type Signal = Spec::Signal;
    type OutgoingMessages = O;
    type Sender = OverseerSender<Spec, O>;
    type Error = Spec::Error;

    async fn try_recv(&mut self) -> Result<Option<FromOverseer<M, Spec::Signal>>, ()> {
        self.finish_processing();
        if let Some(packet) = self.pending.take() {
            if let Some(message) = self.deliver_or_hold(packet) {
                return Ok(Some(message));
            }
        }
        match self.signals.try_recv() {
            Ok(signal) => return Ok(Some(self.signal(signal))),
            Err(async_channel::TryRecvError::Closed) => return Err(()),
            Err(async_channel::TryRecvError::Empty) => {}
        }
        if self.pending.is_some() {
            return Ok(None);
        }
        Ok(self
            .messages
            .try_next()
            .and_then(|packet| self.deliver_or_hold(packet)))
    }

    async fn recv(&mut self) -> Result<FromOverseer<M, Spec::Signal>, Spec::Error> {
        self.next().await.map_err(Into::into)
    }

    async fn recv_signal(&mut self) -> Result<Spec::Signal, Spec::Error> {
        let signal = self.signals.recv().await.map_err(|_| self.gone())?;
        self.count_signal();
        Ok(signal)
    }

    fn spawn(
        &mut self,
        name: &'static str,
        s: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Result<(), Spec::Error> {
        self.spawner.spawn_dyn(name, Some(self.name), s);
        Ok(())
    }

    fn spawn_blocking(
        &mut self,
        name: &'static str,
        s: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Result<(), Spec::Error> {
        self.spawner.spawn_blocking_dyn(name, Some(self.name), s);
        Ok(())
    }

    fn sender(&mut self) -> &mut Self::Sender {
        &mut self.sender
    }
}
