//! Graph rewrites for inference, applied before GPU compilation (the CPU oracle runs the graph
//! as built, so every rewrite is checked against it):
//!
//! - **BN folding**: `conv → batch_norm(act)` becomes one conv with bias and the BN's activation
//!   ([`crate::ops::batch_norm::fold_into_conv`]), when the conv has no activation of its own
//!   and nothing else reads its output.
//! - **Residual fusion**: `add(conv(x), y, act)` becomes `conv(x) + y` inside the conv's epilogue
//!   (the conv moves to the add's place, where `y` exists), under the same conditions.
//!
//! Dropout never enters a graph (builders omit it at inference), and concatenation is turned
//! into channel-offset writes by [`super::plan`]. [`Fused::origin`] maps every value of the
//! fused graph to the value of the original graph it equals, for layer-by-layer checks.

use super::{Graph, Node, Value};
use crate::ops::batch_norm::fold_into_conv;
use crate::ops::Op;

/// A rewritten graph and, per value, the original value it computes.
#[derive(Clone, Debug)]
pub struct Fused {
    pub graph: Graph,
    pub origin: Vec<Value>,
}

/// Applies every rewrite until none applies, to a copy of `graph`.
pub fn fuse(graph: &Graph) -> Fused {
    fuse_owned(graph.clone())
}

/// [`fuse`] without the copy: for callers done with the unfused graph (its weights are not
/// held twice: VGG-16's are 553 MB).
pub fn fuse_owned(graph: Graph) -> Fused {
    let mut f = Fused {
        origin: (0..=graph.nodes.len()).map(Value).collect(),
        graph,
    };
    while let Some((absorbed, at, node)) = next_rewrite(&f.graph) {
        merge(&mut f, absorbed, at, node);
    }
    f
}

/// A conv that can take over the node reading it: no activation, no residual yet, one reader.
fn plain_conv(graph: &Graph, uses: &[usize], v: Value) -> Option<usize> {
    let i = v.0.checked_sub(1)?;
    match &graph.nodes[i].op {
        Op::Conv2d(c) if c.activation == Default::default() && !c.residual && uses[v.0] == 1 => {
            Some(i)
        }
        _ => None,
    }
}

/// The first rewrite that applies: `(node absorbed, node replaced, replacement)`.
fn next_rewrite(graph: &Graph) -> Option<(usize, usize, Node)> {
    let uses = graph.use_counts();
    for (at, node) in graph.nodes.iter().enumerate() {
        match &node.op {
            Op::BatchNorm2d(bn) => {
                let Some(ci) = plain_conv(graph, &uses, node.inputs[0]) else {
                    continue;
                };
                let conv_node = &graph.nodes[ci];
                let Op::Conv2d(conv) = &conv_node.op else {
                    continue;
                };
                let (op, params) = fold_into_conv(conv, &conv_node.params, bn, &node.params);
                let fused = Node {
                    op: Op::Conv2d(op),
                    params,
                    ..conv_node.clone()
                };
                return Some((ci, at, fused));
            }
            Op::Add(add) => {
                for (k, v) in node.inputs.iter().enumerate() {
                    let Some(ci) = plain_conv(graph, &uses, *v) else {
                        continue;
                    };
                    let other = node.inputs[1 - k];
                    if other == *v {
                        continue;
                    }
                    let conv_node = &graph.nodes[ci];
                    let Op::Conv2d(conv) = &conv_node.op else {
                        continue;
                    };
                    let mut op = conv.clone();
                    op.residual = true;
                    op.activation = add.activation;
                    let fused = Node {
                        op: Op::Conv2d(op),
                        inputs: vec![conv_node.inputs[0], other],
                        ..conv_node.clone()
                    };
                    return Some((ci, at, fused));
                }
            }
            _ => {}
        }
    }
    None
}

/// Removes node `absorbed` (whose only reader is node `at`) and puts `node` in `at`'s place.
fn merge(f: &mut Fused, absorbed: usize, at: usize, node: Node) {
    let gone = Value(absorbed + 1);
    let renumber = |v: Value| if v > gone { Value(v.0 - 1) } else { v };
    let g = &mut f.graph;
    g.nodes[at] = node;
    g.nodes.remove(absorbed);
    for n in &mut g.nodes {
        n.inputs.iter_mut().for_each(|v| *v = renumber(*v));
    }
    g.outputs.iter_mut().for_each(|v| *v = renumber(*v));
    f.origin.remove(gone.0);
}
