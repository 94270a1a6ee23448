//! The document builder subsystem: resolves each change batch to the documents it affects, per
//! index, and builds them from current rows with a bounded number of queries per batch.
//!
//! SQLite calls block: declare this subsystem `blocking` in the `#[overlord]` struct.

use std::path::PathBuf;

use overseer::{FromOverseer, SpawnedSubsystem, Subsystem, SubsystemContext, SubsystemSender};
use rusqlite::{Connection, OpenFlags};

use crate::builder::{resolve, CompiledMapping, Dialect, DocumentBuilder};
use crate::error::NodeError;
use crate::messages::{BuildMessage, ChangeBatch, DocumentBatch, DocumentMessage, NodeSignal};

/// The document builder over a SQLite source.
#[derive(Debug)]
pub struct SqliteDocumentBuilder {
    database: PathBuf,
    mappings: Vec<CompiledMapping>,
}

impl SqliteDocumentBuilder {
    /// A builder reading `database` (read-only) for the indexes of `mappings`.
    pub fn new(database: impl Into<PathBuf>, mappings: Vec<CompiledMapping>) -> Self {
        Self {
            database: database.into(),
            mappings,
        }
    }
}

impl<Ctx> Subsystem<Ctx, NodeError> for SqliteDocumentBuilder
where
    Ctx: SubsystemContext<Message = BuildMessage, Signal = NodeSignal, Error = NodeError>,
    Ctx::Sender: SubsystemSender<DocumentMessage>,
{
    fn start(self, ctx: Ctx) -> SpawnedSubsystem<NodeError> {
        SpawnedSubsystem {
            name: "document-builder",
            future: Box::pin(self.run(ctx)),
        }
    }
}

impl SqliteDocumentBuilder {
    async fn run<Ctx>(self, mut ctx: Ctx) -> Result<(), NodeError>
    where
        Ctx: SubsystemContext<Message = BuildMessage, Signal = NodeSignal, Error = NodeError>,
        Ctx::Sender: SubsystemSender<DocumentMessage>,
    {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut connection =
            Connection::open_with_flags(&self.database, flags).map_err(|source| {
                NodeError::Open {
                    path: self.database.display().to_string(),
                    source,
                }
            })?;
        let mut sender = ctx.sender().clone();
        loop {
            match ctx.recv().await? {
                FromOverseer::Signal(NodeSignal::Conclude) => return Ok(()),
                FromOverseer::Communication {
                    msg: BuildMessage::Changes(batch),
                } => {
                    for documents in self.build(&mut connection, &batch)? {
                        sender
                            .send_message(DocumentMessage::Documents(documents))
                            .await;
                    }
                }
            }
        }
    }

    /// One document batch per index; every affected document built once, from current rows,
    /// inside one read transaction so the batch sees one state of the database.
    fn build(
        &self,
        connection: &mut Connection,
        batch: &ChangeBatch,
    ) -> Result<Vec<DocumentBatch>, NodeError> {
        let open = |source| NodeError::Open {
            path: self.database.display().to_string(),
            source,
        };
        let mut transaction = connection.transaction().map_err(open)?;
        let mut built = Vec::with_capacity(self.mappings.len());
        for mapping in &self.mappings {
            let resolution = resolve(mapping, &batch.changes);
            for skipped in &resolution.skipped {
                tracing::warn!(index = mapping.index(), seq = skipped.seq, reason = %skipped.reason, "change skipped");
            }
            let builder = DocumentBuilder::new(mapping, Dialect::Sqlite);
            let keys = builder.keys_for(&mut transaction, &resolution)?;
            let outcomes = builder.build(&mut transaction, &keys)?;
            built.push(DocumentBatch {
                seq: batch.seq,
                index: mapping.index().to_owned(),
                clear_index: resolution.clear_index,
                outcomes,
                of_indexes: self.mappings.len(),
            });
        }
        transaction.finish().map_err(open)?;
        Ok(built)
    }
}
