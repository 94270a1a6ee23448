use std::time::Duration;

use overseer::*;

#[derive(Debug, Clone)]
pub enum Sig {
    Conclude,
}
impl ConcludeSignal for Sig {
    fn conclude() -> Self {
        Sig::Conclude
    }
    fn is_conclude(&self) -> bool {
        true
    }
}
pub struct Ev;
#[derive(Debug)]
pub struct MsgA;
#[derive(Debug)]
pub struct MsgB;
pub struct SubA;
pub struct SubB;

// A `wip` subsystem has no builder slot: the builder does not ask for it, and
// messages routed to it are dropped.
#[derive(Debug)]
pub struct MsgC;
pub struct SubC;

#[overlord(signal = Sig, event = Ev, gen = AllMessages)]
pub struct Ovs {
    #[subsystem(consumes: MsgA, sends: [MsgB, MsgC])]
    a: SubA,
    #[subsystem(consumes: MsgB, sends: [MsgA])]
    b: SubB,
    #[subsystem(wip, consumes: MsgC, sends: [MsgA])]
    c: SubC,
}

#[tokio::main]
async fn main() {
    let (mut overseer, handle) = Ovs::builder()
        .a(DummySubsystem)
        .b(DummySubsystem)
        .spawner(TokioSpawner::current().unwrap())
        .build()
        .unwrap();
    overseer.route_message(MsgC.into(), "main").await.unwrap();
    overseer.route_message(MsgA.into(), "main").await.unwrap();
    handle.shutdown(Duration::from_millis(200)).await.unwrap();
    let report = overseer.run().await.unwrap();
    assert!(report.is_clean());
    assert_eq!(report.exits.len(), 2);
}
