//! [`ChangeStream`]: the thin async shell around [`Relations`] and [`Progress`] that owns the
//! replication connection.
//!
//! It connects lazily, streams pgoutput (protocol version 1, text values) through
//! `pgwire-replication`, decodes each message with [`pgoutput::decode`], and hands out
//! [`Change`]s in commit order. Acknowledgements ([`ChangeStream::ack`]) move the slot; a
//! lost connection or a restarted server is reconnected with [`ReconnectBackoff`], resuming
//! after the last transaction received (see [`progress`](super::progress) for why that loses
//! and repeats nothing).

use std::collections::VecDeque;
use std::time::Duration;

use futures::FutureExt;
use pgwire_replication::{Lsn, PgWireError, ReplicationClient, ReplicationEvent};
use tokio::time::Instant;

use super::backoff::ReconnectBackoff;
use super::changes::{DecodeStats, Draft, Relations};
use super::error::{is_transient, sql_err};
use super::ident::check_object_name;
use super::pgoutput::{self, Message};
use super::progress::{Progress, ProgressError};
use super::source::PgSource;
use super::tables::TableInfo;
use super::PgError;
use crate::change::Change;
use crate::state::Checkpoint;

/// How a [`ChangeStream`] connects and paces itself.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The logical replication slot (it must exist: see [`install`](super::install)).
    pub slot: String,
    /// The publication.
    pub publication: String,
    /// How soon a raised confirmed position reaches the server.
    pub status_interval: Duration,
    /// How long the connection may be silent before a status update is sent anyway.
    pub idle_wakeup: Duration,
    /// Replication events buffered between the connection and the stream.
    pub buffer_events: usize,
    /// How long connecting and starting replication may take.
    pub connect_timeout: Duration,
    /// Delays between reconnection attempts.
    pub backoff: ReconnectBackoff,
    /// Give up (fail [`ChangeStream::next_batch`]) after being disconnected this long;
    /// `None`: retry forever.
    pub give_up_after: Option<Duration>,
    /// `application_name` of the replication connection (shown in `pg_stat_replication`).
    pub application_name: String,
}

impl StreamConfig {
    /// Defaults for `slot` and `publication`: status within 1 s, 1 024 buffered events,
    /// 30 s to connect, the default backoff, retrying forever.
    pub fn new(slot: impl Into<String>, publication: impl Into<String>) -> Self {
        let slot = slot.into();
        Self {
            application_name: format!("overseer-capture-{slot}"),
            slot,
            publication: publication.into(),
            status_interval: Duration::from_secs(1),
            idle_wakeup: Duration::from_secs(10),
            buffer_events: 1_024,
            connect_timeout: Duration::from_secs(30),
            backoff: ReconnectBackoff::default(),
            give_up_after: None,
        }
    }
}

/// Counters of a [`ChangeStream`], for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// Replication events received.
    pub events: u64,
    /// Transactions committed (received in full).
    pub transactions: u64,
    /// Changes handed out.
    pub changes: u64,
    /// Changes of an interrupted transaction skipped when it was resent.
    pub resent_skipped: u64,
    /// Connections established (the first one included).
    pub connections: u64,
    /// Connections lost.
    pub disconnects: u64,
    /// Conversion counters.
    pub decode: DecodeStats,
    /// The LSN last confirmed to the server.
    pub confirmed_lsn: u64,
}

/// A logical replication stream of one slot, turned into [`Change`]s (see the
/// [module docs](self)).
///
/// `next_batch` is cancellation-safe: dropping its future (in a `select!`) loses nothing,
/// not even during a reconnect. `ack` never blocks. The stream keeps going over connection
/// losses; only errors a reconnect cannot repair are returned.
pub struct ChangeStream {
    source: PgSource,
    config: StreamConfig,
    relations: Relations,
    progress: Progress,
    client: Option<ReplicationClient>,
    slot_checked: bool,
    buffer: VecDeque<Change>,
    drafts: Vec<Draft>,
    reported: u64,
    retry_at: Option<Instant>,
    down_since: Option<Instant>,
    last_error: String,
    last_lsn: u64,
    failed: Option<String>,
    stats: StreamStats,
}

impl std::fmt::Debug for ChangeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeStream")
            .field("source", &self.source.target())
            .field("slot", &self.config.slot)
            .field("connected", &self.client.is_some())
            .field("buffered", &self.buffer.len())
            .field("progress", &self.progress)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl ChangeStream {
    /// A stream of `tables` (as [`install`](super::install) or
    /// [`describe_tables`](super::describe_tables) described them) from the checkpoint
    /// `from`: changes are numbered from `from.seq + 1`. Connects on the first
    /// [`next_batch`](Self::next_batch).
    pub fn new(
        source: PgSource,
        config: StreamConfig,
        tables: Vec<TableInfo>,
        from: Checkpoint,
    ) -> Result<Self, PgError> {
        check_object_name("slot", &config.slot)?;
        check_object_name("publication", &config.publication)?;
        Ok(Self {
            source,
            config,
            relations: Relations::new(tables),
            progress: Progress::new(from),
            client: None,
            slot_checked: false,
            buffer: VecDeque::new(),
            drafts: Vec::new(),
            reported: from.position.0,
            retry_at: None,
            down_since: None,
            last_error: String::new(),
            last_lsn: from.position.0,
            failed: None,
            stats: StreamStats::default(),
        })
    }

    /// The slot.
    pub fn slot(&self) -> &str {
        &self.config.slot
    }

    /// Whether the replication connection is up.
    pub fn is_connected(&self) -> bool {
        self.client.is_some()
    }

    /// The counters so far.
    pub fn stats(&self) -> StreamStats {
        StreamStats {
            decode: self.relations.stats(),
            confirmed_lsn: self.progress.confirmed(),
            ..self.stats
        }
    }

    /// The LSN confirmed to the server (or to be, once connected).
    pub fn confirmed(&self) -> Lsn {
        Lsn(self.progress.confirmed())
    }

    /// The next changes in commit order, at most `max` (at least one): waits until there is
    /// one, then takes whatever else has already arrived. Reconnects as needed.
    ///
    /// # Errors
    ///
    /// What a reconnect cannot repair: a missing or lost slot, a missing publication, an
    /// authentication or permission failure, a message that does not decode, a table that
    /// changed shape, or [`PgError::GaveUp`]. The stream stops there: later calls fail with
    /// [`PgError::Protocol`] naming the first error (start a new stream from the checkpoint).
    pub async fn next_batch(&mut self, max: usize) -> Result<Vec<Change>, PgError> {
        if let Some(reason) = &self.failed {
            return Err(self.protocol(format!(
                "the stream stopped after an earlier error: {reason}"
            )));
        }
        let result = self.next_batch_inner(max.max(1)).await;
        if let Err(error) = &result {
            self.failed = Some(error.to_string());
            self.client = None;
        }
        result
    }

    /// The changes that can be had without waiting, at most `max` (possibly none): what is
    /// buffered and what has already arrived. Never waits for the server or a reconnect.
    ///
    /// # Errors
    ///
    /// As [`next_batch`](Self::next_batch).
    pub async fn try_batch(&mut self, max: usize) -> Result<Vec<Change>, PgError> {
        self.next_batch(max)
            .now_or_never()
            .unwrap_or(Ok(Vec::new()))
    }

    async fn next_batch_inner(&mut self, max: usize) -> Result<Vec<Change>, PgError> {
        loop {
            if !self.buffer.is_empty() {
                return Ok(self.take(max));
            }
            if self.client.is_none() {
                self.reconnect().await?;
                continue;
            }
            let event = match self.client.as_mut() {
                Some(client) => client.recv().await,
                None => continue,
            };
            self.on_event(event)?;
            // Take what has arrived meanwhile, without waiting.
            while self.buffer.len() < max {
                let ready = match self.client.as_mut() {
                    Some(client) => client.recv().now_or_never(),
                    None => None,
                };
                match ready {
                    Some(event) => self.on_event(event)?,
                    None => break,
                }
            }
        }
    }

    /// Every change through `through_seq` (a [`Change::seq`] this stream handed out) is
    /// durable downstream: the slot may advance over it. Returns the checkpoint to store for
    /// a restart, or `None` if `through_seq` was acknowledged already.
    ///
    /// The confirmed position goes to the server within
    /// [`StreamConfig::status_interval`]; while disconnected, on the next connection.
    ///
    /// # Errors
    ///
    /// [`PgError::AckBeyondDelivered`] if `through_seq` was not handed out.
    pub fn ack(&mut self, through_seq: u64) -> Result<Option<Checkpoint>, PgError> {
        let checkpoint = self.progress.ack(through_seq).map_err(|e| match e {
            ProgressError::AckBeyondHandedOut { seq, handed_out } => PgError::AckBeyondDelivered {
                slot: self.config.slot.clone(),
                seq,
                handed_out,
            },
            other => self.protocol(other.to_string()),
        })?;
        self.report();
        Ok(checkpoint)
    }

    /// Ends the replication connection cleanly (the slot stays, at the confirmed position).
    pub async fn close(mut self) {
        self.report();
        if let Some(mut client) = self.client.take() {
            if let Err(error) = client.shutdown().await {
                tracing::debug!(slot = %self.config.slot, %error, "replication shutdown");
            }
        }
    }

    fn take(&mut self, max: usize) -> Vec<Change> {
        let n = self.buffer.len().min(max);
        let batch: Vec<Change> = self.buffer.drain(..n).collect();
        if let Some(last) = batch.last() {
            self.progress.hand_out(last.seq);
        }
        self.stats.changes += batch.len() as u64;
        batch
    }

    /// Tells the server the confirmed position if it rose.
    fn report(&mut self) {
        let confirmed = self.progress.confirmed();
        if confirmed > self.reported {
            if let Some(client) = &self.client {
                client.update_applied_lsn(Lsn(confirmed));
                self.reported = confirmed;
            }
        }
    }

    fn protocol(&self, reason: String) -> PgError {
        PgError::Protocol {
            slot: self.config.slot.clone(),
            reason,
        }
    }

    fn on_event(
        &mut self,
        event: Result<Option<ReplicationEvent>, PgWireError>,
    ) -> Result<(), PgError> {
        match event {
            Ok(Some(event)) => {
                self.stats.events += 1;
                self.handle(event)
            }
            Ok(None) => {
                self.lost("the server ended the replication stream".to_owned());
                Ok(())
            }
            Err(error) if is_transient(&error) => {
                self.lost(error.to_string());
                Ok(())
            }
            Err(source) => Err(PgError::Replication {
                slot: self.config.slot.clone(),
                source,
            }),
        }
    }

    fn handle(&mut self, event: ReplicationEvent) -> Result<(), PgError> {
        match event {
            ReplicationEvent::Begin { final_lsn, .. } => self.begin(final_lsn.0),
            ReplicationEvent::Commit { lsn, end_lsn, .. } => self.commit(lsn.0, end_lsn.0),
            ReplicationEvent::KeepAlive { wal_end, .. } => {
                self.progress.keepalive(wal_end.0);
                self.report();
                Ok(())
            }
            ReplicationEvent::XLogData {
                wal_start, data, ..
            } => {
                self.last_lsn = self.last_lsn.max(wal_start.0);
                let message = pgoutput::decode(&data).map_err(|source| PgError::Decode {
                    slot: self.config.slot.clone(),
                    lsn: Lsn(self.last_lsn).to_string(),
                    source,
                })?;
                self.message(message)
            }
            // Logical decoding messages (pg_logical_emit_message) and the stop position
            // (never set) carry no changes.
            ReplicationEvent::Message { .. } | ReplicationEvent::StoppedAt { .. } => Ok(()),
        }
    }

    fn begin(&mut self, final_lsn: u64) -> Result<(), PgError> {
        self.last_lsn = self.last_lsn.max(final_lsn);
        self.progress
            .begin(final_lsn)
            .map_err(|e| self.protocol(e.to_string()))
    }

    fn commit(&mut self, commit_lsn: u64, end_lsn: u64) -> Result<(), PgError> {
        self.progress
            .commit(commit_lsn, end_lsn)
            .map_err(|e| self.protocol(e.to_string()))?;
        self.stats.transactions += 1;
        self.report();
        Ok(())
    }

    fn message(&mut self, message: Message) -> Result<(), PgError> {
        match message {
            Message::Relation(relation) => self.relations.relation(relation),
            // The transport turns these into Begin/Commit events; handled the same if not.
            Message::Begin(begin) => self.begin(begin.final_lsn),
            Message::Commit(commit) => self.commit(commit.commit_lsn, commit.end_lsn),
            Message::Insert { .. }
            | Message::Update { .. }
            | Message::Delete { .. }
            | Message::Truncate { .. } => {
                let mut drafts = std::mem::take(&mut self.drafts);
                drafts.clear();
                let result = self.relations.drafts(&message, &mut drafts);
                let numbered = result.and_then(|()| self.number(&mut drafts));
                self.drafts = drafts;
                numbered
            }
            Message::Origin { .. } | Message::Type { .. } | Message::Logical { .. } => Ok(()),
            other => Err(self.protocol(format!(
                "unexpected {} message (the stream uses protocol version 1, without streaming \
                 or two-phase commit)",
                other.kind()
            ))),
        }
    }

    fn number(&mut self, drafts: &mut Vec<Draft>) -> Result<(), PgError> {
        for draft in drafts.drain(..) {
            let numbered = self
                .progress
                .change()
                .map_err(|e| self.protocol(e.to_string()))?;
            match numbered {
                Some((seq, position)) => self.buffer.push_back(Change {
                    seq,
                    position,
                    table: draft.table,
                    kind: draft.kind,
                    key: draft.key,
                    old: draft.old,
                }),
                None => self.stats.resent_skipped += 1,
            }
        }
        Ok(())
    }

    /// The connection is gone: schedule a reconnect.
    fn lost(&mut self, reason: String) {
        tracing::warn!(slot = %self.config.slot, %reason, "replication connection failed or lost");
        if self.client.take().is_some() {
            self.stats.disconnects += 1;
        }
        self.progress.disconnected();
        self.relations.clear();
        let now = Instant::now();
        self.down_since.get_or_insert(now);
        let delay = self.config.backoff.on_failure(now.into_std());
        self.retry_at = Some(now + delay);
        self.last_error = reason;
    }

    async fn reconnect(&mut self) -> Result<(), PgError> {
        if let Some(at) = self.retry_at {
            tokio::time::sleep_until(at).await;
        }
        if let (Some(limit), Some(since)) = (self.config.give_up_after, self.down_since) {
            if since.elapsed() > limit {
                return Err(PgError::GaveUp {
                    slot: self.config.slot.clone(),
                    seconds: since.elapsed().as_secs(),
                    last_error: self.last_error.clone(),
                });
            }
        }
        match self.connect().await {
            Ok(client) => {
                self.client = Some(client);
                self.reported = self.progress.confirmed();
                self.retry_at = None;
                self.down_since = None;
                self.stats.connections += 1;
                self.config.backoff.on_connected(Instant::now().into_std());
                tracing::info!(
                    slot = %self.config.slot,
                    from = %Lsn(self.progress.resume_lsn()),
                    "replication connected"
                );
                Ok(())
            }
            Err(Attempt::Retry(reason)) => {
                self.lost(reason);
                Ok(())
            }
            Err(Attempt::Fail(error)) => Err(error),
        }
    }

    async fn connect(&mut self) -> Result<ReplicationClient, Attempt> {
        if !self.slot_checked {
            self.check_slot().await?;
            self.slot_checked = true;
        }
        let config = self
            .source
            .replication_config(&self.config.slot, &self.config.publication)
            .with_start_lsn(Lsn(self.progress.resume_lsn()))
            .with_ack_lsn(Lsn(self.progress.confirmed()))
            .with_status_interval(self.config.status_interval)
            .with_wakeup_interval(self.config.idle_wakeup)
            .with_buffer_size(self.config.buffer_events.max(1))
            .with_application_name(self.config.application_name.clone());
        let mut client = ReplicationClient::connect(config)
            .await
            .map_err(|e| self.classify(e))?;
        match tokio::time::timeout(self.config.connect_timeout, client.wait_started()).await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(error)) => Err(self.classify(error)),
            Err(_) => Err(Attempt::Retry(format!(
                "replication did not start within {:?}",
                self.config.connect_timeout
            ))),
        }
    }

    /// Reads the slot's confirmed position once, so the stream never reports less, and fails
    /// early if the slot is missing or lost.
    async fn check_slot(&mut self) -> Result<(), Attempt> {
        let slot = self.config.slot.clone();
        let client = self.source.connect().await.map_err(|e| match &e {
            PgError::Connect { source, .. } if is_retryable_sql(source) => {
                Attempt::Retry(e.to_string())
            }
            _ => Attempt::Fail(e),
        })?;
        let row = client
            .query_opt(
                "SELECT confirmed_flush_lsn::text, wal_status::text, plugin::text
                 FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .map_err(|e| {
                if is_retryable_sql(&e) {
                    Attempt::Retry(e.to_string())
                } else {
                    Attempt::Fail(sql_err(format!("look up replication slot `{slot}`"))(e))
                }
            })?
            .ok_or_else(|| Attempt::Fail(PgError::SlotMissing { slot: slot.clone() }))?;
        let confirmed: Option<String> = row.get(0);
        let wal_status: Option<String> = row.get(1);
        let plugin: Option<String> = row.get(2);
        if wal_status.as_deref() == Some("lost") {
            return Err(Attempt::Fail(PgError::SlotLost {
                slot_literal: super::ident::quote_literal(&slot),
                slot,
                wal_status: "lost".to_owned(),
            }));
        }
        if plugin.as_deref() != Some(super::setup::PLUGIN) {
            return Err(Attempt::Fail(PgError::SlotMismatch {
                slot,
                reason: format!("it uses the output plugin {plugin:?}, not pgoutput"),
            }));
        }
        if let Some(lsn) = confirmed.as_deref().and_then(|text| Lsn::parse(text).ok()) {
            self.progress.observe_confirmed(lsn.0);
        }
        Ok(())
    }

    fn classify(&self, error: PgWireError) -> Attempt {
        if is_transient(&error) {
            Attempt::Retry(error.to_string())
        } else {
            Attempt::Fail(PgError::Replication {
                slot: self.config.slot.clone(),
                source: error,
            })
        }
    }
}

/// The outcome of a failed connection attempt.
enum Attempt {
    /// Try again after a delay.
    Retry(String),
    /// Give up.
    Fail(PgError),
}

/// Whether an SQL error is a connection problem worth retrying.
fn is_retryable_sql(error: &tokio_postgres::Error) -> bool {
    match super::error::sqlstate(error) {
        Some(code) => code.starts_with("08") || code.starts_with("57") || code.starts_with("53"),
        // No SQLSTATE: an I/O error or a closed connection.
        None => true,
    }
}
