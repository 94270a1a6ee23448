//! Assembly point of the `overseer-node` binary.
//!
//! The `overseer-node` binary will be assembled here from the subsystems in
//! the `subsystems` crate. This crate is intentionally empty for now: there is
//! no binary and no node wiring yet.

#![forbid(unsafe_code)]
