#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The test harness: one subsystem driven end to end through `<Name>Spec::harness::<M>`, without
//! the others.

mod common;

use std::time::Duration;

use common::*;
use overseer::testing::HarnessError;
use overseer::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order(pub u32);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket(pub u32);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill(pub u32);

pub type Pass = Recorder<Ticket>;
pub type Till = Recorder<Bill>;

#[overlord(signal = Sig, event = Event, gen = AllMessages)]
pub struct Kitchen {
    #[subsystem(consumes: Order, sends: [Ticket, Bill])]
    chef: Chef,
    #[subsystem(consumes: Ticket, sends: [Order])]
    pass: Pass,
    #[subsystem(consumes: Bill, sends: [Order])]
    till: Till,
}

/// For every order: a ticket to the pass, then a bill of ten times its number to the till.
/// Ignores ticks, ends on `Conclude`.
#[derive(Debug)]
pub struct Chef;

#[overseer::subsystem(Chef, error = OverseerError)]
impl<Ctx> Chef {
    fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "chef",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg: Order(n) } => {
                            ctx.send_message(Ticket(n)).await;
                            ctx.send_message(Bill(n * 10)).await;
                        }
                        FromOverseer::Signal(Sig::Conclude) => return Ok(()),
                        FromOverseer::Signal(Sig::Tick(_)) => {}
                    }
                }
            }),
        }
    }
}

/// How long the harness waits to be sure nothing more comes.
const QUIET: Duration = Duration::from_millis(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_drives_one_subsystem_end_to_end() {
    let (ctx, mut test) = KitchenSpec::harness::<Order>(TokioSpawner::current().unwrap());
    let spawned = Subsystem::start(Chef, ctx);
    let chef = tokio::spawn(spawned.future);

    for n in 1..=2 {
        test.send(Order(n)).await.unwrap();
        let mut sent = Vec::new();
        for _ in 0..2 {
            sent.push(test.recv(DEADLINE).await.unwrap());
        }
        // Ticket and bill go to different queues; the harness may read either first.
        let tickets: Vec<_> = sent
            .iter()
            .filter_map(|message| match message {
                AllMessages::Ticket(ticket) => Some(ticket.clone()),
                _ => None,
            })
            .collect();
        let bills: Vec<_> = sent
            .iter()
            .filter_map(|message| match message {
                AllMessages::Bill(bill) => Some(bill.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(tickets, [Ticket(n)], "{sent:?}");
        assert_eq!(bills, [Bill(n * 10)], "{sent:?}");
    }
    assert!(
        test.sends_nothing_within(QUIET).await,
        "one ticket and one bill per order"
    );

    test.signal(Sig::Tick(1)).await.unwrap();
    assert!(test.sends_nothing_within(QUIET).await);
    test.signal(Sig::Conclude).await.unwrap();
    let ended = within("the chef to end", chef).await.unwrap();
    assert!(ended.is_ok(), "{ended:?}");

    // It is gone: the harness says so instead of waiting.
    assert_eq!(test.send(Order(3)).await, Err(HarnessError::Gone));
    assert_eq!(test.signal(Sig::Conclude).await, Err(HarnessError::Gone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_queues_messages_until_the_subsystem_reads_them() {
    let (ctx, mut test) = KitchenSpec::harness::<Order>(TokioSpawner::current().unwrap());
    for n in 1..=3 {
        test.send(Order(n)).await.unwrap();
    }
    assert_eq!(test.queued(), 3);
    assert_eq!(
        test.recv(QUIET).await.unwrap_err(),
        HarnessError::Timeout(QUIET),
        "nothing is sent before the subsystem starts"
    );

    let chef = tokio::spawn(Subsystem::start(Chef, ctx).future);
    let mut tickets = Vec::new();
    while tickets.len() < 3 {
        if let AllMessages::Ticket(Ticket(n)) = test.recv(DEADLINE).await.unwrap() {
            tickets.push(n);
        }
    }
    assert_eq!(tickets, [1, 2, 3], "in the order they were queued");
    assert_eq!(test.queued(), 0);

    test.signal(Sig::Conclude).await.unwrap();
    within("the chef to end", chef).await.unwrap().unwrap();
}
