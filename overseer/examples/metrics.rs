//! Metrics: every Prometheus series of a small overseer, printed in the text exposition.
//!
//! Four subsystems make traffic that touches every series:
//!
//! - `front` sends orders to `worker` (whose queue holds 2, so sends block), nudges to `sleepy`,
//!   and one request to `stock`, whose answer it awaits (`overseer_request_seconds`);
//! - `worker` is given as a factory with `restart: on_failure`; its first incarnation panics on
//!   order 5 (the panic message on stderr is part of the demo) and the second one handles the rest
//!   from the same queue (`overseer_subsystem_restarts_total{reason="panic"}`);
//! - `sleepy` has `stall_ms: 30` and gets stuck after its first nudge while more wait, until the
//!   stall watch (policy `Report`) has reported it (`overseer_subsystem_stalled`);
//! - `main` broadcasts a signal and shuts down (`overseer_signals_*`), then prints the scrape.
//!
//! Run it with:
//!
//! ```sh
//! cargo run -p overseer --example metrics
//! ```
//!
//! The exposition goes to stdout, a summary to stderr.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use overseer::*;
use prometheus::{Registry, TextEncoder};
use tokio::sync::{mpsc, Notify};

/// Orders `front` sends.
pub const ORDERS: u32 = 12;
/// The order that makes the first incarnation of `worker` panic.
pub const FAILING_ORDER: u32 = 5;
/// Nudges `front` sends.
pub const NUDGES: u32 = 4;
/// The stall threshold of `sleepy`, in milliseconds.
pub const STALL_MS: u64 = 30;
/// The most the whole scenario may take.
pub const SCENARIO_DEADLINE: Duration = Duration::from_secs(20);

/// The signal broadcast to every subsystem.
#[derive(Debug, Clone)]
pub enum Signal {
    /// Something happened; subsystems just count it.
    Tick,
    /// Finish.
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

/// An order for `worker`, numbered from 1.
#[derive(Debug)]
pub struct Order(pub u32);

/// A request for the stock level of an item; `stock` answers through the responder.
#[derive(Debug)]
pub struct Lookup {
    /// The item.
    pub item: u32,
    /// Where the answer goes.
    pub responder: Responder<u32>,
}

/// A nudge for `sleepy`, numbered from 1.
#[derive(Debug)]
pub struct Nudge(pub u32);

/// External events; this example has none.
#[derive(Debug)]
pub struct Event;

/// A shop of four subsystems.
#[overlord(signal = Signal, event = Event, gen = AllMessages)]
pub struct Shop {
    /// Makes the traffic.
    #[subsystem(sends: [Order, Nudge, Lookup])]
    front: Front,
    /// Handles orders; restarted after a failure, from its factory.
    #[subsystem(consumes: Order, message_capacity: 2, restart: on_failure, intensity: 3, period_ms: 10_000)]
    worker: Worker,
    /// Answers lookups.
    #[subsystem(consumes: Lookup)]
    stock: Stock,
    /// Watched for stalls.
    #[subsystem(consumes: Nudge, stall_ms: STALL_MS)]
    sleepy: Sleepy,
}

/// What the subsystems and the stall hook tell `scenario` as the traffic goes.
#[derive(Debug, Clone)]
pub enum Milestone {
    /// `worker` handled the last order.
    OrdersDone,
    /// `sleepy` handled the last nudge.
    NudgesDone,
    /// `front` got the answer to its lookup.
    LookupAnswered(u32),
    /// The stall watch reported a stall.
    Stalled(Stall),
}

type Milestones = mpsc::UnboundedSender<Milestone>;

/// Sends the orders and nudges, then makes one request.
#[derive(Debug)]
pub struct Front {
    milestones: Milestones,
}

#[overseer::subsystem(Front, error = OverseerError)]
impl<Context> Front {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "front",
            future: Box::pin(async move {
                for n in 1..=ORDERS {
                    ctx.send_message(Order(n)).await;
                }
                for n in 1..=NUDGES {
                    ctx.send_message(Nudge(n)).await;
                }
                let level = ctx
                    .sender()
                    .request(
                        |responder| Lookup { item: 7, responder },
                        Duration::from_secs(5),
                    )
                    .await
                    .map_err(|error| OverseerError::Context(format!("look up stock: {error}")))?;
                let _ = self.milestones.send(Milestone::LookupAnswered(level));
                while !ctx.recv_signal().await?.is_conclude() {}
                Ok(())
            }),
        }
    }
}

/// Handles orders, 1 ms each; incarnation 1 panics on [`FAILING_ORDER`].
#[derive(Debug)]
pub struct Worker {
    incarnation: u32,
    milestones: Milestones,
}

#[overseer::subsystem(Worker, error = OverseerError)]
impl<Context> Worker {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "worker",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg: Order(n) } => {
                            if self.incarnation == 1 && n == FAILING_ORDER {
                                panic!("worker: order {n} jammed the machine");
                            }
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            if n == ORDERS {
                                let _ = self.milestones.send(Milestone::OrdersDone);
                            }
                        }
                        FromOverseer::Signal(Signal::Conclude) => return Ok(()),
                        FromOverseer::Signal(Signal::Tick) => {}
                    }
                }
            }),
        }
    }
}

/// Answers every lookup with a stock level.
#[derive(Debug)]
pub struct Stock;

#[overseer::subsystem(Stock, error = OverseerError)]
impl<Context> Stock {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "stock",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication {
                            msg: Lookup { item, responder },
                        } => {
                            // The requester may have given up; then nobody needs the answer.
                            let _ = responder.respond(item * 6);
                        }
                        FromOverseer::Signal(Signal::Conclude) => return Ok(()),
                        FromOverseer::Signal(Signal::Tick) => {}
                    }
                }
            }),
        }
    }
}

/// Gets stuck after the first nudge until the stall watch reported it.
#[derive(Debug)]
pub struct Sleepy {
    unstuck: Arc<Notify>,
    milestones: Milestones,
}

#[overseer::subsystem(Sleepy, error = OverseerError)]
impl<Context> Sleepy {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "sleepy",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg: Nudge(n) } => {
                            if n == 1 {
                                // Stuck while the other nudges wait: a stall.
                                self.unstuck.notified().await;
                            }
                            if n == NUDGES {
                                let _ = self.milestones.send(Milestone::NudgesDone);
                            }
                        }
                        FromOverseer::Signal(Signal::Conclude) => return Ok(()),
                        FromOverseer::Signal(Signal::Tick) => {}
                    }
                }
            }),
        }
    }
}

/// What the scenario leaves behind.
#[derive(Debug)]
pub struct Scrape {
    /// The registry every series lives in.
    pub registry: Registry,
    /// Its text exposition after the overseer stopped.
    pub exposition: String,
    /// How the overseer stopped.
    pub report: ExitReport,
    /// The stall the watch reported.
    pub stall: Stall,
    /// The answer to `front`'s lookup.
    pub stock_level: u32,
}

/// Run the shop until every milestone is reached, stop it, and scrape the registry.
pub async fn scenario() -> Result<Scrape, Box<dyn Error + Send + Sync>> {
    let registry = Registry::new();
    let (milestones, mut reached) = mpsc::unbounded_channel();
    let unstuck = Arc::new(Notify::new());
    let hook: Arc<dyn Fn(&Stall) + Send + Sync> = {
        let (unstuck, milestones) = (Arc::clone(&unstuck), milestones.clone());
        Arc::new(move |stall: &Stall| {
            let _ = milestones.send(Milestone::Stalled(stall.clone()));
            unstuck.notify_one();
        })
    };
    let mut incarnations = 0;
    let worker_milestones = milestones.clone();
    let (overseer, handle) = Shop::builder()
        .front(Front {
            milestones: milestones.clone(),
        })
        .worker_factory(move || {
            incarnations += 1;
            Worker {
                incarnation: incarnations,
                milestones: worker_milestones.clone(),
            }
        })
        .stock(Stock)
        .sleepy(Sleepy {
            unstuck,
            milestones,
        })
        .metrics(Metrics::new(&registry)?)
        .stall_watch(StallWatch {
            policy: StallPolicy::Report,
            hook: Some(hook),
            default_threshold: None,
        })
        .spawner(TokioSpawner::current().ok_or("not inside a tokio runtime")?)
        .build()?;
    let running = tokio::spawn(overseer.run());

    let (mut orders, mut nudges, mut stock_level, mut stall) = (false, false, None, None);
    tokio::time::timeout(SCENARIO_DEADLINE, async {
        while !(orders && nudges && stock_level.is_some() && stall.is_some()) {
            match reached.recv().await {
                Some(Milestone::OrdersDone) => orders = true,
                Some(Milestone::NudgesDone) => nudges = true,
                Some(Milestone::LookupAnswered(level)) => stock_level = Some(level),
                Some(Milestone::Stalled(reported)) => stall = Some(reported),
                None => break,
            }
        }
    })
    .await?;
    let (Some(stock_level), Some(stall)) = (stock_level, stall) else {
        return Err("the subsystems stopped before the traffic was done".into());
    };

    handle.broadcast_signal(Signal::Tick).await?;
    handle.stop().await?;
    let report = tokio::time::timeout(SCENARIO_DEADLINE, running).await???;
    let exposition = TextEncoder::new().encode_to_string(&registry.gather())?;
    Ok(Scrape {
        registry,
        exposition,
        report,
        stall,
        stock_level,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let scrape = scenario().await?;
    eprintln!("{}", scrape.report);
    eprintln!(
        "stall reported: `{}` with {} queued after {:?}; stock level answered: {}",
        scrape.stall.subsystem, scrape.stall.queued, scrape.stall.stalled_for, scrape.stock_level
    );
    print!("{}", scrape.exposition);
    Ok(())
}
