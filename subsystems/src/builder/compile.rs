//! Compiling a parsed [`Mapping`] into a [`CompiledMapping`]: every check, every problem
//! reported with its location, all at once.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::Value;
use toml::Spanned;

use super::compiled::{
    CompiledMapping, Field, Filter, Node, NodeId, Predicate, Relation, SoftDelete,
};
use super::convert::{render_value, toml_to_json};
use super::diagnostic::{join_key, Diagnostic, Location, MappingError, Source};
use super::ident::{
    is_index_name, is_output_name, is_sql_identifier, INDEX_NAME_RULE, OUTPUT_NAME_RULE,
    SQL_IDENTIFIER_RULE,
};
use super::mapping::{
    Columns, FieldType, FilterOp, Mapping, RawBelongsTo, RawField, RawFilter, RawHasMany,
    RawSoftDelete, Relations, Transform,
};

impl Mapping {
    /// Validates the mapping: names are plain identifiers, output names are unique within an
    /// object, key and foreign key column counts agree, filters have fitting values, defaults
    /// fit their types, transforms are on strings. All problems are reported at once.
    pub fn compile(&self) -> Result<CompiledMapping, MappingError> {
        let root = &self.root;
        let mut compiler = Compiler {
            source: &self.source,
            diagnostics: Vec::new(),
            nodes: Vec::new(),
        };
        let index = root.index.get_ref();
        if !is_index_name(index) {
            compiler.error(
                &root.index.span(),
                "index",
                format!("{index:?} is not a valid index name ({INDEX_NAME_RULE})"),
            );
        }
        compiler.node(Spec {
            path: String::new(),
            name: String::new(),
            table: &root.table,
            primary_key: &root.primary_key,
            link: Link::Root,
            order_by: None,
            filter: &root.filter,
            soft_delete: root.soft_delete.as_ref(),
            fields: &root.fields,
            belongs_to: &root.belongs_to,
            has_many: &root.has_many,
        });
        if compiler.diagnostics.is_empty() {
            Ok(CompiledMapping {
                file: self.source.file().to_owned(),
                index: index.clone(),
                nodes: compiler.nodes,
            })
        } else {
            Err(MappingError::new(compiler.diagnostics))
        }
    }
}

struct Compiler<'a> {
    source: &'a Source,
    diagnostics: Vec<Diagnostic>,
    nodes: Vec<Node>,
}

enum Link<'a> {
    Root,
    BelongsTo {
        parent: NodeId,
        foreign_key: &'a Spanned<Columns>,
        required: bool,
    },
    HasMany {
        parent: NodeId,
        foreign_key: &'a Spanned<Columns>,
    },
}

/// A node as written, whatever its kind.
struct Spec<'a> {
    path: String,
    name: String,
    table: &'a Spanned<String>,
    primary_key: &'a Spanned<Columns>,
    link: Link<'a>,
    order_by: Option<&'a Spanned<Columns>>,
    filter: &'a [Spanned<RawFilter>],
    soft_delete: Option<&'a Spanned<RawSoftDelete>>,
    fields: &'a [Spanned<RawField>],
    belongs_to: &'a Relations<RawBelongsTo>,
    has_many: &'a Relations<RawHasMany>,
}

impl Compiler<'_> {
    fn error(&mut self, span: &Range<usize>, path: &str, message: impl Into<String>) {
        self.diagnostics
            .push(self.source.diagnostic(span, path, message));
    }

    fn location(&self, span: &Range<usize>, path: &str) -> Location {
        self.source.location(span.start, path)
    }

    /// Checks an SQL identifier; returns it as written either way (compilation fails later
    /// if it was bad).
    fn identifier(&mut self, name: &str, span: &Range<usize>, path: &str) -> String {
        if !is_sql_identifier(name) {
            self.error(
                span,
                path,
                format!("{name:?} is not a plain SQL identifier ({SQL_IDENTIFIER_RULE})"),
            );
        }
        name.to_owned()
    }

    /// Checks a column list: not empty, identifiers, no repeats. Appends each column with its
    /// location to `refs` (the references of the node whose table holds them).
    fn columns(
        &mut self,
        columns: &Spanned<Columns>,
        path: &str,
        refs: &mut Vec<(String, Location)>,
    ) -> Vec<String> {
        let items = columns.get_ref().items(&columns.span());
        if items.is_empty() {
            self.error(&columns.span(), path, "names no column");
        }
        let mut names = Vec::new();
        for (i, (name, span)) in items.iter().enumerate() {
            let item_path = match columns.get_ref() {
                Columns::One(_) => path.to_owned(),
                Columns::Many(_) => format!("{path}[{i}]"),
            };
            let name = self.identifier(name, span, &item_path);
            if names.contains(&name) {
                self.error(span, &item_path, format!("column {name:?} is named twice"));
            }
            refs.push((name.clone(), self.location(span, &item_path)));
            names.push(name);
        }
        names
    }

    fn node(&mut self, spec: Spec<'_>) -> NodeId {
        let id = NodeId(self.nodes.len());
        let at = |key: &str| join_key(&spec.path, key);
        let mut refs = Vec::new();

        let table_path = at("table");
        let table = self.identifier(spec.table.get_ref(), &spec.table.span(), &table_path);
        let key_path = at("primary_key");
        let key = self.columns(spec.primary_key, &key_path, &mut refs);

        let relation = match spec.link {
            Link::Root => Relation::Root,
            Link::BelongsTo {
                parent,
                foreign_key,
                required,
            } => {
                // The foreign key lives in the parent's table.
                let mut parent_refs = Vec::new();
                let path = at("foreign_key");
                let foreign_key_columns = self.columns(foreign_key, &path, &mut parent_refs);
                if let Some(parent) = self.nodes.get_mut(parent.0) {
                    parent.columns.extend(parent_refs);
                }
                if !foreign_key_columns.is_empty()
                    && !key.is_empty()
                    && foreign_key_columns.len() != key.len()
                {
                    self.error(
                        &foreign_key.span(),
                        &path,
                        format!(
                            "foreign_key has {} column(s) but primary_key of {table:?} has {}",
                            foreign_key_columns.len(),
                            key.len()
                        ),
                    );
                }
                Relation::BelongsTo {
                    parent,
                    foreign_key: foreign_key_columns,
                    required,
                }
            }
            Link::HasMany {
                parent,
                foreign_key,
            } => {
                let path = at("foreign_key");
                let foreign_key_columns = self.columns(foreign_key, &path, &mut refs);
                let parent_key = self
                    .nodes
                    .get(parent.0)
                    .map(|p| (p.table.clone(), p.key.len()));
                if let Some((parent_table, parent_len)) = parent_key {
                    if !foreign_key_columns.is_empty()
                        && parent_len != 0
                        && foreign_key_columns.len() != parent_len
                    {
                        self.error(
                            &foreign_key.span(),
                            &path,
                            format!(
                                "foreign_key has {} column(s) but the key of {parent_table:?} \
                                 it references has {parent_len}",
                                foreign_key_columns.len()
                            ),
                        );
                    }
                }
                Relation::HasMany {
                    parent,
                    foreign_key: foreign_key_columns,
                }
            }
        };

        let order_by = match spec.order_by {
            Some(columns) => self.columns(columns, &at("order_by"), &mut refs),
            None => Vec::new(),
        };

        let mut outputs: BTreeMap<String, Location> = BTreeMap::new();
        let mut fields = Vec::new();
        for (i, raw) in spec.fields.iter().enumerate() {
            let path = format!("{}[{i}]", at("fields"));
            if let Some(field) = self.field(raw.get_ref(), &path, &mut refs) {
                let span = raw
                    .get_ref()
                    .name
                    .as_ref()
                    .map_or_else(|| raw.get_ref().column.span(), Spanned::span);
                match raw.get_ref().name {
                    Some(_) => {
                        let name_path = format!("{path}.name");
                        self.output_name(&mut outputs, &field.name, &span, &name_path);
                    }
                    // A bad column name has been reported already.
                    None if !is_sql_identifier(&field.column) => {}
                    None if !is_output_name(&field.name) => self.error(
                        &span,
                        &format!("{path}.column"),
                        format!(
                            "column {:?} cannot name a document field ({OUTPUT_NAME_RULE}); \
                             give the field a name",
                            field.name
                        ),
                    ),
                    None => {
                        let name_path = format!("{path}.column");
                        self.output_name(&mut outputs, &field.name, &span, &name_path);
                    }
                }
                fields.push(field);
            }
        }

        let mut filters = Vec::new();
        for (i, raw) in spec.filter.iter().enumerate() {
            let path = format!("{}[{i}]", at("filter"));
            if let Some(filter) = self.filter(raw, &path, &mut refs) {
                filters.push(filter);
            }
        }

        let soft_delete = spec.soft_delete.map(|raw| {
            let raw = raw.get_ref();
            let path = format!("{}.column", at("soft_delete"));
            let column = self.identifier(raw.column.get_ref(), &raw.column.span(), &path);
            refs.push((column.clone(), self.location(&raw.column.span(), &path)));
            SoftDelete {
                column,
                when: raw.when.as_ref().map(|w| *w.get_ref()).unwrap_or_default(),
            }
        });

        if spec.fields.is_empty() && spec.belongs_to.is_empty() && spec.has_many.is_empty() {
            self.error(
                &spec.table.span(),
                &table_path,
                "the document part maps nothing: add fields or a join",
            );
        }

        let location = self.location(&spec.table.span(), &table_path);
        let key_location = self.location(&spec.primary_key.span(), &key_path);
        self.nodes.push(Node {
            id,
            name: spec.name,
            table,
            key,
            relation,
            fields,
            children: Vec::new(),
            filters,
            soft_delete,
            order_by,
            location,
            key_location,
            columns: refs,
        });

        let mut children = Vec::new();
        for (name, raw) in spec.belongs_to {
            let path = join_key(&at("belongs_to"), name.get_ref());
            self.output_name(&mut outputs, name.get_ref(), &name.span(), &path);
            let raw = raw.get_ref();
            children.push(self.node(Spec {
                path,
                name: name.get_ref().clone(),
                table: &raw.table,
                primary_key: &raw.primary_key,
                link: Link::BelongsTo {
                    parent: id,
                    foreign_key: &raw.foreign_key,
                    required: raw.required,
                },
                order_by: None,
                filter: &[],
                soft_delete: None,
                fields: &raw.fields,
                belongs_to: &raw.belongs_to,
                has_many: &raw.has_many,
            }));
        }
        for (name, raw) in spec.has_many {
            let path = join_key(&at("has_many"), name.get_ref());
            self.output_name(&mut outputs, name.get_ref(), &name.span(), &path);
            let raw = raw.get_ref();
            children.push(self.node(Spec {
                path,
                name: name.get_ref().clone(),
                table: &raw.table,
                primary_key: &raw.primary_key,
                link: Link::HasMany {
                    parent: id,
                    foreign_key: &raw.foreign_key,
                },
                order_by: raw.order_by.as_ref(),
                filter: &raw.filter,
                soft_delete: raw.soft_delete.as_ref(),
                fields: &raw.fields,
                belongs_to: &raw.belongs_to,
                has_many: &raw.has_many,
            }));
        }
        if let Some(node) = self.nodes.get_mut(id.0) {
            node.children = children;
        }
        id
    }

    /// Checks an output name and that it is new within its object.
    fn output_name(
        &mut self,
        outputs: &mut BTreeMap<String, Location>,
        name: &str,
        span: &Range<usize>,
        path: &str,
    ) {
        if !is_output_name(name) {
            self.error(
                span,
                path,
                format!("{name:?} cannot name a document field ({OUTPUT_NAME_RULE})"),
            );
            return;
        }
        let location = self.location(span, path);
        if let Some(first) = outputs.get(name) {
            let message = format!(
                "duplicate output field {name:?} (first at line {}, column {})",
                first.line, first.column
            );
            self.diagnostics.push(self.source.at(location, message));
        } else {
            outputs.insert(name.to_owned(), location);
        }
    }

    fn field(
        &mut self,
        raw: &RawField,
        path: &str,
        refs: &mut Vec<(String, Location)>,
    ) -> Option<Field> {
        let column_path = format!("{path}.column");
        let column = self.identifier(raw.column.get_ref(), &raw.column.span(), &column_path);
        refs.push((
            column.clone(),
            self.location(&raw.column.span(), &column_path),
        ));
        let name = raw
            .name
            .as_ref()
            .map_or_else(|| column.clone(), |n| n.get_ref().clone());
        let ty = *raw.ty.get_ref();
        let transforms: Vec<Transform> = raw.transforms.iter().map(|t| *t.get_ref()).collect();
        if let (Some(first), false) = (raw.transforms.first(), ty == FieldType::String) {
            self.error(
                &first.span(),
                &format!("{path}.transforms"),
                format!("transforms apply to string fields only; this field is {ty}"),
            );
        }
        if let Some(split) = &raw.split {
            let split_path = format!("{path}.split");
            if ty != FieldType::String {
                self.error(
                    &split.span(),
                    &split_path,
                    format!("split applies to string fields only; this field is {ty}"),
                );
            } else if split.get_ref().is_empty() {
                self.error(
                    &split.span(),
                    &split_path,
                    "split needs a non-empty separator",
                );
            }
        }
        let split = raw.split.as_ref().map(|s| s.get_ref().clone());
        let default = match &raw.default {
            None => None,
            Some(default) => {
                let default_path = format!("{path}.default");
                let rendered = toml_to_json(default.get_ref())
                    .ok_or_else(|| "a default must be a finite number".to_owned())
                    .and_then(|json| {
                        render_value(ty, &transforms, split.as_deref(), &json)
                            .map_err(|e| format!("default {e}"))
                    });
                match rendered {
                    Ok(value) => Some(value),
                    Err(message) => {
                        self.error(&default.span(), &default_path, message);
                        None
                    }
                }
            }
        };
        Some(Field {
            column,
            name,
            ty,
            transforms,
            split,
            default,
        })
    }

    fn filter(
        &mut self,
        raw: &Spanned<RawFilter>,
        path: &str,
        refs: &mut Vec<(String, Location)>,
    ) -> Option<Filter> {
        let location = self.location(&raw.span(), path);
        let raw = raw.get_ref();
        let column_path = format!("{path}.column");
        let column = self.identifier(raw.column.get_ref(), &raw.column.span(), &column_path);
        refs.push((
            column.clone(),
            self.location(&raw.column.span(), &column_path),
        ));
        let op = *raw.op.get_ref();
        let op_name = op.name();
        let value_path = format!("{path}.value");
        let predicate = match (op, &raw.value) {
            (FilterOp::IsNull, None) => Predicate::IsNull,
            (FilterOp::NotNull, None) => Predicate::NotNull,
            (FilterOp::IsNull | FilterOp::NotNull, Some(value)) => {
                self.error(
                    &value.span(),
                    &value_path,
                    format!("op {op_name:?} takes no value"),
                );
                return None;
            }
            (FilterOp::Eq | FilterOp::Ne | FilterOp::In | FilterOp::NotIn, None) => {
                self.error(
                    &raw.op.span(),
                    &format!("{path}.op"),
                    format!("op {op_name:?} needs a value"),
                );
                return None;
            }
            (FilterOp::Eq | FilterOp::Ne, Some(value)) => {
                let Some(scalar) = scalar(value.get_ref()) else {
                    self.error(
                        &value.span(),
                        &value_path,
                        format!(
                            "op {op_name:?} needs a single value \
                             (a string, number, boolean or datetime)"
                        ),
                    );
                    return None;
                };
                if op == FilterOp::Eq {
                    Predicate::Eq(scalar)
                } else {
                    Predicate::Ne(scalar)
                }
            }
            (FilterOp::In | FilterOp::NotIn, Some(value)) => {
                let values = match value.get_ref() {
                    toml::Value::Array(items) if !items.is_empty() => {
                        items.iter().map(scalar).collect::<Option<Vec<_>>>()
                    }
                    _ => None,
                };
                let Some(values) = values else {
                    self.error(
                        &value.span(),
                        &value_path,
                        format!(
                            "op {op_name:?} needs a non-empty array of values \
                             (strings, numbers, booleans or datetimes)"
                        ),
                    );
                    return None;
                };
                if op == FilterOp::In {
                    Predicate::In(values)
                } else {
                    Predicate::NotIn(values)
                }
            }
        };
        Some(Filter {
            column,
            predicate,
            location,
        })
    }
}

/// A filter value: a string, integer, finite float, boolean or datetime (as text).
fn scalar(value: &toml::Value) -> Option<Value> {
    match value {
        toml::Value::Array(_) | toml::Value::Table(_) => None,
        other => toml_to_json(other),
    }
}
