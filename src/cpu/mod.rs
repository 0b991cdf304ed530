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

/// Every value of `graph` for `input` (index = value id; 0 is the input).
pub fn run(graph: &Graph, input: &Tensor) -> Result<Vec<Tensor>> {
    check_input(graph, input)?;
    let shapes = infer::shapes(graph, input.shape.n)?;
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

/// Reads a value of shape `shape` from channels `[off, off + c)` of a region in `slot`.
fn load(slot: &[f32], region: Shape, off: usize, shape: Shape) -> Tensor {
    let plane = shape.h * shape.w;
    let mut t = Tensor::zeros(shape);
    for n in 0..shape.n {
        for c in 0..shape.c {
            let src = region.index(n, off + c, 0, 0);
            let dst = shape.index(n, c, 0, 0);
            t.data[dst..dst + plane].copy_from_slice(&slot[src..src + plane]);
        }
    }
    t
}

/// Runs `graph` with every value stored in and read from its planned slot.
pub fn run_planned(graph: &Graph, plan: &Plan, input: &Tensor) -> Result<Vec<Tensor>> {
    check_input(graph, input)?;
    let shapes = infer::shapes(graph, input.shape.n)?;
    let mut slots: Vec<Vec<f32>> = plan.slot_elems.iter().map(|e| vec![f32::NAN; *e]).collect();
    let view = |v: usize| {
        let loc = plan.locations[v];
        let shape = if loc.c_offset == 0 && loc.region.c == shapes[v].c {
            loc.region
        } else {
            shapes[v]
        };
        (loc, shape)
    };
    let (loc0, _) = view(0);
    store(&mut slots[loc0.slot], loc0.region, loc0.c_offset, input);
    for (i, node) in graph.nodes.iter().enumerate() {
        if !plan.runs[i] {
            continue;
        }
        let ins: Vec<Tensor> = node
            .inputs
            .iter()
            .map(|v| {
                let (loc, _) = view(v.0);
                let t = load(
                    &slots[loc.slot],
                    loc.region,
                    loc.c_offset,
                    reshape_src(&shapes, plan, v.0),
                );
                t.reshaped(shapes[v.0])
                    .expect("views keep the element count")
            })
            .collect();
        let refs: Vec<&Tensor> = ins.iter().collect();
        let out = node.op.cpu(&refs, &node.params, shapes[i + 1]);
        let loc = plan.locations[i + 1];
        store(&mut slots[loc.slot], loc.region, loc.c_offset, &out);
    }
    Ok(graph
        .outputs
        .iter()
        .map(|v| {
            let loc = plan.locations[v.0];
            load(
                &slots[loc.slot],
                loc.region,
                loc.c_offset,
                reshape_src(&shapes, plan, v.0),
            )
            .reshaped(shapes[v.0])
            .expect("views keep the element count")
        })
        .collect())
}

/// The shape a value is stored with: a view is stored as its region's shape.
fn reshape_src(shapes: &[Shape], plan: &Plan, v: usize) -> Shape {
    let loc = plan.locations[v];
    if loc.region.numel() == shapes[v].numel() && loc.c_offset == 0 {
        loc.region
    } else {
        shapes[v]
    }
}
