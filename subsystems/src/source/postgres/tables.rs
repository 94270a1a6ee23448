//! What the capture needs to know about a source table: its columns, primary key and replica
//! identity, read from the catalog.

use std::collections::BTreeSet;

use tokio_postgres::Client;

use super::error::sql_err;
use super::ident::quote_ident;
use super::pgoutput::ReplicaIdentity;
use super::PgError;

/// What to capture of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's schema (`public` unless set).
    pub schema: String,
    /// The table; also the [`Change::table`](crate::change::Change::table) of its changes.
    pub table: String,
    /// Columns whose old values updates and deletes must carry, besides the key columns
    /// (always carried): the columns a mapping needs to find the documents a row belonged
    /// to, such as foreign keys. Non-empty means `REPLICA IDENTITY FULL` (unless the replica
    /// identity already covers them).
    pub old_columns: Vec<String>,
}

impl TableSpec {
    /// A spec of `table` in schema `public`, carrying only the key columns' old values.
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            schema: "public".to_owned(),
            table: table.into(),
            old_columns: Vec::new(),
        }
    }

    /// The same spec in schema `schema`.
    pub fn in_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The same spec, carrying also `columns`' old values.
    pub fn with_old_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.old_columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// `schema.table`, for messages.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column's name.
    pub name: String,
    /// The OID of its type (`atttypid`), which picks its JSON conversion
    /// ([`text_to_json`](super::value::text_to_json)).
    pub type_oid: u32,
    /// Its type as SQL (`format_type(atttypid, NULL)`, quoted where needed), for casts.
    pub type_sql: String,
}

/// A captured table as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// The spec it was read for.
    pub spec: TableSpec,
    /// The table's OID.
    pub oid: u32,
    /// Every column, in attribute order.
    pub columns: Vec<ColumnInfo>,
    /// The primary-key columns, in key order: what [`Change::key`](crate::change::Change::key)
    /// holds.
    pub key: Vec<String>,
    /// The table's `REPLICA IDENTITY`.
    pub replica_identity: ReplicaIdentity,
    /// The columns of the replica identity index, for `REPLICA IDENTITY USING INDEX`.
    pub identity_index: Vec<String>,
    /// Whether the capture's role may `SELECT` from the table (the backfill needs it).
    pub can_select: bool,
}

impl TableInfo {
    /// The name changes carry ([`TableSpec::table`]).
    pub fn name(&self) -> &str {
        &self.spec.table
    }

    /// `schema.table`, for messages.
    pub fn qualified(&self) -> String {
        self.spec.qualified()
    }

    /// `"schema"."table"`, for SQL.
    pub fn quoted(&self) -> Result<String, PgError> {
        quoted_table(&self.spec)
    }

    /// The columns the old tuple of an update or delete carries under the current replica
    /// identity.
    pub fn identity_columns(&self) -> BTreeSet<&str> {
        match self.replica_identity {
            ReplicaIdentity::Default => self.key.iter().map(String::as_str).collect(),
            ReplicaIdentity::Index => self.identity_index.iter().map(String::as_str).collect(),
            ReplicaIdentity::Full => self.columns.iter().map(|c| c.name.as_str()).collect(),
            ReplicaIdentity::Nothing => BTreeSet::new(),
        }
    }

    /// The replica identity this capture needs, if the current one does not do: `DEFAULT`
    /// when only the key is needed, `FULL` when other old values are.
    pub fn needed_identity(&self) -> Option<ReplicaIdentity> {
        let have = self.identity_columns();
        let key_covered = self.key.iter().all(|k| have.contains(k.as_str()));
        let extra: Vec<&String> = self
            .spec
            .old_columns
            .iter()
            .filter(|c| !self.key.contains(c))
            .collect();
        let extra_covered = extra.iter().all(|c| have.contains(c.as_str()));
        if key_covered && extra_covered {
            None
        } else if extra.is_empty() {
            Some(ReplicaIdentity::Default)
        } else {
            Some(ReplicaIdentity::Full)
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// `"schema"."table"` of a spec.
pub(crate) fn quoted_table(spec: &TableSpec) -> Result<String, PgError> {
    Ok(format!(
        "{}.{}",
        quote_ident("schema", &spec.schema)?,
        quote_ident("table", &spec.table)?
    ))
}

/// Checks that no two specs name the same table or the same change name.
pub(crate) fn check_specs(specs: &[TableSpec]) -> Result<(), PgError> {
    let mut names = BTreeSet::new();
    for spec in specs {
        quoted_table(spec)?;
        for column in &spec.old_columns {
            quote_ident("column", column)?;
        }
        if !names.insert(spec.table.as_str()) {
            return Err(PgError::DuplicateTable {
                table: spec.table.clone(),
            });
        }
    }
    Ok(())
}

/// Reads the description of every spec's table from the catalog.
///
/// Fails if a table does not exist, is not an ordinary table, has no primary key, or a spec
/// names a column the table does not have.
pub async fn describe_tables(
    client: &Client,
    specs: &[TableSpec],
) -> Result<Vec<TableInfo>, PgError> {
    check_specs(specs)?;
    let mut infos = Vec::with_capacity(specs.len());
    for spec in specs {
        infos.push(describe_table(client, spec).await?);
    }
    Ok(infos)
}

async fn describe_table(client: &Client, spec: &TableSpec) -> Result<TableInfo, PgError> {
    let qualified = spec.qualified();
    let row = client
        .query_opt(
            "SELECT c.oid, c.relkind::text, c.relreplident::text,
                    has_table_privilege(c.oid, 'SELECT')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2",
            &[&spec.schema, &spec.table],
        )
        .await
        .map_err(sql_err(format!("look up table `{qualified}`")))?
        .ok_or_else(|| PgError::NoSuchTable {
            table: qualified.clone(),
        })?;
    let oid: u32 = row.get(0);
    let relkind: String = row.get(1);
    let replident: String = row.get(2);
    let can_select: bool = row.get(3);
    match relkind.as_str() {
        "r" => {}
        "p" => {
            return Err(PgError::NotATable {
                table: qualified,
                relkind: "p: a partitioned table, not supported yet; capture its partitions"
                    .to_owned(),
            })
        }
        _ => {
            return Err(PgError::NotATable {
                table: qualified,
                relkind,
            })
        }
    }
    let replica_identity = replident
        .bytes()
        .next()
        .and_then(ReplicaIdentity::from_byte)
        .unwrap_or(ReplicaIdentity::Default);
    let columns = client
        .query(
            "SELECT a.attname::text, a.atttypid, format_type(a.atttypid, NULL)
             FROM pg_attribute a
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum",
            &[&oid],
        )
        .await
        .map_err(sql_err(format!("read columns of table `{qualified}`")))?
        .iter()
        .map(|row| ColumnInfo {
            name: row.get(0),
            type_oid: row.get(1),
            type_sql: row.get(2),
        })
        .collect::<Vec<_>>();
    let index_columns = |flag: &'static str| {
        let sql = format!(
            "SELECT a.attname::text
             FROM pg_index i
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = $1 AND i.{flag}
             ORDER BY k.ord"
        );
        let qualified = qualified.clone();
        async move {
            client
                .query(&sql, &[&oid])
                .await
                .map_err(sql_err(format!(
                    "read the {flag} index of table `{qualified}`"
                )))
                .map(|rows| rows.iter().map(|row| row.get::<_, String>(0)).collect())
        }
    };
    let key: Vec<String> = index_columns("indisprimary").await?;
    if key.is_empty() {
        return Err(PgError::NoPrimaryKey {
            table: qualified,
            quoted: quoted_table(spec)?,
        });
    }
    let identity_index = if replica_identity == ReplicaIdentity::Index {
        index_columns("indisreplident").await?
    } else {
        Vec::new()
    };
    for column in &spec.old_columns {
        if !columns.iter().any(|c| &c.name == column) {
            return Err(PgError::UnknownColumn {
                table: qualified,
                column: column.clone(),
            });
        }
    }
    Ok(TableInfo {
        spec: spec.clone(),
        oid,
        columns,
        key,
        replica_identity,
        identity_index,
        can_select,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A table description as the catalog would give it, for tests of the pure parts.
    pub(crate) fn info(
        spec: TableSpec,
        columns: &[(&str, u32)],
        key: &[&str],
        identity: ReplicaIdentity,
    ) -> TableInfo {
        TableInfo {
            spec,
            oid: 16_384,
            columns: columns
                .iter()
                .map(|(name, type_oid)| ColumnInfo {
                    name: (*name).to_owned(),
                    type_oid: *type_oid,
                    type_sql: "integer".to_owned(),
                })
                .collect(),
            key: key.iter().map(|k| (*k).to_owned()).collect(),
            replica_identity: identity,
            identity_index: Vec::new(),
            can_select: true,
        }
    }

    #[test]
    fn needed_identity() {
        let cols = [("id", 23), ("category_id", 23), ("name", 25)];
        let plain = info(
            TableSpec::new("items"),
            &cols,
            &["id"],
            ReplicaIdentity::Default,
        );
        assert_eq!(plain.needed_identity(), None);
        let wants_fk = TableSpec::new("items").with_old_columns(["category_id"]);
        let t = info(wants_fk.clone(), &cols, &["id"], ReplicaIdentity::Default);
        assert_eq!(t.needed_identity(), Some(ReplicaIdentity::Full));
        let t = info(wants_fk, &cols, &["id"], ReplicaIdentity::Full);
        assert_eq!(t.needed_identity(), None);
        let key_only = TableSpec::new("items").with_old_columns(["id"]);
        let t = info(key_only, &cols, &["id"], ReplicaIdentity::Nothing);
        assert_eq!(t.needed_identity(), Some(ReplicaIdentity::Default));
        let mut t = info(
            TableSpec::new("items"),
            &cols,
            &["id"],
            ReplicaIdentity::Index,
        );
        t.identity_index = vec!["name".to_owned()];
        assert_eq!(t.needed_identity(), Some(ReplicaIdentity::Default));
        t.identity_index = vec!["name".to_owned(), "id".to_owned()];
        assert_eq!(t.needed_identity(), None);
    }

    #[test]
    fn specs_must_be_distinct() {
        let specs = [TableSpec::new("a"), TableSpec::new("a").in_schema("other")];
        assert!(matches!(
            check_specs(&specs),
            Err(PgError::DuplicateTable { table }) if table == "a"
        ));
        assert!(check_specs(&[TableSpec::new("a"), TableSpec::new("b")]).is_ok());
        assert!(check_specs(&[TableSpec::new("")]).is_err());
    }
}
