//! The static graph of an overseer: subsystems, what they consume, and who sends what to whom.
//!
//! The macro records it at compile time; `Overseer::topology()` returns it. Cycles made only of
//! bounded edges are the deadlock risk of a bounded-channel design: every member can block on
//! the next one's full queue. A cycle with an unbounded edge cannot wedge that way.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// How messages travel along an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// The bounded lane (`sends: [M]`): the sender waits when the queue is full.
    Bounded,
    /// The priority lane (`sends: [priority M]`), also bounded.
    Priority,
    /// The unbounded lane (`sends: [unbounded M]`): never waits.
    Unbounded,
}

impl EdgeKind {
    /// Whether a sender on this edge can be made to wait.
    pub fn is_bounded(self) -> bool {
        !matches!(self, Self::Unbounded)
    }

    fn label(self) -> &'static str {
        match self {
            Self::Bounded => "bounded",
            Self::Priority => "priority",
            Self::Unbounded => "unbounded",
        }
    }
}

/// One subsystem in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Field name.
    pub name: &'static str,
    /// The message type it consumes.
    pub consumes: &'static str,
    /// Capacity of its bounded lane, when known at compile time (`None`: the builder's default).
    pub message_capacity: Option<usize>,
    /// Whether it has a priority lane.
    pub priority: bool,
    /// Declared `wip`: not started.
    pub wip: bool,
    /// Declared `blocking`.
    pub blocking: bool,
}

/// One declared `sends:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Sending subsystem.
    pub from: &'static str,
    /// Consuming subsystem.
    pub to: &'static str,
    /// The message type.
    pub message: &'static str,
    /// The lane it takes.
    pub kind: EdgeKind,
}

/// The static graph of one overseer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The overseer's name.
    pub name: &'static str,
    /// Its subsystems, in declared order.
    pub nodes: Vec<Node>,
    /// Its edges, in declared order.
    pub edges: Vec<Edge>,
}

impl Topology {
    /// The graph in Graphviz DOT; bounded edges solid, priority bold, unbounded dashed.
    pub fn to_dot(&self) -> String {
        let mut dot = format!(
            "digraph {} {{\n    rankdir=LR;\n    node [shape=box];\n",
            quote_dot(self.name)
        );
        for node in &self.nodes {
            let style = if node.wip { ", style=dashed" } else { "" };
            let _ = writeln!(
                dot,
                "    {} [label={}{}];",
                quote_dot(node.name),
                quote_dot(&format!("{}\\n{}", node.name, node.consumes)),
                style
            );
        }
        for edge in &self.edges {
            let style = match edge.kind {
                EdgeKind::Bounded => "solid",
                EdgeKind::Priority => "bold",
                EdgeKind::Unbounded => "dashed",
            };
            let _ = writeln!(
                dot,
                "    {} -> {} [label={}, style={}];",
                quote_dot(edge.from),
                quote_dot(edge.to),
                quote_dot(edge.message),
                style
            );
        }
        dot.push_str("}\n");
        dot
    }

    /// The graph as a Mermaid flowchart; unbounded edges dotted, priority thick.
    pub fn to_mermaid(&self) -> String {
        let mut mermaid = String::from("flowchart LR\n");
        for node in &self.nodes {
            let _ = writeln!(
                mermaid,
                "    {}[\"{}<br/>{}\"]",
                node.name, node.name, node.consumes
            );
        }
        for edge in &self.edges {
            let arrow = match edge.kind {
                EdgeKind::Bounded => "-->",
                EdgeKind::Priority => "==>",
                EdgeKind::Unbounded => "-.->",
            };
            let _ = writeln!(
                mermaid,
                "    {} {}|{}| {}",
                edge.from, arrow, edge.message, edge.to
            );
        }
        mermaid
    }

    /// Every elementary cycle whose edges are all bounded, each as the subsystem names in order
    /// starting from its first-declared member. These can deadlock when every queue is full.
    pub fn bounded_cycles(&self) -> Vec<Vec<&'static str>> {
        let index = |name: &str| self.nodes.iter().position(|node| node.name == name);
        let mut successors: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); self.nodes.len()];
        for edge in self.edges.iter().filter(|edge| edge.kind.is_bounded()) {
            if let (Some(from), Some(to)) = (index(edge.from), index(edge.to)) {
                successors[from].insert(to);
            }
        }
        // Johnson-style enumeration, small graphs: from each start, walk only to higher indexes
        // so each cycle is found once, rooted at its lowest member.
        let mut cycles = Vec::new();
        for start in 0..self.nodes.len() {
            let mut path = vec![start];
            self.walk(start, start, &successors, &mut path, &mut cycles);
        }
        cycles
    }

    fn walk(
        &self,
        start: usize,
        at: usize,
        successors: &[BTreeSet<usize>],
        path: &mut Vec<usize>,
        cycles: &mut Vec<Vec<&'static str>>,
    ) {
        for &next in &successors[at] {
            if next == start {
                cycles.push(path.iter().map(|&node| self.nodes[node].name).collect());
            } else if next > start && !path.contains(&next) {
                path.push(next);
                self.walk(start, next, successors, path, cycles);
                path.pop();
            }
        }
    }

    /// A one-line description per edge, `from -[kind]-> to : Message`.
    pub fn edge_lines(&self) -> Vec<String> {
        self.edges
            .iter()
            .map(|edge| {
                format!(
                    "{} -[{}]-> {} : {}",
                    edge.from,
                    edge.kind.label(),
                    edge.to,
                    edge.message
                )
            })
            .collect()
    }
}

fn quote_dot(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &'static str) -> Node {
        Node {
            name,
            consumes: "M",
            message_capacity: None,
            priority: false,
            wip: false,
            blocking: false,
        }
    }

    fn edge(from: &'static str, to: &'static str, kind: EdgeKind) -> Edge {
        Edge {
            from,
            to,
            message: "M",
            kind,
        }
    }

    #[test]
    fn a_cycle_of_bounded_edges_is_reported_once() {
        let topology = Topology {
            name: "t",
            nodes: vec![node("a"), node("b"), node("c")],
            edges: vec![
                edge("a", "b", EdgeKind::Bounded),
                edge("b", "c", EdgeKind::Priority),
                edge("c", "a", EdgeKind::Bounded),
            ],
        };
        assert_eq!(topology.bounded_cycles(), vec![vec!["a", "b", "c"]]);
    }

    #[test]
    fn a_cycle_broken_by_an_unbounded_edge_is_not_reported() {
        let topology = Topology {
            name: "t",
            nodes: vec![node("a"), node("b")],
            edges: vec![
                edge("a", "b", EdgeKind::Bounded),
                edge("b", "a", EdgeKind::Unbounded),
            ],
        };
        assert!(topology.bounded_cycles().is_empty());
    }

    #[test]
    fn dot_lists_every_edge() {
        let topology = Topology {
            name: "t",
            nodes: vec![node("a"), node("b")],
            edges: vec![edge("a", "b", EdgeKind::Unbounded)],
        };
        let dot = topology.to_dot();
        assert!(
            dot.contains("\"a\" -> \"b\" [label=\"M\", style=dashed];"),
            "{dot}"
        );
        assert!(topology.to_mermaid().contains("a -.->|M| b"));
    }
}
