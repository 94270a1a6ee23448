//! Setting up a capture: the replica identity of each table, the publication and the logical
//! replication slot.
//!
//! [`plan`] is pure: from what the catalog says ([`Catalog`]) it decides which statements are
//! missing. [`install`] reads the catalog, runs what is missing, and when the role may not
//! (permission denied), fails with [`PgError::NeedsOperator`] carrying the exact SQL an
//! operator must run instead. Running it again once everything exists runs nothing.
//!
//! What the capture needs:
//!
//! * every table in a publication that publishes inserts, updates, deletes and truncates,
//!   without row filters or column lists;
//! * a replica identity carrying the primary key (`DEFAULT`), or the whole old row (`FULL`)
//!   when a spec asks for old values of other columns;
//! * a logical slot using `pgoutput`, in the source database;
//! * a role with `REPLICATION` (streaming needs it) that may `SELECT` from every table (the
//!   backfill reads them).
//!
//! Statements run one by one in autocommit, so a slot is never created in a transaction that
//! wrote. `ALTER TABLE .. REPLICA IDENTITY` takes the table's `ACCESS EXCLUSIVE` lock for a
//! moment (it rewrites nothing); creating a slot waits for the transactions running at that
//! moment to end. Another node creating the same publication or slot at the same time is harmless
//! (`duplicate_object` counts as done).

use std::collections::BTreeSet;

use tokio_postgres::Client;

use super::error::{sql_err, sqlstate};
use super::ident::{check_object_name, quote_ident, quote_literal};
use super::pgoutput::ReplicaIdentity;
use super::tables::{describe_tables, TableInfo, TableSpec};
use super::PgError;

/// The name of the output plugin the capture decodes.
pub const PLUGIN: &str = "pgoutput";

/// The actions a publication must publish.
pub const PUBLISH: &str = "insert, update, delete, truncate";

/// What the capture needs, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSetup {
    /// The publication (see [`check_object_name`] for the allowed names).
    pub publication: String,
    /// The logical replication slot (see [`check_object_name`]).
    pub slot: String,
    /// The tables.
    pub tables: Vec<TableSpec>,
}

/// The capture's role, from `pg_roles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    /// `current_user`.
    pub name: String,
    /// Whether it is a superuser.
    pub superuser: bool,
    /// Whether it has the `REPLICATION` attribute.
    pub replication: bool,
}

/// A publication, from `pg_publication` and `pg_publication_tables`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublicationInfo {
    /// `FOR ALL TABLES`.
    pub all_tables: bool,
    /// Published actions: insert, update, delete, truncate.
    pub actions: [bool; 4],
    /// The published tables, `(schema, table)`.
    pub tables: BTreeSet<(String, String)>,
    /// Published tables with a row filter or column list: `(schema, table, what)`.
    pub filtered: Vec<(String, String, &'static str)>,
}

/// A replication slot, from `pg_replication_slots`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    /// `logical` or `physical`.
    pub slot_type: String,
    /// The output plugin (logical slots).
    pub plugin: Option<String>,
    /// The database (logical slots).
    pub database: Option<String>,
    /// `reserved`, `extended`, `unreserved` or `lost`.
    pub wal_status: Option<String>,
}

/// What the catalog says about everything the capture needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// The current database.
    pub database: String,
    /// The capture's role.
    pub role: RoleInfo,
    /// The tables, in spec order.
    pub tables: Vec<TableInfo>,
    /// The publication, if it exists.
    pub publication: Option<PublicationInfo>,
    /// The slot, if it exists.
    pub slot: Option<SlotInfo>,
}

/// What one setup statement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// `ALTER TABLE .. REPLICA IDENTITY ..` of a table.
    ReplicaIdentity {
        /// The table, schema-qualified.
        table: String,
    },
    /// `CREATE PUBLICATION`.
    CreatePublication,
    /// `ALTER PUBLICATION .. ADD TABLE`.
    AddTables,
    /// `ALTER PUBLICATION .. SET (publish = ..)`.
    SetPublish,
    /// `pg_create_logical_replication_slot`.
    CreateSlot,
    /// `ALTER ROLE .. WITH REPLICATION`: only an operator can run it.
    GrantReplication,
    /// `GRANT SELECT ON` a table: only an operator (or the owner) can run it.
    GrantSelect {
        /// The table, schema-qualified.
        table: String,
    },
}

impl StepKind {
    /// Whether the capture's own role can never run this (granting itself rights).
    pub fn operator_only(&self) -> bool {
        matches!(self, Self::GrantReplication | Self::GrantSelect { .. })
    }
}

/// One missing piece and the statement that adds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What it does.
    pub kind: StepKind,
    /// The statement, ending with `;`, with identifiers quoted and names as literals.
    pub sql: String,
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOutcome {
    /// The statements run, in order (empty when everything existed).
    pub executed: Vec<String>,
    /// Whether the slot was created now; its consistent point is where a new pipeline starts.
    pub slot_created: bool,
    /// The tables as the catalog describes them after the setup.
    pub tables: Vec<TableInfo>,
}

/// The statements missing for `setup` given `catalog`, in the order to run them: replica
/// identities, the publication, the slot, then grants only an operator can give.
///
/// Fails for what no statement of the capture's can fix: a publication filtering a table, a
/// slot of another kind, plugin or database, a slot that lost WAL.
pub fn plan(setup: &CaptureSetup, catalog: &Catalog) -> Result<Vec<Step>, PgError> {
    check_object_name("publication", &setup.publication)?;
    check_object_name("slot", &setup.slot)?;
    let publication_q = quote_ident("publication", &setup.publication)?;
    let slot_literal = quote_literal(&setup.slot);
    let mut steps = Vec::new();

    for table in &catalog.tables {
        if let Some(identity) = table.needed_identity() {
            let word = if identity == ReplicaIdentity::Full {
                "FULL"
            } else {
                "DEFAULT"
            };
            steps.push(Step {
                kind: StepKind::ReplicaIdentity {
                    table: table.qualified(),
                },
                sql: format!("ALTER TABLE {} REPLICA IDENTITY {word};", table.quoted()?),
            });
        }
    }

    match &catalog.publication {
        None => {
            let tables = catalog
                .tables
                .iter()
                .map(TableInfo::quoted)
                .collect::<Result<Vec<_>, _>>()?;
            steps.push(Step {
                kind: StepKind::CreatePublication,
                sql: format!(
                    "CREATE PUBLICATION {publication_q} FOR TABLE {} WITH (publish = '{PUBLISH}');",
                    tables.join(", ")
                ),
            });
        }
        Some(publication) => {
            if let Some((schema, table, what)) = publication.filtered.iter().find(|(s, t, _)| {
                catalog
                    .tables
                    .iter()
                    .any(|info| &info.spec.schema == s && &info.spec.table == t)
            }) {
                return Err(PgError::PublicationFiltered {
                    publication: setup.publication.clone(),
                    publication_q,
                    table: format!("{schema}.{table}"),
                    what,
                });
            }
            if !publication.all_tables {
                let missing = catalog
                    .tables
                    .iter()
                    .filter(|info| {
                        !publication
                            .tables
                            .contains(&(info.spec.schema.clone(), info.spec.table.clone()))
                    })
                    .map(TableInfo::quoted)
                    .collect::<Result<Vec<_>, _>>()?;
                if !missing.is_empty() {
                    steps.push(Step {
                        kind: StepKind::AddTables,
                        sql: format!(
                            "ALTER PUBLICATION {publication_q} ADD TABLE {};",
                            missing.join(", ")
                        ),
                    });
                }
            }
            if publication.actions.iter().any(|published| !published) {
                steps.push(Step {
                    kind: StepKind::SetPublish,
                    sql: format!("ALTER PUBLICATION {publication_q} SET (publish = '{PUBLISH}');"),
                });
            }
        }
    }

    match &catalog.slot {
        None => steps.push(Step {
            kind: StepKind::CreateSlot,
            sql: format!("SELECT pg_create_logical_replication_slot({slot_literal}, '{PLUGIN}');"),
        }),
        Some(slot) => {
            let mismatch = |reason: String| PgError::SlotMismatch {
                slot: setup.slot.clone(),
                reason,
            };
            if slot.slot_type != "logical" {
                return Err(mismatch(format!("it is a {} slot", slot.slot_type)));
            }
            if slot.plugin.as_deref() != Some(PLUGIN) {
                return Err(mismatch(format!(
                    "it uses the output plugin {:?}, not {PLUGIN}",
                    slot.plugin.as_deref().unwrap_or("")
                )));
            }
            if slot.database.as_deref() != Some(catalog.database.as_str()) {
                return Err(mismatch(format!(
                    "it belongs to database {:?}, not {:?}",
                    slot.database.as_deref().unwrap_or(""),
                    catalog.database
                )));
            }
            if let Some(status @ "lost") = slot.wal_status.as_deref() {
                return Err(PgError::SlotLost {
                    slot: setup.slot.clone(),
                    slot_literal,
                    wal_status: status.to_owned(),
                });
            }
        }
    }

    let role_q = quote_ident("role", &catalog.role.name)?;
    if !catalog.role.superuser && !catalog.role.replication {
        steps.push(Step {
            kind: StepKind::GrantReplication,
            sql: format!("ALTER ROLE {role_q} WITH REPLICATION;"),
        });
    }
    for table in catalog.tables.iter().filter(|t| !t.can_select) {
        steps.push(Step {
            kind: StepKind::GrantSelect {
                table: table.qualified(),
            },
            sql: format!("GRANT SELECT ON {} TO {role_q};", table.quoted()?),
        });
    }
    Ok(steps)
}

/// Reads everything [`plan`] looks at.
pub async fn read_catalog(client: &Client, setup: &CaptureSetup) -> Result<Catalog, PgError> {
    let tables = describe_tables(client, &setup.tables).await?;
    let row = client
        .query_one(
            "SELECT current_database()::text, current_user::text, r.rolsuper, r.rolreplication,
                    current_setting('server_version_num')::int
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .map_err(sql_err("read the capture role"))?;
    let database: String = row.get(0);
    let role = RoleInfo {
        name: row.get(1),
        superuser: row.get(2),
        replication: row.get(3),
    };
    let version: i32 = row.get(4);
    let publication = read_publication(client, &setup.publication, version).await?;
    let slot = client
        .query_opt(
            "SELECT slot_type::text, plugin::text, database::text, wal_status::text
             FROM pg_replication_slots WHERE slot_name = $1",
            &[&setup.slot],
        )
        .await
        .map_err(sql_err(format!(
            "look up replication slot `{}`",
            setup.slot
        )))?
        .map(|row| SlotInfo {
            slot_type: row.get(0),
            plugin: row.get(1),
            database: row.get(2),
            wal_status: row.get(3),
        });
    Ok(Catalog {
        database,
        role,
        tables,
        publication,
        slot,
    })
}

async fn read_publication(
    client: &Client,
    name: &str,
    server_version: i32,
) -> Result<Option<PublicationInfo>, PgError> {
    let action = || format!("read publication `{name}`");
    let Some(row) = client
        .query_opt(
            "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate
             FROM pg_publication WHERE pubname = $1",
            &[&name],
        )
        .await
        .map_err(sql_err(action()))?
    else {
        return Ok(None);
    };
    let tables = client
        .query(
            "SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1",
            &[&name],
        )
        .await
        .map_err(sql_err(action()))?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    // Row filters and column lists exist since PostgreSQL 15.
    let mut filtered = Vec::new();
    if server_version >= 150_000 {
        for row in client
            .query(
                "SELECT n.nspname::text, c.relname::text, pr.prqual IS NOT NULL,
                        pr.prattrs IS NOT NULL
                 FROM pg_publication_rel pr
                 JOIN pg_publication p ON p.oid = pr.prpubid
                 JOIN pg_class c ON c.oid = pr.prrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE p.pubname = $1 AND (pr.prqual IS NOT NULL OR pr.prattrs IS NOT NULL)",
                &[&name],
            )
            .await
            .map_err(sql_err(action()))?
        {
            let what = if row.get::<_, bool>(2) {
                "row filter"
            } else {
                "column list"
            };
            filtered.push((row.get(0), row.get(1), what));
        }
    }
    Ok(Some(PublicationInfo {
        all_tables: row.get(0),
        actions: [row.get(1), row.get(2), row.get(3), row.get(4)],
        tables,
        filtered,
    }))
}

/// Prepares everything `setup` needs (see the [module docs](self)): reads the catalog, runs
/// the missing statements, and reads the tables again.
///
/// When the role may not run some of them (SQLSTATE 42501), the others still run, and the
/// result is [`PgError::NeedsOperator`] with the statements an operator must run, in order;
/// so is a role without `REPLICATION` or without `SELECT` on a table.
pub async fn install(client: &Client, setup: &CaptureSetup) -> Result<InstallOutcome, PgError> {
    let catalog = read_catalog(client, setup).await?;
    let steps = plan(setup, &catalog)?;
    let mut executed = Vec::new();
    let mut slot_created = false;
    let mut for_operator = Vec::new();
    let mut cause = None;
    for step in steps {
        if step.kind.operator_only() {
            cause.get_or_insert_with(|| match &step.kind {
                StepKind::GrantSelect { table } => format!("no SELECT privilege on `{table}`"),
                _ => "the role lacks the REPLICATION attribute".to_owned(),
            });
            for_operator.push(step.sql);
            continue;
        }
        let result = match step.kind {
            StepKind::CreateSlot => client
                .query_one(
                    "SELECT lsn::text FROM pg_create_logical_replication_slot($1, $2)",
                    &[&setup.slot, &PLUGIN],
                )
                .await
                .map(|_| ()),
            _ => client.batch_execute(&step.sql).await,
        };
        match result {
            Ok(()) => {
                slot_created |= step.kind == StepKind::CreateSlot;
                executed.push(step.sql);
            }
            // Created meanwhile by someone else (another node starting the same pipeline).
            Err(error) if sqlstate(&error) == Some("42710") => {}
            Err(error) if sqlstate(&error) == Some("42501") => {
                cause.get_or_insert_with(|| {
                    error
                        .as_db_error()
                        .map_or_else(|| error.to_string(), |db| db.message().to_owned())
                });
                for_operator.push(step.sql);
            }
            Err(error) => {
                return Err(sql_err(format!("set up the capture: {}", step.sql))(error));
            }
        }
    }
    if !for_operator.is_empty() {
        return Err(PgError::NeedsOperator {
            role: catalog.role.name,
            cause: cause.unwrap_or_default(),
            sql: for_operator,
        });
    }
    let tables = if executed.is_empty() {
        catalog.tables
    } else {
        describe_tables(client, &setup.tables).await?
    };
    Ok(InstallOutcome {
        executed,
        slot_created,
        tables,
    })
}

/// Drops the slot (ending the walsender that holds it, if any) and the publication, if they
/// exist: for tearing down a pipeline. A slot left behind keeps WAL on the server forever.
pub async fn uninstall(client: &Client, setup: &CaptureSetup) -> Result<(), PgError> {
    check_object_name("publication", &setup.publication)?;
    check_object_name("slot", &setup.slot)?;
    let action = || format!("drop replication slot `{}`", setup.slot);
    client
        .execute(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
             WHERE slot_name = $1 AND active_pid IS NOT NULL",
            &[&setup.slot],
        )
        .await
        .map_err(sql_err(action()))?;
    // A terminated walsender releases the slot as it exits: retry briefly while it is busy.
    let mut attempts = 0;
    loop {
        let result = client
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                 WHERE slot_name = $1",
                &[&setup.slot],
            )
            .await;
        match result {
            Ok(_) => break,
            Err(error) if sqlstate(&error) == Some("55006") && attempts < 100 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(error) => return Err(sql_err(action())(error)),
        }
    }
    client
        .batch_execute(&format!(
            "DROP PUBLICATION IF EXISTS {};",
            quote_ident("publication", &setup.publication)?
        ))
        .await
        .map_err(sql_err(format!("drop publication `{}`", setup.publication)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::postgres::tables::tests::info;

    fn setup() -> CaptureSetup {
        CaptureSetup {
            publication: "overseer_pub".to_owned(),
            slot: "overseer_slot".to_owned(),
            tables: vec![
                TableSpec::new("items").with_old_columns(["category_id"]),
                TableSpec::new("tags"),
            ],
        }
    }

    fn catalog() -> Catalog {
        let setup = setup();
        Catalog {
            database: "app".to_owned(),
            role: RoleInfo {
                name: "capture".to_owned(),
                superuser: false,
                replication: true,
            },
            tables: vec![
                info(
                    setup.tables[0].clone(),
                    &[("id", 23), ("category_id", 23)],
                    &["id"],
                    ReplicaIdentity::Default,
                ),
                info(
                    setup.tables[1].clone(),
                    &[("id", 23)],
                    &["id"],
                    ReplicaIdentity::Default,
                ),
            ],
            publication: None,
            slot: None,
        }
    }

    fn sql(steps: &[Step]) -> Vec<&str> {
        steps.iter().map(|s| s.sql.as_str()).collect()
    }

    #[test]
    fn plans_everything_for_a_new_capture() -> Result<(), PgError> {
        let steps = plan(&setup(), &catalog())?;
        assert_eq!(
            sql(&steps),
            [
                "ALTER TABLE \"public\".\"items\" REPLICA IDENTITY FULL;",
                "CREATE PUBLICATION \"overseer_pub\" FOR TABLE \"public\".\"items\", \
                 \"public\".\"tags\" WITH (publish = 'insert, update, delete, truncate');",
                "SELECT pg_create_logical_replication_slot('overseer_slot', 'pgoutput');",
            ]
        );
        Ok(())
    }

    #[test]
    fn plans_nothing_when_everything_exists() -> Result<(), PgError> {
        let mut catalog = catalog();
        catalog.tables[0].replica_identity = ReplicaIdentity::Full;
        catalog.publication = Some(PublicationInfo {
            all_tables: false,
            actions: [true; 4],
            tables: [("public", "items"), ("public", "tags")]
                .iter()
                .map(|(s, t)| ((*s).to_owned(), (*t).to_owned()))
                .collect(),
            filtered: Vec::new(),
        });
        catalog.slot = Some(SlotInfo {
            slot_type: "logical".to_owned(),
            plugin: Some("pgoutput".to_owned()),
            database: Some("app".to_owned()),
            wal_status: Some("reserved".to_owned()),
        });
        assert_eq!(plan(&setup(), &catalog)?, []);

        // A missing table and a missing action.
        if let Some(publication) = &mut catalog.publication {
            publication
                .tables
                .remove(&("public".to_owned(), "tags".to_owned()));
            publication.actions[3] = false;
        }
        assert_eq!(
            sql(&plan(&setup(), &catalog)?),
            [
                "ALTER PUBLICATION \"overseer_pub\" ADD TABLE \"public\".\"tags\";",
                "ALTER PUBLICATION \"overseer_pub\" SET (publish = 'insert, update, delete, truncate');",
            ]
        );
        // FOR ALL TABLES covers every table.
        if let Some(publication) = &mut catalog.publication {
            publication.all_tables = true;
            publication.actions = [true; 4];
        }
        assert_eq!(plan(&setup(), &catalog)?, []);
        Ok(())
    }

    #[test]
    fn operator_steps_for_a_role_without_rights() -> Result<(), PgError> {
        let mut catalog = catalog();
        catalog.role.replication = false;
        catalog.role.name = "we\"ird".to_owned();
        catalog.tables[1].can_select = false;
        let steps = plan(&setup(), &catalog)?;
        let operator: Vec<&str> = steps
            .iter()
            .filter(|s| s.kind.operator_only())
            .map(|s| s.sql.as_str())
            .collect();
        assert_eq!(
            operator,
            [
                "ALTER ROLE \"we\"\"ird\" WITH REPLICATION;",
                "GRANT SELECT ON \"public\".\"tags\" TO \"we\"\"ird\";",
            ]
        );
        Ok(())
    }

    #[test]
    fn rejects_unusable_slots_and_filtered_publications() {
        let mut catalog = catalog();
        let slot = SlotInfo {
            slot_type: "logical".to_owned(),
            plugin: Some("wal2json".to_owned()),
            database: Some("app".to_owned()),
            wal_status: Some("reserved".to_owned()),
        };
        catalog.slot = Some(slot.clone());
        assert!(matches!(
            plan(&setup(), &catalog),
            Err(PgError::SlotMismatch { reason, .. }) if reason.contains("wal2json")
        ));
        catalog.slot = Some(SlotInfo {
            plugin: Some("pgoutput".to_owned()),
            database: Some("other".to_owned()),
            ..slot.clone()
        });
        assert!(matches!(
            plan(&setup(), &catalog),
            Err(PgError::SlotMismatch { reason, .. }) if reason.contains("other")
        ));
        catalog.slot = Some(SlotInfo {
            plugin: Some("pgoutput".to_owned()),
            wal_status: Some("lost".to_owned()),
            ..slot
        });
        let lost = plan(&setup(), &catalog);
        assert!(matches!(&lost, Err(PgError::SlotLost { .. })), "{lost:?}");
        catalog.slot = None;
        catalog.publication = Some(PublicationInfo {
            filtered: vec![("public".to_owned(), "items".to_owned(), "row filter")],
            ..PublicationInfo::default()
        });
        assert!(matches!(
            plan(&setup(), &catalog),
            Err(PgError::PublicationFiltered { table, .. }) if table == "public.items"
        ));
    }

    #[test]
    fn rejects_bad_names() {
        let mut bad = setup();
        bad.slot = "Bad-Slot".to_owned();
        assert!(matches!(
            plan(&bad, &catalog()),
            Err(PgError::BadName { kind: "slot", .. })
        ));
    }
}
