// Copyright (C) 2022 Parity Technologies (UK) Ltd. SPDX-License-Identifier: MIT OR Apache-2.0 (orchestra 0.4.1).
// Port of orchestra 0.4.1 `tests/ui/ok-02-boxed.rs` by renaming only (orchestra -> overseer); see guide/src/coming-from-orchestra.md.
#![allow(dead_code)]

use overseer::*;

#[derive(Default)]
struct AwesomeSubSysA;

#[derive(Default)]
pub struct AwesomeSubSysB;

impl ::overseer::Subsystem<OverseerSubsystemContext<MsgA>, OverseerError> for AwesomeSubSysA {
	fn start(self, _ctx: OverseerSubsystemContext<MsgA>) -> SpawnedSubsystem<OverseerError> {
		SpawnedSubsystem { name: "sub A", future: Box::pin(async move { Ok(()) }) }
	}
}
impl ::overseer::Subsystem<OverseerSubsystemContext<MsgB>, OverseerError> for AwesomeSubSysB {
	fn start(self, _ctx: OverseerSubsystemContext<MsgB>) -> SpawnedSubsystem<OverseerError> {
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

#[derive(Clone, Debug)]
pub struct SigSigSig;

pub struct Event;

#[derive(Clone, Debug)]
pub struct MsgA(u8);

#[derive(Clone, Debug)]
pub struct MsgB(u8);

#[overlord(signal=SigSigSig, event=Event, gen=AllMessages, error=OverseerError, boxed_messages=true)]
pub struct Overseer {
	#[subsystem(consumes: MsgA, sends: [MsgB])]
	sub_a: AwesomeSubSysA,

	#[subsystem(consumes: MsgB, sends: [MsgA])]
	sub_b: AwesomeSubSysB,
}

pub struct DummyCtx;

fn main() {
	let _overseer_builder = Overseer::builder()
		.sub_a(AwesomeSubSysA::default())
		.sub_b(AwesomeSubSysB::default())
		.spawner(DummySpawner)
		.build();
}
