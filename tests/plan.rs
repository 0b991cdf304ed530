//! The buffer plan and the fusion rewrites, without a GPU: a plan that handed a live slot to
//! another value would corrupt the CPU executor running through it, fusion must not change the
//! numbers, and the plan's peak must be far below the sum of all activations. A batch of 0 is
//! refused.

use deeper::compare::{compare, Tolerance};
use deeper::cpu;
use deeper::graph::{fuse::fuse, plan::plan, Graph};
use deeper::models::{build, ModelOptions};
use deeper::ops::Op;
use deeper::{Rng, Tensor};

fn net(name: &str, size: usize) -> Graph {
    build(
        name,
        &ModelOptions {
            size: Some(size),
            seed: 3,
            ..Default::default()
        },
    )
    .expect("build")
}

fn input(g: &Graph, n: usize) -> Tensor {
    Tensor::uniform(g.input.with_n(n), -1.0, 1.0, &mut Rng::new(11))
}

/// Running through the plan's slots gives bit-identical results to running with fresh buffers.
#[test]
fn planned_execution_matches_unplanned() {
    for (name, size) in [
        ("lenet5", 32),
        ("resnet18", 32),
        ("resnet50", 32),
        ("googlenet", 32),
        ("googlenet-paper", 32),
        ("nin", 67),
    ] {
        let g = fuse(&net(name, size)).graph;
        for n in [1, 2] {
            let x = input(&g, n);
            let p = plan(&g, n, true).unwrap();
            let planned = cpu::run_planned(&g, &p, &x).unwrap();
            let direct = cpu::run_outputs(&g, &x).unwrap();
            assert_eq!(
                planned[0].data, direct[0].data,
                "{name} batch {n}: plan corrupted a live value"
            );
        }
    }
}

/// No node writes into a slot it reads from (unless it is the same region: never, here).
#[test]
fn outputs_never_share_a_slot_with_inputs() {
    for name in ["resnet50", "googlenet"] {
        let g = fuse(&net(name, 64)).graph;
        let p = plan(&g, 1, true).unwrap();
        for (i, node) in g.nodes.iter().enumerate().filter(|(i, _)| p.runs[*i]) {
            let out = p.locations[i + 1].slot;
            for v in &node.inputs {
                assert_ne!(
                    p.locations[v.0].slot, out,
                    "{name}: {} reads and writes slot {out}",
                    node.name
                );
            }
        }
    }
}

/// Fusion (BN folding, residual epilogues) keeps the numbers of the graph as built.
#[test]
fn fusion_preserves_results() {
    let tol = Tolerance {
        rel_l2: 1e-5,
        atol: 1e-5,
        rtol: 1e-4,
    };
    for (name, size) in [("resnet18", 32), ("resnet50", 32), ("googlenet", 32)] {
        let g = net(name, size);
        let f = fuse(&g);
        let x = input(&g, 2);
        let want = cpu::run_outputs(&g, &x).unwrap();
        let got = cpu::run_outputs(&f.graph, &x).unwrap();
        let c = compare(&got[0], &want[0], tol);
        assert!(c.passed(), "{name}: {c}");
    }
}

/// What fusion removes: every BN after a conv, every residual add, every inception concat copy.
#[test]
fn fusion_removes_bn_adds_and_concat_copies() {
    let r = fuse(&net("resnet50", 64)).graph;
    assert!(r
        .nodes
        .iter()
        .all(|n| !matches!(n.op, Op::BatchNorm2d(_) | Op::Add(_))));
    let residual = r
        .nodes
        .iter()
        .filter(|n| matches!(&n.op, Op::Conv2d(c) if c.residual))
        .count();
    assert_eq!(residual, 16, "one fused residual conv per bottleneck block");
    let g = fuse(&net("googlenet", 64)).graph;
    let p = plan(&g, 1, true).unwrap();
    let free_concats = g
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, n)| matches!(n.op, Op::Concat(_)) && !p.runs[*i])
        .count();
    assert_eq!(
        free_concats, 9,
        "all nine inception concats are channel-offset writes"
    );
}

/// The plan's peak against the sum of all activations, at 224 (the ratio is in the README).
#[test]
fn peak_is_far_below_the_sum_of_activations() {
    for (name, max_ratio) in [("resnet50", 0.25), ("googlenet", 0.4), ("vgg16", 0.5)] {
        let g = fuse(&net(name, 224)).graph;
        let p = plan(&g, 1, true).unwrap();
        let ratio = p.peak_bytes as f64 / p.total_bytes as f64;
        eprintln!(
            "{name}: peak {:.1} MB of {:.1} MB total activations (ratio {ratio:.3}), {} slots",
            p.peak_bytes as f64 / 1e6,
            p.total_bytes as f64 / 1e6,
            p.slot_elems.len()
        );
        assert!(ratio < max_ratio, "{name}: ratio {ratio}");
    }
}

/// A batch of 0 is an error wherever shapes are inferred (compile, plan, CPU run), not an empty
/// success.
#[test]
fn batch_zero_is_refused() {
    let g = build("lenet5", &ModelOptions::default()).expect("lenet5");
    let err = deeper::graph::infer::shapes(&g, 0).unwrap_err().to_string();
    assert_eq!(err, "lenet5: the batch size must be at least 1");
    assert!(plan(&g, 0, true).is_err());
}
