//! Source capture: backends that turn database writes into [`Change`](crate::change::Change)s.

pub mod postgres;
pub mod sqlite;
