//! Fuzz target: the pgoutput decoder must return `Ok` or `Err` for any bytes, never panic,
//! overflow or allocate without bound, in either streaming mode.

#![no_main]

use libfuzzer_sys::fuzz_target;
use subsystems::source::postgres::pgoutput::{decode, decode_with, Options};

fuzz_target!(|data: &[u8]| {
    let _ = decode(data);
    let _ = decode_with(data, Options { in_stream: true });
});
