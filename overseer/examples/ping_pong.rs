//! Two subsystems play ping-pong, then one of them asks the overseer to shut down.
//!
//! Shows the whole life of an overseer: declaring messages and a signal, `#[overlord]`,
//! implementing subsystems with `#[overseer::subsystem]`, giving a subsystem the overseer's
//! handle with the builder's `<field>_with(|handle| ..)`, `run()`, and reading the
//! `ExitReport` after a requested shutdown.
//!
//! Run it with:
//!
//! ```sh
//! cargo run -p overseer --example ping_pong
//! ```

use std::time::Duration;

use overseer::*;

/// How many pings the pinger sends before it asks for shutdown.
const ROUNDS: u32 = 5;

/// The signal broadcast to every subsystem.
#[derive(Debug, Clone)]
pub enum Signal {
    /// Finish: the only signal of this example.
    Conclude,
}

impl ConcludeSignal for Signal {
    fn conclude() -> Self {
        Signal::Conclude
    }
    fn is_conclude(&self) -> bool {
        matches!(self, Signal::Conclude)
    }
}

/// Sent by the pinger, consumed by the ponger.
#[derive(Debug)]
pub struct Ping(pub u32);

/// Sent by the ponger, consumed by the pinger.
#[derive(Debug)]
pub struct Pong(pub u32);

/// External events; this example has none.
#[derive(Debug)]
pub struct Event;

/// The overseer: two subsystems, each consuming what the other sends.
#[overlord(signal = Signal, event = Event, gen = AllMessages)]
pub struct PingPong {
    /// Sends pings, reads pongs.
    #[subsystem(consumes: Pong, sends: [Ping])]
    pinger: Pinger,
    /// Reads pings, answers with pongs.
    #[subsystem(consumes: Ping, sends: [Pong])]
    ponger: Ponger,
}

/// Sends `rounds` pings, one at a time, then asks for shutdown through the handle.
#[derive(Debug)]
pub struct Pinger {
    handle: PingPongHandle,
    rounds: u32,
}

#[overseer::subsystem(Pinger, error = OverseerError)]
impl<Context> Pinger {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        let Pinger { handle, rounds } = self;
        SpawnedSubsystem {
            name: "pinger",
            future: Box::pin(async move {
                ctx.send_message(Ping(1)).await;
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg: Pong(n) } => {
                            println!("pinger: got pong {n}");
                            if n < rounds {
                                ctx.send_message(Ping(n + 1)).await;
                            } else {
                                println!("pinger: {rounds} rounds done, asking for shutdown");
                                // Keep receiving: the overseer answers with `Conclude`.
                                handle.shutdown(Duration::from_secs(1)).await?;
                            }
                        }
                        FromOverseer::Signal(Signal::Conclude) => return Ok(()),
                    }
                }
            }),
        }
    }
}

/// Answers every ping with a pong.
#[derive(Debug)]
pub struct Ponger;

#[overseer::subsystem(Ponger, error = OverseerError)]
impl<Context> Ponger {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "ponger",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg: Ping(n) } => {
                            println!("ponger: got ping {n}");
                            ctx.send_message(Pong(n)).await;
                        }
                        FromOverseer::Signal(Signal::Conclude) => return Ok(()),
                    }
                }
            }),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spawner = TokioSpawner::current().ok_or("not inside a tokio runtime")?;
    let (overseer, _handle) = PingPong::builder()
        // The handle exists before the overseer does: `build()` passes it in.
        .pinger_with(|handle| {
            Ok(Pinger {
                handle,
                rounds: ROUNDS,
            })
        })
        .ponger(Ponger)
        .spawner(spawner)
        .build()?;

    // `Ok` because shutdown was requested; a subsystem ending on its own would be an `Err`.
    let report = overseer.run().await?;
    println!("report: {report}");
    for exit in &report.exits {
        println!("  {exit}");
    }
    if !report.is_clean() {
        return Err(format!("unexpected exits: {:?}", report.failed()).into());
    }
    Ok(())
}
