//! Errors of the Postgres capture backend.

use crate::change::Key;
use crate::state::StateError;

/// A capture operation on a Postgres source failed. Variants name the slot, publication,
/// table, key or LSN involved.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The connection settings cannot be used.
    #[error("postgres source: bad connection settings: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The settings ask for TLS, which this build does not support yet.
    #[error(
        "postgres source {target}: sslmode=require asks for TLS, which this build does not \
         support; connect without TLS (sslmode=disable or prefer) or through a TLS proxy"
    )]
    TlsUnsupported {
        /// The server (without password).
        target: String,
    },
    /// An SQL connection could not be opened.
    #[error("postgres source {target}: cannot connect: {source}")]
    Connect {
        /// The server (without password).
        target: String,
        /// The driver's error.
        source: tokio_postgres::Error,
    },
    /// A statement failed.
    #[error("postgres source: {action}: {source}")]
    Sql {
        /// What was being done, naming the table, slot or publication.
        action: String,
        /// The driver's error (with the server's SQLSTATE when it came from the server).
        source: tokio_postgres::Error,
    },
    /// A table, column, slot or publication name that cannot be used.
    #[error("{kind} name {name:?} cannot be used: {reason}")]
    BadName {
        /// "table", "schema", "column", "slot" or "publication".
        kind: &'static str,
        /// The name as given.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Two table specs name the same table, or two tables would carry the same change name.
    #[error("table `{table}` is listed twice in the capture specs")]
    DuplicateTable {
        /// The table.
        table: String,
    },
    /// The table does not exist.
    #[error("postgres source: no table `{table}`")]
    NoSuchTable {
        /// The table, schema-qualified.
        table: String,
    },
    /// The relation is not an ordinary (or partitioned) table.
    #[error("postgres source: `{table}` is not a table (relkind {relkind:?})")]
    NotATable {
        /// The table, schema-qualified.
        table: String,
        /// `pg_class.relkind`.
        relkind: String,
    },
    /// The table has no primary key, so changes and backfill chunks cannot name rows.
    #[error(
        "postgres source: table `{table}` has no primary key; declare one \
         (ALTER TABLE {quoted} ADD PRIMARY KEY (...))"
    )]
    NoPrimaryKey {
        /// The table, schema-qualified.
        table: String,
        /// The table, quoted for SQL.
        quoted: String,
    },
    /// A column asked for in a spec does not exist.
    #[error("postgres source: table `{table}` has no column `{column}`")]
    UnknownColumn {
        /// The table, schema-qualified.
        table: String,
        /// The column.
        column: String,
    },
    /// The publication publishes a table with a row filter or a column list: changes would
    /// be silently missing.
    #[error(
        "postgres source: publication `{publication}` publishes table `{table}` with a {what}; \
         changes outside it would never be captured. Publish the whole table: \
         ALTER PUBLICATION {publication_q} SET TABLE ... (without WHERE or column list), or use \
         another publication"
    )]
    PublicationFiltered {
        /// The publication.
        publication: String,
        /// The quoted publication.
        publication_q: String,
        /// The table, schema-qualified.
        table: String,
        /// "row filter" or "column list".
        what: &'static str,
    },
    /// The slot exists but cannot be used by this capture.
    #[error("postgres source: replication slot `{slot}` cannot be used: {reason}")]
    SlotMismatch {
        /// The slot.
        slot: String,
        /// Why (physical slot, other plugin, other database).
        reason: String,
    },
    /// The slot lost WAL it needed (`wal_status = 'lost'`, or invalidated): the changes in
    /// between are gone, so the index must be rebuilt from a new slot.
    #[error(
        "postgres source: replication slot `{slot}` has lost required WAL (wal_status {wal_status:?}); \
         drop it (SELECT pg_drop_replication_slot({slot_literal})), let the capture create a \
         new one, and rebuild the index with a new backfill"
    )]
    SlotLost {
        /// The slot.
        slot: String,
        /// The slot name as an SQL literal.
        slot_literal: String,
        /// The reported WAL status.
        wal_status: String,
    },
    /// The slot does not exist.
    #[error("postgres source: replication slot `{slot}` does not exist; run the capture setup (install) first")]
    SlotMissing {
        /// The slot.
        slot: String,
    },
    /// The capture's role may not prepare what the capture needs; an operator must run the
    /// SQL given.
    #[error(
        "postgres source: role `{role}` may not prepare the capture ({cause}). Run as a \
         superuser or the tables' owner:\n{}", .sql.join("\n")
    )]
    NeedsOperator {
        /// The capture's role.
        role: String,
        /// The first permission error the server reported.
        cause: String,
        /// The statements to run, in order, each ending with `;`.
        sql: Vec<String>,
    },
    /// The replication stream failed in a way a reconnect does not repair.
    #[error("postgres source: replication slot `{slot}`: {source}")]
    Replication {
        /// The slot.
        slot: String,
        /// The transport's error.
        source: pgwire_replication::PgWireError,
    },
    /// The replication stream stayed disconnected longer than allowed.
    #[error(
        "postgres source: replication slot `{slot}`: disconnected for {seconds} s (limit reached); \
         last error: {last_error}"
    )]
    GaveUp {
        /// The slot.
        slot: String,
        /// How long the stream was down.
        seconds: u64,
        /// The last connection error.
        last_error: String,
    },
    /// A pgoutput message could not be decoded.
    #[error("postgres source: replication slot `{slot}`: message at or after LSN {lsn}: {source}")]
    Decode {
        /// The slot.
        slot: String,
        /// Where in the stream (`X/Y`).
        lsn: String,
        /// The decoder's error.
        source: super::pgoutput::DecodeError,
    },
    /// The stream broke the protocol's rules (a row change outside a transaction, an unknown
    /// relation OID).
    #[error("postgres source: replication slot `{slot}`: protocol violation: {reason}")]
    Protocol {
        /// The slot.
        slot: String,
        /// What happened.
        reason: String,
    },
    /// A row change cannot be turned into a change.
    #[error("postgres source: table `{table}`: {reason}")]
    BadTuple {
        /// The table.
        table: String,
        /// What is wrong.
        reason: String,
    },
    /// An acknowledgement named a change that was not handed out yet.
    #[error(
        "postgres source: replication slot `{slot}`: acknowledged seq {seq}, but only changes \
         through seq {handed_out} were handed out"
    )]
    AckBeyondDelivered {
        /// The slot.
        slot: String,
        /// The acknowledged seq.
        seq: u64,
        /// The last seq handed out.
        handed_out: u64,
    },
    /// A key value cannot be turned back into an SQL parameter.
    #[error("table `{table}`: key {key:?} cannot be used as an SQL value: {reason}")]
    BadKey {
        /// The table.
        table: String,
        /// The key.
        key: Key,
        /// Why.
        reason: String,
    },
    /// A backfill chunk was completed out of order (or twice, or for another table).
    #[error(
        "backfill of table `{table}`: chunk after key {got:?} completed, but the next chunk to \
         complete starts after {expected:?}"
    )]
    OutOfOrder {
        /// The table of the backfill.
        table: String,
        /// Where the next chunk to complete starts.
        expected: Option<Key>,
        /// Where the completed chunk starts.
        got: Option<Key>,
    },
    /// The state store failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Wraps a driver error with what was being done.
pub(crate) fn sql_err(action: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> PgError {
    let action = action.into();
    move |source| PgError::Sql { action, source }
}

/// The SQLSTATE of a driver error, if the server sent one.
pub(crate) fn sqlstate(error: &tokio_postgres::Error) -> Option<&str> {
    error.code().map(tokio_postgres::error::SqlState::code)
}

/// The SQLSTATE in a server error message of the replication transport ("... (SQLSTATE
/// 57P01)").
pub(crate) fn wire_sqlstate(message: &str) -> Option<&str> {
    let start = message.rfind("(SQLSTATE ")? + "(SQLSTATE ".len();
    let code = message.get(start..start + 5)?;
    code.chars()
        .all(|c| c.is_ascii_alphanumeric())
        .then_some(code)
}

/// Whether a replication transport error is worth a reconnect: connection loss, a server
/// shutting down or starting up, the slot still held by a backend that is going away, too
/// many connections. Everything else (authentication, a missing slot or publication, a
/// permission, a malformed message) needs a human.
pub(crate) fn is_transient(error: &pgwire_replication::PgWireError) -> bool {
    use pgwire_replication::PgWireError as E;
    match error {
        // Internal: "worker already joined", when the stream polled a closed channel without
        // waiting for the worker's result; the next attempt reports the real error.
        E::Io(_) | E::Task(_) | E::Internal(_) => true,
        E::Server(message) => match wire_sqlstate(message) {
            // 08: connection exception; 57: operator intervention (admin or crash shutdown,
            // cannot connect now); 53: insufficient resources (too many connections);
            // 55006: object in use (the slot is still active for a terminated backend);
            // 40001 / 40P01 never come from a walsender, but are transient by definition.
            Some(code) => {
                code.starts_with("08")
                    || code.starts_with("57")
                    || code.starts_with("53")
                    || code == "55006"
                    || code == "40001"
                    || code == "40P01"
            }
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgwire_replication::PgWireError;

    #[test]
    fn extracts_sqlstate() {
        assert_eq!(
            wire_sqlstate("terminating connection due to administrator command (SQLSTATE 57P01)"),
            Some("57P01")
        );
        assert_eq!(wire_sqlstate("no code here"), None);
        assert_eq!(wire_sqlstate("(SQLSTATE 5"), None);
    }

    #[test]
    fn classifies_transport_errors() {
        let io = PgWireError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(is_transient(&io));
        for code in ["57P01", "57P03", "08006", "55006", "53300"] {
            assert!(
                is_transient(&PgWireError::Server(format!("x (SQLSTATE {code})"))),
                "{code}"
            );
        }
        for code in ["42704", "28P01", "42501", "55000"] {
            assert!(
                !is_transient(&PgWireError::Server(format!("x (SQLSTATE {code})"))),
                "{code}"
            );
        }
        assert!(!is_transient(&PgWireError::Auth("bad password".into())));
        assert!(!is_transient(&PgWireError::Protocol("garbage".into())));
    }
}
