// Copyright (C) 2022 Parity Technologies (UK) Ltd. SPDX-License-Identifier: MIT OR Apache-2.0 (orchestra 0.4.1).
// Port of orchestra 0.4.1 `tests/ui/err-06-missing-subsystem.rs` by renaming (orchestra -> overseer) plus ONE extra edit, described on the next line; see guide/src/coming-from-orchestra.md.
// EXTRA EDIT beyond renaming: `sends: [MsgStrukt]` on sub0, so the consumed-but-never-sent check does not mask the error this test is about.
#![allow(dead_code)]

use overseer::*;

#[derive(Default)]
struct AwesomeSubSys;

impl ::overseer::Subsystem<OverseerSubsystemContext<MsgStrukt>, OverseerError> for AwesomeSubSys {
	fn start(self, _ctx: OverseerSubsystemContext<MsgStrukt>) -> SpawnedSubsystem<OverseerError> {
		unimplemented!("starting yay!")
	}
}

#[derive(Clone, Debug)]
pub struct SigSigSig;

pub struct Event;

#[derive(Clone, Debug)]
pub struct MsgStrukt(u8);

#[overlord(signal=SigSigSig, error=OverseerError, event=Event, gen=AllMessages)]
struct Overseer {
	#[subsystem(MsgStrukt, sends: [MsgStrukt])]
	sub0: AwesomeSubSys,
	i_like_pie: f64,
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
		unimplemented!("spawn blocking {} {}", task_name, subsystem_name.unwrap_or("default"))
	}

	fn spawn(
		&self,
		task_name: &'static str,
		subsystem_name: Option<&'static str>,
		_future: futures::future::BoxFuture<'static, ()>,
	) {
		unimplemented!("spawn {} {}", task_name, subsystem_name.unwrap_or("default"))
	}
}

struct DummyCtx;

fn main() {
	let _ = Overseer::builder()
		//.sub0(AwesomeSubSys::default()) // Subsystem is uninitialized
		.i_like_pie(std::f64::consts::PI)
		.spawner(DummySpawner)
		.build()
		.unwrap();
}
