//! Backpressure: a fast producer is slowed to the pace of a slow consumer.
//!
//! The consumer's queue holds `message_capacity: 4` messages. The producer first tries
//! `try_send_message`, which never waits and hands the message back as
//! `TrySendError::Full(msg)` when the queue is at capacity; it then falls back to
//! `send_message(msg).await`, which waits for room. Once the queue has filled, the producer
//! can only send as fast as the consumer reads, so both finish at about the same time.
//! The consumer asks for shutdown after the last message; `main` prints a summary.
//!
//! Run it with:
//!
//! ```sh
//! cargo run -p overseer --example backpressure
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use overseer::*;

/// How many work items the producer sends.
const ITEMS: u32 = 40;
/// How long the consumer takes per item.
const WORK_TIME: Duration = Duration::from_millis(5);
/// The capacity of the consumer's queue.
const CAPACITY: usize = 4;

/// The signal broadcast to every subsystem.
#[derive(Debug, Clone)]
pub enum Signal {
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

/// One item of work, numbered from 1.
#[derive(Debug)]
pub struct Work(pub u32);

/// External events; this example has none.
#[derive(Debug)]
pub struct Event;

/// A producer that sends `Work` to a consumer with a small queue.
#[overlord(signal = Signal, event = Event, gen = AllMessages)]
pub struct Pipeline {
    /// Sends `ITEMS` work items as fast as it is allowed to.
    #[subsystem(sends: [Work])]
    producer: Producer,
    /// Takes `WORK_TIME` per item; its queue holds `CAPACITY` items.
    #[subsystem(consumes: Work, message_capacity: CAPACITY)]
    consumer: Consumer,
}

/// What the producer measured.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProducerStats {
    /// `try_send_message` calls that delivered at once.
    pub immediate: u32,
    /// `try_send_message` calls that found the queue full.
    pub full: u32,
    /// Total time spent in `send_message(..).await` after a `Full`.
    pub waited: Duration,
    /// Longest single wait.
    pub longest_wait: Duration,
    /// Time from the first to the last send.
    pub elapsed: Duration,
}

/// Sends `ITEMS` work items, waiting whenever the consumer's queue is full.
#[derive(Debug)]
pub struct Producer {
    stats: Arc<Mutex<ProducerStats>>,
}

#[overseer::subsystem(Producer, error = OverseerError)]
impl<Context> Producer {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "producer",
            future: Box::pin(async move {
                let mut stats = ProducerStats::default();
                let started = Instant::now();
                for n in 1..=ITEMS {
                    match ctx.sender().try_send_message(Work(n)) {
                        Ok(()) => stats.immediate += 1,
                        Err(TrySendError::Full(work)) => {
                            // The message came back: wait for room this time.
                            stats.full += 1;
                            let waiting = Instant::now();
                            ctx.send_message(work).await;
                            let waited = waiting.elapsed();
                            stats.waited += waited;
                            stats.longest_wait = stats.longest_wait.max(waited);
                        }
                        Err(TrySendError::Closed(_)) => return Ok(()),
                    }
                }
                stats.elapsed = started.elapsed();
                println!("producer: all {ITEMS} items sent after {:?}", stats.elapsed);
                if let Ok(mut shared) = self.stats.lock() {
                    *shared = stats;
                }
                // Done sending; stay until the overseer concludes. The producer consumes
                // nothing, so it only ever receives signals.
                while !ctx.recv_signal().await?.is_conclude() {}
                Ok(())
            }),
        }
    }
}

/// Handles one item every `WORK_TIME`; asks for shutdown after the last one.
#[derive(Debug)]
pub struct Consumer {
    handle: PipelineHandle,
}

#[overseer::subsystem(Consumer, error = OverseerError)]
impl<Context> Consumer {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "consumer",
            future: Box::pin(async move {
                let started = Instant::now();
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg: Work(n) } => {
                            tokio::time::sleep(WORK_TIME).await;
                            if n == ITEMS {
                                println!(
                                    "consumer: all {ITEMS} items handled after {:?}",
                                    started.elapsed()
                                );
                                self.handle.shutdown(Duration::from_secs(1)).await?;
                            }
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
    let stats = Arc::new(Mutex::new(ProducerStats::default()));
    let (overseer, _handle) = Pipeline::builder()
        .producer(Producer {
            stats: Arc::clone(&stats),
        })
        .consumer_with(|handle| Ok(Consumer { handle }))
        .spawner(TokioSpawner::current().ok_or("not inside a tokio runtime")?)
        .build()?;

    let report = overseer.run().await?;
    let stats = *stats.lock().map_err(|_| "stats lock poisoned")?;

    println!();
    println!("summary ({ITEMS} items, queue capacity {CAPACITY}, {WORK_TIME:?} of work per item):");
    println!(
        "  try_send_message: {} delivered at once, {} found the queue Full",
        stats.immediate, stats.full
    );
    println!(
        "  waiting in send_message: {:?} in total, {:?} at most",
        stats.waited, stats.longest_wait
    );
    println!(
        "  the producer needed {:?} to send everything; the consumer's pace is {:?} per {ITEMS} items",
        stats.elapsed,
        WORK_TIME * ITEMS
    );
    println!("  {report}");

    if stats.full == 0 {
        return Err("the producer never met a full queue".into());
    }
    if !report.is_clean() {
        return Err(format!("unexpected exits: {:?}", report.failed()).into());
    }
    Ok(())
}
