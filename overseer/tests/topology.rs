//! The macro records the static graph; `topology()` returns it with DOT, Mermaid and the
//! bounded cycles that could deadlock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    missing_debug_implementations,
    dead_code
)]

use overseer::topology::EdgeKind;
use overseer::*;

#[derive(Debug, Clone)]
pub struct Signal;
pub struct Event;
#[derive(Debug)]
pub struct Capture;
#[derive(Debug)]
pub struct Build;
#[derive(Debug)]
pub struct Ack;
#[derive(Debug)]
pub struct Status;

pub mod ring {
    use super::*;
    /// capture -> builder -> sink -> capture, all bounded: a deadlock risk.
    #[overlord(signal = Signal, event = Event, gen = AllMessages)]
    pub struct Ring {
        #[subsystem(consumes: Ack, sends: [Build, unbounded Status])]
        capture: Capture,
        #[subsystem(consumes: Build, sends: [super::Capture], message_capacity: 8)]
        builder: Builder,
        #[subsystem(consumes: super::Capture, sends: [Ack, Status], can_receive_priority_messages)]
        sink: Sink,
        #[subsystem(consumes: Status, sends: [priority Capture])]
        status: StatusSubsystem,
    }
}

pub mod broken {
    use super::*;
    /// The same ring, but the edge back to the source is unbounded.
    #[overlord(signal = Signal, event = Event, gen = AllMessages)]
    pub struct Broken {
        #[subsystem(consumes: Ack, sends: [Build])]
        capture: Capture,
        #[subsystem(consumes: Build, sends: [super::Capture])]
        builder: Builder,
        #[subsystem(consumes: super::Capture, sends: [unbounded Ack])]
        sink: Sink,
    }
}

#[test]
fn dot_of_a_known_graph_has_exactly_the_declared_edges() {
    let topology = <ring::RingSpec as OverseerSpec>::topology();
    let dot = topology.to_dot();
    let edges: Vec<&str> = dot
        .lines()
        .filter(|line| line.contains("->"))
        .map(str::trim)
        .collect();
    assert_eq!(
        edges,
        vec![
            r#""capture" -> "builder" [label="Build", style=solid];"#,
            r#""capture" -> "status" [label="Status", style=dashed];"#,
            r#""builder" -> "sink" [label="Capture", style=solid];"#,
            r#""sink" -> "capture" [label="Ack", style=solid];"#,
            r#""sink" -> "status" [label="Status", style=solid];"#,
            r#""status" -> "sink" [label="Capture", style=bold];"#,
        ]
    );
    let builder = topology
        .nodes
        .iter()
        .find(|node| node.name == "builder")
        .unwrap();
    assert_eq!(builder.message_capacity, Some(8));
    assert!(
        topology
            .nodes
            .iter()
            .find(|node| node.name == "sink")
            .unwrap()
            .priority
    );
    assert!(topology.to_mermaid().contains("status ==>|Capture| sink"));
}

#[test]
fn a_cycle_of_bounded_edges_is_reported() {
    let topology = <ring::RingSpec as OverseerSpec>::topology();
    assert_eq!(
        topology.bounded_cycles(),
        vec![vec!["capture", "builder", "sink"], vec!["sink", "status"]]
    );
    assert!(topology
        .edges
        .iter()
        .any(|edge| edge.kind == EdgeKind::Unbounded));
}

#[test]
fn a_cycle_broken_by_an_unbounded_edge_is_not_reported() {
    let topology = <broken::BrokenSpec as OverseerSpec>::topology();
    assert_eq!(topology.edges.len(), 3);
    assert!(
        topology.bounded_cycles().is_empty(),
        "{:?}",
        topology.bounded_cycles()
    );
}
