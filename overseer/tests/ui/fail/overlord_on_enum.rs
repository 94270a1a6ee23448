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

// `#[overlord]` needs a struct.
#[overlord(signal = Sig, event = Ev, gen = AllMessages)]
pub enum Ovs {
    A(SubA),
    B(SubB),
}

fn main() {}
