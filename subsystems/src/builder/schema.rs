//! A database schema as the mapping sees it, and checking a mapping against it.

use std::collections::{BTreeMap, BTreeSet};

use super::compiled::CompiledMapping;
use super::diagnostic::{Diagnostic, Location, MappingError};

/// The tables of a live database, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Tables by name.
    pub tables: BTreeMap<String, TableSchema>,
}

/// One table of a [`Schema`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSchema {
    /// Columns, in table order.
    pub columns: Vec<ColumnInfo>,
    /// Primary key columns, in key order; empty if unknown or none.
    pub primary_key: Vec<String>,
}

/// One column of a [`TableSchema`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// The declared type as the database spells it (`INTEGER`, `timestamp with time zone`).
    pub data_type: String,
    /// Whether the column may hold NULL.
    pub nullable: bool,
}

impl Schema {
    /// Reads the tables and views of the `main` database of a SQLite connection.
    pub fn from_sqlite(connection: &rusqlite::Connection) -> rusqlite::Result<Self> {
        let mut names = connection.prepare(
            "SELECT name FROM sqlite_schema \
             WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             ORDER BY name",
        )?;
        let names = names
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut columns = connection.prepare(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid",
        )?;
        let mut tables = BTreeMap::new();
        for name in names {
            let mut table = TableSchema::default();
            let mut key = Vec::new();
            let rows = columns.query_map([&name], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, bool>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })?;
            for row in rows {
                let (column, data_type, not_null, pk) = row?;
                if pk > 0 {
                    key.push((pk, column.clone()));
                }
                table.columns.push(ColumnInfo {
                    name: column,
                    data_type,
                    nullable: !not_null,
                });
            }
            key.sort();
            table.primary_key = key.into_iter().map(|(_, column)| column).collect();
            tables.insert(name, table);
        }
        Ok(Self { tables })
    }
}

impl CompiledMapping {
    /// Checks the mapping against a live schema: every table and column it names exists,
    /// and every `primary_key` is its table's primary key, in order (when the schema knows
    /// it), since changes carry keys in that order. Reports every problem at the place in the
    /// mapping file that names the table or column.
    pub fn validate_against(&self, schema: &Schema) -> Result<(), MappingError> {
        let mut diagnostics = Vec::new();
        let mut push = |location: &Location, message: String| {
            diagnostics.push(Diagnostic {
                file: self.file().to_owned(),
                location: location.clone(),
                message,
            });
        };
        for node in self.nodes() {
            let Some(table) = schema.tables.get(&node.table) else {
                push(
                    &node.location,
                    format!("table {:?} does not exist in the database", node.table),
                );
                continue;
            };
            let known: BTreeSet<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            let mut reported = BTreeSet::new();
            for (column, location) in &node.columns {
                if !known.contains(column.as_str()) && reported.insert((column, &location.path)) {
                    push(
                        location,
                        format!("column {column:?} does not exist in table {:?}", node.table),
                    );
                }
            }
            if !table.primary_key.is_empty() && table.primary_key != node.key {
                push(
                    &node.key_location,
                    format!(
                        "primary_key {:?} is not the primary key of table {:?} in the \
                         database, which is {:?}",
                        node.key, node.table, table.primary_key
                    ),
                );
            }
        }
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(MappingError::new(diagnostics))
        }
    }
}
