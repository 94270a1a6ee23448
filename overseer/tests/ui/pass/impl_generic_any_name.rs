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

// The context generic of a `#[subsystem]` impl may have any name.
#[overlord(signal = Sig, event = Ev, gen = AllMessages)]
pub struct Ovs {
    #[subsystem(consumes: MsgA, sends: [MsgB])]
    a: SubA,
    #[subsystem(consumes: MsgB, sends: [MsgA])]
    b: SubB,
}

#[overseer::subsystem(SubA, error = OverseerError)]
impl<Foo> SubA {
    fn start(self, mut ctx: Foo) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "a",
            future: Box::pin(async move {
                loop {
                    match ctx.recv().await? {
                        FromOverseer::Communication { msg: MsgA } => ctx.send_message(MsgB).await,
                        FromOverseer::Signal(Sig::Conclude) => return Ok(()),
                    }
                }
            }),
        }
    }
}

#[tokio::main]
async fn main() {
    let (mut overseer, handle) = Ovs::builder()
        .a(SubA)
        .b(DummySubsystem)
        .spawner(TokioSpawner::current().unwrap())
        .build()
        .unwrap();
    overseer.route_message(MsgA.into(), "main").await.unwrap();
    handle.shutdown(Duration::from_millis(200)).await.unwrap();
    let report = overseer.run().await.unwrap();
    assert!(report.is_clean());
}
