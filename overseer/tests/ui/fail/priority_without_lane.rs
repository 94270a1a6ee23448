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

// `a` sends `MsgB` with priority, but `b` has no priority lane.
#[overlord(signal = Sig, event = Ev, gen = AllMessages)]
pub struct Ovs {
    #[subsystem(consumes: MsgA, sends: [priority MsgB])]
    a: SubA,
    #[subsystem(consumes: MsgB, sends: [MsgA])]
    b: SubB,
}

fn main() {}
