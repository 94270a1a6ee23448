//! The validated mapping: a tree of nodes (root table and joins) with checked names, ready to
//! generate SQL from and to assemble documents with.

use std::collections::BTreeSet;

use serde_json::Value;

use super::diagnostic::{Location, MappingError};
use super::mapping::{FieldType, FilterOp, Mapping, SoftDeleteWhen, Transform};

/// Identifies a node of one [`CompiledMapping`]; the root is [`NodeId::ROOT`]. Parents have
/// smaller ids than their children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub(super) usize);

impl NodeId {
    /// The root node.
    pub const ROOT: Self = Self(0);

    /// The position of the node in [`CompiledMapping::nodes`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// A validated mapping. Obtained from [`Mapping::compile`] (or
/// [`CompiledMapping::from_toml_str`]), so every name in it has been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledMapping {
    pub(super) file: String,
    pub(super) index: String,
    /// Depth-first, parents before children; never empty (the root is first).
    pub(super) nodes: Vec<Node>,
}

/// One table of the document: the root, or a join.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Node {
    /// This node.
    pub id: NodeId,
    /// The output name of the join (`author`); empty for the root.
    pub name: String,
    /// The table.
    pub table: String,
    /// The table's primary key columns, in order.
    pub key: Vec<String>,
    /// How the node hangs off its parent.
    pub relation: Relation,
    /// Fields, in declaration order.
    pub fields: Vec<Field>,
    /// Joins: belongs_to nodes first, then has_many, each by name.
    pub children: Vec<NodeId>,
    /// Root: rows failing a filter are not indexed. has_many: such rows are left out.
    pub filters: Vec<Filter>,
    /// Root: soft-deleted rows are not indexed. has_many: they are left out.
    pub soft_delete: Option<SoftDelete>,
    /// has_many: order of the array, before the primary key.
    pub order_by: Vec<String>,
    /// Where the node's `table` is written.
    pub location: Location,
    /// Where the node's `primary_key` is written.
    pub key_location: Location,
    /// Every column of this node's table the mapping names, with where it is named.
    pub columns: Vec<(String, Location)>,
}

/// How a node joins its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// The root table.
    Root,
    /// Many-to-one: the parent's `foreign_key` columns hold this node's `key`; rendered as an
    /// object, or null.
    BelongsTo {
        /// The parent node.
        parent: NodeId,
        /// Columns of the parent's table.
        foreign_key: Vec<String>,
        /// A missing target fails the document instead of rendering null.
        required: bool,
    },
    /// One-to-many: this node's `foreign_key` columns hold the parent's key; rendered as an
    /// array.
    HasMany {
        /// The parent node.
        parent: NodeId,
        /// Columns of this node's table.
        foreign_key: Vec<String>,
    },
}

/// A document field.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Field {
    /// The source column.
    pub column: String,
    /// The name in the document.
    pub name: String,
    /// The type.
    pub ty: FieldType,
    /// String transforms, in order.
    pub transforms: Vec<Transform>,
    /// Separator splitting a string into an array.
    pub split: Option<String>,
    /// The rendered value used for NULL.
    pub default: Option<Value>,
}

/// A filter on a column.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Filter {
    /// The column.
    pub column: String,
    /// What must hold.
    pub predicate: Predicate,
    /// Where the filter is written.
    pub location: Location,
}

/// A predicate of a [`Filter`]; values are bound as parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// Equal (NULL is not).
    Eq(Value),
    /// Not equal (NULL is).
    Ne(Value),
    /// One of (NULL is not).
    In(Vec<Value>),
    /// None of (NULL is).
    NotIn(Vec<Value>),
    /// NULL.
    IsNull,
    /// Not NULL.
    NotNull,
}

impl Predicate {
    /// The operator's name in mapping files.
    pub fn op(&self) -> FilterOp {
        match self {
            Self::Eq(_) => FilterOp::Eq,
            Self::Ne(_) => FilterOp::Ne,
            Self::In(_) => FilterOp::In,
            Self::NotIn(_) => FilterOp::NotIn,
            Self::IsNull => FilterOp::IsNull,
            Self::NotNull => FilterOp::NotNull,
        }
    }
}

/// When a row counts as deleted although it is still there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SoftDelete {
    /// The column.
    pub column: String,
    /// Not NULL, or true.
    pub when: SoftDeleteWhen,
}

impl CompiledMapping {
    /// Parses and compiles the mapping in `text` (see [`Mapping::from_toml_str`]).
    pub fn from_toml_str(text: &str, file_name: &str) -> Result<Self, MappingError> {
        Mapping::from_toml_str(text, file_name)?.compile()
    }

    /// The mapping file's name.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The search index.
    pub fn index(&self) -> &str {
        &self.index
    }

    /// All nodes, parents before children; the root first.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The root node.
    pub fn root(&self) -> &Node {
        // Never empty: `compile` always pushes the root.
        &self.nodes[0]
    }

    /// The node `id`, if it belongs to this mapping.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    /// Every table the mapping reads.
    pub fn tables(&self) -> BTreeSet<&str> {
        self.nodes.iter().map(|n| n.table.as_str()).collect()
    }

    /// The nodes from the root down to `id`, both included (empty for a foreign id).
    pub fn path_to(&self, id: NodeId) -> Vec<&Node> {
        let mut path = Vec::new();
        let mut current = self.node(id);
        while let Some(node) = current {
            path.push(node);
            current = node.parent().and_then(|p| self.node(p));
        }
        path.reverse();
        path
    }
}

impl Node {
    /// The parent node; `None` for the root.
    pub fn parent(&self) -> Option<NodeId> {
        match &self.relation {
            Relation::Root => None,
            Relation::BelongsTo { parent, .. } | Relation::HasMany { parent, .. } => Some(*parent),
        }
    }
}

#[cfg(test)]
mod tests;
