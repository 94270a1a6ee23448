//! Type-level machinery of the generated builders.
//!
//! A builder keeps its fields in a nested tuple `(F0, (F1, (.., ())))` where each `F` is
//! [`Missing`] or [`Init`]. A setter replaces one position through [`Replace`], indexed by a
//! Peano number ([`Here`], [`There`]); the generic impls live here, so the generated code grows
//! linearly with the number of fields instead of repeating every generic in every setter.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use std::collections::HashMap;

use crate::handle::{Command, EventHandler, Handle};
use crate::instance::{Source, Supervision};
use crate::metrics::Metrics;
use crate::run_loop::{DEFAULT_COMMAND_CAPACITY, DEFAULT_SHUTDOWN_DEADLINE};
use crate::spec::OverseerSpec;
use crate::stall::StallWatch;

/// A builder field that has not been set.
pub struct Missing<T>(PhantomData<T>);

impl<T> Default for Missing<T> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T> fmt::Debug for Missing<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Missing")
    }
}

/// A field compiled out by a `#[cfg]`: it needs no value.
#[derive(Debug, Default, Clone, Copy)]
pub struct Absent;

/// A builder field that was set, directly, by a function of the handle, or by a factory.
pub enum Init<T, H, E> {
    /// Built when `build()` runs, from the overseer's handle.
    Fn(Box<dyn FnOnce(H) -> Result<T, E> + Send>),
    /// Given directly.
    Value(T),
    /// Made anew for every start, so a subsystem can be restarted.
    Factory(Box<dyn FnMut() -> T + Send>),
}

impl<T, H, E> fmt::Debug for Init<T, H, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fn(_) => f.write_str("Init::Fn(..)"),
            Self::Value(_) => f.write_str("Init::Value(..)"),
            Self::Factory(_) => f.write_str("Init::Factory(..)"),
        }
    }
}

impl<T: Send + 'static, H: 'static, E: 'static> Init<T, H, E> {
    /// Apply `f` to the value, now or when it gets built. A factory is called once: the
    /// replacement is a single value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U + Send + 'static) -> Init<U, H, E> {
        match self {
            Self::Value(value) => Init::Value(f(value)),
            Self::Fn(build) => Init::Fn(Box::new(move |handle| build(handle).map(f))),
            Self::Factory(mut factory) => Init::Value(f(factory())),
        }
    }
}

/// Index zero of a nested tuple.
#[derive(Debug)]
pub struct Here;

/// Index `I + 1` of a nested tuple.
#[derive(Debug)]
pub struct There<I>(PhantomData<I>);

/// Replace the element at index `I` of a nested tuple with `New`.
pub trait Replace<I, New> {
    /// The tuple after replacement.
    type Output;
    /// The element that was there.
    type Old;
    /// Do it.
    fn replace(self, new: New) -> (Self::Output, Self::Old);
    /// Replace the element with a function of it.
    fn replace_with(self, f: impl FnOnce(Self::Old) -> New) -> Self::Output;
}

impl<Head, Tail, New> Replace<Here, New> for (Head, Tail) {
    type Output = (New, Tail);
    type Old = Head;
    fn replace(self, new: New) -> (Self::Output, Self::Old) {
        ((new, self.1), self.0)
    }

    fn replace_with(self, f: impl FnOnce(Self::Old) -> New) -> Self::Output {
        (f(self.0), self.1)
    }
}

impl<Head, Tail, I, New> Replace<There<I>, New> for (Head, Tail)
where
    Tail: Replace<I, New>,
{
    type Output = (Head, Tail::Output);
    type Old = Tail::Old;
    fn replace(self, new: New) -> (Self::Output, Self::Old) {
        let (tail, old) = self.1.replace(new);
        ((self.0, tail), old)
    }

    fn replace_with(self, f: impl FnOnce(Self::Old) -> New) -> Self::Output {
        (self.0, self.1.replace_with(f))
    }
}

/// Implemented only by [`Missing`]: a setter requires the field to be unset.
#[diagnostic::on_unimplemented(
    message = "the builder field `{Field}` is set twice",
    label = "`{Field}` was already set earlier in this builder chain",
    note = "set each field once; to swap a subsystem that is already set, use `replace_<field>(|old| new)`"
)]
pub trait Unset<Field> {}

// Not listed in errors: the trait's own message says what to do.
#[diagnostic::do_not_recommend]
impl<T, Field> Unset<Field> for Missing<T> {}

/// Implemented by [`Init`] (and [`Absent`]): `build()` requires every field to be ready.
#[diagnostic::on_unimplemented(
    message = "the overseer builder has no value for `{Field}`",
    label = "`build()` needs every subsystem, every baggage field and the spawner",
    note = "call the builder method named after the field (or `<field>_with(|handle| ..)`) before `build()`"
)]
pub trait Ready<Field, H, E> {
    /// The field's value.
    type Value;
    /// Produce the value, running a deferred initializer with the handle.
    fn into_value(self, handle: &H) -> Result<Self::Value, E>;
    /// Produce the source of a subsystem's instances: a single value or a factory.
    fn into_source(self, handle: &H) -> Result<Source<Self::Value>, E>;
}

// Not listed in errors: the trait's own message says what to do.
#[diagnostic::do_not_recommend]
impl<T, H: Clone, E, Field> Ready<Field, H, E> for Init<T, H, E> {
    type Value = T;
    fn into_value(self, handle: &H) -> Result<T, E> {
        match self {
            Self::Value(value) => Ok(value),
            Self::Fn(build) => build(handle.clone()),
            Self::Factory(mut factory) => Ok(factory()),
        }
    }
    fn into_source(self, handle: &H) -> Result<Source<T>, E> {
        match self {
            Self::Factory(factory) => Ok(Source::Factory(factory)),
            other => Ok(Source::Once(Some(Ready::<Field, H, E>::into_value(
                other, handle,
            )?))),
        }
    }
}

// Not listed in errors: the trait's own message says what to do.
#[diagnostic::do_not_recommend]
impl<H, E, Field> Ready<Field, H, E> for Absent {
    type Value = Absent;
    fn into_value(self, _handle: &H) -> Result<Absent, E> {
        Ok(Absent)
    }
    fn into_source(self, _handle: &H) -> Result<Source<Absent>, E> {
        Ok(Source::Once(Some(Absent)))
    }
}

/// `T: Is<U>` holds exactly when `T` and `U` are the same type; lets `build()` name the
/// parts of its builder's state as generics of its own.
pub trait Is<T> {
    /// The value, as the other name of its type.
    fn into_same(self) -> T;
}

impl<T> Is<T> for T {
    fn into_same(self) -> T {
        self
    }
}

/// The parts of a generated builder that are not fields: the handle, capacities, the event
/// handler and the shutdown deadline.
pub struct BuilderParts<Spec: OverseerSpec> {
    /// The handle given to `<field>_with` initializers and returned by `build()`.
    pub handle: Handle<Spec>,
    /// The run loop's end of the handle.
    pub commands: async_channel::Receiver<Command<Spec>>,
    /// Default capacity of every bounded message lane.
    pub message_capacity: usize,
    /// Default capacity of every signal channel.
    pub signal_capacity: usize,
    /// What external events mean.
    pub event_handler: Option<EventHandler<Spec>>,
    /// The default overall shutdown deadline.
    pub shutdown_deadline: Duration,
    /// Where the per-channel metrics go; `None`: metrics off.
    pub metrics: Option<Metrics>,
    /// Supervision set on the builder, by subsystem, over what the attribute declared.
    pub supervision: HashMap<&'static str, Supervision>,
    /// How stalls are watched and handled.
    pub stall_watch: StallWatch,
}

impl<Spec: OverseerSpec> fmt::Debug for BuilderParts<Spec> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuilderParts")
            .field("message_capacity", &self.message_capacity)
            .field("signal_capacity", &self.signal_capacity)
            .field("shutdown_deadline", &self.shutdown_deadline)
            .finish_non_exhaustive()
    }
}

impl<Spec: OverseerSpec> BuilderParts<Spec> {
    /// Parts with the given default capacities.
    pub fn new(message_capacity: usize, signal_capacity: usize) -> Self {
        let (handle, commands) = Handle::new(DEFAULT_COMMAND_CAPACITY);
        Self {
            handle,
            commands,
            message_capacity,
            signal_capacity,
            event_handler: None,
            shutdown_deadline: DEFAULT_SHUTDOWN_DEADLINE,
            metrics: None,
            supervision: HashMap::new(),
            stall_watch: StallWatch::default(),
        }
    }

    /// The supervision of `subsystem`: set on the builder, else `declared` by the attribute.
    pub fn supervision_of(&self, subsystem: &'static str, declared: Supervision) -> Supervision {
        self.supervision.get(subsystem).copied().unwrap_or(declared)
    }
}

/// Default capacity of a bounded message lane.
pub const DEFAULT_MESSAGE_CAPACITY: usize = 1024;

/// Default capacity of a signal channel.
pub const DEFAULT_SIGNAL_CAPACITY: usize = 64;
