//! Decoder for `pgoutput`, the logical replication output plugin of PostgreSQL.
//!
//! [`decode`] turns the payload of one XLogData (`w`) message of the replication stream into a
//! [`Message`], as laid out in "Logical Replication Message Formats" of the PostgreSQL protocol
//! documentation, protocol versions 1 to 4. All integers are big-endian; strings are
//! NUL-terminated.
//!
//! # Decisions
//!
//! - **Values stay bytes.** Text column values are in the replication connection's
//!   `client_encoding` and are kept as [`Column::Text`] bytes: decoding never fails because of
//!   a value, and whoever knows the encoding converts ([`Column::as_text`] for UTF-8).
//! - **Names are UTF-8.** Namespace, relation, column and type names, the origin name, the
//!   logical message prefix and two-phase GIDs are decoded into [`String`]s; bytes that are not
//!   UTF-8 are a [`DecodeError::InvalidUtf8`] naming the field and its offset. Use
//!   `client_encoding=UTF8` on the replication connection.
//! - **Strict.** Every byte of the input must be accounted for ([`DecodeError::TrailingBytes`]),
//!   and flag bytes with bits PostgreSQL does not define are rejected
//!   ([`DecodeError::InvalidByte`]), including the "currently unused" flags of Commit and the
//!   two-phase messages, which PostgreSQL's own subscriber rejects too.
//! - **Bounded allocation.** A declared length or count is checked against the bytes left
//!   before anything is allocated for it, so a corrupt count cannot exhaust memory.
//! - **Streaming (protocol 2+).** Inside a Stream Start .. Stream Stop block, data messages
//!   start with the xid of the streamed transaction. Nothing in the bytes says so: the caller
//!   tracks whether it is inside a block and uses [`decode_with`] and [`Options::in_stream`].
//!   [`decode`] is for messages outside such blocks.
//!
//! Offsets in errors count from the first byte of the payload (the message tag is byte 0).

use std::fmt;

/// How to decode: what the bytes alone do not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The message arrived between a Stream Start and a Stream Stop message, so a data message
    /// (Relation, Type, Insert, Update, Delete, Truncate, logical decoding message) starts with
    /// the xid of the streamed transaction.
    pub in_stream: bool,
}

/// A message decoded by [`decode_with`]: the message and, for a data message inside a stream
/// block, the xid of the streamed transaction it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The message.
    pub message: Message,
    /// The xid of the streamed transaction: present exactly when [`Options::in_stream`] was set
    /// and the message is a data message.
    pub stream_xid: Option<u32>,
}

/// One pgoutput message.
///
/// LSNs are `u64`; timestamps are `i64` microseconds since the PostgreSQL epoch,
/// 2000-01-01 00:00:00 UTC; xids and OIDs are `u32`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A transaction starts ('B').
    Begin(Begin),
    /// A transaction commits ('C').
    Commit(Commit),
    /// The transaction came from another replication origin ('O').
    Origin {
        /// The commit LSN of the transaction on the origin server.
        commit_lsn: u64,
        /// The origin's name.
        name: String,
    },
    /// The layout of a relation, sent before its first row change and after it changes ('R').
    Relation(Relation),
    /// A data type used by a relation that follows ('Y').
    Type {
        /// The type's OID.
        id: u32,
        /// The type's namespace; empty for `pg_catalog`.
        namespace: String,
        /// The type's name.
        name: String,
    },
    /// A row was inserted ('I').
    Insert {
        /// The relation's OID, as in its [`Relation`] message.
        relation: u32,
        /// The new row.
        new: Tuple,
    },
    /// A row was updated ('U').
    Update {
        /// The relation's OID, as in its [`Relation`] message.
        relation: u32,
        /// The old key or row: sent when the replica identity is `FULL`, or when a key column
        /// changed.
        old: Option<OldTuple>,
        /// The new row.
        new: Tuple,
    },
    /// A row was deleted ('D').
    Delete {
        /// The relation's OID, as in its [`Relation`] message.
        relation: u32,
        /// The deleted row's key, or the whole row under replica identity `FULL`.
        old: OldTuple,
    },
    /// Relations were truncated ('T').
    Truncate {
        /// The OIDs of the truncated relations.
        relations: Vec<u32>,
        /// `TRUNCATE .. CASCADE`.
        cascade: bool,
        /// `TRUNCATE .. RESTART IDENTITY`.
        restart_identity: bool,
    },
    /// A logical decoding message, as emitted by `pg_logical_emit_message` ('M').
    Logical {
        /// Whether the message was emitted as part of a transaction.
        transactional: bool,
        /// The LSN of the message.
        lsn: u64,
        /// The message's prefix.
        prefix: String,
        /// The message's content.
        content: Vec<u8>,
    },
    /// A block of a streamed, still running transaction starts ('S', protocol 2+).
    StreamStart {
        /// The streamed transaction.
        xid: u32,
        /// Whether this is the transaction's first block.
        first_segment: bool,
    },
    /// A block of a streamed transaction ends ('E', protocol 2+).
    StreamStop,
    /// A streamed transaction commits ('c', protocol 2+).
    StreamCommit {
        /// The streamed transaction.
        xid: u32,
        /// Where and when it committed.
        commit: Commit,
    },
    /// A streamed transaction or one of its subtransactions aborts ('A', protocol 2+).
    StreamAbort {
        /// The streamed transaction.
        xid: u32,
        /// The aborted subtransaction; equal to `xid` when the whole transaction aborts.
        subtransaction_xid: u32,
        /// Where and when it aborted: sent only with `streaming = parallel` (protocol 4).
        abort: Option<Abort>,
    },
    /// A prepared transaction's changes follow ('b', protocol 3+, two-phase).
    BeginPrepare(Prepare),
    /// A transaction was prepared ('P', protocol 3+, two-phase).
    Prepare(Prepare),
    /// A prepared transaction was committed ('K', protocol 3+, two-phase).
    CommitPrepared(CommitPrepared),
    /// A prepared transaction was rolled back ('r', protocol 3+, two-phase).
    RollbackPrepared(RollbackPrepared),
    /// A streamed transaction was prepared ('p', protocol 3+, two-phase).
    StreamPrepare(Prepare),
}

/// The start of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begin {
    /// The LSN of the transaction's commit record.
    pub final_lsn: u64,
    /// When the transaction committed.
    pub commit_timestamp: i64,
    /// The transaction's xid.
    pub xid: u32,
}

/// The commit of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// The LSN of the commit record.
    pub commit_lsn: u64,
    /// The LSN just past the commit record: where to resume after this transaction.
    pub end_lsn: u64,
    /// When the transaction committed.
    pub commit_timestamp: i64,
}

/// Where and when a streamed transaction aborted (protocol 4, `streaming = parallel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abort {
    /// The LSN of the abort record.
    pub lsn: u64,
    /// When the transaction aborted.
    pub timestamp: i64,
}

/// A transaction prepared for two-phase commit: the body of Begin Prepare, Prepare and
/// Stream Prepare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepare {
    /// The LSN of the prepare record.
    pub prepare_lsn: u64,
    /// The LSN just past the prepared transaction.
    pub end_lsn: u64,
    /// When the transaction was prepared.
    pub prepare_timestamp: i64,
    /// The transaction's xid.
    pub xid: u32,
    /// The global transaction identifier given to `PREPARE TRANSACTION`.
    pub gid: String,
}

/// The commit of a prepared transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPrepared {
    /// The LSN of the commit record.
    pub commit_lsn: u64,
    /// The LSN just past the commit record.
    pub end_lsn: u64,
    /// When the transaction committed.
    pub commit_timestamp: i64,
    /// The transaction's xid.
    pub xid: u32,
    /// The global transaction identifier.
    pub gid: String,
}

/// The rollback of a prepared transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPrepared {
    /// The LSN just past the prepared transaction.
    pub prepare_end_lsn: u64,
    /// The LSN just past the rollback record.
    pub rollback_end_lsn: u64,
    /// When the transaction was prepared.
    pub prepare_timestamp: i64,
    /// When the transaction was rolled back.
    pub rollback_timestamp: i64,
    /// The transaction's xid.
    pub xid: u32,
    /// The global transaction identifier.
    pub gid: String,
}

/// The layout of a relation: the columns that row messages for it carry, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The relation's OID, which row messages refer to.
    pub id: u32,
    /// The relation's namespace (schema); empty for `pg_catalog`.
    pub namespace: String,
    /// The relation's name.
    pub name: String,
    /// Which old values updates and deletes carry.
    pub replica_identity: ReplicaIdentity,
    /// The published columns, in the order of tuple columns.
    pub columns: Vec<RelationColumn>,
}

/// One column of a [`Relation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Whether the column is part of the replica identity (the key old tuples carry).
    pub key: bool,
    /// The column's name.
    pub name: String,
    /// The OID of the column's type.
    pub type_id: u32,
    /// The column's type modifier (`atttypmod`), -1 when it has none.
    pub type_modifier: i32,
}

/// A relation's `REPLICA IDENTITY`: which old values updates and deletes carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaIdentity {
    /// The primary key ('d').
    Default,
    /// Nothing ('n').
    Nothing,
    /// The whole row ('f').
    Full,
    /// The columns of a chosen unique index ('i').
    Index,
}

impl ReplicaIdentity {
    /// The byte that stands for this setting on the wire (`pg_class.relreplident`).
    pub fn byte(self) -> u8 {
        match self {
            Self::Default => b'd',
            Self::Nothing => b'n',
            Self::Full => b'f',
            Self::Index => b'i',
        }
    }

    /// The setting a wire byte stands for, if any.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            b'd' => Some(Self::Default),
            b'n' => Some(Self::Nothing),
            b'f' => Some(Self::Full),
            b'i' => Some(Self::Index),
            _ => None,
        }
    }
}

/// The column values of one row, in the order of the [`Relation`]'s columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tuple(
    /// The column values.
    pub Vec<Column>,
);

/// One column value of a [`Tuple`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// SQL `NULL` ('n'); in an old key tuple, also every column outside the key.
    Null,
    /// A TOASTed value the change did not touch, so it is not sent ('u').
    UnchangedToast,
    /// The value in the type's text output format, in the connection's `client_encoding` ('t').
    Text(Vec<u8>),
    /// The value in the type's binary send format ('b', with the `binary` option).
    Binary(Vec<u8>),
}

impl Column {
    /// The value of a [`Column::Text`] as UTF-8: `Ok(None)` for every other kind of column.
    ///
    /// # Errors
    ///
    /// The text value is not valid UTF-8.
    pub fn as_text(&self) -> Result<Option<&str>, std::str::Utf8Error> {
        match self {
            Self::Text(bytes) => std::str::from_utf8(bytes).map(Some),
            Self::Null | Self::UnchangedToast | Self::Binary(_) => Ok(None),
        }
    }
}

/// The old values an Update or Delete carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldTuple {
    /// The replica identity key ('K'): key columns set, the others [`Column::Null`].
    Key(Tuple),
    /// The whole old row ('O'), under replica identity `FULL`.
    Full(Tuple),
}

impl OldTuple {
    /// The old values, whichever kind they are.
    pub fn tuple(&self) -> &Tuple {
        match self {
            Self::Key(tuple) | Self::Full(tuple) => tuple,
        }
    }
}

/// Which kind of message a [`Message`] is, named by its tag byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// 'B'
    Begin,
    /// 'C'
    Commit,
    /// 'O'
    Origin,
    /// 'R'
    Relation,
    /// 'Y'
    Type,
    /// 'I'
    Insert,
    /// 'U'
    Update,
    /// 'D'
    Delete,
    /// 'T'
    Truncate,
    /// 'M', a logical decoding message.
    Logical,
    /// 'S'
    StreamStart,
    /// 'E'
    StreamStop,
    /// 'c'
    StreamCommit,
    /// 'A'
    StreamAbort,
    /// 'b'
    BeginPrepare,
    /// 'P'
    Prepare,
    /// 'K'
    CommitPrepared,
    /// 'r'
    RollbackPrepared,
    /// 'p'
    StreamPrepare,
}

impl MessageKind {
    /// Every kind, in the order of [`Message`]'s variants.
    pub const ALL: [Self; 19] = [
        Self::Begin,
        Self::Commit,
        Self::Origin,
        Self::Relation,
        Self::Type,
        Self::Insert,
        Self::Update,
        Self::Delete,
        Self::Truncate,
        Self::Logical,
        Self::StreamStart,
        Self::StreamStop,
        Self::StreamCommit,
        Self::StreamAbort,
        Self::BeginPrepare,
        Self::Prepare,
        Self::CommitPrepared,
        Self::RollbackPrepared,
        Self::StreamPrepare,
    ];

    /// The tag byte that starts messages of this kind.
    pub fn tag(self) -> u8 {
        match self {
            Self::Begin => b'B',
            Self::Commit => b'C',
            Self::Origin => b'O',
            Self::Relation => b'R',
            Self::Type => b'Y',
            Self::Insert => b'I',
            Self::Update => b'U',
            Self::Delete => b'D',
            Self::Truncate => b'T',
            Self::Logical => b'M',
            Self::StreamStart => b'S',
            Self::StreamStop => b'E',
            Self::StreamCommit => b'c',
            Self::StreamAbort => b'A',
            Self::BeginPrepare => b'b',
            Self::Prepare => b'P',
            Self::CommitPrepared => b'K',
            Self::RollbackPrepared => b'r',
            Self::StreamPrepare => b'p',
        }
    }

    /// The kind a tag byte stands for, if any.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.tag() == tag)
    }

    /// Whether messages of this kind start with the streamed transaction's xid inside a stream
    /// block.
    pub fn carries_stream_xid(self) -> bool {
        matches!(
            self,
            Self::Relation
                | Self::Type
                | Self::Insert
                | Self::Update
                | Self::Delete
                | Self::Truncate
                | Self::Logical
        )
    }

    fn name(self) -> &'static str {
        match self {
            Self::Begin => "Begin",
            Self::Commit => "Commit",
            Self::Origin => "Origin",
            Self::Relation => "Relation",
            Self::Type => "Type",
            Self::Insert => "Insert",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Truncate => "Truncate",
            Self::Logical => "Logical Decoding",
            Self::StreamStart => "Stream Start",
            Self::StreamStop => "Stream Stop",
            Self::StreamCommit => "Stream Commit",
            Self::StreamAbort => "Stream Abort",
            Self::BeginPrepare => "Begin Prepare",
            Self::Prepare => "Prepare",
            Self::CommitPrepared => "Commit Prepared",
            Self::RollbackPrepared => "Rollback Prepared",
            Self::StreamPrepare => "Stream Prepare",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Message {
    /// Which kind of message this is.
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Begin(_) => MessageKind::Begin,
            Self::Commit(_) => MessageKind::Commit,
            Self::Origin { .. } => MessageKind::Origin,
            Self::Relation(_) => MessageKind::Relation,
            Self::Type { .. } => MessageKind::Type,
            Self::Insert { .. } => MessageKind::Insert,
            Self::Update { .. } => MessageKind::Update,
            Self::Delete { .. } => MessageKind::Delete,
            Self::Truncate { .. } => MessageKind::Truncate,
            Self::Logical { .. } => MessageKind::Logical,
            Self::StreamStart { .. } => MessageKind::StreamStart,
            Self::StreamStop => MessageKind::StreamStop,
            Self::StreamCommit { .. } => MessageKind::StreamCommit,
            Self::StreamAbort { .. } => MessageKind::StreamAbort,
            Self::BeginPrepare(_) => MessageKind::BeginPrepare,
            Self::Prepare(_) => MessageKind::Prepare,
            Self::CommitPrepared(_) => MessageKind::CommitPrepared,
            Self::RollbackPrepared(_) => MessageKind::RollbackPrepared,
            Self::StreamPrepare(_) => MessageKind::StreamPrepare,
        }
    }
}

/// Why bytes are not a pgoutput message, naming what was being read and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is empty: not even a message tag.
    #[error("empty pgoutput message: expected a message tag at byte 0")]
    Empty,
    /// The first byte is no pgoutput message tag.
    #[error("unknown pgoutput message tag {} at byte 0", describe_byte(*.tag))]
    UnknownTag {
        /// The byte found.
        tag: u8,
    },
    /// The input ends inside a fixed-size field.
    #[error(
        "truncated {message} message: expected {field} at byte {offset} \
         ({needed} bytes, {available} left)"
    )]
    Truncated {
        /// The message being read.
        message: MessageKind,
        /// The field being read.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// The field's size.
        needed: usize,
        /// The bytes left from `offset`.
        available: usize,
    },
    /// The input ends before the NUL that terminates a string.
    #[error(
        "truncated {message} message: expected NUL-terminated {field} at byte {offset}, \
         found {available} bytes without a NUL"
    )]
    UnterminatedString {
        /// The message being read.
        message: MessageKind,
        /// The string being read.
        field: &'static str,
        /// Where the string starts.
        offset: usize,
        /// The bytes left from `offset`.
        available: usize,
    },
    /// A string is not valid UTF-8.
    #[error("invalid UTF-8 in {field} of {message} message at byte {offset}")]
    InvalidUtf8 {
        /// The message being read.
        message: MessageKind,
        /// The string being read.
        field: &'static str,
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// A length or count is negative.
    #[error("negative {field} {value} in {message} message at byte {offset}")]
    NegativeLength {
        /// The message being read.
        message: MessageKind,
        /// The length or count being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
        /// Its value.
        value: i32,
    },
    /// A length or count claims more than the input holds.
    #[error(
        "{field} {claimed} at byte {offset} of {message} message needs at least {needed} bytes, \
         but only {available} are left"
    )]
    LengthBeyondInput {
        /// The message being read.
        message: MessageKind,
        /// The length or count being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
        /// Its value.
        claimed: usize,
        /// The fewest bytes that many bytes or elements take.
        needed: usize,
        /// The bytes left after it.
        available: usize,
    },
    /// A marker, enum or flags byte has a value PostgreSQL does not define.
    #[error("invalid {field} {} in {message} message at byte {offset}", describe_byte(*.value))]
    InvalidByte {
        /// The message being read.
        message: MessageKind,
        /// The field being read.
        field: &'static str,
        /// Where the byte is.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// Bytes are left after a complete message.
    #[error("{count} trailing bytes after {message} message, from byte {offset}")]
    TrailingBytes {
        /// The message read.
        message: MessageKind,
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// A tuple does not have as many columns as its relation ([`named`]).
    #[error("relation {relation} ({name}) has {expected} columns but the tuple has {actual}")]
    ColumnCountMismatch {
        /// The relation's OID.
        relation: u32,
        /// The relation's name.
        name: String,
        /// The relation's column count.
        expected: usize,
        /// The tuple's column count.
        actual: usize,
    },
}

/// Decodes one message sent outside a stream block (see [`decode_with`] for streaming).
///
/// # Errors
///
/// The bytes are not exactly one pgoutput message; the error names the field and offset.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    decode_with(bytes, Options::default()).map(|decoded| decoded.message)
}

/// Decodes one message, with the stream xid of data messages inside a stream block.
///
/// # Errors
///
/// The bytes are not exactly one pgoutput message; the error names the field and offset.
pub fn decode_with(bytes: &[u8], options: Options) -> Result<Decoded, DecodeError> {
    let (&tag, _) = bytes.split_first().ok_or(DecodeError::Empty)?;
    let kind = MessageKind::from_tag(tag).ok_or(DecodeError::UnknownTag { tag })?;
    let mut reader = Reader {
        bytes,
        offset: 1,
        message: kind,
    };
    let stream_xid = if options.in_stream && kind.carries_stream_xid() {
        Some(reader.u32("streamed transaction xid")?)
    } else {
        None
    };
    let message = read_body(&mut reader, kind)?;
    reader.finish()?;
    Ok(Decoded {
        message,
        stream_xid,
    })
}

/// Pairs a relation's column names with a tuple's values, in column order.
///
/// # Errors
///
/// [`DecodeError::ColumnCountMismatch`] when the tuple has more or fewer columns than the
/// relation (a tuple of another relation, or a relation message that is out of date).
pub fn named<'a>(
    relation: &'a Relation,
    tuple: &'a Tuple,
) -> Result<Vec<(&'a str, &'a Column)>, DecodeError> {
    if relation.columns.len() != tuple.0.len() {
        return Err(DecodeError::ColumnCountMismatch {
            relation: relation.id,
            name: relation.name.clone(),
            expected: relation.columns.len(),
            actual: tuple.0.len(),
        });
    }
    Ok(relation
        .columns
        .iter()
        .map(|column| column.name.as_str())
        .zip(&tuple.0)
        .collect())
}

/// Shows a byte as a character when it is printable ASCII, and in hex always.
fn describe_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}' ({byte:#04x})", char::from(byte))
    } else {
        format!("{byte:#04x}")
    }
}

/// The fewest bytes one relation column takes: flags, empty name, type OID, type modifier.
const MIN_RELATION_COLUMN_SIZE: usize = 1 + 1 + 4 + 4;
/// The fewest bytes one tuple column takes: its kind byte.
const MIN_TUPLE_COLUMN_SIZE: usize = 1;
/// The size of a relation OID.
const OID_SIZE: usize = 4;

/// A cursor over one message's bytes that names the message in its errors.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
    message: MessageKind,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.offset..).unwrap_or_default()
    }

    fn available(&self) -> usize {
        self.rest().len()
    }

    fn truncated(&self, field: &'static str, needed: usize) -> DecodeError {
        DecodeError::Truncated {
            message: self.message,
            field,
            offset: self.offset,
            needed,
            available: self.available(),
        }
    }

    fn invalid_byte(&self, field: &'static str, offset: usize, value: u8) -> DecodeError {
        DecodeError::InvalidByte {
            message: self.message,
            field,
            offset,
            value,
        }
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let (&chunk, _) = self
            .rest()
            .split_first_chunk::<N>()
            .ok_or_else(|| self.truncated(field, N))?;
        self.offset += N;
        Ok(chunk)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        self.array::<1>(field).map(|[byte]| byte)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        self.array(field).map(i16::from_be_bytes)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.array(field).map(i32::from_be_bytes)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.array(field).map(u32::from_be_bytes)
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        self.array(field).map(i64::from_be_bytes)
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.array(field).map(u64::from_be_bytes)
    }

    /// Reads a byte that must be 0 or 1.
    fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        let offset = self.offset;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.invalid_byte(field, offset, other)),
        }
    }

    /// Reads a flags byte that PostgreSQL defines no bits of yet.
    fn unused_flags(&mut self, field: &'static str) -> Result<(), DecodeError> {
        let offset = self.offset;
        match self.u8(field)? {
            0 => Ok(()),
            other => Err(self.invalid_byte(field, offset, other)),
        }
    }

    /// Reads a byte that must be `expected`.
    fn marker(&mut self, expected: u8, field: &'static str) -> Result<(), DecodeError> {
        let offset = self.offset;
        let found = self.u8(field)?;
        if found == expected {
            Ok(())
        } else {
            Err(self.invalid_byte(field, offset, found))
        }
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let start = self.offset;
        let rest = self.rest();
        let unterminated = || DecodeError::UnterminatedString {
            message: self.message,
            field,
            offset: start,
            available: rest.len(),
        };
        let nul = rest
            .iter()
            .position(|&byte| byte == 0)
            .ok_or_else(unterminated)?;
        let raw = rest.get(..nul).ok_or_else(unterminated)?;
        let text = std::str::from_utf8(raw).map_err(|error| DecodeError::InvalidUtf8 {
            message: self.message,
            field,
            offset: start + error.valid_up_to(),
        })?;
        self.offset = start + nul + 1;
        Ok(text.to_owned())
    }

    /// Checks that `count` elements of at least `element_size` bytes fit in what is left.
    fn checked_count(
        &self,
        field: &'static str,
        offset: usize,
        raw: i32,
        element_size: usize,
    ) -> Result<usize, DecodeError> {
        let count = usize::try_from(raw).map_err(|_| DecodeError::NegativeLength {
            message: self.message,
            field,
            offset,
            value: raw,
        })?;
        let needed = count.saturating_mul(element_size);
        if needed > self.available() {
            return Err(DecodeError::LengthBeyondInput {
                message: self.message,
                field,
                offset,
                claimed: count,
                needed,
                available: self.available(),
            });
        }
        Ok(count)
    }

    /// Reads an Int16 count of elements of at least `element_size` bytes each.
    fn count16(&mut self, field: &'static str, element_size: usize) -> Result<usize, DecodeError> {
        let offset = self.offset;
        let raw = self.i16(field)?;
        self.checked_count(field, offset, i32::from(raw), element_size)
    }

    /// Reads an Int32 count of elements of at least `element_size` bytes each.
    fn count32(&mut self, field: &'static str, element_size: usize) -> Result<usize, DecodeError> {
        let offset = self.offset;
        let raw = self.i32(field)?;
        self.checked_count(field, offset, raw, element_size)
    }

    /// Reads an Int32 length and that many bytes.
    fn counted_bytes(
        &mut self,
        length_field: &'static str,
        bytes_field: &'static str,
    ) -> Result<Vec<u8>, DecodeError> {
        let length = self.count32(length_field, 1)?;
        let end = self.offset.saturating_add(length);
        let bytes = self
            .bytes
            .get(self.offset..end)
            .ok_or_else(|| self.truncated(bytes_field, length))?;
        self.offset = end;
        Ok(bytes.to_vec())
    }

    fn finish(&self) -> Result<(), DecodeError> {
        match self.available() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes {
                message: self.message,
                offset: self.offset,
                count,
            }),
        }
    }
}

fn read_body(reader: &mut Reader<'_>, kind: MessageKind) -> Result<Message, DecodeError> {
    match kind {
        MessageKind::Begin => read_begin(reader).map(Message::Begin),
        MessageKind::Commit => read_commit(reader).map(Message::Commit),
        MessageKind::Origin => read_origin(reader),
        MessageKind::Relation => read_relation(reader).map(Message::Relation),
        MessageKind::Type => read_type(reader),
        MessageKind::Insert => read_insert(reader),
        MessageKind::Update => read_update(reader),
        MessageKind::Delete => read_delete(reader),
        MessageKind::Truncate => read_truncate(reader),
        MessageKind::Logical => read_logical(reader),
        MessageKind::StreamStart => read_stream_start(reader),
        MessageKind::StreamStop => Ok(Message::StreamStop),
        MessageKind::StreamCommit => read_stream_commit(reader),
        MessageKind::StreamAbort => read_stream_abort(reader),
        MessageKind::BeginPrepare => read_prepare_fields(reader).map(Message::BeginPrepare),
        MessageKind::Prepare => read_prepare(reader).map(Message::Prepare),
        MessageKind::CommitPrepared => read_commit_prepared(reader).map(Message::CommitPrepared),
        MessageKind::RollbackPrepared => {
            read_rollback_prepared(reader).map(Message::RollbackPrepared)
        }
        MessageKind::StreamPrepare => read_prepare(reader).map(Message::StreamPrepare),
    }
}

fn read_begin(reader: &mut Reader<'_>) -> Result<Begin, DecodeError> {
    Ok(Begin {
        final_lsn: reader.u64("final LSN")?,
        commit_timestamp: reader.i64("commit timestamp")?,
        xid: reader.u32("xid")?,
    })
}

fn read_commit(reader: &mut Reader<'_>) -> Result<Commit, DecodeError> {
    reader.unused_flags("commit flags")?;
    Ok(Commit {
        commit_lsn: reader.u64("commit LSN")?,
        end_lsn: reader.u64("end LSN")?,
        commit_timestamp: reader.i64("commit timestamp")?,
    })
}

fn read_origin(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    Ok(Message::Origin {
        commit_lsn: reader.u64("origin commit LSN")?,
        name: reader.string("origin name")?,
    })
}

fn read_relation(reader: &mut Reader<'_>) -> Result<Relation, DecodeError> {
    let id = reader.u32("relation OID")?;
    let namespace = reader.string("namespace")?;
    let name = reader.string("relation name")?;
    let replica_identity = read_replica_identity(reader)?;
    let count = reader.count16("column count", MIN_RELATION_COLUMN_SIZE)?;
    let mut columns = Vec::with_capacity(count);
    for _ in 0..count {
        columns.push(read_relation_column(reader)?);
    }
    Ok(Relation {
        id,
        namespace,
        name,
        replica_identity,
        columns,
    })
}

fn read_replica_identity(reader: &mut Reader<'_>) -> Result<ReplicaIdentity, DecodeError> {
    const FIELD: &str = "replica identity";
    let offset = reader.offset;
    let byte = reader.u8(FIELD)?;
    ReplicaIdentity::from_byte(byte).ok_or_else(|| reader.invalid_byte(FIELD, offset, byte))
}

fn read_relation_column(reader: &mut Reader<'_>) -> Result<RelationColumn, DecodeError> {
    Ok(RelationColumn {
        key: reader.bool("column flags")?,
        name: reader.string("column name")?,
        type_id: reader.u32("column type OID")?,
        type_modifier: reader.i32("column type modifier")?,
    })
}

fn read_type(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    Ok(Message::Type {
        id: reader.u32("type OID")?,
        namespace: reader.string("type namespace")?,
        name: reader.string("type name")?,
    })
}

fn read_insert(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    let relation = reader.u32("relation OID")?;
    reader.marker(b'N', "new tuple marker")?;
    let new = read_tuple(reader)?;
    Ok(Message::Insert { relation, new })
}

fn read_update(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    const FIELD: &str = "tuple marker ('K', 'O' or 'N')";
    let relation = reader.u32("relation OID")?;
    let offset = reader.offset;
    let old = match reader.u8(FIELD)? {
        b'N' => None,
        b'K' => Some(OldTuple::Key(read_tuple(reader)?)),
        b'O' => Some(OldTuple::Full(read_tuple(reader)?)),
        other => return Err(reader.invalid_byte(FIELD, offset, other)),
    };
    if old.is_some() {
        reader.marker(b'N', "new tuple marker")?;
    }
    let new = read_tuple(reader)?;
    Ok(Message::Update { relation, old, new })
}

fn read_delete(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    const FIELD: &str = "old tuple marker ('K' or 'O')";
    let relation = reader.u32("relation OID")?;
    let offset = reader.offset;
    let old = match reader.u8(FIELD)? {
        b'K' => OldTuple::Key(read_tuple(reader)?),
        b'O' => OldTuple::Full(read_tuple(reader)?),
        other => return Err(reader.invalid_byte(FIELD, offset, other)),
    };
    Ok(Message::Delete { relation, old })
}

fn read_tuple(reader: &mut Reader<'_>) -> Result<Tuple, DecodeError> {
    let count = reader.count16("tuple column count", MIN_TUPLE_COLUMN_SIZE)?;
    let mut columns = Vec::with_capacity(count);
    for _ in 0..count {
        columns.push(read_column(reader)?);
    }
    Ok(Tuple(columns))
}

fn read_column(reader: &mut Reader<'_>) -> Result<Column, DecodeError> {
    const FIELD: &str = "tuple column kind";
    let offset = reader.offset;
    match reader.u8(FIELD)? {
        b'n' => Ok(Column::Null),
        b'u' => Ok(Column::UnchangedToast),
        b't' => reader
            .counted_bytes("text value length", "text value")
            .map(Column::Text),
        b'b' => reader
            .counted_bytes("binary value length", "binary value")
            .map(Column::Binary),
        other => Err(reader.invalid_byte(FIELD, offset, other)),
    }
}

/// Truncate option bits.
const TRUNCATE_CASCADE: u8 = 1;
const TRUNCATE_RESTART_IDENTITY: u8 = 2;

fn read_truncate(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    const OPTIONS: &str = "truncate options";
    let count = reader.count32("relation count", OID_SIZE)?;
    let options_offset = reader.offset;
    let options = reader.u8(OPTIONS)?;
    if options & !(TRUNCATE_CASCADE | TRUNCATE_RESTART_IDENTITY) != 0 {
        return Err(reader.invalid_byte(OPTIONS, options_offset, options));
    }
    let mut relations = Vec::with_capacity(count);
    for _ in 0..count {
        relations.push(reader.u32("truncated relation OID")?);
    }
    Ok(Message::Truncate {
        relations,
        cascade: options & TRUNCATE_CASCADE != 0,
        restart_identity: options & TRUNCATE_RESTART_IDENTITY != 0,
    })
}

fn read_logical(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    Ok(Message::Logical {
        transactional: reader.bool("message flags")?,
        lsn: reader.u64("message LSN")?,
        prefix: reader.string("message prefix")?,
        content: reader.counted_bytes("message content length", "message content")?,
    })
}

fn read_stream_start(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    Ok(Message::StreamStart {
        xid: reader.u32("streamed transaction xid")?,
        first_segment: reader.bool("first segment flag")?,
    })
}

fn read_stream_commit(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    Ok(Message::StreamCommit {
        xid: reader.u32("streamed transaction xid")?,
        commit: read_commit(reader)?,
    })
}

/// Reads a Stream Abort; the abort LSN and timestamp follow only with `streaming = parallel`,
/// which the message's length tells.
fn read_stream_abort(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
    let xid = reader.u32("streamed transaction xid")?;
    let subtransaction_xid = reader.u32("subtransaction xid")?;
    let abort = if reader.available() == 0 {
        None
    } else {
        Some(Abort {
            lsn: reader.u64("abort LSN")?,
            timestamp: reader.i64("abort timestamp")?,
        })
    };
    Ok(Message::StreamAbort {
        xid,
        subtransaction_xid,
        abort,
    })
}

/// Reads a Prepare or Stream Prepare: unused flags, then the Begin Prepare fields.
fn read_prepare(reader: &mut Reader<'_>) -> Result<Prepare, DecodeError> {
    reader.unused_flags("prepare flags")?;
    read_prepare_fields(reader)
}

fn read_prepare_fields(reader: &mut Reader<'_>) -> Result<Prepare, DecodeError> {
    Ok(Prepare {
        prepare_lsn: reader.u64("prepare LSN")?,
        end_lsn: reader.u64("end LSN")?,
        prepare_timestamp: reader.i64("prepare timestamp")?,
        xid: reader.u32("xid")?,
        gid: reader.string("GID")?,
    })
}

fn read_commit_prepared(reader: &mut Reader<'_>) -> Result<CommitPrepared, DecodeError> {
    reader.unused_flags("commit flags")?;
    Ok(CommitPrepared {
        commit_lsn: reader.u64("commit LSN")?,
        end_lsn: reader.u64("end LSN")?,
        commit_timestamp: reader.i64("commit timestamp")?,
        xid: reader.u32("xid")?,
        gid: reader.string("GID")?,
    })
}

fn read_rollback_prepared(reader: &mut Reader<'_>) -> Result<RollbackPrepared, DecodeError> {
    reader.unused_flags("rollback flags")?;
    Ok(RollbackPrepared {
        prepare_end_lsn: reader.u64("prepare end LSN")?,
        rollback_end_lsn: reader.u64("rollback end LSN")?,
        prepare_timestamp: reader.i64("prepare timestamp")?,
        rollback_timestamp: reader.i64("rollback timestamp")?,
        xid: reader.u32("xid")?,
        gid: reader.string("GID")?,
    })
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::{select, Index};

    use super::*;

    // ---- encoder: builds the bytes PostgreSQL would send -------------------------------------

    fn encode(message: &Message) -> Vec<u8> {
        encode_streamed(message, None)
    }

    /// Encodes a message; `stream_xid` is written for data messages, as inside a stream block.
    fn encode_streamed(message: &Message, stream_xid: Option<u32>) -> Vec<u8> {
        let mut out = vec![message.kind().tag()];
        if let Some(xid) = stream_xid.filter(|_| message.kind().carries_stream_xid()) {
            put_u32(&mut out, xid);
        }
        put_body(&mut out, message);
        out
    }

    fn put_u32(out: &mut Vec<u8>, value: u32) {
        out.extend_from_slice(&value.to_be_bytes());
    }

    fn put_i32(out: &mut Vec<u8>, value: i32) {
        out.extend_from_slice(&value.to_be_bytes());
    }

    fn put_u64(out: &mut Vec<u8>, value: u64) {
        out.extend_from_slice(&value.to_be_bytes());
    }

    fn put_i64(out: &mut Vec<u8>, value: i64) {
        out.extend_from_slice(&value.to_be_bytes());
    }

    fn put_count16(out: &mut Vec<u8>, count: usize) {
        out.extend_from_slice(&(count as i16).to_be_bytes());
    }

    fn put_count32(out: &mut Vec<u8>, count: usize) {
        put_i32(out, count as i32);
    }

    fn put_string(out: &mut Vec<u8>, value: &str) {
        out.extend_from_slice(value.as_bytes());
        out.push(0);
    }

    fn put_counted(out: &mut Vec<u8>, bytes: &[u8]) {
        put_count32(out, bytes.len());
        out.extend_from_slice(bytes);
    }

    fn put_tuple(out: &mut Vec<u8>, tuple: &Tuple) {
        put_count16(out, tuple.0.len());
        for column in &tuple.0 {
            match column {
                Column::Null => out.push(b'n'),
                Column::UnchangedToast => out.push(b'u'),
                Column::Text(bytes) => {
                    out.push(b't');
                    put_counted(out, bytes);
                }
                Column::Binary(bytes) => {
                    out.push(b'b');
                    put_counted(out, bytes);
                }
            }
        }
    }

    fn put_old_tuple(out: &mut Vec<u8>, old: &OldTuple) {
        out.push(match old {
            OldTuple::Key(_) => b'K',
            OldTuple::Full(_) => b'O',
        });
        put_tuple(out, old.tuple());
    }

    fn put_commit(out: &mut Vec<u8>, commit: &Commit) {
        out.push(0);
        put_u64(out, commit.commit_lsn);
        put_u64(out, commit.end_lsn);
        put_i64(out, commit.commit_timestamp);
    }

    fn put_prepare_fields(out: &mut Vec<u8>, prepare: &Prepare) {
        put_u64(out, prepare.prepare_lsn);
        put_u64(out, prepare.end_lsn);
        put_i64(out, prepare.prepare_timestamp);
        put_u32(out, prepare.xid);
        put_string(out, &prepare.gid);
    }

    fn put_relation(out: &mut Vec<u8>, relation: &Relation) {
        put_u32(out, relation.id);
        put_string(out, &relation.namespace);
        put_string(out, &relation.name);
        out.push(relation.replica_identity.byte());
        put_count16(out, relation.columns.len());
        for column in &relation.columns {
            out.push(u8::from(column.key));
            put_string(out, &column.name);
            put_u32(out, column.type_id);
            put_i32(out, column.type_modifier);
        }
    }

    fn put_body(out: &mut Vec<u8>, message: &Message) {
        match message {
            Message::Begin(begin) => {
                put_u64(out, begin.final_lsn);
                put_i64(out, begin.commit_timestamp);
                put_u32(out, begin.xid);
            }
            Message::Commit(commit) => put_commit(out, commit),
            Message::Origin { commit_lsn, name } => {
                put_u64(out, *commit_lsn);
                put_string(out, name);
            }
            Message::Relation(relation) => put_relation(out, relation),
            Message::Type {
                id,
                namespace,
                name,
            } => {
                put_u32(out, *id);
                put_string(out, namespace);
                put_string(out, name);
            }
            Message::Insert { relation, new } => {
                put_u32(out, *relation);
                out.push(b'N');
                put_tuple(out, new);
            }
            Message::Update { relation, old, new } => {
                put_u32(out, *relation);
                if let Some(old) = old {
                    put_old_tuple(out, old);
                }
                out.push(b'N');
                put_tuple(out, new);
            }
            Message::Delete { relation, old } => {
                put_u32(out, *relation);
                put_old_tuple(out, old);
            }
            Message::Truncate {
                relations,
                cascade,
                restart_identity,
            } => {
                put_count32(out, relations.len());
                out.push(u8::from(*cascade) | u8::from(*restart_identity) << 1);
                for relation in relations {
                    put_u32(out, *relation);
                }
            }
            Message::Logical {
                transactional,
                lsn,
                prefix,
                content,
            } => {
                out.push(u8::from(*transactional));
                put_u64(out, *lsn);
                put_string(out, prefix);
                put_counted(out, content);
            }
            Message::StreamStart { xid, first_segment } => {
                put_u32(out, *xid);
                out.push(u8::from(*first_segment));
            }
            Message::StreamStop => {}
            Message::StreamCommit { xid, commit } => {
                put_u32(out, *xid);
                put_commit(out, commit);
            }
            Message::StreamAbort {
                xid,
                subtransaction_xid,
                abort,
            } => {
                put_u32(out, *xid);
                put_u32(out, *subtransaction_xid);
                if let Some(abort) = abort {
                    put_u64(out, abort.lsn);
                    put_i64(out, abort.timestamp);
                }
            }
            Message::BeginPrepare(prepare) => put_prepare_fields(out, prepare),
            Message::Prepare(prepare) | Message::StreamPrepare(prepare) => {
                out.push(0);
                put_prepare_fields(out, prepare);
            }
            Message::CommitPrepared(commit) => {
                out.push(0);
                put_u64(out, commit.commit_lsn);
                put_u64(out, commit.end_lsn);
                put_i64(out, commit.commit_timestamp);
                put_u32(out, commit.xid);
                put_string(out, &commit.gid);
            }
            Message::RollbackPrepared(rollback) => {
                out.push(0);
                put_u64(out, rollback.prepare_end_lsn);
                put_u64(out, rollback.rollback_end_lsn);
                put_i64(out, rollback.prepare_timestamp);
                put_i64(out, rollback.rollback_timestamp);
                put_u32(out, rollback.xid);
                put_string(out, &rollback.gid);
            }
        }
    }

    // ---- hand-written fixtures -----------------------------------------------------------------

    const USERS: u32 = 0x4001; // 16385

    fn text(value: &str) -> Column {
        Column::Text(value.as_bytes().to_vec())
    }

    fn users_relation() -> Relation {
        Relation {
            id: USERS,
            namespace: "public".into(),
            name: "users".into(),
            replica_identity: ReplicaIdentity::Default,
            columns: vec![
                RelationColumn {
                    key: true,
                    name: "id".into(),
                    type_id: 23,
                    type_modifier: -1,
                },
                RelationColumn {
                    key: false,
                    name: "name".into(),
                    type_id: 25,
                    type_modifier: -1,
                },
            ],
        }
    }

    #[rustfmt::skip]
    const BEGIN: &[u8] = &[
        b'B',
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA8, // bytes 1..9: final LSN 1/A8
        0x00, 0x02, 0x8F, 0x5A, 0x1C, 0x3B, 0x4D, 0x60, // bytes 9..17: commit timestamp
        0x00, 0x00, 0x02, 0xE6,                         // bytes 17..21: xid 742
    ];

    #[rustfmt::skip]
    const RELATION: &[u8] = &[
        b'R',
        0x00, 0x00, 0x40, 0x01,                 // bytes 1..5: relation OID 16385
        b'p', b'u', b'b', b'l', b'i', b'c', 0,  // bytes 5..12: namespace
        b'u', b's', b'e', b'r', b's', 0,        // bytes 12..18: relation name
        b'd',                                   // byte 18: replica identity default
        0x00, 0x02,                             // bytes 19..21: 2 columns
        0x01, b'i', b'd', 0,                    // bytes 21..25: key column "id"
        0x00, 0x00, 0x00, 0x17,                 // bytes 25..29: int4
        0xFF, 0xFF, 0xFF, 0xFF,                 // bytes 29..33: no type modifier
        0x00, b'n', b'a', b'm', b'e', 0,        // bytes 33..39: column "name"
        0x00, 0x00, 0x00, 0x19,                 // bytes 39..43: text
        0xFF, 0xFF, 0xFF, 0xFF,                 // bytes 43..47: no type modifier
    ];

    #[rustfmt::skip]
    const INSERT: &[u8] = &[
        b'I',
        0x00, 0x00, 0x40, 0x01,                    // bytes 1..5: relation OID
        b'N',                                      // byte 5: new tuple
        0x00, 0x04,                                // bytes 6..8: 4 columns
        b't', 0x00, 0x00, 0x00, 0x01, b'7',        // bytes 8..14: text "7"
        b'n',                                      // byte 14: null
        b'u',                                      // byte 15: unchanged TOAST
        b'b', 0x00, 0x00, 0x00, 0x02, 0xDE, 0xAD,  // bytes 16..23: binary DE AD
    ];

    #[rustfmt::skip]
    const UPDATE_WITH_OLD_KEY: &[u8] = &[
        b'U',
        0x00, 0x00, 0x40, 0x01,                         // bytes 1..5: relation OID
        b'K',                                           // byte 5: old key
        0x00, 0x02,                                     // bytes 6..8: 2 columns
        b't', 0x00, 0x00, 0x00, 0x01, b'7',             // bytes 8..14: id "7"
        b'n',                                           // byte 14: name, outside the key
        b'N',                                           // byte 15: new tuple
        0x00, 0x02,                                     // bytes 16..18: 2 columns
        b't', 0x00, 0x00, 0x00, 0x01, b'8',             // bytes 18..24: id "8"
        b't', 0x00, 0x00, 0x00, 0x03, b'b', b'o', b'b', // bytes 24..32: name "bob"
    ];

    #[rustfmt::skip]
    const DELETE: &[u8] = &[
        b'D',
        0x00, 0x00, 0x40, 0x01,              // bytes 1..5: relation OID
        b'K',                                // byte 5: old key
        0x00, 0x02,                          // bytes 6..8: 2 columns
        b't', 0x00, 0x00, 0x00, 0x01, b'7',  // bytes 8..14: id "7"
        b'n',                                // byte 14: name, outside the key
    ];

    #[rustfmt::skip]
    const TRUNCATE: &[u8] = &[
        b'T',
        0x00, 0x00, 0x00, 0x02,  // bytes 1..5: 2 relations
        0x03,                    // byte 5: cascade | restart identity
        0x00, 0x00, 0x40, 0x01,  // bytes 6..10: OID 16385
        0x00, 0x00, 0x40, 0x02,  // bytes 10..14: OID 16386
    ];

    #[test]
    fn begin_fixture() -> Result<(), DecodeError> {
        let Message::Begin(begin) = decode(BEGIN)? else {
            panic!("not a Begin");
        };
        assert_eq!(begin.final_lsn, 0x1_0000_00A8);
        assert_eq!(begin.commit_timestamp, 0x0002_8F5A_1C3B_4D60);
        assert_eq!(begin.xid, 742);
        assert_eq!(encode(&Message::Begin(begin)), BEGIN);
        Ok(())
    }

    #[test]
    fn relation_fixture() -> Result<(), DecodeError> {
        let Message::Relation(relation) = decode(RELATION)? else {
            panic!("not a Relation");
        };
        assert_eq!(relation.id, 16385);
        assert_eq!(relation.namespace, "public");
        assert_eq!(relation.name, "users");
        assert_eq!(relation.replica_identity, ReplicaIdentity::Default);
        assert_eq!(relation.columns.len(), 2);
        assert_eq!(
            relation.columns.first().map(|c| (c.key, c.name.as_str())),
            Some((true, "id"))
        );
        assert_eq!(
            relation
                .columns
                .first()
                .map(|c| (c.type_id, c.type_modifier)),
            Some((23, -1))
        );
        assert_eq!(
            relation.columns.get(1).map(|c| (c.key, c.name.as_str())),
            Some((false, "name"))
        );
        assert_eq!(
            relation
                .columns
                .get(1)
                .map(|c| (c.type_id, c.type_modifier)),
            Some((25, -1))
        );
        assert_eq!(relation, users_relation());
        assert_eq!(encode(&Message::Relation(relation)), RELATION);
        Ok(())
    }

    #[test]
    fn insert_fixture() -> Result<(), DecodeError> {
        let message = decode(INSERT)?;
        let Message::Insert { relation, new } = &message else {
            panic!("not an Insert: {message:?}");
        };
        assert_eq!(*relation, USERS);
        assert_eq!(
            new.0,
            [
                text("7"),
                Column::Null,
                Column::UnchangedToast,
                Column::Binary(vec![0xDE, 0xAD])
            ]
        );
        assert_eq!(encode(&message), INSERT);
        Ok(())
    }

    #[test]
    fn update_with_old_key_fixture() -> Result<(), DecodeError> {
        let message = decode(UPDATE_WITH_OLD_KEY)?;
        let Message::Update { relation, old, new } = &message else {
            panic!("not an Update: {message:?}");
        };
        assert_eq!(*relation, USERS);
        assert_eq!(
            *old,
            Some(OldTuple::Key(Tuple(vec![text("7"), Column::Null])))
        );
        assert_eq!(new.0, [text("8"), text("bob")]);
        assert_eq!(encode(&message), UPDATE_WITH_OLD_KEY);
        Ok(())
    }

    #[test]
    fn delete_fixture() -> Result<(), DecodeError> {
        let message = decode(DELETE)?;
        let Message::Delete { relation, old } = &message else {
            panic!("not a Delete: {message:?}");
        };
        assert_eq!(*relation, USERS);
        assert_eq!(*old, OldTuple::Key(Tuple(vec![text("7"), Column::Null])));
        assert_eq!(encode(&message), DELETE);
        Ok(())
    }

    #[test]
    fn truncate_fixture() -> Result<(), DecodeError> {
        let message = decode(TRUNCATE)?;
        let Message::Truncate {
            relations,
            cascade,
            restart_identity,
        } = &message
        else {
            panic!("not a Truncate: {message:?}");
        };
        assert_eq!(*relations, [0x4001, 0x4002]);
        assert!(*cascade);
        assert!(*restart_identity);
        assert_eq!(encode(&message), TRUNCATE);
        Ok(())
    }

    /// One example of every kind of message, for round trips and prefix checks.
    fn one_of_each() -> Vec<Message> {
        let commit = Commit {
            commit_lsn: 0x16B_3748,
            end_lsn: 0x16B_3778,
            commit_timestamp: 798_000_000_000_000,
        };
        let prepare = Prepare {
            prepare_lsn: 10,
            end_lsn: 20,
            prepare_timestamp: 30,
            xid: 40,
            gid: "tx-1".into(),
        };
        vec![
            Message::Begin(Begin {
                final_lsn: 0x16B_3748,
                commit_timestamp: -1,
                xid: u32::MAX,
            }),
            Message::Commit(commit),
            Message::Origin {
                commit_lsn: 7,
                name: "pg_16395".into(),
            },
            Message::Relation(users_relation()),
            Message::Type {
                id: 16400,
                namespace: "public".into(),
                name: "mood".into(),
            },
            Message::Insert {
                relation: USERS,
                new: Tuple(vec![text("1"), text("ann")]),
            },
            Message::Update {
                relation: USERS,
                old: None,
                new: Tuple(vec![text("1"), Column::UnchangedToast]),
            },
            Message::Update {
                relation: USERS,
                old: Some(OldTuple::Full(Tuple(vec![text("1"), text("ann")]))),
                new: Tuple(vec![text("1"), text("bea")]),
            },
            Message::Delete {
                relation: USERS,
                old: OldTuple::Full(Tuple(vec![text("1"), Column::Binary(vec![0, 0xFF])])),
            },
            Message::Truncate {
                relations: vec![USERS],
                cascade: false,
                restart_identity: true,
            },
            Message::Logical {
                transactional: true,
                lsn: 99,
                prefix: "overseer".into(),
                content: vec![0, 1, 2, 0xFF],
            },
            Message::StreamStart {
                xid: 5,
                first_segment: true,
            },
            Message::StreamStop,
            Message::StreamCommit { xid: 5, commit },
            Message::StreamAbort {
                xid: 5,
                subtransaction_xid: 6,
                abort: None,
            },
            Message::StreamAbort {
                xid: 5,
                subtransaction_xid: 5,
                abort: Some(Abort {
                    lsn: 1234,
                    timestamp: 5678,
                }),
            },
            Message::BeginPrepare(prepare.clone()),
            Message::Prepare(prepare.clone()),
            Message::CommitPrepared(CommitPrepared {
                commit_lsn: 1,
                end_lsn: 2,
                commit_timestamp: 3,
                xid: 4,
                gid: "tx-1".into(),
            }),
            Message::RollbackPrepared(RollbackPrepared {
                prepare_end_lsn: 1,
                rollback_end_lsn: 2,
                prepare_timestamp: 3,
                rollback_timestamp: 4,
                xid: 5,
                gid: "tx-2".into(),
            }),
            Message::StreamPrepare(prepare),
        ]
    }

    #[test]
    fn every_kind_round_trips() -> Result<(), DecodeError> {
        let messages = one_of_each();
        for kind in MessageKind::ALL {
            assert!(
                messages.iter().any(|message| message.kind() == kind),
                "{kind} missing"
            );
        }
        for message in messages {
            assert_eq!(decode(&encode(&message))?, message);
        }
        Ok(())
    }

    #[test]
    fn every_kind_round_trips_inside_a_stream() -> Result<(), DecodeError> {
        for message in one_of_each() {
            let kind = message.kind();
            let decoded = decode_with(
                &encode_streamed(&message, Some(77)),
                Options { in_stream: true },
            )?;
            let expected_xid = kind.carries_stream_xid().then_some(77);
            assert_eq!(
                decoded,
                Decoded {
                    message,
                    stream_xid: expected_xid
                },
                "{kind}"
            );
        }
        Ok(())
    }

    #[test]
    fn tags_and_kinds_correspond() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::from_tag(kind.tag()), Some(kind));
        }
        let distinct: std::collections::HashSet<u8> =
            MessageKind::ALL.iter().map(|kind| kind.tag()).collect();
        assert_eq!(distinct.len(), MessageKind::ALL.len());
    }

    // ---- errors --------------------------------------------------------------------------------

    fn error_of(bytes: &[u8]) -> DecodeError {
        match decode(bytes) {
            Ok(message) => panic!("decoded {message:?} from {bytes:02x?}"),
            Err(error) => error,
        }
    }

    /// `bytes` with the byte at `offset` replaced.
    fn with_byte(bytes: &[u8], offset: usize, value: u8) -> Vec<u8> {
        let mut changed = bytes.to_vec();
        if let Some(byte) = changed.get_mut(offset) {
            *byte = value;
        }
        changed
    }

    #[test]
    fn every_cut_of_an_insert_is_an_error() {
        for cut in 0..INSERT.len() {
            let prefix = INSERT.get(..cut).unwrap_or_default();
            let error = error_of(prefix);
            assert!(
                matches!(
                    error,
                    DecodeError::Empty
                        | DecodeError::Truncated { .. }
                        | DecodeError::LengthBeyondInput { .. }
                ),
                "cut at {cut}: {error}"
            );
        }
    }

    #[test]
    fn every_cut_of_every_kind_is_an_error() {
        for message in one_of_each() {
            let bytes = encode(&message);
            for cut in 0..bytes.len() {
                let prefix = bytes.get(..cut).unwrap_or_default();
                let decoded = decode(prefix);
                // A parallel-mode Stream Abort cut right after the xids is a complete
                // non-parallel one.
                let parallel_abort_cut =
                    matches!(message, Message::StreamAbort { abort: Some(_), .. }) && cut == 9;
                assert_eq!(
                    decoded.is_err(),
                    !parallel_abort_cut,
                    "{message:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn truncation_errors_name_field_and_offset() {
        assert_eq!(
            error_of(INSERT.get(..3).unwrap_or_default()).to_string(),
            "truncated Insert message: expected relation OID at byte 1 (4 bytes, 2 left)"
        );
        assert_eq!(
            error_of(INSERT.get(..12).unwrap_or_default()),
            DecodeError::Truncated {
                message: MessageKind::Insert,
                field: "text value length",
                offset: 9,
                needed: 4,
                available: 3,
            }
        );
        assert_eq!(
            error_of(RELATION.get(..15).unwrap_or_default()).to_string(),
            "truncated Relation message: expected NUL-terminated relation name at byte 12, \
             found 3 bytes without a NUL"
        );
        // A column count is checked against what is left before the columns are read.
        assert_eq!(
            error_of(RELATION.get(..36).unwrap_or_default()).to_string(),
            "column count 2 at byte 19 of Relation message needs at least 20 bytes, \
             but only 15 are left"
        );
        assert_eq!(
            error_of(b"").to_string(),
            "empty pgoutput message: expected a message tag at byte 0"
        );
    }

    #[test]
    fn unknown_tag_is_named() {
        assert_eq!(
            error_of(b"Z").to_string(),
            "unknown pgoutput message tag 'Z' (0x5a) at byte 0"
        );
        assert_eq!(error_of(&[0x00]), DecodeError::UnknownTag { tag: 0 });
        assert_eq!(
            error_of(&[0x00]).to_string(),
            "unknown pgoutput message tag 0x00 at byte 0"
        );
    }

    #[test]
    fn negative_lengths_are_rejected() {
        let negative_text = [
            INSERT.get(..9).unwrap_or_default(),
            &[0xFF, 0xFF, 0xFF, 0xFE],
        ]
        .concat();
        assert_eq!(
            error_of(&negative_text).to_string(),
            "negative text value length -2 in Insert message at byte 9"
        );
        let negative_columns = with_byte(&with_byte(RELATION, 19, 0xFF), 20, 0xFF);
        assert!(matches!(
            error_of(&negative_columns),
            DecodeError::NegativeLength {
                field: "column count",
                offset: 19,
                value: -1,
                ..
            }
        ));
        let negative_relations = [&[b'T', 0x80, 0, 0, 0, 0][..]].concat();
        assert!(matches!(
            error_of(&negative_relations),
            DecodeError::NegativeLength {
                field: "relation count",
                offset: 1,
                value: i32::MIN,
                ..
            }
        ));
    }

    #[test]
    fn lengths_beyond_the_input_are_rejected_before_allocating() {
        let long_text = [
            INSERT.get(..9).unwrap_or_default(),
            &[0x7F, 0xFF, 0xFF, 0xFF, b'7'],
        ]
        .concat();
        assert_eq!(
            error_of(&long_text).to_string(),
            "text value length 2147483647 at byte 9 of Insert message needs at least 2147483647 \
             bytes, but only 1 are left"
        );
        let many_columns = with_byte(&with_byte(RELATION, 19, 0x7F), 20, 0xFF);
        assert_eq!(
            error_of(&many_columns),
            DecodeError::LengthBeyondInput {
                message: MessageKind::Relation,
                field: "column count",
                offset: 19,
                claimed: 32767,
                needed: 327_670,
                available: 26,
            }
        );
        let many_relations = [b'T', 0x7F, 0xFF, 0xFF, 0xFF, 0x00];
        assert!(matches!(
            error_of(&many_relations),
            DecodeError::LengthBeyondInput {
                field: "relation count",
                claimed: 0x7FFF_FFFF,
                ..
            }
        ));
        let many_tuple_columns = with_byte(INSERT, 6, 0x7F);
        assert!(matches!(
            error_of(&many_tuple_columns),
            DecodeError::LengthBeyondInput {
                field: "tuple column count",
                offset: 6,
                ..
            }
        ));
        let long_content = [
            b'M', 0, 0, 0, 0, 0, 0, 0, 0, 1, b'p', 0, 0x7F, 0xFF, 0xFF, 0xFF,
        ];
        assert!(matches!(
            error_of(&long_content),
            DecodeError::LengthBeyondInput {
                field: "message content length",
                offset: 12,
                ..
            }
        ));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let begin_and_more = [BEGIN, &[0xAB, 0xCD]].concat();
        assert_eq!(
            error_of(&begin_and_more).to_string(),
            "2 trailing bytes after Begin message, from byte 21"
        );
        assert!(matches!(
            error_of(&[b'E', 0]),
            DecodeError::TrailingBytes {
                message: MessageKind::StreamStop,
                offset: 1,
                count: 1
            }
        ));
        // A Stream Abort is either 9 or 25 bytes long.
        let odd_abort = [&[b'A'][..], &[0; 8], &[0; 17]].concat();
        assert!(matches!(
            error_of(&odd_abort),
            DecodeError::TrailingBytes {
                message: MessageKind::StreamAbort,
                offset: 25,
                count: 1
            }
        ));
    }

    #[test]
    fn invalid_enum_and_flag_bytes_are_rejected() {
        let cases: [(Vec<u8>, &str, usize, u8); 9] = [
            (with_byte(RELATION, 18, b'x'), "replica identity", 18, b'x'),
            (with_byte(RELATION, 21, 0x02), "column flags", 21, 0x02),
            (with_byte(INSERT, 5, b'K'), "new tuple marker", 5, b'K'),
            (with_byte(INSERT, 14, b'x'), "tuple column kind", 14, b'x'),
            (
                with_byte(UPDATE_WITH_OLD_KEY, 5, b'X'),
                "tuple marker ('K', 'O' or 'N')",
                5,
                b'X',
            ),
            (
                with_byte(UPDATE_WITH_OLD_KEY, 15, b'K'),
                "new tuple marker",
                15,
                b'K',
            ),
            (
                with_byte(DELETE, 5, b'N'),
                "old tuple marker ('K' or 'O')",
                5,
                b'N',
            ),
            (with_byte(TRUNCATE, 5, 0x04), "truncate options", 5, 0x04),
            (
                with_byte(&encode(&one_of_each().swap_remove(1)), 1, 1),
                "commit flags",
                1,
                1,
            ),
        ];
        for (bytes, field, offset, value) in cases {
            let error = error_of(&bytes);
            assert!(
                matches!(
                    &error,
                    DecodeError::InvalidByte { field: f, offset: o, value: v, .. }
                        if *f == field && *o == offset && *v == value
                ),
                "{field}: {error}"
            );
        }
        assert_eq!(
            error_of(&with_byte(RELATION, 18, b'x')).to_string(),
            "invalid replica identity 'x' (0x78) in Relation message at byte 18"
        );
    }

    #[test]
    fn invalid_utf8_in_a_name_is_an_error_naming_it() {
        let bad_name = with_byte(RELATION, 14, 0xFF); // inside "users"
        assert_eq!(
            error_of(&bad_name).to_string(),
            "invalid UTF-8 in relation name of Relation message at byte 14"
        );
    }

    #[test]
    fn invalid_utf8_in_a_text_value_is_kept_as_bytes() -> Result<(), DecodeError> {
        let latin1 = with_byte(INSERT, 13, 0xE9);
        let Message::Insert { new, .. } = decode(&latin1)? else {
            panic!("not an Insert");
        };
        let first = new.0.first().cloned();
        assert_eq!(first, Some(Column::Text(vec![0xE9])));
        assert!(first.is_some_and(|column| column.as_text().is_err()));
        Ok(())
    }

    #[test]
    fn streamed_data_messages_carry_the_stream_xid() -> Result<(), DecodeError> {
        let streamed = [
            &[b'I', 0x00, 0x00, 0x03, 0x00][..],
            INSERT.get(1..).unwrap_or_default(),
        ]
        .concat();
        let decoded = decode_with(&streamed, Options { in_stream: true })?;
        assert_eq!(decoded.stream_xid, Some(768));
        assert_eq!(decoded.message, decode(INSERT)?);
        // Read as a non-streamed message, the xid shifts every field.
        assert!(decode(&streamed).is_err());
        // Transaction control messages never carry it.
        let begin = decode_with(BEGIN, Options { in_stream: true })?;
        assert_eq!(begin.stream_xid, None);
        Ok(())
    }

    #[test]
    fn named_pairs_columns_with_values() -> Result<(), DecodeError> {
        let relation = users_relation();
        let tuple = Tuple(vec![text("7"), Column::Null]);
        let named = named(&relation, &tuple)?;
        assert_eq!(named, [("id", &text("7")), ("name", &Column::Null)]);
        Ok(())
    }

    #[test]
    fn named_rejects_a_tuple_of_another_shape() {
        let relation = users_relation();
        let tuple = Tuple(vec![text("7")]);
        let error = named(&relation, &tuple).err();
        assert_eq!(
            error.map(|error| error.to_string()),
            Some("relation 16385 (users) has 2 columns but the tuple has 1".to_owned())
        );
    }

    #[test]
    fn column_as_text() {
        assert_eq!(text("héllo").as_text(), Ok(Some("héllo")));
        assert_eq!(Column::Null.as_text(), Ok(None));
        assert_eq!(Column::Binary(b"x".to_vec()).as_text(), Ok(None));
        assert!(Column::Text(vec![0xC3]).as_text().is_err());
    }

    // ---- properties ----------------------------------------------------------------------------

    /// Any characters but NUL, which terminates strings on the wire. (Cheaper than a regex.)
    fn name() -> impl Strategy<Value = String> {
        vec(any::<char>(), 0..12).prop_map(|chars| {
            chars
                .into_iter()
                .map(|c| if c == '\0' { '_' } else { c })
                .collect()
        })
    }

    fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
        seeded_bytes(0..=24)
    }

    /// Random bytes of a length in `lengths`, made by a SplitMix64 generator from one seed: a
    /// `vec` of `any::<u8>()` makes a value tree per byte, which dominates the run time of the
    /// properties in unoptimised test builds. Lengths still shrink; contents shrink by seed.
    fn seeded_bytes(lengths: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u8>> {
        (lengths, any::<u64>()).prop_map(|(length, mut state)| {
            let mut bytes = Vec::with_capacity(length + 8);
            while bytes.len() < length {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
            }
            bytes.truncate(length);
            bytes
        })
    }

    /// A column of each kind. (Mapped from a kind number rather than `prop_oneof!`, whose
    /// per-arm runner clones dominate generation time in unoptimised test builds.)
    fn column() -> impl Strategy<Value = Column> {
        (0..4_u8, value_bytes()).prop_map(|(kind, bytes)| match kind {
            0 => Column::Null,
            1 => Column::UnchangedToast,
            2 => Column::Text(bytes),
            _ => Column::Binary(bytes),
        })
    }

    fn tuple() -> impl Strategy<Value = Tuple> {
        vec(column(), 0..6).prop_map(Tuple)
    }

    fn old_tuple() -> impl Strategy<Value = OldTuple> {
        (any::<bool>(), tuple()).prop_map(|(full, tuple)| {
            if full {
                OldTuple::Full(tuple)
            } else {
                OldTuple::Key(tuple)
            }
        })
    }

    fn replica_identity() -> impl Strategy<Value = ReplicaIdentity> {
        select(vec![
            ReplicaIdentity::Default,
            ReplicaIdentity::Nothing,
            ReplicaIdentity::Full,
            ReplicaIdentity::Index,
        ])
    }

    fn relation() -> impl Strategy<Value = Relation> {
        let column = (any::<bool>(), name(), any::<u32>(), any::<i32>()).prop_map(
            |(key, name, type_id, type_modifier)| RelationColumn {
                key,
                name,
                type_id,
                type_modifier,
            },
        );
        (
            any::<u32>(),
            name(),
            name(),
            replica_identity(),
            vec(column, 0..6),
        )
            .prop_map(
                |(id, namespace, name, replica_identity, columns)| Relation {
                    id,
                    namespace,
                    name,
                    replica_identity,
                    columns,
                },
            )
    }

    fn commit() -> impl Strategy<Value = Commit> {
        (any::<u64>(), any::<u64>(), any::<i64>()).prop_map(
            |(commit_lsn, end_lsn, commit_timestamp)| Commit {
                commit_lsn,
                end_lsn,
                commit_timestamp,
            },
        )
    }

    fn prepare() -> impl Strategy<Value = Prepare> {
        (
            any::<u64>(),
            any::<u64>(),
            any::<i64>(),
            any::<u32>(),
            name(),
        )
            .prop_map(
                |(prepare_lsn, end_lsn, prepare_timestamp, xid, gid)| Prepare {
                    prepare_lsn,
                    end_lsn,
                    prepare_timestamp,
                    xid,
                    gid,
                },
            )
    }

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (any::<u64>(), any::<i64>(), any::<u32>()).prop_map(
                |(final_lsn, commit_timestamp, xid)| {
                    Message::Begin(Begin {
                        final_lsn,
                        commit_timestamp,
                        xid,
                    })
                }
            ),
            commit().prop_map(Message::Commit),
            (any::<u64>(), name())
                .prop_map(|(commit_lsn, name)| Message::Origin { commit_lsn, name }),
            relation().prop_map(Message::Relation),
            (any::<u32>(), name(), name()).prop_map(|(id, namespace, name)| Message::Type {
                id,
                namespace,
                name
            }),
            (any::<u32>(), tuple()).prop_map(|(relation, new)| Message::Insert { relation, new }),
            (any::<u32>(), proptest::option::of(old_tuple()), tuple())
                .prop_map(|(relation, old, new)| Message::Update { relation, old, new }),
            (any::<u32>(), old_tuple())
                .prop_map(|(relation, old)| Message::Delete { relation, old }),
            (vec(any::<u32>(), 0..6), any::<bool>(), any::<bool>()).prop_map(
                |(relations, cascade, restart_identity)| Message::Truncate {
                    relations,
                    cascade,
                    restart_identity,
                }
            ),
            (any::<bool>(), any::<u64>(), name(), value_bytes()).prop_map(
                |(transactional, lsn, prefix, content)| Message::Logical {
                    transactional,
                    lsn,
                    prefix,
                    content,
                }
            ),
            (any::<u32>(), any::<bool>())
                .prop_map(|(xid, first_segment)| Message::StreamStart { xid, first_segment }),
            Just(Message::StreamStop),
            (any::<u32>(), commit())
                .prop_map(|(xid, commit)| Message::StreamCommit { xid, commit }),
            (
                any::<u32>(),
                any::<u32>(),
                proptest::option::of((any::<u64>(), any::<i64>()))
            )
                .prop_map(|(xid, subtransaction_xid, abort)| Message::StreamAbort {
                    xid,
                    subtransaction_xid,
                    abort: abort.map(|(lsn, timestamp)| Abort { lsn, timestamp }),
                }),
            prepare().prop_map(Message::BeginPrepare),
            prepare().prop_map(Message::Prepare),
            (
                any::<u64>(),
                any::<u64>(),
                any::<i64>(),
                any::<u32>(),
                name()
            )
                .prop_map(|(commit_lsn, end_lsn, commit_timestamp, xid, gid)| {
                    Message::CommitPrepared(CommitPrepared {
                        commit_lsn,
                        end_lsn,
                        commit_timestamp,
                        xid,
                        gid,
                    })
                }),
            (
                any::<u64>(),
                any::<u64>(),
                any::<i64>(),
                any::<i64>(),
                any::<u32>(),
                name()
            )
                .prop_map(
                    |(
                        prepare_end_lsn,
                        rollback_end_lsn,
                        prepare_timestamp,
                        rollback_timestamp,
                        xid,
                        gid,
                    )| {
                        Message::RollbackPrepared(RollbackPrepared {
                            prepare_end_lsn,
                            rollback_end_lsn,
                            prepare_timestamp,
                            rollback_timestamp,
                            xid,
                            gid,
                        })
                    }
                ),
            prepare().prop_map(Message::StreamPrepare),
        ]
    }

    /// Up to 4 KiB of random bytes.
    fn random_bytes() -> impl Strategy<Value = Vec<u8>> {
        seeded_bytes(0..=4096)
    }

    /// Random bytes, half of them behind a valid tag so that decoding gets past byte 0.
    fn arbitrary_payload() -> impl Strategy<Value = Vec<u8>> {
        let tags: Vec<u8> = MessageKind::ALL.iter().map(|kind| kind.tag()).collect();
        prop_oneof![
            random_bytes(),
            (select(tags), random_bytes()).prop_map(|(tag, rest)| [vec![tag], rest].concat()),
        ]
    }

    /// Decodes in both modes; whatever is accepted must re-encode to the very same bytes, since
    /// the decoder accounts for every byte and accepts no flag bits it cannot represent.
    fn decode_and_check_canonical(bytes: &[u8]) -> Result<(), TestCaseError> {
        for in_stream in [false, true] {
            if let Ok(decoded) = decode_with(bytes, Options { in_stream }) {
                prop_assert_eq!(encode_streamed(&decoded.message, decoded.stream_xid), bytes);
            }
        }
        Ok(())
    }

    const CASES: u32 = 2048;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(CASES))]

        #[test]
        fn decoder_never_panics_on_arbitrary_bytes(bytes in arbitrary_payload()) {
            decode_and_check_canonical(&bytes)?;
        }

        #[test]
        fn decoder_never_panics_on_mutated_encodings(
            message in message(),
            stream_xid in proptest::option::of(any::<u32>()),
            flips in vec((any::<Index>(), 1..=u8::MAX), 0..4),
            cut in proptest::option::of(any::<Index>()),
        ) {
            let mut bytes = encode_streamed(&message, stream_xid);
            for (index, mask) in flips {
                let position = index.index(bytes.len());
                if let Some(byte) = bytes.get_mut(position) {
                    *byte ^= mask;
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            decode_and_check_canonical(&bytes)?;
        }

        #[test]
        fn arbitrary_messages_round_trip(message in message()) {
            prop_assert_eq!(decode(&encode(&message)), Ok(message));
        }

        #[test]
        fn arbitrary_streamed_messages_round_trip(message in message(), xid in any::<u32>()) {
            let expected_xid = message.kind().carries_stream_xid().then_some(xid);
            let decoded = decode_with(&encode_streamed(&message, Some(xid)), Options { in_stream: true });
            prop_assert_eq!(decoded, Ok(Decoded { message, stream_xid: expected_xid }));
        }
    }
}
