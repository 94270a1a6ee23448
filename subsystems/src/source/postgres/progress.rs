//! [`Progress`]: sequence numbers, transactions and acknowledgements of a replication
//! stream, and the position it may confirm to the server. Pure: no I/O, no clock.
//!
//! # Positions
//!
//! Every change of a transaction has the transaction's commit LSN as its
//! [`Position`]. The server resends, after a reconnect, every
//! transaction whose commit record starts at or after the confirmed LSN; so confirming:
//!
//! * the *end* LSN of a transaction says it is done (it is not resent);
//! * its *commit* LSN says everything before it is done, and it is resent in full.
//!
//! [`Progress::ack`] confirms the end LSN of every transaction whose changes are all
//! acknowledged (and whose commit was received), and the commit LSN of a transaction only
//! partly acknowledged. When every change handed out is acknowledged, it also confirms the
//! furthest LSN the server said it had sent (keepalives, commits of transactions without
//! captured changes): everything before it was received and acknowledged, so the slot's lag
//! drops to zero while the source is idle.
//!
//! # Reconnects
//!
//! After a connection loss the stream restarts after the last transaction it *received*
//! ([`Progress::resume_lsn`]), not the last one acknowledged: what it received is in memory
//! and will be acknowledged in time. A transaction interrupted midway is resent in full;
//! the changes of it already handed out are recognised by their count and skipped
//! (logical decoding of the same WAL yields the same changes in the same order), so within
//! one process no change is delivered twice and sequence numbers stay gap-free.
//!
//! After a restart of the process the stream starts from the stored checkpoint: the
//! transaction at its position may be delivered again, numbered anew from `seq + 1`
//! (at-least-once).

use std::collections::VecDeque;

use crate::change::Position;
use crate::state::Checkpoint;

/// A transaction whose changes are being received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OpenTx {
    commit_lsn: u64,
    /// Seq of its first change handed out, if any.
    first_seq: Option<u64>,
    /// Seq of its last change numbered.
    last_seq: u64,
    /// Changes numbered, over every session that sent it.
    numbered: u64,
    /// Changes produced by the current session.
    produced: u64,
}

/// A transaction with numbered changes not all acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    commit_lsn: u64,
    /// `None`: its commit was not received (interrupted, never resent).
    end_lsn: Option<u64>,
    first_seq: u64,
    last_seq: u64,
}

/// A violation of the stream's transaction structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgressError {
    /// A Begin inside a transaction.
    #[error(
        "Begin of the transaction committing at {new} inside the transaction committing at {open}"
    )]
    NestedBegin {
        /// The open transaction's commit LSN.
        open: u64,
        /// The new one's.
        new: u64,
    },
    /// A row change or Commit outside a transaction.
    #[error("{what} outside a transaction")]
    OutsideTransaction {
        /// What arrived.
        what: &'static str,
    },
    /// A Commit whose LSN is not the one its Begin announced.
    #[error("Commit at {commit} of the transaction announced to commit at {announced}")]
    CommitMismatch {
        /// The Begin's final LSN.
        announced: u64,
        /// The Commit's LSN.
        commit: u64,
    },
    /// An acknowledgement of a change not handed out.
    #[error("acknowledged seq {seq}, but only changes through seq {handed_out} were handed out")]
    AckBeyondHandedOut {
        /// The acknowledged seq.
        seq: u64,
        /// The last seq handed out.
        handed_out: u64,
    },
}

/// The state of one stream's numbering and acknowledgements (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Progress {
    next_seq: u64,
    handed_out: u64,
    acked: u64,
    open: Option<OpenTx>,
    interrupted: Option<OpenTx>,
    spans: VecDeque<Span>,
    confirmed: u64,
    received_end: u64,
    seen_end: u64,
}

impl Progress {
    /// Numbering from `from.seq + 1`, with `from.position` confirmed.
    pub fn new(from: Checkpoint) -> Self {
        Self {
            next_seq: from.seq.saturating_add(1),
            handed_out: from.seq,
            acked: from.seq,
            open: None,
            interrupted: None,
            spans: VecDeque::new(),
            confirmed: from.position.0,
            received_end: from.position.0,
            seen_end: from.position.0,
        }
    }

    /// The LSN the server may consider flushed: send it as the standby status.
    pub fn confirmed(&self) -> u64 {
        self.confirmed
    }

    /// The server already confirmed `lsn` (the slot's `confirmed_flush_lsn` at start): never
    /// report less.
    pub fn observe_confirmed(&mut self, lsn: u64) {
        self.confirmed = self.confirmed.max(lsn);
        self.received_end = self.received_end.max(lsn);
        self.seen_end = self.seen_end.max(lsn);
    }

    /// Where to start streaming after a reconnect: after the last transaction received.
    pub fn resume_lsn(&self) -> u64 {
        self.confirmed.max(self.received_end)
    }

    /// The seq the next change gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The last seq acknowledged.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Whether every numbered change is acknowledged.
    pub fn caught_up(&self) -> bool {
        self.acked.saturating_add(1) == self.next_seq
    }

    /// Whether a transaction is being received.
    pub fn in_transaction(&self) -> bool {
        self.open.is_some()
    }

    /// A transaction committing at `final_lsn` begins.
    pub fn begin(&mut self, final_lsn: u64) -> Result<(), ProgressError> {
        if let Some(open) = self.open {
            return Err(ProgressError::NestedBegin {
                open: open.commit_lsn,
                new: final_lsn,
            });
        }
        let tx = match self.interrupted.take() {
            Some(mut resumed) if resumed.commit_lsn == final_lsn => {
                resumed.produced = 0;
                resumed
            }
            other => {
                // An interrupted transaction that is not resent first stays pending without
                // an end: acknowledging it confirms no more than its commit LSN.
                if let Some(lost) = other {
                    self.park(lost, None);
                }
                OpenTx {
                    commit_lsn: final_lsn,
                    first_seq: None,
                    last_seq: 0,
                    numbered: 0,
                    produced: 0,
                }
            }
        };
        self.open = Some(tx);
        Ok(())
    }

    /// The open transaction produced a change: its seq and position, or `None` if it was
    /// already handed out before a reconnect (skip it).
    pub fn change(&mut self) -> Result<Option<(u64, Position)>, ProgressError> {
        let open = self
            .open
            .as_mut()
            .ok_or(ProgressError::OutsideTransaction { what: "row change" })?;
        open.produced += 1;
        if open.produced <= open.numbered {
            return Ok(None);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        open.numbered += 1;
        open.first_seq.get_or_insert(seq);
        open.last_seq = seq;
        Ok(Some((seq, Position(open.commit_lsn))))
    }

    /// The open transaction commits.
    pub fn commit(&mut self, commit_lsn: u64, end_lsn: u64) -> Result<(), ProgressError> {
        let open = self
            .open
            .take()
            .ok_or(ProgressError::OutsideTransaction { what: "Commit" })?;
        if open.commit_lsn != commit_lsn {
            return Err(ProgressError::CommitMismatch {
                announced: open.commit_lsn,
                commit: commit_lsn,
            });
        }
        self.park(open, Some(end_lsn));
        self.received_end = self.received_end.max(end_lsn);
        self.seen_end = self.seen_end.max(end_lsn);
        self.confirm_if_caught_up();
        Ok(())
    }

    /// The server sent everything before `wal_end` (a keepalive).
    pub fn keepalive(&mut self, wal_end: u64) {
        self.seen_end = self.seen_end.max(wal_end);
        self.confirm_if_caught_up();
    }

    /// The changes through `seq` were given to the consumer.
    pub fn hand_out(&mut self, seq: u64) {
        self.handed_out = self.handed_out.max(seq);
    }

    /// The connection was lost: a transaction being received will be resent.
    pub fn disconnected(&mut self) {
        if let Some(open) = self.open.take() {
            if open.numbered > 0 {
                self.interrupted = Some(open);
            }
        }
    }

    /// Every change through `seq` is durable downstream. Returns the checkpoint to store
    /// (the confirmed LSN and `seq`), or `None` if `seq` was acknowledged already.
    pub fn ack(&mut self, seq: u64) -> Result<Option<Checkpoint>, ProgressError> {
        if seq > self.handed_out {
            return Err(ProgressError::AckBeyondHandedOut {
                seq,
                handed_out: self.handed_out,
            });
        }
        if seq <= self.acked {
            return Ok(None);
        }
        self.acked = seq;
        let mut flush = self.confirmed;
        while let Some(span) = self.spans.front().copied() {
            if span.last_seq <= seq {
                flush = flush.max(span.end_lsn.unwrap_or(span.commit_lsn));
                self.spans.pop_front();
            } else {
                if span.first_seq <= seq {
                    flush = flush.max(span.commit_lsn);
                }
                break;
            }
        }
        for tx in [self.interrupted, self.open].into_iter().flatten() {
            if tx.first_seq.is_some_and(|first| first <= seq) {
                flush = flush.max(tx.commit_lsn);
            }
        }
        self.confirmed = flush;
        self.confirm_if_caught_up();
        Ok(Some(Checkpoint {
            position: Position(self.confirmed),
            seq,
        }))
    }

    fn park(&mut self, tx: OpenTx, end_lsn: Option<u64>) {
        if let Some(first_seq) = tx.first_seq {
            if tx.last_seq > self.acked {
                self.spans.push_back(Span {
                    commit_lsn: tx.commit_lsn,
                    end_lsn,
                    first_seq,
                    last_seq: tx.last_seq,
                });
            } else if let Some(end) = end_lsn {
                // Acknowledged while it was still open: now it is complete.
                self.confirmed =
                    self.confirmed
                        .max(if self.caught_up() { end } else { tx.commit_lsn });
            }
        }
    }

    fn confirm_if_caught_up(&mut self) {
        if self.caught_up() && self.spans.is_empty() {
            self.confirmed = self.confirmed.max(self.seen_end);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn start(position: u64, seq: u64) -> Progress {
        Progress::new(Checkpoint {
            position: Position(position),
            seq,
        })
    }

    /// Runs one transaction of `n` changes; returns their seqs.
    fn tx(p: &mut Progress, commit: u64, end: u64, n: usize) -> Result<Vec<u64>, ProgressError> {
        p.begin(commit)?;
        let mut seqs = Vec::new();
        for _ in 0..n {
            if let Some((seq, position)) = p.change()? {
                assert_eq!(position, Position(commit));
                seqs.push(seq);
            }
        }
        p.commit(commit, end)?;
        if let Some(&last) = seqs.last() {
            p.hand_out(last);
        }
        Ok(seqs)
    }

    #[test]
    fn numbers_from_the_checkpoint_and_confirms_ends() -> Result<(), ProgressError> {
        let mut p = start(100, 41);
        assert_eq!(tx(&mut p, 200, 210, 3)?, [42, 43, 44]);
        assert_eq!(tx(&mut p, 300, 310, 2)?, [45, 46]);
        assert_eq!(p.confirmed(), 100, "nothing acknowledged yet");
        // Through the middle of the first transaction: resend it.
        assert_eq!(p.ack(43)?.map(|c| c.position), Some(Position(200)));
        // Through its end: done.
        assert_eq!(p.ack(44)?.map(|c| c.position), Some(Position(210)));
        assert_eq!(p.ack(44)?, None, "already acknowledged");
        p.keepalive(500);
        assert_eq!(p.confirmed(), 210, "a change is still unacknowledged");
        assert_eq!(
            p.ack(46)?,
            Some(Checkpoint {
                position: Position(500),
                seq: 46
            }),
            "caught up: the keepalive's position is confirmed too"
        );
        assert!(matches!(
            p.ack(47),
            Err(ProgressError::AckBeyondHandedOut { .. })
        ));
        Ok(())
    }

    #[test]
    fn idle_transactions_and_keepalives_advance_when_caught_up() -> Result<(), ProgressError> {
        let mut p = start(100, 0);
        assert_eq!(tx(&mut p, 150, 160, 0)?, Vec::<u64>::new());
        assert_eq!(p.confirmed(), 160);
        p.keepalive(170);
        assert_eq!(p.confirmed(), 170);
        // A keepalive inside a transaction is not past it.
        p.begin(300)?;
        p.change()?;
        p.keepalive(250);
        assert_eq!(p.confirmed(), 170, "an unacknowledged change holds it");
        Ok(())
    }

    #[test]
    fn interrupted_transaction_is_not_delivered_twice() -> Result<(), ProgressError> {
        let mut p = start(100, 0);
        tx(&mut p, 200, 210, 1)?;
        p.begin(300)?;
        assert_eq!(p.change()?.map(|(s, _)| s), Some(2));
        assert_eq!(p.change()?.map(|(s, _)| s), Some(3));
        p.hand_out(3);
        p.disconnected();
        assert_eq!(p.resume_lsn(), 210, "after the last transaction received");
        // Resent in full: the first two are skipped, numbering continues.
        p.begin(300)?;
        assert_eq!(p.change()?, None);
        assert_eq!(p.change()?, None);
        assert_eq!(p.change()?.map(|(s, _)| s), Some(4));
        p.commit(300, 310)?;
        p.hand_out(4);
        assert_eq!(p.ack(3)?.map(|c| c.position), Some(Position(300)));
        assert_eq!(p.ack(4)?.map(|c| c.position), Some(Position(310)));
        Ok(())
    }

    #[test]
    fn acknowledged_while_open_then_committed() -> Result<(), ProgressError> {
        let mut p = start(100, 0);
        p.begin(200)?;
        p.change()?;
        p.hand_out(1);
        assert_eq!(p.ack(1)?.map(|c| c.position), Some(Position(200)));
        p.commit(200, 220)?;
        assert_eq!(p.confirmed(), 220);
        Ok(())
    }

    #[test]
    fn structure_errors() {
        let mut p = start(0, 0);
        assert!(p.change().is_err());
        assert!(p.commit(1, 2).is_err());
        assert!(p.begin(5).is_ok());
        assert!(matches!(p.begin(6), Err(ProgressError::NestedBegin { .. })));
        assert!(matches!(
            p.commit(6, 7),
            Err(ProgressError::CommitMismatch { .. })
        ));
    }

    proptest! {
        /// Whatever the acknowledgements, the confirmed LSN never passes the commit LSN of a
        /// transaction with an unacknowledged change, never moves back, and seqs are
        /// gap-free.
        #[test]
        fn never_confirms_past_unacknowledged_changes(
            sizes in proptest::collection::vec(0usize..4, 1..12),
            acks in proptest::collection::vec(0u64..40, 0..12),
            keepalive_every in 1usize..4,
        ) {
            let mut p = start(10, 0);
            let mut changes: Vec<(u64, u64)> = Vec::new(); // (seq, commit lsn)
            let mut acks = acks.into_iter();
            let mut last_confirmed = p.confirmed();
            for (i, n) in sizes.iter().enumerate() {
                let commit = 100 * (i as u64 + 1);
                let seqs = tx(&mut p, commit, commit + 10, *n).map_err(|e| TestCaseError::fail(e.to_string()))?;
                for seq in seqs {
                    prop_assert_eq!(seq, changes.len() as u64 + 1);
                    changes.push((seq, commit));
                }
                if i % keepalive_every == 0 {
                    p.keepalive(commit + 50);
                }
                if let Some(ack) = acks.next() {
                    let ack = ack.min(changes.len() as u64);
                    p.ack(ack).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
                prop_assert!(p.confirmed() >= last_confirmed);
                last_confirmed = p.confirmed();
                if let Some(&(_, commit)) = changes.iter().find(|(seq, _)| *seq > p.acked()) {
                    prop_assert!(p.confirmed() <= commit);
                }
            }
        }
    }
}
