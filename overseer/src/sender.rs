//! Sending messages to other subsystems.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{self, Either};
use futures_timer::Delay;

use crate::error::TrySendError;
use crate::message::{Priority, PriorityLevel, SignalsReceived};
use crate::metrics::Metrics;
use crate::request::{short_type_name, RequestError, Responder};
use crate::route::Route;
use crate::spec::OverseerSpec;

/// The sending side a subsystem uses to talk to the others.
///
/// A subsystem's sender implements `SubsystemSender<M>` exactly for the `M` its
/// `sends: [..]` declares (and for its outgoing enum), so sending anything else does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot send `{OutgoingMessage}`",
    label = "`{OutgoingMessage}` is not in this subsystem's `sends: [..]`",
    note = "add the message to the `sends: [..]` list of the sending subsystem in `#[overlord]`"
)]
pub trait SubsystemSender<OutgoingMessage>: Clone + Send + 'static
where
    OutgoingMessage: Send,
{
    /// Send, waiting while the receiver's queue is full.
    fn send_message(&mut self, msg: OutgoingMessage) -> impl Future<Output = ()> + Send;

    /// Send with the given priority; the receiver must have opted in with
    /// `can_receive_priority_messages`, otherwise the message takes the normal lane and a
    /// warning is logged.
    fn send_message_with_priority<P: Priority>(
        &mut self,
        msg: OutgoingMessage,
    ) -> impl Future<Output = ()> + Send;

    /// Send without waiting; the message comes back on `Full` and `Closed`.
    fn try_send_message(
        &mut self,
        msg: OutgoingMessage,
    ) -> Result<(), TrySendError<OutgoingMessage>>;

    /// Send with priority without waiting.
    fn try_send_message_with_priority<P: Priority>(
        &mut self,
        msg: OutgoingMessage,
    ) -> Result<(), TrySendError<OutgoingMessage>>;

    /// Send several messages in order, waiting as needed.
    fn send_messages<I>(&mut self, msgs: I) -> impl Future<Output = ()> + Send
    where
        I: IntoIterator<Item = OutgoingMessage> + Send,
        I::IntoIter: Send;

    /// Send on the receiver's unbounded lane. Only for traffic bounded by other means.
    fn send_unbounded_message(&mut self, msg: OutgoingMessage);

    /// Send a request built around a [`Responder`] and wait for its answer, at most `timeout`
    /// for sending and answering together.
    ///
    /// Cancellation-safe: dropping the returned future drops the answer's receiver, and the
    /// responder's `respond` then hands the value back; nothing is left behind.
    fn request<T, F>(
        &mut self,
        make: F,
        timeout: Duration,
    ) -> impl Future<Output = Result<T, RequestError>> + Send
    where
        Self: Sized,
        F: FnOnce(Responder<T>) -> OutgoingMessage,
        T: Send + 'static,
    {
        let (responder, answer) = Responder::new();
        let message = make(responder);
        let request = short_type_name::<OutgoingMessage>();
        async move {
            let started = Instant::now();
            let result = {
                let exchange = async {
                    self.send_message(message).await;
                    answer.await
                };
                futures::pin_mut!(exchange);
                match future::select(exchange, Delay::new(timeout)).await {
                    Either::Left((Ok(value), _)) => Ok(value),
                    Either::Left((Err(_), _)) => Err(RequestError::Unanswered { request }),
                    Either::Right(_) => Err(RequestError::Timeout { request, timeout }),
                }
            };
            if result.is_ok() {
                self.observe_request(request, started.elapsed());
            }
            result
        }
    }

    /// Record the response time of an answered request; the overseer's sender reports it as
    /// `overseer_request_seconds`.
    fn observe_request(&self, request: &'static str, elapsed: Duration) {
        let _ = (request, elapsed);
    }
}

/// The sender of one subsystem whose outgoing enum is `O`.
pub struct OverseerSender<Spec: OverseerSpec, O> {
    channels: Arc<Spec::Channels>,
    signals_received: SignalsReceived,
    subsystem: &'static str,
    metrics: Option<Metrics>,
    _outgoing: PhantomData<fn(O)>,
}

impl<Spec: OverseerSpec, O> OverseerSender<Spec, O> {
    /// A sender that stamps messages with the given signal count.
    pub fn new(
        subsystem: &'static str,
        channels: Arc<Spec::Channels>,
        signals_received: SignalsReceived,
        metrics: Option<Metrics>,
    ) -> Self {
        Self {
            channels,
            signals_received,
            subsystem,
            metrics,
            _outgoing: PhantomData,
        }
    }

    /// The subsystem this sender belongs to.
    pub fn subsystem(&self) -> &'static str {
        self.subsystem
    }

    /// The channels of all subsystems.
    pub fn channels(&self) -> &Spec::Channels {
        &self.channels
    }
}

impl<Spec: OverseerSpec, O> Clone for OverseerSender<Spec, O> {
    fn clone(&self) -> Self {
        Self {
            channels: Arc::clone(&self.channels),
            signals_received: self.signals_received.clone(),
            subsystem: self.subsystem,
            metrics: self.metrics.clone(),
            _outgoing: PhantomData,
        }
    }
}

impl<Spec: OverseerSpec, O> fmt::Debug for OverseerSender<Spec, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OverseerSender")
            .field("overseer", &Spec::NAME)
            .field("signals_received", &self.signals_received.load())
            .finish()
    }
}

fn log_send_failure(error: &crate::OverseerError) {
    tracing::debug!(%error, "message dropped: its receiver is gone");
}

impl<Spec, O, M> SubsystemSender<M> for OverseerSender<Spec, O>
where
    Spec: OverseerSpec,
    O: From<M> + 'static,
    M: Route<Spec::Channels>,
{
    fn send_message(&mut self, msg: M) -> impl Future<Output = ()> + Send {
        self.send_message_with_priority::<crate::NormalPriority>(msg)
    }

    fn send_message_with_priority<P: Priority>(
        &mut self,
        msg: M,
    ) -> impl Future<Output = ()> + Send {
        let watermark = self.signals_received.load();
        let channels = &*self.channels;
        async move {
            if let Err(error) = msg.route(channels, watermark, P::priority()).await {
                log_send_failure(&error);
            }
        }
    }

    fn try_send_message(&mut self, msg: M) -> Result<(), TrySendError<M>> {
        self.try_send_message_with_priority::<crate::NormalPriority>(msg)
    }

    fn try_send_message_with_priority<P: Priority>(
        &mut self,
        msg: M,
    ) -> Result<(), TrySendError<M>> {
        msg.try_route(&self.channels, self.signals_received.load(), P::priority())
    }

    fn send_messages<I>(&mut self, msgs: I) -> impl Future<Output = ()> + Send
    where
        I: IntoIterator<Item = M> + Send,
        I::IntoIter: Send,
    {
        let watermark = self.signals_received.load();
        let channels = &*self.channels;
        async move {
            for msg in msgs {
                if let Err(error) = msg.route(channels, watermark, PriorityLevel::Normal).await {
                    log_send_failure(&error);
                }
            }
        }
    }

    fn observe_request(&self, request: &'static str, elapsed: Duration) {
        if let Some(metrics) = &self.metrics {
            metrics.request_answered(self.subsystem, request, elapsed);
        }
    }

    fn send_unbounded_message(&mut self, msg: M) {
        if let Err(error) = msg.route_unbounded(&self.channels, self.signals_received.load()) {
            log_send_failure(&error);
        }
    }
}
