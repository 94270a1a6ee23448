//! Cost of one message through an overseer, with metrics off and on, against a raw
//! async-channel pair: orchestra's own benchmark topology (one subsystem streaming to another).
//!
//! `cargo bench -p overseer --bench hot_path` prints a table of ns/message and ratios, each
//! the median of several runs measured in the same process. Under `cargo test` it runs once,
//! small, as a smoke test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    missing_debug_implementations
)]

use std::time::{Duration, Instant};

use futures::channel::oneshot;
use overseer::*;

#[derive(Debug, Clone)]
pub enum Signal {
    Conclude,
}

impl ConcludeSignal for Signal {
    fn conclude() -> Self {
        Signal::Conclude
    }
    fn is_conclude(&self) -> bool {
        true
    }
}

pub struct Event;

#[derive(Debug)]
pub struct Start;

#[derive(Debug)]
pub struct Payload(pub u8);

#[overlord(signal = Signal, event = Event, gen = AllMessages)]
pub struct Stream {
    #[subsystem(consumes: Start, sends: [Payload])]
    producer: Producer,
    #[subsystem(consumes: Payload, sends: [Start])]
    consumer: Consumer,
}

pub struct Producer {
    count: u64,
}

#[overseer::subsystem(Producer, error = OverseerError)]
impl<Ctx> Producer {
    fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "producer",
            future: Box::pin(async move {
                while let Ok(FromOverseer::Communication { msg: Start }) = ctx.recv().await {
                    let sender = ctx.sender();
                    for i in 0..self.count {
                        sender.send_message(Payload(i as u8)).await;
                    }
                }
                Ok(())
            }),
        }
    }
}

pub struct Consumer {
    count: u64,
    done: Option<oneshot::Sender<Instant>>,
}

#[overseer::subsystem(Consumer, error = OverseerError)]
impl<Ctx> Consumer {
    fn start(mut self, mut ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "consumer",
            future: Box::pin(async move {
                ctx.send_message(Start).await;
                let mut received = 0u64;
                while let Ok(FromOverseer::Communication { msg: Payload(_) }) = ctx.recv().await {
                    received += 1;
                    if received == self.count {
                        if let Some(done) = self.done.take() {
                            let _ = done.send(Instant::now());
                        }
                    }
                }
                Ok(())
            }),
        }
    }
}

async fn overseer_run(count: u64, metrics: bool) -> Duration {
    let (done, finished) = oneshot::channel();
    let mut builder = Stream::builder()
        .producer(Producer { count })
        .consumer(Consumer {
            count,
            done: Some(done),
        })
        .spawner(TokioSpawner::current().unwrap())
        .message_channel_capacity(1024);
    if metrics {
        builder = builder.metrics(Metrics::new(&prometheus::Registry::new()).unwrap());
    }
    let started = Instant::now();
    let (overseer, handle) = builder.build().unwrap();
    let end = finished.await.unwrap();
    handle.shutdown(Duration::from_secs(1)).await.unwrap();
    overseer.run().await.unwrap();
    end - started
}

async fn raw_run(count: u64) -> Duration {
    let (tx, rx) = async_channel::bounded::<u8>(1024);
    let started = Instant::now();
    let producer = tokio::spawn(async move {
        for i in 0..count {
            tx.send(i as u8).await.unwrap();
        }
    });
    let consumer = tokio::spawn(async move {
        for _ in 0..count {
            rx.recv().await.unwrap();
        }
        Instant::now()
    });
    producer.await.unwrap();
    consumer.await.unwrap() - started
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (count, runs) = if full {
        (1_000_000u64, 9)
    } else {
        (10_000u64, 1)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let per_message = |elapsed: Duration| elapsed.as_nanos() as f64 / count as f64;
    let mut raw = Vec::new();
    let mut off = Vec::new();
    let mut on = Vec::new();
    for _ in 0..runs {
        raw.push(per_message(runtime.block_on(raw_run(count))));
        off.push(per_message(runtime.block_on(overseer_run(count, false))));
        on.push(per_message(runtime.block_on(overseer_run(count, true))));
    }
    let (raw, off, on) = (median(raw), median(off), median(on));
    println!("hot path, u8 messages, {count} per run, median of {runs} runs:");
    println!("  raw async-channel pair      {raw:>8.1} ns/msg   1.00x");
    println!(
        "  overseer, metrics off       {off:>8.1} ns/msg   {:.2}x raw",
        off / raw
    );
    println!(
        "  overseer, metrics on        {on:>8.1} ns/msg   {:.2}x raw   {:+.1}% vs metrics off",
        on / raw,
        (on / off - 1.0) * 100.0
    );
}
