//! The document builder: from changed rows to search documents, per a declarative mapping.
//!
//! - [`mapping`]: the TOML format of an index mapping, parsed into a [`Mapping`];
//! - [`compiled`]: the validated mapping, a tree of [`Node`]s ([`CompiledMapping`]), made by
//!   [`Mapping::compile`];
//! - [`schema`]: checking a mapping against a live database schema;
//! - [`resolve`](mod@resolve): which documents a [`Change`](crate::change::Change) affects;
//! - [`plan`]: the SQL that fetches the rows of a batch of documents, a bounded number of
//!   queries per batch;
//! - [`assemble`]: rows to JSON documents, with per-document failures;
//! - [`batch`]: running plans through an [`Executor`] and assembling the outcomes.
//!
//! Smaller pieces: [`diagnostic`] (errors at file:line:col and key path), [`ident`] (name
//! rules and quoting), [`convert`] (field types and transforms), [`key`] (key comparison and
//! document ids), [`executor`] (the query trait and its SQLite implementation).

pub mod assemble;
pub mod batch;
mod compile;
pub mod compiled;
pub mod convert;
pub mod diagnostic;
pub mod executor;
pub mod ident;
pub mod key;
pub mod mapping;
pub mod plan;
pub mod resolve;
pub mod schema;

#[cfg(test)]
mod fixtures;

pub use assemble::{DeleteReason, DocumentFailure, FailureReason, Outcome};
pub use batch::{BuildError, DocumentBuilder, FailedQuery};
pub use compiled::{CompiledMapping, Field, Filter, Node, NodeId, Predicate, Relation, SoftDelete};
pub use diagnostic::{Diagnostic, Location, MappingError};
pub use executor::Executor;
pub use key::document_id;
pub use mapping::{FieldType, FilterOp, Mapping, SoftDeleteWhen, Transform};
pub use plan::{Dialect, Planner, Query};
pub use resolve::{resolve, Lookup, LookupCondition, Resolution, Resolver, SkippedChange};
pub use schema::{ColumnInfo, Schema, TableSchema};
