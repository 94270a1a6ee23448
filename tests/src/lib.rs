//! Compiles every Rust code block of the guide (`guide/src/*.md`) as doctests.
//!
//! Each guide page is included as the documentation of an empty module, so
//! `cargo test --doc -p overseer-tests` compiles (and runs) its code blocks.
//! Every page listed in `guide/src/SUMMARY.md` must have a module here; the
//! `guide_structure` integration test enforces that.

#![forbid(unsafe_code)]

#[doc = include_str!("../../guide/src/introduction.md")]
pub mod introduction {}

#[doc = include_str!("../../guide/src/first-overseer.md")]
pub mod first_overseer {}

#[doc = include_str!("../../guide/src/macro-reference.md")]
pub mod macro_reference {}

#[doc = include_str!("../../guide/src/runtime-semantics.md")]
pub mod runtime_semantics {}

#[doc = include_str!("../../guide/src/supervision.md")]
pub mod supervision {}

#[doc = include_str!("../../guide/src/stall-watch.md")]
pub mod stall_watch {}

#[doc = include_str!("../../guide/src/request-response.md")]
pub mod request_response {}

#[doc = include_str!("../../guide/src/metrics.md")]
pub mod metrics {}

#[doc = include_str!("../../guide/src/testing.md")]
pub mod testing {}

#[doc = include_str!("../../guide/src/coming-from-orchestra.md")]
pub mod coming_from_orchestra {}

#[doc = include_str!("../../guide/src/node-architecture.md")]
pub mod node_architecture {}

#[doc = include_str!("../../guide/src/sources.md")]
pub mod sources {}

#[doc = include_str!("../../guide/src/mapping.md")]
pub mod mapping {}

#[doc = include_str!("../../guide/src/contributing.md")]
pub mod contributing {}
