//! The SQLite backend, the embedded default: triggers record changes into a change-log table
//! that the capture tails.
//!
//! The source database belongs to the application: other processes write it, the capture
//! only adds the change-log table `_overseer_changes` and three triggers per captured table
//! (all named `_overseer_...`), and otherwise reads. It does not change the database's
//! journal mode; WAL is recommended (readers then never block the application's writers).
//!
//! The pieces, in the order a pipeline uses them:
//!
//! 1. [`install`] the change log and the triggers of every mapped table ([`triggers`]
//!    describes what they record).
//! 2. [`begin_capture`]: the pipeline's checkpoint, recorded at the [`high_water_mark`] if it
//!    is new.
//! 3. A [`Backfill`] per table (for a new pipeline, or a newly mapped table): keys in chunks,
//!    progress stored through the [`StateStore`](crate::state::StateStore).
//! 4. A [`Tail`] from the checkpoint: [`Tail::poll_batch`] turns change-log rows into
//!    [`Change`](crate::change::Change)s; an idle tail waits per [`IdleBackoff`];
//!    [`Tail::trim`] deletes acknowledged rows.
//!
//! # Backfill and live changes
//!
//! Documents are rebuilt from the *current* rows, so delivering a key twice, or a change for
//! a row the backfill already copied in its newest state, is harmless. What must not happen is
//! a row state that neither path delivers. The order above rules that out:
//!
//! * The triggers exist before the high-water mark `H` is read, so every commit after that
//!   read is in the change log with an id above `H` (SQLite has one writer at a time, so ids
//!   are assigned in commit order; an uncommitted write read as absent by the mark gets an id
//!   above `H` when it commits).
//! * The tail starts after `H` and so delivers every such commit.
//! * Every commit *before* the mark is visible to every backfill chunk, since each chunk
//!   starts after the mark was read.
//!
//! So each row's final state is delivered by the backfill (state as of the chunk's read) or,
//! if it changed later, by the tail. Tail and backfill may run concurrently. After a crash the
//! stored checkpoint is kept (never re-marked), and the backfill resumes after its last
//! completed chunk; chunks already done still get their later changes from the tail. A table
//! added to the mapping later needs only its triggers installed before its backfill starts:
//! the tail is never ahead of the change log, so it delivers every change from the install on.
//!
//! Rows inserted behind the backfill's cursor, or deleted before it reaches them, reach the
//! builder through the tail; a key the backfill reads and the tail also delivers is rebuilt
//! twice, with the same result.

pub mod backfill;
mod backoff;
mod error;
mod ident;
mod schema;
pub mod tail;
pub mod triggers;
pub mod value;
pub mod watermark;

#[cfg(test)]
mod tests;

pub use backfill::{estimate_rows, Backfill, Chunk};
pub use backoff::IdleBackoff;
pub use error::CaptureError;
pub use ident::quote_ident;
pub use schema::{table_info, TableInfo};
pub use tail::{Tail, TailStats};
pub use triggers::{
    install, trigger_name, trigger_sql, uninstall, InstallOutcome, TableSpec, CHANGE_LOG,
    OBJECT_PREFIX,
};
pub use watermark::{begin_capture, high_water_mark, CaptureStart};
