//! Building a batch of documents: plans run through an [`Executor`], rows assembled.

use std::collections::HashSet;

use super::assemble::{assemble, excluded, values_of, Fetched, Outcome};
use super::compiled::{CompiledMapping, Relation};
use super::executor::Executor;
use super::key::key_text;
use super::plan::{Dialect, Planner, Query};
use super::resolve::{Lookup, Resolution};
use crate::change::Key;

/// A batch failed as a whole: a query could not run. (A document that cannot be built is an
/// [`Outcome::Failed`], not an error.)
#[derive(Debug, thiserror::Error)]
#[error(
    "index {:?}: query on table {:?} failed: {source} (SQL: {})",
    .query.index, .query.table, .query.sql
)]
pub struct BuildError<E: std::error::Error + 'static> {
    /// The query that failed (boxed to keep the error small).
    pub query: Box<FailedQuery>,
    /// The executor's error.
    #[source]
    pub source: E,
}

/// Which query of a batch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedQuery {
    /// The index being built.
    pub index: String,
    /// The table queried (the root table for lookups).
    pub table: String,
    /// The statement.
    pub sql: String,
}

/// Builds the documents of one mapping in batches, with a bounded number of queries per
/// batch (see [`plan`](super::plan)).
#[derive(Debug, Clone, Copy)]
pub struct DocumentBuilder<'m> {
    planner: Planner<'m>,
}

impl<'m> DocumentBuilder<'m> {
    /// A builder generating SQL for `dialect`.
    pub fn new(mapping: &'m CompiledMapping, dialect: Dialect) -> Self {
        Self {
            planner: Planner::new(mapping, dialect),
        }
    }

    /// Lowers the parameter limit per statement (see [`Planner::with_max_params`]).
    pub fn with_max_params(mut self, max_params: usize) -> Self {
        self.planner = self.planner.with_max_params(max_params);
        self
    }

    /// The planner.
    pub fn planner(&self) -> &Planner<'m> {
        &self.planner
    }

    /// The outcome for each distinct key of `keys` (root keys), in order of first appearance:
    /// upsert the document, delete it (row missing, filtered out or soft-deleted), or a
    /// failure of that document alone. Runs at most one query per mapping node (more only
    /// past the parameter limit); nodes with nothing to fetch are skipped.
    pub fn build<E: Executor>(
        &self,
        executor: &mut E,
        keys: &[Key],
    ) -> Result<Vec<Outcome>, BuildError<E::Error>> {
        let mapping = self.planner.mapping();
        let keys = dedup(keys.iter().cloned());
        let mut fetched = Fetched::new(mapping.nodes().len());
        for node in mapping.nodes() {
            let values: Vec<Key> = match &node.relation {
                Relation::Root => keys
                    .iter()
                    .filter(|k| key_text(*k).is_some())
                    .cloned()
                    .collect(),
                Relation::BelongsTo {
                    parent,
                    foreign_key,
                    ..
                } => self.parent_values(&fetched, parent.index(), foreign_key),
                Relation::HasMany { parent, .. } => {
                    let parent_key = mapping.node(*parent).map_or(&[][..], |p| &p.key[..]);
                    self.parent_values(&fetched, parent.index(), parent_key)
                }
            };
            let values = dedup(values);
            let match_columns = self.planner.match_columns(node).to_vec();
            for query in self.planner.fetch(node, &values) {
                let rows = run(executor, mapping, &node.table, &query)?;
                fetched.add(node.id.index(), &match_columns, rows);
            }
        }
        Ok(assemble(mapping, &fetched, &keys))
    }

    /// The distinct non-NULL values of `columns` in the rows fetched for node `parent`,
    /// leaving out root rows that are not indexed.
    fn parent_values(&self, fetched: &Fetched, parent: usize, columns: &[String]) -> Vec<Key> {
        let root = self.planner.mapping().root();
        fetched
            .rows(parent)
            .iter()
            .filter(|row| parent != root.id.index() || excluded(root, row).is_none())
            .filter_map(|row| values_of(row, columns))
            .filter(|values| key_text(values).is_some())
            .collect()
    }

    /// The root keys `lookup` finds, without duplicates, ordered by root key.
    pub fn lookup<E: Executor>(
        &self,
        executor: &mut E,
        lookup: &Lookup,
    ) -> Result<Vec<Key>, BuildError<E::Error>> {
        let mapping = self.planner.mapping();
        let root = mapping.root();
        let mut keys = Vec::new();
        for query in self.planner.lookup(lookup) {
            let rows = run(executor, mapping, &root.table, &query)?;
            keys.extend(rows.iter().filter_map(|row| values_of(row, &root.key)));
        }
        Ok(dedup(keys))
    }

    /// Every root key `resolution` names: its keys, then what its lookups find; each once.
    /// (`clear_index` is the caller's to act on.)
    pub fn keys_for<E: Executor>(
        &self,
        executor: &mut E,
        resolution: &Resolution,
    ) -> Result<Vec<Key>, BuildError<E::Error>> {
        let mut keys = resolution.keys.clone();
        for lookup in &resolution.lookups {
            keys.extend(self.lookup(executor, lookup)?);
        }
        Ok(dedup(keys))
    }
}

/// Runs `query`; an executor error names the index, table and statement.
fn run<E: Executor>(
    executor: &mut E,
    mapping: &CompiledMapping,
    table: &str,
    query: &Query,
) -> Result<Vec<crate::change::Row>, BuildError<E::Error>> {
    executor
        .query(&query.sql, &query.params)
        .map_err(|source| BuildError {
            query: Box::new(FailedQuery {
                index: mapping.index().to_owned(),
                table: table.to_owned(),
                sql: query.sql.clone(),
            }),
            source,
        })
}

/// `keys` without repeats (by canonical form), in order of first appearance. Keys with a NULL
/// are kept (once each, by their JSON text) so they can be reported.
fn dedup(keys: impl IntoIterator<Item = Key>) -> Vec<Key> {
    let mut seen = HashSet::new();
    let mut seen_null = HashSet::new();
    keys.into_iter()
        .filter(|key| match key_text(key) {
            Some(text) => seen.insert(text),
            None => seen_null.insert(serde_json::Value::from(key.clone()).to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests;
