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

#[overlord(signal = Sig, event = Ev, gen = AllMessages)]
pub struct Ovs {
    #[subsystem(consumes: MsgA, sends: [MsgB])]
    a: SubA,
    #[subsystem(consumes: MsgB, sends: [MsgA])]
    b: SubB,
}

// `a` sends `MsgA` through its sender, but only declares `sends: [MsgB]`.
#[overseer::subsystem(SubA, error = OverseerError)]
impl<Ctx> SubA {
    fn start(self, mut ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        let mut sender = ctx.sender().clone();
        SpawnedSubsystem {
            name: "a",
            future: Box::pin(async move {
                sender.send_message(MsgA).await;
                Ok(())
            }),
        }
    }
}

fn main() {}
