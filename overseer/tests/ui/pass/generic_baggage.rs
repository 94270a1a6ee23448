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

// Baggage generics with a where-clause; built with a concrete `T`.
#[overlord(signal = Sig, event = Ev, gen = AllMessages)]
pub struct Ovs<T>
where
    T: Clone + Send + 'static,
{
    #[subsystem(consumes: MsgA, sends: [MsgB])]
    a: SubA,
    #[subsystem(consumes: MsgB, sends: [MsgA])]
    b: SubB,
    pub data: T,
}

#[tokio::main]
async fn main() {
    let (mut overseer, handle) = Ovs::builder()
        .a(DummySubsystem)
        .b(DummySubsystem)
        .data(String::from("baggage"))
        .spawner(TokioSpawner::current().unwrap())
        .build()
        .unwrap();
    assert_eq!(overseer.data, "baggage");
    overseer.route_message(MsgA.into(), "main").await.unwrap();
    overseer.route_message(MsgB.into(), "main").await.unwrap();
    handle.shutdown(Duration::from_millis(200)).await.unwrap();
    let report = overseer.run().await.unwrap();
    assert!(report.is_clean());
}
