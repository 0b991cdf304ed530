//! The layer suite: real layer shapes from the classic networks, each built as a small graph
//! (one op, or the few ops of a module) and compiled through the same launch path as a whole
//! network ([`Model`]), then timed with the profiler AND checked against the CPU reference.
//! Convolutions carry their fused ReLU (and bias, as after BN folding), as they run in networks.

use super::{measure, BenchOptions, LayerRow, Peak};
use crate::check::random_input;
use crate::compare::{compare, NET_TOLERANCE, OP_TOLERANCE};
use crate::cpu;
use crate::error::{Error, Result};
use crate::graph::fuse::fuse;
use crate::graph::{Graph, GraphBuilder, Value};
use crate::ops::{Activation::Relu, Pool2d};
use crate::runtime::{Gpu, Model};
use serde::Serialize;

/// One case of the suite: how to build its graph.
#[derive(Clone, Copy, Debug)]
pub struct CaseSpec {
    pub name: &'static str,
    pub what: &'static str,
    pub batch: usize,
    build: fn() -> Result<Graph>,
}

impl CaseSpec {
    /// The case's graph, with seeded random weights.
    pub fn graph(&self) -> Result<Graph> {
        (self.build)()
    }
}

/// A measured and checked case.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteCase {
    pub what: &'static str,
    pub batch: usize,
    /// The whole case as one roofline point (its name, summed time, MACs and bytes; `kernel`
    /// lists each layer's variants, comma-separated).
    #[serde(flatten)]
    pub total: LayerRow,
    pub timing: &'static str,
    /// ‖GPU − CPU‖ / ‖CPU‖ of the output.
    pub rel_l2: f64,
    pub passed: bool,
    pub layers: Vec<LayerRow>,
}

const SEED: u64 = 5;

/// `name`: one ReLU conv of `cin → cout`, `k×k`, stride `s`, padding `p`, on `hw × hw`.
fn conv(
    name: &str,
    cin: usize,
    cout: usize,
    hw: usize,
    (k, s, p): (usize, usize, usize),
) -> Result<Graph> {
    let (mut b, x) = GraphBuilder::new(name, cin, hw, hw, SEED);
    let y = b.conv("conv", x, cin, cout, k, s, p, Relu);
    b.finish(&[y])
}

fn alexnet_conv1() -> Result<Graph> {
    conv("alexnet.conv1", 3, 64, 224, (11, 4, 2))
}
fn vgg_conv3() -> Result<Graph> {
    conv("vgg.conv3", 256, 256, 56, (3, 1, 1))
}
fn resnet_1x1() -> Result<Graph> {
    conv("resnet50.1x1", 256, 64, 56, (1, 1, 0))
}
fn resnet_3x3() -> Result<Graph> {
    conv("resnet50.3x3", 64, 64, 56, (3, 1, 1))
}
fn inception_5x5() -> Result<Graph> {
    conv("inception.5x5", 192, 32, 28, (5, 1, 2))
}

/// The 5×5 branch with its 1×1 bottleneck to 16 channels first.
fn inception_bottleneck() -> Result<Graph> {
    let (mut b, x) = GraphBuilder::new("inception.bottleneck", 192, 28, 28, SEED);
    let r = b.conv("reduce", x, 192, 16, 1, 1, 0, Relu);
    let y = b.conv("5x5", r, 16, 32, 5, 1, 2, Relu);
    b.finish(&[y])
}

/// GoogLeNet's inception3a as in the paper: four branches on 192×28×28, concatenated.
fn inception3a() -> Result<Graph> {
    let (mut b, x) = GraphBuilder::new("inception3a", 192, 28, 28, SEED);
    let mut c =
        |name: &str, x: Value, cin, cout, k: usize| b.conv(name, x, cin, cout, k, 1, k / 2, Relu);
    let b1 = c("branch1", x, 192, 64, 1);
    let r2 = c("branch2.0", x, 192, 96, 1);
    let b2 = c("branch2.1", r2, 96, 128, 3);
    let r3 = c("branch3.0", x, 192, 16, 1);
    let b3 = c("branch3.1", r3, 16, 32, 5);
    let pool = b.pool("branch4.0", x, Pool2d::max(3, 1, 1).ceil());
    let b4 = b.conv("branch4.1", pool, 192, 32, 1, 1, 0, Relu);
    let y = b.concat("concat", &[b1, b2, b3, b4]);
    b.finish(&[y])
}

/// VGG's fc6, 25088 → 4096 with ReLU (a 411 MB weight, split across bindings).
fn vgg_fc6() -> Result<Graph> {
    let (mut b, x) = GraphBuilder::new("vgg.fc6", 25088, 1, 1, SEED);
    let y = b.linear("fc6", x, 25088, 4096, Relu);
    b.finish(&[y])
}

/// ResNet's stem max pool, 3×3 stride 2 padding 1 on 64×112×112.
fn max_pool() -> Result<Graph> {
    let (mut b, x) = GraphBuilder::new("maxpool", 64, 112, 112, SEED);
    let y = b.pool("maxpool", x, Pool2d::max(3, 2, 1));
    b.finish(&[y])
}

/// Every case, in the order tables list them.
pub fn cases() -> Vec<CaseSpec> {
    let c = |name, what, batch, build| CaseSpec {
        name,
        what,
        batch,
        build,
    };
    vec![
        c(
            "alexnet.conv1",
            "conv 3→64 11x11/4 p2, 224x224",
            1,
            alexnet_conv1,
        ),
        c("vgg.conv3", "conv 256→256 3x3 p1, 56x56", 1, vgg_conv3),
        c("resnet50.1x1", "conv 256→64 1x1, 56x56", 1, resnet_1x1),
        c("resnet50.3x3", "conv 64→64 3x3 p1, 56x56", 1, resnet_3x3),
        c(
            "inception.5x5",
            "conv 192→32 5x5 p2, 28x28",
            1,
            inception_5x5,
        ),
        c(
            "inception.bottleneck",
            "conv 192→16 1x1, then 16→32 5x5 p2, 28x28",
            1,
            inception_bottleneck,
        ),
        c(
            "inception3a",
            "GoogLeNet inception3a (paper), 4 branches + concat",
            1,
            inception3a,
        ),
        c("vgg.fc6.b1", "linear 25088→4096, batch 1", 1, vgg_fc6),
        c("vgg.fc6.b16", "linear 25088→4096, batch 16", 16, vgg_fc6),
        c("maxpool", "max pool 3x3/2 p1, 64x112x112", 1, max_pool),
    ]
}

/// Builds, times and checks one case.
pub fn run_case(gpu: &Gpu, spec: &CaseSpec, opts: &BenchOptions, peak: &Peak) -> Result<SuiteCase> {
    let graph = spec.graph()?;
    let mut fused = fuse(&graph);
    super::network::tune(gpu, &mut fused.graph, spec.batch, opts)?;
    let model = Model::compile(gpu, &fused.graph, spec.batch, true)?;
    let input = random_input(&graph, spec.batch, SEED + 1);
    let got = model.run(&input)?;
    let want = cpu::run_outputs(&graph, &input)?;
    let tol = if graph.nodes.len() == 1 {
        OP_TOLERANCE
    } else {
        NET_TOLERANCE
    };
    let cmp = compare(&got[0], &want[0], tol);
    let m = measure(&model, &input, opts, peak)?;
    let mut kernels: Vec<&str> = Vec::new();
    for l in &m.layers {
        if !kernels.contains(&l.kernel.as_str()) {
            kernels.push(&l.kernel);
        }
    }
    let macs = m.layers.iter().map(|l| l.macs).sum();
    let bytes = m.layers.iter().map(|l| l.bytes).sum();
    let kind = if m.layers.len() == 1 {
        m.layers[0].kind.as_str()
    } else {
        "graph"
    };
    let total = LayerRow::new(
        spec.name,
        kind,
        &kernels.join(", "),
        m.gpu_ms.median * 1e6,
        macs,
        bytes,
        peak,
    );
    Ok(SuiteCase {
        what: spec.what,
        batch: spec.batch,
        total,
        timing: m.timing.as_str(),
        rel_l2: cmp.rel_l2,
        passed: cmp.passed(),
        layers: m.layers,
    })
}

/// Runs every case whose name contains `filter` (all when `None`), calling `each` as each
/// finishes (the suite takes a while).
pub fn run_suite(
    gpu: &Gpu,
    filter: Option<&str>,
    opts: &BenchOptions,
    peak: &Peak,
    mut each: impl FnMut(&SuiteCase),
) -> Result<Vec<SuiteCase>> {
    let mut out = Vec::new();
    for spec in &matching(filter)? {
        let case = run_case(gpu, spec, opts, peak)?;
        each(&case);
        out.push(case);
    }
    Ok(out)
}

/// The cases whose name contains `filter` (all without one); an error naming every case when
/// none does.
pub fn matching(filter: Option<&str>) -> Result<Vec<CaseSpec>> {
    let all = cases();
    let Some(f) = filter else { return Ok(all) };
    let names = all.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
    let picked: Vec<CaseSpec> = all.into_iter().filter(|c| c.name.contains(f)).collect();
    if picked.is_empty() {
        return Err(Error::Invalid(format!(
            "no suite case matches '{f}' (cases: {names})"
        )));
    }
    Ok(picked)
}
