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

// A subsystem compiled out by `#[cfg(any())]` needs no builder call; one kept by
// `#[cfg(all())]` does.
#[derive(Debug)]
pub struct MsgC;
#[derive(Debug)]
pub struct MsgD;
pub struct SubC;
pub struct SubD;

#[overlord(signal = Sig, event = Ev, gen = AllMessages)]
pub struct Ovs {
    #[subsystem(consumes: MsgA, sends: [MsgB, MsgC, MsgD])]
    a: SubA,
    #[subsystem(consumes: MsgB, sends: [MsgA])]
    b: SubB,
    #[cfg(any())]
    #[subsystem(consumes: MsgC, sends: [MsgA])]
    gone: SubC,
    #[cfg(all())]
    #[subsystem(consumes: MsgD, sends: [MsgA])]
    kept: SubD,
}

#[tokio::main]
async fn main() {
    let (mut overseer, handle) = Ovs::builder()
        .a(DummySubsystem)
        .b(DummySubsystem)
        .kept(DummySubsystem)
        .spawner(TokioSpawner::current().unwrap())
        .build()
        .unwrap();
    overseer.route_message(MsgD.into(), "main").await.unwrap();
    handle.shutdown(Duration::from_millis(200)).await.unwrap();
    let report = overseer.run().await.unwrap();
    assert!(report.is_clean());
    assert_eq!(report.exits.len(), 3);
}
