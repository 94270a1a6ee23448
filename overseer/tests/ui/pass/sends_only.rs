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

// A subsystem with no `consumes` still receives signals and can send.
#[overlord(signal = Sig, event = Ev, gen = AllMessages)]
pub struct Ovs {
    #[subsystem(sends: [MsgA])]
    source: Source,
    #[subsystem(consumes: MsgA, sends: [MsgB])]
    a: SubA,
    #[subsystem(consumes: MsgB, sends: [MsgA])]
    b: SubB,
}

pub struct Source;

#[overseer::subsystem(Source, error = OverseerError)]
impl<Context> Source {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "source",
            future: Box::pin(async move {
                ctx.send_message(MsgA).await;
                // It consumes nothing, so all it can receive is a signal.
                let FromOverseer::Signal(Sig::Conclude) = ctx.recv().await?;
                Ok(())
            }),
        }
    }
}

#[tokio::main]
async fn main() {
    let (overseer, handle) = Ovs::builder()
        .source(Source)
        .a(DummySubsystem)
        .b(DummySubsystem)
        .spawner(TokioSpawner::current().unwrap())
        .build()
        .unwrap();
    handle.shutdown(Duration::from_millis(200)).await.unwrap();
    let report = overseer.run().await.unwrap();
    assert!(report.is_clean());
}
