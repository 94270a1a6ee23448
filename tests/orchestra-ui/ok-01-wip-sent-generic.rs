// Copyright (C) 2022 Parity Technologies (UK) Ltd. SPDX-License-Identifier: MIT OR Apache-2.0 (orchestra 0.4.1).
// Port of orchestra 0.4.1 `tests/ui/ok-01-wip.rs` by renaming (orchestra -> overseer) plus TWO extra edits, described on the next lines; see guide/src/coming-from-orchestra.md.
// EXTRA EDIT beyond renaming: `sends: [MsgB]` on sub_a and `sends: [MsgA]` on sub_b, so no message is consumed-but-never-sent.
// EXTRA EDIT 2: the `wip` sub_b implements `Subsystem` through `#[overseer::subsystem]` on a generic
// context instead of for `OverseerSubsystemContext<MsgB>`, which a `wip` subsystem does not have here.
#![allow(dead_code)]

use overseer::*;

#[derive(Default)]
struct AwesomeSubSysA;

impl ::overseer::Subsystem<OverseerSubsystemContext<MsgA>, OverseerError> for AwesomeSubSysA {
	fn start(self, _ctx: OverseerSubsystemContext<MsgA>) -> SpawnedSubsystem<OverseerError> {
		SpawnedSubsystem { name: "sub A", future: Box::pin(async move { Ok(()) }) }
	}
}
#[overseer::subsystem(AwesomeSubSysB, error = OverseerError)]
impl<Context> AwesomeSubSysB {
	fn start(self, _ctx: Context) -> SpawnedSubsystem<OverseerError> {
		SpawnedSubsystem { name: "sub B", future: Box::pin(async move { Ok(()) }) }
	}
}

#[derive(Debug, Clone)]
pub struct DummySpawner;

impl Spawner for DummySpawner {
	fn spawn_blocking(
		&self,
		task_name: &'static str,
		subsystem_name: Option<&'static str>,
		_future: futures::future::BoxFuture<'static, ()>,
	) {
		println!("spawn blocking {} {}", task_name, subsystem_name.unwrap_or("default"))
	}

	fn spawn(
		&self,
		task_name: &'static str,
		subsystem_name: Option<&'static str>,
		_future: futures::future::BoxFuture<'static, ()>,
	) {
		println!("spawn {} {}", task_name, subsystem_name.unwrap_or("default"))
	}
}

#[derive(Default)]
pub struct AwesomeSubSysB;

#[derive(Clone, Debug)]
pub struct SigSigSig;

pub struct Event;

#[derive(Clone, Debug)]
pub struct MsgA(u8);

#[derive(Clone, Debug)]
pub struct MsgB(u8);

#[overlord(signal=SigSigSig, event=Event, gen=AllMessages, error=OverseerError)]
pub struct Overseer {
	#[subsystem(MsgA, sends: [MsgB])]
	sub_a: AwesomeSubSysA,

	#[subsystem(wip, MsgB, sends: [MsgA])]
	sub_b: AwesomeSubSysB,
}

pub struct DummyCtx;

fn main() {
	let _overseer_builder = Overseer::builder()
		.sub_a(AwesomeSubSysA::default())
		// b is tagged as `wip`
		// .sub_b(AwesomeSubSysB::default())
		.spawner(DummySpawner)
		.build();
}
