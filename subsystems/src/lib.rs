//! Domain subsystems of the overseer node.
//!
//! This crate will hold the node's domain subsystems: source capture, the
//! document builder, the retry/DLQ orchestrator, migration, and status.
//!
//! It is intentionally empty for now; none of these subsystems exist yet.

#![forbid(unsafe_code)]
