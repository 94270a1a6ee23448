//! How far a slot is behind the server: [`slot_lag`] over an SQL connection separate from the
//! replication stream, and [`LagMonitor`], which keeps one open.

use tokio_postgres::Client;

use super::error::sql_err;
use super::source::PgSource;
use super::PgError;
use crate::change::Position;

/// A slot's lag, from `pg_replication_slots`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotLag {
    /// WAL bytes between the server's current position and the slot's confirmed position
    /// (`pg_current_wal_lsn() - confirmed_flush_lsn`; on a standby, the last replayed
    /// position); `None` if the slot never confirmed anything.
    pub bytes: Option<u64>,
    /// `reserved`, `extended`, `unreserved` or `lost` (`wal_status`).
    pub wal_status: Option<String>,
    /// Whether a walsender holds the slot (the capture is connected).
    pub active: bool,
    /// The slot's confirmed position.
    pub confirmed: Option<Position>,
}

/// The lag of `slot`.
///
/// # Errors
///
/// [`PgError::SlotMissing`] if the slot does not exist; [`PgError::Sql`] if the query fails.
pub async fn slot_lag(client: &Client, slot: &str) -> Result<SlotLag, PgError> {
    let row = client
        .query_opt(
            "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                          ELSE pg_current_wal_lsn() END - confirmed_flush_lsn)::bigint,
                    wal_status::text, active,
                    (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint
             FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(sql_err(format!(
            "read the lag of replication slot `{slot}`"
        )))?
        .ok_or_else(|| PgError::SlotMissing {
            slot: slot.to_owned(),
        })?;
    let bytes: Option<i64> = row.get(0);
    let confirmed: Option<i64> = row.get(3);
    Ok(SlotLag {
        bytes: bytes.map(|b| u64::try_from(b).unwrap_or(0)),
        wal_status: row.get(1),
        active: row.get(2),
        confirmed: confirmed.and_then(|c| u64::try_from(c).ok()).map(Position),
    })
}

/// Reads a slot's lag over an SQL connection of its own, reconnecting after errors: for the
/// status subsystem, which asks every few seconds.
#[derive(Debug)]
pub struct LagMonitor {
    source: PgSource,
    slot: String,
    client: Option<Client>,
}

impl LagMonitor {
    /// A monitor of `slot` on `source`; connects on the first [`lag`](Self::lag).
    pub fn new(source: PgSource, slot: impl Into<String>) -> Self {
        Self {
            source,
            slot: slot.into(),
            client: None,
        }
    }

    /// The slot's lag now.
    ///
    /// # Errors
    ///
    /// As [`slot_lag`], or the connection failed (the next call connects again).
    pub async fn lag(&mut self) -> Result<SlotLag, PgError> {
        let client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => self.source.connect().await?,
        };
        let lag = slot_lag(&client, &self.slot).await;
        if !matches!(&lag, Err(PgError::Sql { .. })) {
            self.client = Some(client);
        }
        lag
    }
}
