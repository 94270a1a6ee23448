// Copyright (C) 2022 Parity Technologies (UK) Ltd. SPDX-License-Identifier: MIT OR Apache-2.0 (orchestra 0.4.1).
// Port of orchestra 0.4.1 `tests/ui/err-04-missing-error.rs` by renaming (orchestra -> overseer) plus ONE extra edit, described on the next line; see guide/src/coming-from-orchestra.md.
// EXTRA EDIT beyond renaming: `sends: [MsgStrukt]` on sub0, so the consumed-but-never-sent check does not mask the error this test is about.
#![allow(dead_code)]

use overseer::*;

#[derive(Default)]
struct AwesomeSubSys;

#[derive(Clone, Debug)]
struct SigSigSig;

struct Event;

#[derive(Clone)]
struct MsgStrukt(u8);

#[overlord(signal=SigSigSig, event=Event, gen=AllMessages)]
struct Overseer {
	#[subsystem(MsgStrukt, sends: [MsgStrukt])]
	sub0: AwesomeSubSys,

	i_like_pie: f64,
}

#[derive(Debug, Clone)]
struct DummySpawner;

struct DummyCtx;

fn main() {
	let _ = Overseer::builder()
		.sub0(AwesomeSubSys::default())
		.i_like_pie(std::f64::consts::PI)
		.spawner(DummySpawner)
		.build()
		.unwrap();
}
