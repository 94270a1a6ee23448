// Copyright (C) 2022 Parity Technologies (UK) Ltd. SPDX-License-Identifier: MIT OR Apache-2.0 (orchestra 0.4.1).
// Port of orchestra 0.4.1 `tests/ui/err-02-enum.rs` by renaming only (orchestra -> overseer); see guide/src/coming-from-orchestra.md.
#![allow(dead_code)]

use overseer::*;

#[derive(Default)]
struct AwesomeSubSys;

struct SigSigSig;

struct Event;

#[derive(Clone, Debug)]
struct MsgStrukt(u8);

#[overlord(signal=SigSigSig, event=Event, gen=AllMessages, error=OverseerError)]
enum Overseer {
	#[subsystem(MsgStrukt)]
	Sub0(AwesomeSubSys),
}

#[derive(Debug, Clone)]
struct DummySpawner;

struct DummyCtx;

fn main() {
	let overseer = Overseer::<_,_>::builder()
		.sub0(AwesomeSubSys::default())
		.i_like_pie(std::f64::consts::PI)
		.spawner(DummySpawner)
		.build(|| -> DummyCtx { DummyCtx } );
}
