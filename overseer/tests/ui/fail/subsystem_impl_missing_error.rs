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

// `#[subsystem(..)]` on an impl needs `error = ..`.
#[overseer::subsystem(SubA)]
impl<Ctx> SubA {
    fn start(self, _ctx: Ctx) -> SpawnedSubsystem<OverseerError> {
        SpawnedSubsystem {
            name: "a",
            future: Box::pin(async move { Ok(()) }),
        }
    }
}

fn main() {}
