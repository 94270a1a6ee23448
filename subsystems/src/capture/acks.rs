//! Which source positions an acknowledgement makes durable: a pure core.
//!
//! The capture numbers its batches; downstream acknowledges "everything through `seq`". Only
//! then may the source advance: its checkpoint moves to the last live position at or before
//! that sequence, and finished backfill chunks are recorded. Nothing advances past a batch that
//! was not acknowledged.

use std::collections::BTreeMap;

use crate::change::Position;

/// What a batch stands for at the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending<C> {
    /// Live changes up to this source position; `source_seq` is the backend's own number of
    /// the batch's last change.
    Live {
        /// The source position of the batch's last change.
        position: Position,
        /// The backend's number of that change.
        source_seq: u64,
    },
    /// A backfill chunk.
    Backfill(C),
}

/// Batches sent and not yet acknowledged, in sequence order.
#[derive(Debug, Clone)]
pub struct AckTracker<C> {
    next_seq: u64,
    pending: BTreeMap<u64, Pending<C>>,
}

/// What an acknowledgement completed, in sequence order.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed<C> {
    /// The last live batch now durable, if any: its position and the backend's number of its
    /// last change.
    pub live: Option<(Position, u64)>,
    /// The sequence of the last acknowledged batch.
    pub through_seq: u64,
    /// Backfill chunks now durable, in order.
    pub chunks: Vec<C>,
}

impl<C> AckTracker<C> {
    /// A tracker whose first batch gets `first_seq`.
    pub fn new(first_seq: u64) -> Self {
        Self {
            next_seq: first_seq,
            pending: BTreeMap::new(),
        }
    }

    /// Number a new batch.
    pub fn send(&mut self, pending: Pending<C>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.insert(seq, pending);
        seq
    }

    /// Batches sent and not acknowledged.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// The next sequence number.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Everything through `through_seq` is durable downstream.
    pub fn ack(&mut self, through_seq: u64) -> Completed<C> {
        let later = self.pending.split_off(&through_seq.saturating_add(1));
        let done = std::mem::replace(&mut self.pending, later);
        let mut completed = Completed {
            live: None,
            through_seq,
            chunks: Vec::new(),
        };
        for (_, pending) in done {
            match pending {
                Pending::Live {
                    position,
                    source_seq,
                } => completed.live = Some((position, source_seq)),
                Pending::Backfill(chunk) => completed.chunks.push(chunk),
            }
        }
        completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_ack_completes_exactly_the_batches_through_its_sequence() {
        let mut tracker = AckTracker::new(1);
        assert_eq!(
            tracker.send(Pending::Live {
                position: Position(10),
                source_seq: 5
            }),
            1
        );
        assert_eq!(tracker.send(Pending::Backfill("chunk a")), 2);
        assert_eq!(
            tracker.send(Pending::Live {
                position: Position(20),
                source_seq: 9
            }),
            3
        );
        let completed = tracker.ack(2);
        assert_eq!(
            completed,
            Completed {
                live: Some((Position(10), 5)),
                through_seq: 2,
                chunks: vec!["chunk a"]
            }
        );
        assert_eq!(tracker.in_flight(), 1);
        assert_eq!(tracker.ack(3).live, Some((Position(20), 9)));
        assert_eq!(tracker.in_flight(), 0);
    }

    proptest! {
        /// The position never advances past a batch that was not acknowledged.
        #[test]
        fn confirms_no_position_before_its_batch_is_acknowledged(
            sends in 1usize..50,
            acks in proptest::collection::vec(0u64..60, 0..20),
        ) {
            let mut tracker: AckTracker<()> = AckTracker::new(1);
            for n in 0..sends {
                tracker.send(Pending::Live { position: Position(100 + n as u64), source_seq: n as u64 });
            }
            let mut highest = 0;
            for through in acks {
                highest = highest.max(through);
                if let Some((position, _)) = tracker.ack(through).live {
                    // Batch `s` carries position 100 + s - 1.
                    prop_assert!(position.0 < 100 + through);
                }
                prop_assert_eq!(tracker.in_flight(), sends.saturating_sub(highest as usize));
            }
        }
    }
}
