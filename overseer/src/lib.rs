//! # overseer
//!
//! Build a program from *subsystems* that talk only through typed messages over bounded
//! channels. Put `#[overlord]` on a struct whose fields are subsystems, and it generates the
//! overseer, its typestate builder, the `AllMessages` enum, a context per subsystem and the
//! run loop.
//!
//! ```
//! use overseer::*;
//!
//! #[derive(Debug, Clone)]
//! pub enum Signal { Conclude }
//! impl ConcludeSignal for Signal {
//!     fn conclude() -> Self { Signal::Conclude }
//!     fn is_conclude(&self) -> bool { true }
//! }
//!
//! #[derive(Debug)] pub struct Ping(pub u32);
//! #[derive(Debug)] pub struct Pong(pub u32);
//! pub struct Event;
//!
//! #[overlord(signal = Signal, event = Event, gen = AllMessages)]
//! pub struct PingPong {
//!     #[subsystem(consumes: Pong, sends: [Ping])]
//!     pinger: Pinger,
//!     #[subsystem(consumes: Ping, sends: [Pong])]
//!     ponger: Ponger,
//! }
//!
//! pub struct Pinger;
//! #[overseer::subsystem(Pinger, error = OverseerError)]
//! impl<Ctx> Pinger {
//!     fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
//!         SpawnedSubsystem { name: "pinger", future: Box::pin(async move {
//!             ctx.send_message(Ping(1)).await;
//!             match ctx.recv().await? {
//!                 FromOverseer::Communication { msg: Pong(n) } => assert_eq!(n, 1),
//!                 FromOverseer::Signal(_) => {}
//!             }
//!             Ok(()) // ending ends the overseer: run() reports who stopped and how
//!         })}
//!     }
//! }
//!
//! pub struct Ponger;
//! #[overseer::subsystem(Ponger, error = OverseerError)]
//! impl<Ctx> Ponger {
//!     fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
//!         SpawnedSubsystem { name: "ponger", future: Box::pin(async move {
//!             loop {
//!                 match ctx.recv().await? {
//!                     FromOverseer::Communication { msg: Ping(n) } => ctx.send_message(Pong(n)).await,
//!                     FromOverseer::Signal(Signal::Conclude) => return Ok(()),
//!                 }
//!             }
//!         })}
//!     }
//! }
//!
//! # #[tokio::main] async fn main() {
//! let (overseer, _handle) = PingPong::builder()
//!     .pinger(Pinger)
//!     .ponger(Ponger)
//!     .spawner(TokioSpawner::current().unwrap())
//!     .build()
//!     .unwrap();
//! let report = overseer.run().await.unwrap_err();
//! assert!(report.to_string().contains("subsystem `pinger` ended cleanly"));
//! # }
//! ```
//!
//! Start with the guide's "Your first overseer" chapter; the macro reference lists every
//! option and every generated item.

#![forbid(unsafe_code)]

extern crate self as overseer;

mod builder;
mod channel;
mod context;
mod error;
mod handle;
mod instance;
mod lifecycle;
mod message;
pub mod metrics;
pub mod request;
mod route;
pub mod run_loop;
mod sender;
mod spawner;
mod spec;
pub mod stall;
mod subsystem;
pub mod supervisor;
pub mod testing;
mod timeout;
pub mod topology;

pub use overseer_macros::{contextbounds, overlord, subsystem};

pub use builder::{
    Absent, BuilderParts, Here, Init, Is, Missing, Ready, Replace, There, Unset,
    DEFAULT_MESSAGE_CAPACITY, DEFAULT_SIGNAL_CAPACITY,
};
pub use channel::{message_queue, signal_channel, MessageReceiver, MessageSender, QueueConfig};
pub use context::{OverseerContext, SubsystemContext};
pub use error::{OverseerError, OverseerResult, TrySendError};
pub use handle::{Command, EventHandler, Handle};
pub use instance::{
    Launcher, OverseenSubsystem, Source, SubsystemInstance, Supervised, Supervision,
};
pub use lifecycle::{ExitOutcome, ExitReport, RunningSubsystem, ShutdownCause, SubsystemExit};
pub use message::{
    make_packet, ConcludeSignal, FromOverseer, HighPriority, MessagePacket, NormalPriority,
    Priority, PriorityLevel, SignalsReceived, ToOverseer,
};
pub use metrics::Metrics;
pub use request::{RequestError, Responder};
pub use route::{Consumable, Consumed, Route};
pub use run_loop::Core;
pub use sender::{OverseerSender, SubsystemSender};
pub use spawner::{Spawner, TokioSpawner};
pub use spec::OverseerSpec;
pub use stall::{Stall, StallPolicy, StallWatch};
pub use subsystem::{DummySubsystem, SpawnedSubsystem, Subsystem};
pub use supervisor::{Backoff, Restart, RestartPolicy};
pub use timeout::{Timeout, TimeoutExt};

#[doc(hidden)]
pub use futures::{
    self,
    channel::{mpsc, oneshot},
    future::{BoxFuture, Fuse, Future},
    select,
    stream::{self, FuturesUnordered},
    FutureExt, StreamExt,
};
/// The timer behind [`Timeout`]; orchestra re-exports it too.
#[doc(hidden)]
pub use futures_timer::Delay;
#[doc(hidden)]
pub use std::pin::Pin;
#[doc(hidden)]
pub use std::time::Duration;

/// Items the generated code refers to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use std::sync::Arc;
    pub use tracing;
}
