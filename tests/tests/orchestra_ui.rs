//! orchestra 0.4.1's UI tests (`tests/ui/*.rs`), ported by renaming only to `orchestra-ui/`.
//!
//! The `.stderr` files are ours (generated with `TRYBUILD=overwrite`). Files named `*-sent*.rs`
//! are variants with extra edits, each described in the file's header; the table in
//! guide/src/coming-from-orchestra.md lists every file and why it has the status it has.

#[test]
fn orchestra_ui() {
    let t = trybuild::TestCases::new();
    // Every `err-*` file, renamed only. orchestra's default `deny_unsent_messages` feature and
    // our macro both reject err-04..09 first because `MsgStrukt` is consumed but never sent;
    // the `err-0N-*-sent.rs` variants add `sends: [MsgStrukt]` so the error each test is about
    // shows.
    t.compile_fail("orchestra-ui/err-*.rs");
    // orchestra's "ok" case consumes `MsgA` and `MsgB` without anyone sending them: rejected by
    // orchestra with its default features and by our macro.
    t.compile_fail("orchestra-ui/ok-01-wip.rs");
    // The same with the senders added: passes, the `wip` sub_b implements `Subsystem` for
    // `OverseerSubsystemContext<MsgB>` exactly as in orchestra.
    t.pass("orchestra-ui/ok-01-wip-sent.rs");
    // ... and with the wip subsystem written against a generic context instead: passes.
    t.pass("orchestra-ui/ok-01-wip-sent-generic.rs");
    t.pass("orchestra-ui/ok-02-boxed.rs");
}
