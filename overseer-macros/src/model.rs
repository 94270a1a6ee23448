//! The typed model of what the user wrote in `#[overlord]`, after parsing and before checks.

use proc_macro2::Span;
use syn::{Attribute, Expr, Generics, Ident, Path, Type, Visibility};

/// The whole `#[overlord]` struct.
pub(crate) struct Overlord {
    pub(crate) vis: Visibility,
    pub(crate) name: Ident,
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) generics: Generics,
    pub(crate) args: OverlordArgs,
    pub(crate) subsystems: Vec<SubsystemField>,
    pub(crate) baggage: Vec<BaggageField>,
}

/// The arguments of `#[overlord(..)]`.
pub(crate) struct OverlordArgs {
    pub(crate) signal: Type,
    pub(crate) event: Type,
    pub(crate) message_enum: Ident,
    pub(crate) error: Option<Type>,
    pub(crate) message_capacity: Option<Expr>,
    pub(crate) signal_capacity: Option<Expr>,
    pub(crate) boxed_messages: bool,
}

/// A message type as written, keyed by its last path segment.
#[derive(Clone)]
pub(crate) struct Message {
    pub(crate) path: Path,
    /// The lane it is declared to travel on (`sends: [M]`, `[priority M]`, `[unbounded M]`).
    pub(crate) lane: SendLane,
}

/// The declared lane of a `sends:` entry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendLane {
    Bounded,
    Priority,
    Unbounded,
}

impl Message {
    /// The identity of a message: its last path segment, so `a::Foo` and `Foo` are one message.
    pub(crate) fn key(&self) -> String {
        last_ident(&self.path)
            .map(|ident| ident.to_string())
            .unwrap_or_default()
    }

    /// The variant name in the message enums.
    pub(crate) fn variant(&self) -> Ident {
        last_ident(&self.path)
            .cloned()
            .unwrap_or_else(|| Ident::new("Unnamed", Span::call_site()))
    }
}

pub(crate) fn last_ident(path: &Path) -> Option<&Ident> {
    path.segments.last().map(|segment| &segment.ident)
}

/// A field marked `#[subsystem(..)]`.
pub(crate) struct SubsystemField {
    pub(crate) name: Ident,
    /// The last identifier of the field's type: names the generated traits and enums.
    pub(crate) generic: Ident,
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) cfg: Vec<Attribute>,
    pub(crate) consumes: Option<Message>,
    pub(crate) sends: Vec<Message>,
    pub(crate) blocking: bool,
    pub(crate) wip: bool,
    pub(crate) priority: bool,
    pub(crate) message_capacity: Option<Expr>,
    pub(crate) signal_capacity: Option<Expr>,
    /// `restart: never | on_failure | always`.
    pub(crate) restart: Option<Ident>,
    /// `intensity: N`, the most restarts within `period_ms`.
    pub(crate) intensity: Option<Expr>,
    /// `period_ms: N`, the window of `intensity`.
    pub(crate) period_ms: Option<Expr>,
    /// `stall_ms: N`, the stall watch threshold.
    pub(crate) stall_ms: Option<Expr>,
    /// The parentheses of the `#[subsystem(..)]` attribute, for errors about its arguments as a whole.
    pub(crate) span: Span,
}

impl SubsystemField {
    /// The message type this subsystem reads: its `consumes`, or a generated empty enum.
    pub(crate) fn consumed_path(&self) -> Path {
        match &self.consumes {
            Some(message) => message.path.clone(),
            None => {
                let dummy = self.dummy_message();
                syn::parse_quote!(messages::#dummy)
            }
        }
    }

    pub(crate) fn dummy_message(&self) -> Ident {
        quote::format_ident!("{}Message", self.generic)
    }

    pub(crate) fn outgoing(&self) -> Ident {
        quote::format_ident!("{}OutgoingMessages", self.generic)
    }

    pub(crate) fn context_trait(&self) -> Ident {
        quote::format_ident!("{}ContextTrait", self.generic)
    }

    pub(crate) fn sender_trait(&self) -> Ident {
        quote::format_ident!("{}SenderTrait", self.generic)
    }
}

/// Any other field: carried along in the overseer.
pub(crate) struct BaggageField {
    pub(crate) name: Ident,
    pub(crate) ty: Type,
    pub(crate) vis: Visibility,
    pub(crate) attrs: Vec<Attribute>,
}

impl Overlord {
    pub(crate) fn running(&self) -> impl Iterator<Item = &SubsystemField> {
        self.subsystems.iter().filter(|subsystem| !subsystem.wip)
    }

    /// The subsystem that consumes `key`, if any.
    pub(crate) fn consumer_of(&self, key: &str) -> Option<&SubsystemField> {
        self.subsystems.iter().find(|subsystem| {
            subsystem
                .consumes
                .as_ref()
                .is_some_and(|message| message.key() == key)
        })
    }

    pub(crate) fn error_type(&self) -> Type {
        self.args
            .error
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::overseer::OverseerError))
    }

    pub(crate) fn ident(&self, suffix: &str) -> Ident {
        quote::format_ident!("{}{}", self.name, suffix)
    }

    pub(crate) fn fields_module(&self) -> Ident {
        quote::format_ident!("{}_builder_fields", to_snake(&self.name.to_string()))
    }
}

fn to_snake(name: &str) -> String {
    let mut snake = String::new();
    for (index, character) in name.chars().enumerate() {
        if character.is_uppercase() {
            if index > 0 {
                snake.push('_');
            }
            snake.extend(character.to_lowercase());
        } else {
            snake.push(character);
        }
    }
    snake
}
