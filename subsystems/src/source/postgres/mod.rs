//! The Postgres backend: streaming logical replication with the pgoutput plugin.
//!
//! The pieces, in the order a pipeline uses them:
//!
//! 1. A [`PgSource`]: where the database is (a libpq-style URL).
//! 2. [`install`]: the replica identity of each table, the publication and the logical slot,
//!    created when missing ([`setup`] has the rules). A role that may not create them gets
//!    [`PgError::NeedsOperator`] with the exact SQL an operator must run.
//! 3. [`begin_capture`]: the pipeline's checkpoint, recorded at the [`high_water_mark`] (the
//!    slot's confirmed position) if it is new.
//! 4. A [`Backfill`] per table: keys in chunks over the primary key, each chunk its own short
//!    statement, progress stored through the [`StateStore`](crate::state::StateStore).
//! 5. A [`ChangeStream`] from the checkpoint: [`ChangeStream::next_batch`] hands out
//!    [`Change`](crate::change::Change)s in commit order, [`ChangeStream::ack`] moves the slot.
//!    It reconnects by itself ([`ReconnectBackoff`]).
//! 6. [`slot_lag`] / [`LagMonitor`]: how far the slot is behind, over a separate connection.
//!
//! # Changes
//!
//! One change per row event: the key is the primary key (from the new row for inserts and
//! updates, from the old key or row for deletes); a primary-key update is a `Delete` of the
//! old key then an `Insert` of the new one; `TRUNCATE` gives one `Truncate` change per
//! table. `old` carries the key and the spec's old columns as far as the replica identity
//! provides them ([`changes`] has the details, [`value`] the JSON conversion). The position
//! of a change is its transaction's commit LSN; changes of one transaction share it and keep
//! their order. Sequence numbers are gap-free from the checkpoint's `seq + 1`.
//!
//! # Delivery: at least once
//!
//! A change is never lost, but may come twice. Within one process, a reconnect (a restarted
//! server, a terminated walsender, a network failure) resumes after the last transaction
//! received, skipping what was already handed out of an interrupted one: nothing is repeated.
//! After the process restarts, the stream resumes from the stored checkpoint: the
//! transaction at its position, and anything the checkpoint store had not recorded yet, are
//! delivered again, numbered anew. Documents are rebuilt from current rows, so a repeated
//! change only costs a rebuild. [`progress`] explains the positions confirmed to the server.
//!
//! While nothing is unacknowledged, the stream also confirms the position the server reports
//! in keepalives, so an idle slot's lag returns to zero and it holds no WAL.
//!
//! # Backfill and live changes
//!
//! The order above loses no row state:
//!
//! * The slot exists before the mark `H` is read. It delivers every transaction committing
//!   at or after its confirmed position, which is at most `H` when the stream starts from
//!   the checkpoint `H`.
//! * Every transaction committed before `H` is visible to every backfill chunk: each chunk
//!   is a statement that starts after the mark was read (and a new slot's consistent point
//!   is only reached once the transactions running at its creation have ended).
//!
//! So each row's final state is delivered by the backfill (as of the chunk's snapshot) or, if
//! it changed later, by the stream. Stream and backfill may run concurrently. After a crash
//! the stored checkpoint is kept, and the backfill resumes after its last completed chunk. A
//! slot that had to be recreated (it was dropped) makes [`begin_capture`] start the pipeline
//! over, since the changes in between are gone.
//!
//! # Not supported yet
//!
//! TLS connections, partitioned tables (capture the partitions), protocol versions above 1
//! (streaming of in-progress transactions, two-phase commit), binary values.

pub mod backfill;
mod backoff;
pub mod changes;
mod error;
mod ident;
pub mod lag;
pub mod pgoutput;
pub mod progress;
pub mod setup;
mod source;
pub mod stream;
mod tables;
pub mod value;
pub mod watermark;

pub use backfill::{estimate_rows, Backfill};
pub use backoff::ReconnectBackoff;
pub use error::PgError;
pub use ident::{check_object_name, quote_ident, quote_literal};
pub use lag::{slot_lag, LagMonitor, SlotLag};
pub use setup::{install, plan, read_catalog, uninstall, CaptureSetup, InstallOutcome};
pub use source::PgSource;
pub use stream::{ChangeStream, StreamConfig, StreamStats};
pub use tables::{describe_tables, ColumnInfo, TableInfo, TableSpec};
pub use watermark::{begin_capture, high_water_mark};

/// Where a pipeline's stream starts, from [`begin_capture`]: the same type as the SQLite
/// backend's.
pub use crate::source::sqlite::CaptureStart;
/// A chunk of keys of a [`Backfill`]: the same type as the SQLite backend's.
pub use crate::source::sqlite::Chunk;
