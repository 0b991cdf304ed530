//! The CPU executor: runs a graph with the ops' CPU references. It is the oracle every GPU
//! result is checked against, so it runs the graph as built (before fusion). [`run_planned`]
//! runs a fused graph through a buffer [`Plan`] with the slots simulated in host memory, which
//! is how the plan itself is tested: a slot handed out while still live corrupts the result.

use crate::error::{Error, Result};
use crate::graph::plan::Plan;
use crate::graph::{infer, Graph};
use crate::shape::Shape;
use crate::tensor::Tensor;

fn check_input(graph: &Graph, input: &Tensor) -> Result<()> {
    input.check("input")?;
    if input.shape.with_n(1) != graph.input || input.shape.n == 0 {
        return Err(Error::shape(
            "input",
            format!(
                "{} expects [N, {}, {}, {}], got {}",
                graph.name, graph.input.c, graph.input.h, graph.input.w, input.shape
            ),
        ));
    }
    Ok(())
}

/// Whether [`run`] on `graph` at batch `n` keeps at most
/// [`crate::limits::MAX_CPU_ACTIVATION_BYTES`] of activations (checked before the GPU side
/// of a check spends its time); the error names the network, the batch, the bytes and the limit.
pub fn check_memory(graph: &Graph, n: usize) -> Result<()> {
    fits(graph, &infer::shapes(graph, n)?)
}

fn fits(graph: &Graph, shapes: &[Shape]) -> Result<()> {
    let bytes: u128 = shapes.iter().map(|s| s.numel() as u128 * 4).sum();
    let limit = crate::limits::MAX_CPU_ACTIVATION_BYTES;
    if bytes > limit as u128 {
        return Err(crate::limits::too_large(
            &format!(
                "the CPU reference of {} at batch {} (every activation kept)",
                graph.name,
                shapes.first().map_or(0, |s| s.n)
            ),
            format_args!("{bytes} bytes"),
            format_args!("{limit} bytes"),
        ));
    }
    Ok(())
}

/// Every value of `graph` for `input` (index = value id; 0 is the input).
pub fn run(graph: &Graph, input: &Tensor) -> Result<Vec<Tensor>> {
    check_input(graph, input)?;
    let shapes = infer::shapes(graph, input.shape.n)?;
    fits(graph, &shapes)?;
    let mut values = vec![input.clone()];
    for (i, node) in graph.nodes.iter().enumerate() {
        let ins: Vec<&Tensor> = node.inputs.iter().map(|v| &values[v.0]).collect();
        let out = node.op.cpu(&ins, &node.params, shapes[i + 1]);
        values.push(out);
    }
    Ok(values)
}

/// The graph's outputs for `input`.
pub fn run_outputs(graph: &Graph, input: &Tensor) -> Result<Vec<Tensor>> {
    let values = run(graph, input)?;
    Ok(graph.outputs.iter().map(|v| values[v.0].clone()).collect())
}

/// Copies `t` into channels `[off, off + t.c)` of a region of shape `region` in `slot`.
fn store(slot: &mut [f32], region: Shape, off: usize, t: &Tensor) {
    let plane = t.shape.h * t.shape.w;
    for n in 0..t.shape.n {
        for c in 0..t.shape.c {
            let dst = region.index(n, off + c, 0, 0);
            let src = t.shape.index(n, c, 0, 0);
            slot[dst..dst + plane].copy_from_slice(&t.data[src..src + plane]);
        }
    }
}

/// Runs `graph` with every value stored in and read from its planned slot.
pub fn run_planned(graph: &Graph, plan: &Plan, input: &Tensor) -> Result<Vec<Tensor>> {
    check_input(graph, input)?;
    let shapes = infer::shapes(graph, input.shape.n)?;
    let mut slots: Vec<Vec<f32>> = plan.slot_elems.iter().map(|e| vec![f32::NAN; *e]).collect();
    let value = |slots: &[Vec<f32>], v: usize| {
        let loc = plan.locations[v];
        loc.extract(&slots[loc.slot], shapes[v])
    };
    let loc0 = plan.locations[0];
    store(&mut slots[loc0.slot], loc0.region, loc0.c_offset, input);
    for (i, node) in graph.nodes.iter().enumerate() {
        if !plan.runs[i] {
            continue;
        }
        let ins: Vec<Tensor> = node.inputs.iter().map(|v| value(&slots, v.0)).collect();
        let refs: Vec<&Tensor> = ins.iter().collect();
        let out = node.op.cpu(&refs, &node.params, shapes[i + 1]);
        let loc = plan.locations[i + 1];
        store(&mut slots[loc.slot], loc.region, loc.c_offset, &out);
    }
    Ok(graph.outputs.iter().map(|v| value(&slots, v.0)).collect())
}
