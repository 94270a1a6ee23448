// Copyright (C) 2022 Parity Technologies (UK) Ltd. SPDX-License-Identifier: MIT OR Apache-2.0 (orchestra 0.4.1).
// Port of orchestra 0.4.1 `tests/ui/err-04-missing-error.rs` by renaming only (orchestra -> overseer); see guide/src/coming-from-orchestra.md.
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
	#[subsystem(MsgStrukt)]
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
