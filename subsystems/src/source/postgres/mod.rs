//! The Postgres backend: streaming logical replication with the pgoutput plugin.

pub mod pgoutput;
