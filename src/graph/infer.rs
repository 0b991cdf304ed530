//! Shape inference and cost counting. Every value gets a [`Shape`] for a given batch size;
//! errors name the layer. [`summary`] gives the per-layer table `deeper info` prints
//! (output shape, parameters, multiply-accumulates), whose totals reproduce torchvision's
//! parameter counts and "GFLOPS" (which are GMACs).

use super::Graph;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// The shape of every value of `graph` for a batch of `n` (index = value id).
pub fn shapes(graph: &Graph, n: usize) -> Result<Vec<Shape>> {
    if n == 0 {
        return Err(Error::Invalid(format!(
            "{}: the batch size must be at least 1",
            graph.name
        )));
    }
    let mut shapes = vec![graph.input.with_n(n)];
    for (i, node) in graph.nodes.iter().enumerate() {
        if let Some(v) = node.inputs.iter().find(|v| v.0 > i) {
            return Err(Error::shape(
                &node.name,
                format!("reads value {} before it exists", v.0),
            ));
        }
        let ins: Vec<Shape> = node.inputs.iter().map(|v| shapes[v.0]).collect();
        shapes.push(node.op.output_shape(&node.name, &ins)?);
        for ((suffix, want), got) in node.op.param_shapes().iter().zip(&node.params) {
            if *want != got.shape {
                return Err(Error::WeightShape {
                    key: format!("{}.{suffix}", node.name),
                    found: got.shape.dims().to_vec(),
                    expected: want.dims().to_vec(),
                });
            }
        }
    }
    if let Some(v) = graph.outputs.iter().find(|v| v.0 >= shapes.len()) {
        return Err(Error::Invalid(format!(
            "output value {} does not exist",
            v.0
        )));
    }
    Ok(shapes)
}

/// One row of the layer table.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInfo {
    pub name: String,
    pub kind: &'static str,
    pub output: Shape,
    /// Trainable parameters (BN running statistics excluded, as in PyTorch).
    pub params: u64,
    pub macs: u64,
}

/// The layer table for one sample.
pub fn summary(graph: &Graph) -> Result<Vec<LayerInfo>> {
    let shapes = shapes(graph, 1)?;
    Ok(graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let out = shapes[i + 1];
            let params = node
                .op
                .param_shapes()
                .iter()
                .filter(|(s, _)| !s.starts_with("running_"))
                .map(|(_, s)| s.numel() as u64)
                .sum();
            LayerInfo {
                name: node.name.clone(),
                kind: node.op.kind(),
                output: out,
                params,
                macs: node.op.macs(out),
            }
        })
        .collect())
}
