//! A network compiled for the GPU at a fixed batch size. The model holds what every run
//! shares, read-only: the weights (uploaded once), the pipelines, the plan. What a run writes
//! (activation slots, scratch, bind groups over them, readback staging) is an execution
//! context ([`super::Context`]), leased from a pool inside the model, so [`Model::run`] may
//! be called from many threads at once on one model: each call gets its own context, and its
//! result is bit-identical to a serial run. A run records the whole forward pass and the
//! copies of its outputs into one submission and waits once, at most [`Gpu::timeout`].
//!
//! Dropping a model destroys its buffers and flushes the queue, so its device memory is
//! returned at once, not at some later submission.

use super::buffers::{ActBuf, ParamSet};
use super::exec::{compile_node, StepInfo};
use super::execution::{Buffers, Context, Pool};
use super::Gpu;
use crate::error::{Error, Result};
use crate::graph::plan::{plan, Plan};
use crate::graph::{infer, Graph};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::time::Instant;

/// How to compile a [`Model`].
#[derive(Clone, Copy, Debug)]
pub struct CompileOptions {
    /// Reuse activation buffers between values (`false` keeps every value in its own buffer,
    /// so that [`Context::read_value`] works for all of them).
    pub reuse: bool,
    /// The most execution contexts (concurrent runs) the model keeps; each holds a copy of
    /// the activation slots ([`Model::context_bytes`]). A caller beyond it waits for a free one.
    pub max_contexts: usize,
}

/// Contexts a model keeps by default: enough to overlap uploads, passes and readbacks of a
/// few callers without multiplying activation memory.
pub const DEFAULT_MAX_CONTEXTS: usize = 4;

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            reuse: true,
            max_contexts: DEFAULT_MAX_CONTEXTS,
        }
    }
}

/// A compiled network.
pub struct Model {
    /// Its own handle to the device (shared with the caller's [`Gpu`]).
    gpu: Gpu,
    /// The (fused) graph that runs, with every op resolved for this device; its parameters
    /// are on the GPU only (every node's `params` is empty: [`Graph::structure`]).
    pub graph: Graph,
    pub plan: Plan,
    pub batch: usize,
    shapes: Vec<Shape>,
    scratch_elems: [usize; 2],
    /// Per node, its weights on the GPU (shared by every context).
    params: Vec<ParamSet>,
    steps: Vec<StepInfo>,
    /// For each step, the node it belongs to.
    pub step_nodes: Vec<usize>,
    pub(super) pool: Pool,
}

impl Model {
    /// Compiles `graph` (normally fused) for `batch` samples, with the default
    /// [`CompileOptions`] but for `reuse`.
    pub fn compile(gpu: &Gpu, graph: &Graph, batch: usize, reuse: bool) -> Result<Self> {
        let opts = CompileOptions {
            reuse,
            ..Default::default()
        };
        Self::compile_with(gpu, graph, batch, &opts)
    }

    /// Compiles `graph` for `batch` samples: uploads the weights and makes the first execution
    /// context (so that a device limit is met here, not in the first run).
    pub fn compile_with(
        gpu: &Gpu,
        graph: &Graph,
        batch: usize,
        opts: &CompileOptions,
    ) -> Result<Self> {
        let shapes = infer::shapes(graph, batch)?;
        check_activation_sizes(gpu, graph, &shapes)?;
        let plan = plan(graph, batch, opts.reuse)?;
        // The weights go to the GPU from the caller's graph; the model keeps only the
        // structure (a host copy would double a network's memory: VGG-16's are 553 MB).
        let mut resolved = graph.structure();
        for (i, node) in resolved.nodes.iter_mut().enumerate() {
            node.op = node.op.resolved(&gpu.caps(), shapes[i + 1]);
        }
        let scratch_elems = resolved
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| n.op.scratch_elems(shapes[i + 1]))
            .fold([0, 0], |a, b| [a[0].max(b[0]), a[1].max(b[1])]);
        let params = resolved
            .nodes
            .iter()
            .zip(&graph.nodes)
            .map(|(n, given)| gpu.upload_params(&n.op, &n.name, &given.params))
            .collect::<Result<Vec<_>>>();
        let params = params.inspect_err(|_| flush(gpu))?;
        let mut m = Model {
            gpu: gpu.clone(),
            graph: resolved,
            plan,
            batch,
            shapes,
            scratch_elems,
            params,
            steps: Vec::new(),
            step_nodes: Vec::new(),
            pool: Pool::new(opts.max_contexts),
        };
        let (first, nodes) = m.make_buffers()?;
        m.steps = first.steps.iter().map(StepInfo::of).collect();
        m.step_nodes = nodes;
        m.pool.adopt(first);
        // The weight uploads are pending queue writes: run them now, so that their staging
        // memory is freed here and a drop before any run frees everything.
        m.gpu
            .wait_for(Some(m.gpu.flush()), "the weight upload", Instant::now())?;
        Ok(m)
    }

    /// A new execution context: its slots, scratch, bind groups and staging.
    pub(super) fn new_buffers(&self) -> Result<Buffers> {
        Ok(self.make_buffers()?.0)
    }

    /// A new execution context and, for each of its steps, the node it belongs to.
    fn make_buffers(&self) -> Result<(Buffers, Vec<usize>)> {
        let gpu = &self.gpu;
        let mut b = Buffers {
            scratch: gpu.scratch(self.scratch_elems)?,
            slots: Vec::new(),
            steps: Vec::new(),
            staging: Vec::new(),
        };
        for e in &self.plan.slot_elems {
            b.slots.push(gpu.alloc(Shape::vector(*e), false)?);
        }
        let mut nodes = Vec::new();
        for (i, node) in self.graph.nodes.iter().enumerate() {
            if !self.plan.runs[i] {
                continue;
            }
            let ins: Vec<ActBuf> = node
                .inputs
                .iter()
                .map(|v| self.value_view(&b, v.0))
                .collect();
            let refs: Vec<&ActBuf> = ins.iter().collect();
            let loc = self.plan.locations[i + 1];
            let out = ActBuf {
                buffer: b.slots[loc.slot].buffer.clone(),
                shape: loc.region,
            };
            let (shape, params) = (self.shapes[i + 1], &self.params[i]);
            let steps = gpu.scoped(&node.name, || {
                compile_node(
                    gpu,
                    &node.op,
                    &node.name,
                    &refs,
                    params,
                    &out,
                    shape,
                    loc.c_offset,
                    &b.scratch,
                )
            })??;
            nodes.extend(std::iter::repeat_n(i, steps.len()));
            b.steps.extend(steps);
        }
        for v in &self.graph.outputs {
            let region = self.plan.locations[v.0].region;
            b.staging
                .push(gpu.staging((region.numel().max(1) * 4) as u64)?);
        }
        Ok((b, nodes))
    }

    /// Value `v` as a buffer view in context `b` (values read by kernels are never concat
    /// slices).
    pub(super) fn value_view(&self, b: &Buffers, v: usize) -> ActBuf {
        let loc = self.plan.locations[v];
        ActBuf {
            buffer: b.slots[loc.slot].buffer.clone(),
            shape: self.shapes[v],
        }
    }

    /// Refuses an input of another shape, or whose values do not fill its shape.
    pub(super) fn check_input(&self, input: &Tensor) -> Result<()> {
        if input.shape != self.shapes[0] {
            return Err(Error::shape(
                "input",
                format!("model compiled for {}, got {}", self.shapes[0], input.shape),
            ));
        }
        input.check("input")
    }

    /// Runs one forward pass and returns the graph's outputs. Safe to call from many threads
    /// at once: each call runs on its own execution context ([`Model::context`]).
    pub fn run(&self, input: &Tensor) -> Result<Vec<Tensor>> {
        self.check_input(input)?;
        self.context()?.run(input)
    }

    /// Leases an execution context: an idle one, a new one while fewer than `max_contexts`
    /// exist, else the first one given back (waiting at most [`Gpu::timeout`]). It returns to
    /// the pool when dropped.
    pub fn context(&self) -> Result<Context<'_>> {
        Context::lease(self)
    }

    /// Execution contexts in existence now (idle or leased).
    pub fn contexts(&self) -> usize {
        self.pool.live()
    }

    /// Device bytes every context shares: the weights (as uploaded, split and repacked).
    pub fn weight_bytes(&self) -> u64 {
        self.params.iter().map(ParamSet::bytes).sum()
    }

    /// Device bytes one execution context costs: activation slots, scratch and output staging.
    pub fn context_bytes(&self) -> u64 {
        let slots: usize = self.plan.slot_elems.iter().map(|e| *e.max(&1)).sum();
        let cap = (self.gpu.max_binding() / 4) as usize;
        let scratch: usize = self
            .scratch_elems
            .iter()
            .map(|e| (*e).clamp(4, cap.max(4)))
            .sum();
        let staging: usize = self
            .graph
            .outputs
            .iter()
            .map(|v| self.plan.locations[v.0].region.numel().max(1))
            .sum();
        4 * (slots + scratch + staging) as u64
    }

    /// The GPU the model runs on.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// The compiled dispatches in execution order (the same in every context).
    pub fn steps(&self) -> &[StepInfo] {
        &self.steps
    }

    /// The shape of every value at this batch size.
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }
}

impl Drop for Model {
    /// Destroys every buffer the model and its contexts hold, then flushes the queue and waits
    /// (bounded) so that the memory is returned now.
    fn drop(&mut self) {
        self.pool.drain().iter().for_each(Buffers::destroy);
        for p in &self.params {
            p.destroy();
        }
        flush(&self.gpu);
    }
}

/// Runs the queue's pending writes (an empty submission) and waits for them (bounded), so that
/// destroyed or dropped buffers they hold are freed; nothing to do on a lost device.
fn flush(gpu: &Gpu) {
    if gpu.alive().is_ok() {
        let index = gpu.flush();
        let _ = gpu.wait_for(Some(index), "the queue", Instant::now());
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
