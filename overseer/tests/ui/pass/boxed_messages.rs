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

// `boxed_messages = true`: queues carry `Box<M>`; senders and receivers still see `M`.
#[overlord(signal = Sig, event = Ev, gen = AllMessages, boxed_messages = true)]
pub struct Ovs {
    #[subsystem(consumes: MsgA, sends: [MsgB])]
    a: SubA,
    #[subsystem(consumes: MsgB, sends: [MsgA])]
    b: SubB,
}

#[overseer::subsystem(SubA, error = OverseerError)]
impl<Context> SubA {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
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

#[overseer::subsystem(SubB, error = OverseerError)]
impl<Context> SubB {
    fn start(self, mut ctx: Context) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "b",
            future: Box::pin(async move {
                match ctx.recv().await? {
                    FromOverseer::Communication { msg: MsgB } => Ok(()),
                    FromOverseer::Signal(_) => Err(OverseerError::NotRunning),
                }
            }),
        }
    }
}

#[tokio::main]
async fn main() {
    let (overseer, handle) = Ovs::builder()
        .a(SubA)
        .b(SubB)
        .spawner(TokioSpawner::current().unwrap())
        .build()
        .unwrap();
    handle.send_message(MsgA).await.unwrap();
    // `b` ends once `a`'s `MsgB` reaches it, which ends the overseer.
    let error = overseer.run().await.unwrap_err();
    assert!(
        error.to_string().contains("subsystem `b` ended cleanly"),
        "{error}"
    );
}
