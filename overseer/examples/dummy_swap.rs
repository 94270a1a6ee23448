//! Swapping a subsystem for `DummySubsystem`: test the others without it.
//!
//! The overseer has three subsystems: a `client` that sends requests, a `service` that
//! answers them and reports each one to an `auditor`. The example runs it twice with the same
//! builder chain: once as is, and once with `.replace_auditor(|_| DummySubsystem)`, which
//! drops the real auditor (unstarted) and puts in a subsystem that accepts and drops every
//! message and ends on `Conclude`. The client and the service work exactly as before; only
//! the audit records are gone. `main` checks all of this with assertions, like a test would.
//!
//! Run it with:
//!
//! ```sh
//! cargo run -p overseer --example dummy_swap
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use overseer::*;

/// How many requests the client sends.
const REQUESTS: u32 = 3;

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

/// From the client to the service.
#[derive(Debug)]
pub struct Request(pub u32);

/// From the service back to the client.
#[derive(Debug)]
pub struct Reply(pub u32);

/// From the service to the auditor: one per request served.
#[derive(Debug)]
pub struct Audit(pub u32);

/// External events; this example has none.
#[derive(Debug)]
pub struct Event;

/// A client, a service and an auditor.
#[overlord(signal = Signal, event = Event, gen = AllMessages)]
pub struct Workflow {
    /// Sends requests, counts replies, then asks for shutdown.
    #[subsystem(consumes: Reply, sends: [Request])]
    client: Client,
    /// Answers every request and audits it.
    #[subsystem(consumes: Request, sends: [Reply, Audit])]
    service: Service,
    /// Counts audit records.
    #[subsystem(consumes: Audit)]
    auditor: Auditor,
}

/// Sends `REQUESTS` requests and counts the replies.
#[derive(Debug)]
pub struct Client {
    handle: WorkflowHandle,
    replies: Arc<AtomicUsize>,
}

#[overseer::subsystem(Client, error = OverseerError)]
impl<Context> Client {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "client",
            future: Box::pin(async move {
                ctx.send_messages((1..=REQUESTS).map(Request)).await;
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg: Reply(n) } => {
                            let replies = self.replies.fetch_add(1, Ordering::SeqCst) + 1;
                            println!("  client: reply {n}");
                            if replies == REQUESTS as usize {
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

/// Answers each request and sends an audit record for it.
#[derive(Debug)]
pub struct Service;

#[overseer::subsystem(Service, error = OverseerError)]
impl<Context> Service {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "service",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg: Request(n) } => {
                            ctx.send_message(Audit(n)).await;
                            ctx.send_message(Reply(n)).await;
                        }
                        FromOverseer::Signal(Signal::Conclude) => return Ok(()),
                    }
                }
            }),
        }
    }
}

/// Counts the audit records it receives.
#[derive(Debug)]
pub struct Auditor {
    audits: Arc<AtomicUsize>,
}

#[overseer::subsystem(Auditor, error = OverseerError)]
impl<Context> Auditor {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "auditor",
            future: Box::pin(async move {
                let record = |Audit(n)| {
                    println!("  auditor: request {n} audited");
                    self.audits.fetch_add(1, Ordering::SeqCst);
                };
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg } => record(msg),
                        FromOverseer::Signal(Signal::Conclude) => {
                            // Signals overtake queued messages: record what is still queued
                            // before leaving, so no audit is lost.
                            while let Ok(Some(FromOverseer::Communication { msg })) =
                                ctx.try_recv().await
                            {
                                record(msg);
                            }
                            return Ok(());
                        }
                    }
                }
            }),
        }
    }
}

/// What one run observed.
#[derive(Debug)]
struct Outcome {
    report: ExitReport,
    replies: usize,
    audits: usize,
}

/// Build the overseer, with the real auditor or with `DummySubsystem` in its place, and run it.
async fn run(dummy_auditor: bool) -> Result<Outcome, Box<dyn std::error::Error>> {
    let replies = Arc::new(AtomicUsize::new(0));
    let audits = Arc::new(AtomicUsize::new(0));
    let client_replies = Arc::clone(&replies);
    let builder = Workflow::builder()
        .client_with(move |handle| {
            Ok(Client {
                handle,
                replies: client_replies,
            })
        })
        .service(Service)
        .auditor(Auditor {
            audits: Arc::clone(&audits),
        })
        .spawner(TokioSpawner::current().ok_or("not inside a tokio runtime")?);
    // The overseer's type does not depend on the subsystems' types, so both arms agree.
    let (overseer, _handle) = if dummy_auditor {
        builder.replace_auditor(|_real| DummySubsystem).build()?
    } else {
        builder.build()?
    };
    let report = overseer.run().await?;
    Ok(Outcome {
        report,
        replies: replies.load(Ordering::SeqCst),
        audits: audits.load(Ordering::SeqCst),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("with the real auditor:");
    let real = run(false).await?;
    println!("  {}", real.report);
    assert!(real.report.is_clean(), "{}", real.report);
    assert_eq!(real.replies, REQUESTS as usize);
    assert_eq!(real.audits, REQUESTS as usize);

    println!("with `.replace_auditor(|_| DummySubsystem)`:");
    let swapped = run(true).await?;
    println!("  {}", swapped.report);
    // The client and the service ran as before...
    assert!(swapped.report.is_clean(), "{}", swapped.report);
    assert_eq!(swapped.replies, REQUESTS as usize);
    // ...the real auditor never started...
    assert_eq!(swapped.audits, 0);
    // ...and the dummy is reported under the field's name; it ended on `Conclude`.
    assert_eq!(swapped.report.outcome("auditor"), Some(&ExitOutcome::Ok));

    println!("ok: the client and the service work without the real auditor");
    Ok(())
}
