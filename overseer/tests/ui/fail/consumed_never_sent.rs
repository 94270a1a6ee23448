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

// `Foo` is consumed by `c` (spelled `crate::msgs::Foo`) but nobody sends it.
// `Bar`, sent as `msgs::Bar` and consumed as `Bar`, is one message: no error for it.
#[derive(Debug)]
pub struct Bar;
pub mod msgs {
    pub use super::Bar;
    #[derive(Debug)]
    pub struct Foo;
}

#[overlord(signal = Sig, event = Ev, gen = AllMessages)]
pub struct Ovs {
    #[subsystem(consumes: MsgA, sends: [msgs::Bar])]
    a: SubA,
    #[subsystem(consumes: Bar, sends: [MsgA])]
    b: SubB,
    #[subsystem(consumes: crate::msgs::Foo, sends: [MsgA])]
    c: SubC,
}

pub struct SubC;

fn main() {}
