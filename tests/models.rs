//! Every network on the GPU (fused, planned, one submission) against the CPU executor running
//! the graph as built, at batch 1 and 2, with relative L2 error of the logits ≤ 1e-4. Spatial
//! sizes are the smallest each network reasonably accepts, to keep CI lean; `deeper` (the main
//! job) runs them all at full size.

mod common;

use deeper::bench::tuning::Tuning;
use deeper::check::{check_layers, check_network, random_input};
use deeper::graph::{fuse::fuse, GraphBuilder};
use deeper::models::{build, ModelOptions, NETWORKS};
use deeper::ops::{Activation, Conv2d};
use deeper::runtime::Model;
use deeper::{cpu, Shape, Tensor};

/// Test input size per network (alexnet-paper has no adaptive pool: 227 only).
fn test_size(name: &str) -> usize {
    match name {
        "lenet5" => 32,
        "alexnet" => 63,
        "alexnet-paper" => 227,
        "nin" => 67,
        _ => 32,
    }
}

#[test]
fn every_network_matches_the_cpu_at_batch_1_and_2() {
    let Some(gpu) = common::gpu() else { return };
    for name in NETWORKS {
        let opts = ModelOptions {
            size: Some(test_size(name)),
            seed: 7,
            ..Default::default()
        };
        let graph = build(name, &opts).expect("build");
        for batch in [1, 2] {
            let input = random_input(&graph, batch, 9);
            let r = check_network(gpu, &graph, &input, Tuning::Off).expect("check");
            eprintln!(
                "{name} batch {batch}: {} (GPU {:.0} ms, CPU {:.0} ms)",
                r.comparison, r.gpu_ms, r.cpu_ms
            );
            assert!(
                r.comparison.passed(),
                "{name} batch {batch}: {}",
                r.comparison
            );
        }
    }
}

#[test]
fn googlenet_aux_heads_match_the_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let opts = ModelOptions {
        size: Some(64),
        aux: true,
        seed: 2,
        ..Default::default()
    };
    let graph = build("googlenet", &opts).unwrap();
    assert_eq!(graph.outputs.len(), 3);
    let input = random_input(&graph, 2, 4);
    let model = Model::compile(gpu, &fuse(&graph).graph, 2, true).unwrap();
    let got = model.run(&input).unwrap();
    let want = cpu::run_outputs(&graph, &input).unwrap();
    for (g, w) in got.iter().zip(&want) {
        let c = deeper::compare::compare(g, w, deeper::compare::NET_TOLERANCE);
        assert!(c.passed(), "googlenet aux output: {c}");
    }
}

#[test]
fn layer_by_layer_check_passes_on_resnet18() {
    let Some(gpu) = common::gpu() else { return };
    let graph = build(
        "resnet18",
        &ModelOptions {
            size: Some(32),
            ..Default::default()
        },
    )
    .unwrap();
    let rows = check_layers(gpu, &graph, &random_input(&graph, 2, 1), Tuning::Off).unwrap();
    assert!(rows.len() > 10);
    for r in rows {
        assert!(
            r.comparison.passed(),
            "{} (= {}): {}",
            r.name,
            r.reference,
            r.comparison
        );
    }
}

/// The ResNet property: a block whose weights are all zero is the identity on non-negative
/// input (`relu(0 + x) = x`), on the CPU and on the GPU after fusion.
#[test]
fn zero_residual_block_is_identity_on_nonnegative_input() {
    let (mut b, x) = GraphBuilder::new("block", 8, 9, 9, 1);
    let conv = |c| Conv2d {
        bias: false,
        ..Conv2d::new(8, 8, 3, 1, 1).with_activation(c)
    };
    let h = b.conv2d("conv1", x, conv(Activation::None));
    let h = b.batch_norm("bn1", h, 8, 1e-5, Activation::Relu);
    let h = b.conv2d("conv2", h, conv(Activation::None));
    let h = b.batch_norm("bn2", h, 8, 1e-5, Activation::None);
    let y = b.add_values("add", h, x, Activation::Relu);
    let mut graph = b.finish(&[y]).unwrap();
    for (key, t) in graph.params_mut() {
        let v = if key.ends_with("running_var") {
            1.0
        } else {
            0.0
        };
        t.data.iter_mut().for_each(|e| *e = v);
    }
    let input = Tensor::uniform(Shape::new(2, 8, 9, 9), 0.0, 3.0, &mut deeper::Rng::new(5));
    let cpu_out = cpu::run_outputs(&graph, &input).unwrap();
    assert_eq!(cpu_out[0].data, input.data);
    let Some(gpu) = common::gpu() else { return };
    let model = Model::compile(gpu, &fuse(&graph).graph, 2, true).unwrap();
    assert_eq!(
        model.graph.nodes.len(),
        2,
        "BN folded and the add fused into conv2"
    );
    assert_eq!(model.run(&input).unwrap()[0].data, input.data);
}
