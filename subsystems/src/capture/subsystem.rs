//! The capture subsystem, generic over its [`CaptureBackend`].

use futures::future::{self, Either};
use overseer::{FromOverseer, SpawnedSubsystem, Subsystem, SubsystemContext, SubsystemSender};

use super::acks::{AckTracker, Pending};
use super::backend::{BackfillChunk, CaptureBackend};
use crate::change::{Change, ChangeKind};
use crate::error::NodeError;
use crate::messages::{BuildMessage, CaptureMessage, ChangeBatch, NodeSignal};

/// The capture subsystem: numbers batches of changes (and of backfill keys) for the builder,
/// at most `max_in_flight` unacknowledged at a time, and advances the source only over what
/// downstream acknowledged.
#[derive(Debug)]
pub struct Capture<B> {
    backend: B,
    max_in_flight: usize,
}

impl<B: CaptureBackend> Capture<B> {
    /// A capture over `backend` with at most `max_in_flight` unacknowledged batches: beyond it
    /// the capture stops reading, so memory stays flat whatever the backlog.
    pub fn new(backend: B, max_in_flight: usize) -> Self {
        Self {
            backend,
            max_in_flight: max_in_flight.max(1),
        }
    }
}

impl<Ctx, B> Subsystem<Ctx, NodeError> for Capture<B>
where
    Ctx: SubsystemContext<Message = CaptureMessage, Signal = NodeSignal, Error = NodeError>,
    Ctx::Sender: SubsystemSender<BuildMessage>,
    B: CaptureBackend,
{
    fn start(self, ctx: Ctx) -> SpawnedSubsystem<NodeError> {
        SpawnedSubsystem {
            name: "capture",
            future: Box::pin(self.run(ctx)),
        }
    }
}

/// What the capture does after a message from the overseer.
enum Next {
    Continue,
    Stop,
}

impl<B: CaptureBackend> Capture<B> {
    async fn run<Ctx>(mut self, mut ctx: Ctx) -> Result<(), NodeError>
    where
        Ctx: SubsystemContext<Message = CaptureMessage, Signal = NodeSignal, Error = NodeError>,
        Ctx::Sender: SubsystemSender<BuildMessage>,
    {
        let mut tracker = AckTracker::new(self.backend.first_seq());
        let mut sender = ctx.sender().clone();
        loop {
            while let Ok(Some(incoming)) = ctx.try_recv().await {
                if let Next::Stop = self.handle(&mut tracker, incoming).await? {
                    return Ok(());
                }
            }
            let sent = self.send_ready(&mut tracker, &mut sender).await?;
            let full = tracker.in_flight() >= self.max_in_flight;
            if sent > 0 && !full {
                continue;
            }
            // Nothing to read, or no room: wait for an acknowledgement or for the source.
            let received = {
                let incoming = ctx.recv();
                let backend = &mut self.backend;
                let idle = sent == 0;
                let ready = async move {
                    if full {
                        future::pending::<()>().await
                    } else {
                        backend.wait(idle).await
                    }
                };
                futures::pin_mut!(incoming, ready);
                match future::select(incoming, ready).await {
                    Either::Left((incoming, _)) => Some(incoming),
                    Either::Right(((), _)) => None,
                }
            };
            if let Some(incoming) = received {
                if let Next::Stop = self.handle(&mut tracker, incoming?).await? {
                    return Ok(());
                }
            }
        }
    }

    async fn handle(
        &mut self,
        tracker: &mut AckTracker<BackfillChunk<B::Token>>,
        incoming: FromOverseer<CaptureMessage, NodeSignal>,
    ) -> Result<Next, NodeError> {
        match incoming {
            FromOverseer::Signal(NodeSignal::Conclude) => Ok(Next::Stop),
            FromOverseer::Communication {
                msg: CaptureMessage::Ack { through_seq },
            } => {
                // Chunks first, then the live position: both only over acknowledged batches.
                let completed = tracker.ack(through_seq);
                for chunk in completed.chunks {
                    self.backend.complete_chunk(chunk).await?;
                }
                if let Some((position, source_seq)) = completed.live {
                    self.backend
                        .confirm(position, source_seq, completed.through_seq)
                        .await?;
                }
                Ok(Next::Continue)
            }
        }
    }

    /// Send what is ready within the in-flight limit: a backfill chunk, then live changes.
    async fn send_ready(
        &mut self,
        tracker: &mut AckTracker<BackfillChunk<B::Token>>,
        sender: &mut impl SubsystemSender<BuildMessage>,
    ) -> Result<usize, NodeError> {
        let mut sent = 0;
        if tracker.in_flight() < self.max_in_flight {
            if let Some(chunk) = self.backend.next_chunk().await? {
                let position = self.backend.position();
                let changes = chunk
                    .keys
                    .iter()
                    .map(|key| Change {
                        seq: 0,
                        position,
                        table: chunk.table.clone(),
                        kind: ChangeKind::Update,
                        key: key.clone(),
                        old: None,
                    })
                    .collect::<Vec<_>>();
                let seq = tracker.send(Pending::Backfill(chunk));
                let changes = changes
                    .into_iter()
                    .map(|change| Change { seq, ..change })
                    .collect();
                sender
                    .send_message(BuildMessage::Changes(ChangeBatch { seq, changes }))
                    .await;
                sent += 1;
            }
        }
        if tracker.in_flight() < self.max_in_flight {
            let mut changes = self.backend.poll_changes().await?;
            if let Some(last) = changes.last() {
                let seq = tracker.send(Pending::Live {
                    position: last.position,
                    source_seq: last.seq,
                });
                for change in &mut changes {
                    change.seq = seq;
                }
                sender
                    .send_message(BuildMessage::Changes(ChangeBatch { seq, changes }))
                    .await;
                sent += 1;
            }
        }
        Ok(sent)
    }
}
