//! The state store: checkpoints and backfill progress (later also the DLQ and leases).
//!
//! The store is what survives a restart: per pipeline the last acknowledged source
//! [`Checkpoint`], and per (pipeline, table) the [`BackfillProgress`] of the initial copy. The
//! [`StateStore`] trait is synchronous; an async shell calls it from a blocking task
//! (`spawn_blocking`), since every write waits for the disk.
//!
//! [`SqliteStateStore`] keeps the state in a SQLite file of its own; [`MemoryStateStore`] keeps
//! it in memory, for tests and one-shot runs.

mod error;
mod memory;
mod records;
mod sqlite;
mod store;

pub use error::StateError;
pub use memory::MemoryStateStore;
pub use records::{BackfillProgress, Checkpoint};
pub use sqlite::{SqliteStateStore, SCHEMA_VERSION};
pub use store::StateStore;
