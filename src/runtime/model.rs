//! A network compiled for the GPU at a fixed batch size: weights resident, one buffer per plan
//! slot, every layer's bind groups built once. [`Model::run`] writes the input, records the
//! whole forward pass into one compute pass, submits once and reads the outputs back: the only
//! host synchronisation.

use super::buffers::{ActBuf, ParamSet};
use super::exec::{compile_node, Step};
use super::Gpu;
use crate::error::{Error, Result};
use crate::graph::plan::{plan, Plan};
use crate::graph::{infer, Graph};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A compiled network.
pub struct Model<'g> {
    gpu: &'g Gpu,
    /// The (fused) graph that runs, with every op resolved for this device.
    pub graph: Graph,
    pub plan: Plan,
    pub batch: usize,
    shapes: Vec<Shape>,
    slots: Vec<ActBuf>,
    scratch: [ActBuf; 2],
    _params: Vec<ParamSet>,
    steps: Vec<Step>,
    /// For each step, the node it belongs to.
    pub step_nodes: Vec<usize>,
}

impl<'g> Model<'g> {
    /// Compiles `graph` (normally fused) for `batch` samples. `reuse = false` keeps every value
    /// in its own buffer so that [`Model::read_value`] works for all of them.
    pub fn compile(gpu: &'g Gpu, graph: &Graph, batch: usize, reuse: bool) -> Result<Self> {
        let shapes = infer::shapes(graph, batch)?;
        check_activation_sizes(gpu, graph, &shapes)?;
        let plan = plan(graph, batch, reuse)?;
        let mut graph = graph.clone();
        for (i, node) in graph.nodes.iter_mut().enumerate() {
            node.op = node.op.resolved(&gpu.caps(), shapes[i + 1]);
        }
        let scratch_elems = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| n.op.scratch_elems(shapes[i + 1]))
            .fold([0, 0], |a, b| [a[0].max(b[0]), a[1].max(b[1])]);
        let scratch = gpu.scratch(scratch_elems)?;
        let slots = plan
            .slot_elems
            .iter()
            .map(|e| gpu.alloc(Shape::vector(*e), false))
            .collect::<Result<Vec<_>>>()?;
        let mut m = Model {
            gpu,
            graph,
            plan,
            batch,
            shapes,
            slots,
            scratch,
            _params: Vec::new(),
            steps: Vec::new(),
            step_nodes: Vec::new(),
        };
        m.compile_steps()?;
        Ok(m)
    }

    fn compile_steps(&mut self) -> Result<()> {
        for (i, node) in self.graph.nodes.iter().enumerate() {
            let params = self.gpu.upload_params(&node.op, &node.name, &node.params)?;
            if self.plan.runs[i] {
                let ins: Vec<ActBuf> = node.inputs.iter().map(|v| self.input_view(v.0)).collect();
                let refs: Vec<&ActBuf> = ins.iter().collect();
                let loc = self.plan.locations[i + 1];
                let out = ActBuf {
                    buffer: self.slots[loc.slot].buffer.clone(),
                    shape: loc.region,
                };
                let shape = self.shapes[i + 1];
                let steps = self.gpu.scoped(&node.name, || {
                    compile_node(
                        self.gpu,
                        &node.op,
                        &node.name,
                        &refs,
                        &params,
                        &out,
                        shape,
                        loc.c_offset,
                        &self.scratch,
                    )
                })??;
                self.step_nodes.extend(std::iter::repeat_n(i, steps.len()));
                self.steps.extend(steps);
            }
            self._params.push(params);
        }
        Ok(())
    }

    /// A whole value as a buffer view (values read by kernels are never concat slices).
    fn input_view(&self, v: usize) -> ActBuf {
        let loc = self.plan.locations[v];
        ActBuf {
            buffer: self.slots[loc.slot].buffer.clone(),
            shape: self.shapes[v],
        }
    }

    /// Runs one forward pass and returns the graph's outputs.
    pub fn run(&self, input: &Tensor) -> Result<Vec<Tensor>> {
        self.forward(input)?;
        self.graph
            .outputs
            .iter()
            .map(|v| self.read_value(v.0))
            .collect()
    }

    /// Writes `input` and submits the forward pass (no readback).
    pub fn forward(&self, input: &Tensor) -> Result<()> {
        self.write_input(input)?;
        self.gpu.submit(&self.steps)
    }

    /// Writes `input` into the input buffer (executed before the next submission).
    pub fn write_input(&self, input: &Tensor) -> Result<()> {
        if input.shape != self.shapes[0] {
            return Err(Error::shape(
                "input",
                format!("model compiled for {}, got {}", self.shapes[0], input.shape),
            ));
        }
        self.gpu.write(&self.input_view(0), input)
    }

    /// The GPU the model runs on.
    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// Reads value `v` after a run (with `reuse`, only outputs are guaranteed intact).
    pub fn read_value(&self, v: usize) -> Result<Tensor> {
        let loc = self.plan.locations[v];
        let shape = self.shapes[v];
        if loc.is_whole(shape) {
            return self.gpu.read(&self.input_view(v));
        }
        let region = ActBuf {
            buffer: self.slots[loc.slot].buffer.clone(),
            shape: loc.region,
        };
        Ok(loc.extract(&self.gpu.read(&region)?.data, shape))
    }

    /// The compiled dispatches in execution order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The shape of every value at this batch size.
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }
}

/// Refuses a batch whose largest value does not fit one device buffer, naming the layer (a
/// buffer slot holds one value at a time, so this is the check that speaks of the network).
fn check_activation_sizes(gpu: &Gpu, graph: &Graph, shapes: &[Shape]) -> Result<()> {
    let Some((i, s)) = shapes.iter().enumerate().max_by_key(|(_, s)| s.numel()) else {
        return Ok(());
    };
    gpu.check_size(s.numel() as u64 * 4, || {
        let value = match i {
            0 => "the input".to_string(),
            i => format!("the output of layer '{}'", graph.nodes[i - 1].name),
        };
        format!("{value} {s} at batch {} (use a smaller batch)", s.n)
    })
}
