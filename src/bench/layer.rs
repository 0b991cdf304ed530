//! One layer of any shape benchmarked (`deeper bench conv|pool|linear`): a one-op graph built
//! from the caller's shape, compiled through the same launch path as a network, and timed with
//! EVERY kernel variant that can run it on this device (or the one forced by name), each
//! profiled like a network layer (median of `runs`), so the JSON shows what each variant costs,
//! not only the winner. With `check`, each variant's output is compared with the CPU reference.

use super::autotune::{candidates, pinned, Kernel};
use super::{measure, BenchOptions, LayerRow, Peak};
use crate::check::{input_fits, random_input};
use crate::compare::{compare, OP_TOLERANCE};
use crate::cpu;
use crate::error::{Error, Result};
use crate::graph::{Graph, GraphBuilder};
use crate::ops::{Conv2d, ConvKernel, Linear, LinearKernel, Op, Pool2d};
use crate::runtime::{Gpu, Model};
use crate::shape::Shape;
use serde::Serialize;

/// A layer to benchmark: the op and its input batch shape.
#[derive(Clone, Debug)]
pub struct LayerSpec {
    pub op: Op,
    pub input: Shape,
}

impl LayerSpec {
    /// A convolution `cin → cout`, `kernel×kernel`, on `batch × cin × size × size`.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        cin: usize,
        cout: usize,
        size: usize,
        (kernel, stride, pad): (usize, usize, usize),
        dilation: usize,
        groups: usize,
        batch: usize,
    ) -> LayerSpec {
        let mut c = Conv2d::new(cin, cout, kernel, stride, pad).dilated(dilation);
        c.groups = groups;
        LayerSpec {
            op: Op::Conv2d(c),
            input: Shape::new(batch, cin, size, size),
        }
    }

    /// A max (or average) pool on `batch × channels × size × size`.
    pub fn pool(channels: usize, size: usize, pool: Pool2d, batch: usize) -> LayerSpec {
        LayerSpec {
            op: Op::Pool2d(pool),
            input: Shape::new(batch, channels, size, size),
        }
    }

    /// A fully connected layer `inputs → outputs` at `batch`.
    pub fn linear(inputs: usize, outputs: usize, batch: usize) -> LayerSpec {
        LayerSpec {
            op: Op::Linear(Linear::new(inputs, outputs)),
            input: Shape::new(batch, inputs, 1, 1),
        }
    }

    /// The one-op graph (seeded random weights), its output shape checked.
    fn graph(&self, op: Op) -> Result<Graph> {
        let x = self.input;
        let (mut b, v) = GraphBuilder::new("layer", x.c, x.h, x.w, 5);
        let y = b.add(self.op.kind(), op, &[v]);
        let g = b.finish(&[y])?;
        crate::graph::infer::shapes(&g, x.n)?;
        input_fits(&g, x.n)?;
        Ok(g)
    }
}

/// Every kernel variant of `op`'s kind, by the name `--kernel-variant` takes (empty for ops
/// with one kernel).
pub fn variant_names(op: &Op) -> Vec<String> {
    all_variants(op).into_iter().map(variant_name).collect()
}

fn all_variants(op: &Op) -> Vec<Kernel> {
    match op {
        Op::Conv2d(_) => ConvKernel::ALL.into_iter().map(Kernel::Conv).collect(),
        Op::Linear(_) => LinearKernel::ALL.into_iter().map(Kernel::Linear).collect(),
        _ => Vec::new(),
    }
}

/// `winograd`, `subgroup`, `vec4`, …: the variant's name in lower case.
fn variant_name(k: Kernel) -> String {
    k.name().to_lowercase()
}

/// One variant timed.
#[derive(Clone, Debug, Serialize)]
pub struct VariantTime {
    /// The variant (`winograd`; `-` for an op with one kernel).
    pub variant: String,
    /// Its time, rates and shader(s), as a network layer row.
    #[serde(flatten)]
    pub row: LayerRow,
    /// ‖GPU − CPU‖ / ‖CPU‖ and the verdict, when checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rel_l2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
}

/// A layer's benchmark; serialises to the `deeper bench conv|pool|linear --json` document.
#[derive(Clone, Debug, Serialize)]
pub struct LayerBench {
    /// `conv2d`, `max_pool2d`, `linear`, …
    pub kind: String,
    pub input: [usize; 4],
    pub output: [usize; 4],
    pub device: String,
    pub timing: &'static str,
    pub runs: usize,
    /// The fastest variant timed.
    pub best: String,
    /// Every variant timed, in the autotuner's order.
    pub variants: Vec<VariantTime>,
}

/// Times `spec` with every variant that can run it on `gpu`, or only `variant` (refused when
/// unknown, naming the variants, or when it cannot run this layer here); with `check`, each
/// output is compared with the CPU reference.
pub fn bench_layer(
    gpu: &Gpu,
    spec: &LayerSpec,
    variant: Option<&str>,
    check: bool,
    opts: &BenchOptions,
    peak: &Peak,
) -> Result<LayerBench> {
    let graph = spec.graph(spec.op.clone())?;
    let out = crate::graph::infer::shapes(&graph, spec.input.n)?[1];
    let kernels = chosen_variants(gpu, &spec.op, out, variant)?;
    let input = random_input(&graph, spec.input.n, 6);
    let want = match check {
        true => Some(cpu::run_outputs(&graph, &input)?.remove(0)),
        false => None,
    };
    let mut variants = Vec::new();
    let mut timing = "";
    let runs: Vec<Option<Kernel>> = match kernels.is_empty() {
        true => vec![None],
        false => kernels.into_iter().map(Some).collect(),
    };
    for kernel in runs {
        let op = kernel.map_or(spec.op.clone(), |k| pinned(&spec.op, k));
        let g = spec.graph(op)?;
        let model = Model::compile(gpu, &g, spec.input.n, true)?;
        let cmp = match &want {
            Some(w) => Some(compare(&model.run(&input)?[0], w, OP_TOLERANCE)),
            None => None,
        };
        let m = measure(&model, &input, opts, peak)?;
        timing = m.timing.as_str();
        let row = m
            .layers
            .into_iter()
            .next()
            .ok_or_else(|| Error::Invalid(format!("{}: no layer was timed", spec.op.kind())))?;
        variants.push(VariantTime {
            variant: kernel.map_or("-".into(), variant_name),
            row,
            rel_l2: cmp.as_ref().map(|c| c.rel_l2),
            passed: cmp.as_ref().map(|c| c.passed()),
        });
    }
    let best = variants
        .iter()
        .min_by(|a, b| a.row.gpu_ms.total_cmp(&b.row.gpu_ms))
        .map_or(String::new(), |v| v.variant.clone());
    Ok(LayerBench {
        kind: spec.op.kind().into(),
        input: spec.input.dims(),
        output: out.dims(),
        device: gpu.description(),
        timing,
        runs: opts.runs.max(1),
        best,
        variants,
    })
}

/// The variants to time: the one named (checked), else every one that can run `op` here.
fn chosen_variants(gpu: &Gpu, op: &Op, out: Shape, name: Option<&str>) -> Result<Vec<Kernel>> {
    let eligible = candidates(gpu, op, out);
    let Some(name) = name else {
        return Ok(eligible);
    };
    let all = all_variants(op);
    if all.is_empty() {
        return Err(Error::Invalid(format!(
            "{} has one kernel: --kernel-variant does not apply",
            op.kind()
        )));
    }
    let Some(k) = all
        .into_iter()
        .find(|k| variant_name(*k) == name.to_lowercase())
    else {
        return Err(Error::Invalid(format!(
            "unknown kernel variant '{name}' for {} (variants: {})",
            op.kind(),
            variant_names(op).join(", ")
        )));
    };
    if !eligible.contains(&k) {
        let names: Vec<String> = eligible.into_iter().map(variant_name).collect();
        return Err(Error::Invalid(format!(
            "kernel variant '{name}' cannot run this {} on this device (it can: {})",
            op.kind(),
            names.join(", ")
        )));
    }
    Ok(vec![k])
}
