//! SQL generation: the queries that fetch the rows of a batch of documents, and the lookups
//! that find the roots a change affects.
//!
//! A batch costs one query per node of the mapping (the root, then each join level for all
//! parents of the batch at once), whatever the batch size: no query per document. Only when
//! a key list would exceed the dialect's limit of bound parameters is it split, so the count
//! is `nodes × ceil(keys × key width / limit)` at most.
//!
//! Identifiers are always quoted, values always bound parameters. For the root, filters and
//! soft delete are evaluated as extra select-list columns (aliases starting with `$`, which no
//! mapped column can have), so a row that is there but excluded is reported as such rather
//! than looking missing. For has_many joins they go in the `WHERE` clause.
//!
//! Postgres executors should send parameters untyped (type OID 0, text format) so the server
//! infers each from the column it is compared with.

use std::fmt;

use serde_json::Value;

use super::compiled::{CompiledMapping, Filter, Node, Predicate, Relation, SoftDelete};
use super::ident::push_quoted;
use super::mapping::SoftDeleteWhen;
use super::resolve::{Lookup, LookupCondition};
use crate::change::Key;

/// The SQL dialect to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite (3.30 or later): `?` placeholders.
    Sqlite,
    /// Postgres: `$n` placeholders.
    Postgres,
}

impl Dialect {
    /// The most bound parameters one statement may have.
    pub fn max_params(self) -> usize {
        match self {
            // SQLITE_MAX_VARIABLE_NUMBER since 3.32.
            Self::Sqlite => 32_766,
            // The protocol's 16-bit parameter count.
            Self::Postgres => 65_535,
        }
    }
}

/// A statement and its bound parameters, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The SQL text.
    pub sql: String,
    /// The parameters.
    pub params: Vec<Value>,
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)
    }
}

/// Select-list alias of root filter `i`'s outcome.
pub(super) fn filter_alias(i: usize) -> String {
    format!("$filter_{i}")
}

/// Select-list alias of the root's soft-delete outcome.
pub(super) const SOFT_DELETED_ALIAS: &str = "$soft_deleted";

/// Generates the SQL for one mapping and dialect. Pure: no I/O.
#[derive(Debug, Clone, Copy)]
pub struct Planner<'m> {
    mapping: &'m CompiledMapping,
    dialect: Dialect,
    max_params: usize,
}

impl<'m> Planner<'m> {
    /// A planner using the dialect's parameter limit.
    pub fn new(mapping: &'m CompiledMapping, dialect: Dialect) -> Self {
        Self {
            mapping,
            dialect,
            max_params: dialect.max_params(),
        }
    }

    /// Lowers the parameter limit per statement (at least 1), e.g. for a database compiled
    /// with a smaller `SQLITE_MAX_VARIABLE_NUMBER`.
    pub fn with_max_params(mut self, max_params: usize) -> Self {
        self.max_params = max_params.clamp(1, self.dialect.max_params());
        self
    }

    /// The mapping.
    pub fn mapping(&self) -> &'m CompiledMapping {
        self.mapping
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The columns fetched for `node`: its fields' columns, its key, its foreign key (has_many)
    /// and the foreign keys of its belongs_to joins; each once, in that order.
    pub fn select_columns(&self, node: &Node) -> Vec<String> {
        let mut columns: Vec<String> = Vec::new();
        let mut add = |column: &String| {
            if !columns.contains(column) {
                columns.push(column.clone());
            }
        };
        node.fields.iter().for_each(|f| add(&f.column));
        node.key.iter().for_each(&mut add);
        if let Relation::HasMany { foreign_key, .. } = &node.relation {
            foreign_key.iter().for_each(&mut add);
        }
        for child in node.children.iter().filter_map(|&c| self.mapping.node(c)) {
            if let Relation::BelongsTo { foreign_key, .. } = &child.relation {
                foreign_key.iter().for_each(&mut add);
            }
        }
        columns
    }

    /// The columns a fetch of `node` matches values against: the key of the root and of a
    /// belongs_to target, the foreign key of a has_many child.
    pub fn match_columns<'n>(&self, node: &'n Node) -> &'n [String] {
        match &node.relation {
            Relation::HasMany { foreign_key, .. } => foreign_key,
            Relation::Root | Relation::BelongsTo { .. } => &node.key,
        }
    }

    /// The queries fetching the rows of `node` whose [match columns](Self::match_columns)
    /// hold one of `values` (each as wide as those columns). One query unless the parameter
    /// limit forces a split; none for no values.
    ///
    /// Root rows come with `$filter_<i>` and `$soft_deleted` columns; has_many rows exclude
    /// filtered and soft-deleted rows and are ordered by `order_by`, then key, NULLs first.
    pub fn fetch(&self, node: &Node, values: &[Key]) -> Vec<Query> {
        let is_root = matches!(node.relation, Relation::Root);
        let is_has_many = matches!(node.relation, Relation::HasMany { .. });
        let match_columns = self.match_columns(node);
        let fixed = node.filters.iter().map(predicate_params).sum::<usize>();
        self.chunks(values, match_columns.len(), fixed)
            .map(|chunk| {
                let mut sql = Writer::new(self.dialect);
                sql.push("SELECT ");
                for (i, column) in self.select_columns(node).iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.column(None, column);
                }
                if is_root {
                    for (i, filter) in node.filters.iter().enumerate() {
                        sql.push(", (");
                        sql.predicate(None, filter);
                        sql.push(") AS ");
                        sql.ident(&filter_alias(i));
                    }
                    if let Some(soft_delete) = &node.soft_delete {
                        sql.push(", (");
                        sql.soft_deleted(None, soft_delete, true);
                        sql.push(") AS ");
                        sql.ident(SOFT_DELETED_ALIAS);
                    }
                }
                sql.push(" FROM ");
                sql.ident(&node.table);
                sql.push(" WHERE ");
                sql.key_match(None, match_columns, chunk);
                if is_has_many {
                    for filter in &node.filters {
                        sql.push(" AND ");
                        sql.predicate(None, filter);
                    }
                    if let Some(soft_delete) = &node.soft_delete {
                        sql.push(" AND ");
                        sql.soft_deleted(None, soft_delete, false);
                    }
                    sql.push(" ORDER BY ");
                    let order = node.order_by.iter().chain(&node.key);
                    for (i, column) in order.enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        sql.column(None, column);
                        sql.push(" NULLS FIRST");
                    }
                }
                sql.finish()
            })
            .collect()
    }

    /// The queries finding the root keys of `lookup`: a join from the root down to the
    /// lookup's node, `SELECT DISTINCT` root key, root filters and soft delete applied (a root
    /// that is not indexed needs no rebuild for a change below it), ordered by root key.
    /// Nothing for an `In` lookup without values or a node of another mapping.
    pub fn lookup(&self, lookup: &Lookup) -> Vec<Query> {
        let path = self.mapping.path_to(lookup.node);
        let Some(root) = path.first() else {
            return Vec::new();
        };
        let fixed = root.filters.iter().map(predicate_params).sum::<usize>();
        let target_alias = alias(path.len() - 1);
        let render = |values: &[Key]| {
            let mut sql = Writer::new(self.dialect);
            sql.push("SELECT DISTINCT ");
            sql.columns(Some(&alias(0)), &root.key);
            sql.push(" FROM ");
            sql.ident(&root.table);
            sql.push(" AS ");
            sql.ident(&alias(0));
            for (depth, pair) in path.windows(2).enumerate() {
                let [parent, child] = pair else { continue };
                let (child_columns, parent_columns) = match &child.relation {
                    Relation::HasMany { foreign_key, .. } => (foreign_key, &parent.key),
                    Relation::BelongsTo { foreign_key, .. } => (&child.key, foreign_key),
                    // Only the first node of a path is the root.
                    Relation::Root => continue,
                };
                let (parent_alias, child_alias) = (alias(depth), alias(depth + 1));
                sql.push(" JOIN ");
                sql.ident(&child.table);
                sql.push(" AS ");
                sql.ident(&child_alias);
                sql.push(" ON ");
                let pairs = child_columns.iter().zip(parent_columns);
                for (i, (child_column, parent_column)) in pairs.enumerate() {
                    if i > 0 {
                        sql.push(" AND ");
                    }
                    sql.column(Some(&child_alias), child_column);
                    sql.push(" = ");
                    sql.column(Some(&parent_alias), parent_column);
                }
            }
            match &lookup.condition {
                LookupCondition::In { columns, .. } => {
                    sql.condition();
                    sql.key_match(Some(&target_alias), columns, values);
                }
                LookupCondition::NotNull { columns } => {
                    for column in columns {
                        sql.condition();
                        sql.column(Some(&target_alias), column);
                        sql.push(" IS NOT NULL");
                    }
                }
                LookupCondition::Any => {}
            }
            for filter in &root.filters {
                sql.condition();
                sql.predicate(Some(&alias(0)), filter);
            }
            if let Some(soft_delete) = &root.soft_delete {
                sql.condition();
                sql.soft_deleted(Some(&alias(0)), soft_delete, false);
            }
            sql.push(" ORDER BY ");
            sql.columns(Some(&alias(0)), &root.key);
            sql.finish()
        };
        match &lookup.condition {
            LookupCondition::In { columns, values } => self
                .chunks(values, columns.len(), fixed)
                .map(render)
                .collect(),
            LookupCondition::NotNull { .. } | LookupCondition::Any => vec![render(&[])],
        }
    }

    /// `values` in slices that keep each statement within the parameter limit.
    fn chunks<'v>(
        &self,
        values: &'v [Key],
        width: usize,
        fixed: usize,
    ) -> impl Iterator<Item = &'v [Key]> {
        let per_query = (self.max_params.saturating_sub(fixed) / width.max(1)).max(1);
        values.chunks(per_query)
    }
}

/// The table alias of the node at `depth` of a lookup's join path.
fn alias(depth: usize) -> String {
    format!("t{depth}")
}

fn predicate_params(filter: &Filter) -> usize {
    match &filter.predicate {
        Predicate::Eq(_) | Predicate::Ne(_) => 1,
        Predicate::In(values) | Predicate::NotIn(values) => values.len(),
        Predicate::IsNull | Predicate::NotNull => 0,
    }
}

/// Builds one statement: SQL text and parameters in step.
struct Writer {
    dialect: Dialect,
    sql: String,
    params: Vec<Value>,
    /// Whether a `WHERE` has been written.
    has_where: bool,
}

impl Writer {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            sql: String::new(),
            params: Vec::new(),
            has_where: false,
        }
    }

    /// Starts a condition: ` WHERE ` for the first, ` AND ` after.
    fn condition(&mut self) {
        self.push(if self.has_where { " AND " } else { " WHERE " });
        self.has_where = true;
    }

    fn finish(self) -> Query {
        Query {
            sql: self.sql,
            params: self.params,
        }
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    fn ident(&mut self, name: &str) {
        push_quoted(&mut self.sql, name);
    }

    /// `"alias"."column"` or `"column"`.
    fn column(&mut self, alias: Option<&str>, column: &str) {
        if let Some(alias) = alias {
            self.ident(alias);
            self.sql.push('.');
        }
        self.ident(column);
    }

    /// `a, b, c`, qualified.
    fn columns(&mut self, alias: Option<&str>, columns: &[String]) {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.column(alias, column);
        }
    }

    /// A placeholder for `value`.
    fn param(&mut self, value: Value) {
        self.params.push(value);
        match self.dialect {
            Dialect::Sqlite => self.sql.push('?'),
            Dialect::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&self.params.len().to_string());
            }
        }
    }

    /// `(?, ?, ?)`.
    fn param_list(&mut self, values: impl IntoIterator<Item = Value>) {
        self.sql.push('(');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param(value);
        }
        self.sql.push(')');
    }

    /// `"c" IN (?, ?)` for one column; `("a", "b") IN (VALUES (?, ?), ...)` (SQLite) or
    /// `("a", "b") IN ((?, ?), ...)` (Postgres) for several. `keys` must not be empty.
    fn key_match(&mut self, alias: Option<&str>, columns: &[String], keys: &[Key]) {
        if let [column] = columns {
            self.column(alias, column);
            self.push(" IN ");
            self.param_list(keys.iter().filter_map(|k| k.first().cloned()));
            return;
        }
        self.push("(");
        self.columns(alias, columns);
        self.push(match self.dialect {
            Dialect::Sqlite => ") IN (VALUES ",
            Dialect::Postgres => ") IN (",
        });
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param_list(key.iter().cloned());
        }
        self.push(")");
    }

    /// The filter's condition.
    fn predicate(&mut self, alias: Option<&str>, filter: &Filter) {
        let column = |writer: &mut Self| writer.column(alias, &filter.column);
        match &filter.predicate {
            Predicate::Eq(value) => {
                column(self);
                self.push(" = ");
                self.param(value.clone());
            }
            Predicate::Ne(value) => {
                column(self);
                self.push(match self.dialect {
                    Dialect::Sqlite => " IS NOT ",
                    Dialect::Postgres => " IS DISTINCT FROM ",
                });
                self.param(value.clone());
            }
            Predicate::In(values) => {
                column(self);
                self.push(" IN ");
                self.param_list(values.iter().cloned());
            }
            Predicate::NotIn(values) => {
                self.push("(");
                column(self);
                self.push(" IS NULL OR ");
                column(self);
                self.push(" NOT IN ");
                self.param_list(values.iter().cloned());
                self.push(")");
            }
            Predicate::IsNull => {
                column(self);
                self.push(" IS NULL");
            }
            Predicate::NotNull => {
                column(self);
                self.push(" IS NOT NULL");
            }
        }
    }

    /// Whether the row is soft-deleted (`deleted`) or not (`!deleted`).
    fn soft_deleted(&mut self, alias: Option<&str>, soft_delete: &SoftDelete, deleted: bool) {
        self.column(alias, &soft_delete.column);
        self.push(match (soft_delete.when, deleted) {
            (SoftDeleteWhen::NotNull, true) => " IS NOT NULL",
            (SoftDeleteWhen::NotNull, false) => " IS NULL",
            (SoftDeleteWhen::True, true) => " IS TRUE",
            (SoftDeleteWhen::True, false) => " IS NOT TRUE",
        });
    }
}

#[cfg(test)]
mod tests;
