//! The device-aware selection rule, without a GPU: the kernels `Op::resolved` picks for every
//! layer of ResNet-50, VGG-16 and GoogLeNet (fused, as compiled) at batch 1 and 32, given the
//! caps of a discrete GPU (the H200's: 32-wide subgroups, 48 KiB of workgroup memory), of a GPU
//! without subgroups, and of llvmpipe. On a GPU every big convolution (≥ 16 output channels
//! per group, a reduction ≥ 16) runs on the tiled product or Winograd, never Direct, 7x7
//! planes included, and FC layers at batch ≤ 8 on the GEMV; on llvmpipe neither new kernel is
//! picked (its rule is the one it was tuned with).

use deeper::graph::{fuse::fuse, infer, Graph};
use deeper::models::{build, ModelOptions};
use deeper::ops::{ConvKernel, DeviceCaps, DeviceKind, LinearKernel, Op};

const NETS: [&str; 3] = ["resnet50", "vgg16", "googlenet"];

fn h200(subgroups: bool) -> DeviceCaps {
    DeviceCaps {
        max_binding: 2_147_483_644,
        subgroups,
        kind: DeviceKind::DiscreteGpu,
        subgroup_size: if subgroups { 32 } else { 0 },
        max_workgroup_storage: 48 * 1024,
    }
}

fn llvmpipe() -> DeviceCaps {
    DeviceCaps {
        max_binding: 128 << 20,
        subgroups: true,
        kind: DeviceKind::Cpu,
        subgroup_size: 8,
        max_workgroup_storage: 32 * 1024,
    }
}

fn net(name: &str) -> Graph {
    fuse(&build(name, &ModelOptions::default()).expect("build")).graph
}

/// `(layer, output shape, resolved op)` for every conv and linear node at batch `n`.
fn resolved(g: &Graph, n: usize, caps: &DeviceCaps) -> Vec<(String, deeper::Shape, Op)> {
    let shapes = infer::shapes(g, n).expect("shapes");
    g.nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| matches!(node.op, Op::Conv2d(_) | Op::Linear(_)))
        .map(|(i, node)| {
            let out = shapes[i + 1];
            (node.name.clone(), out, node.op.resolved(caps, out))
        })
        .collect()
}

#[test]
fn gpu_rule_puts_every_big_layer_on_tiled_or_winograd_and_fc_on_gemv_or_tiled() {
    for subgroups in [true, false] {
        let caps = h200(subgroups);
        for name in NETS {
            let g = net(name);
            for n in [1, 32] {
                let mut seven = 0;
                for (layer, out, op) in resolved(&g, n, &caps) {
                    let at = format!("{name} b{n} subgroups {subgroups} {layer} {out}: {op:?}");
                    match op {
                        Op::Conv2d(c) => {
                            let big = c.out_channels / c.groups >= 16 && c.kdim() >= 16;
                            let want = [ConvKernel::Tiled, ConvKernel::WinogradTiled];
                            assert!(!big || want.contains(&c.kernel), "{at}");
                            seven += usize::from(out.h == 7 && c.kernel == ConvKernel::Tiled);
                        }
                        Op::Linear(l) => {
                            let want = match (subgroups, n <= 8) {
                                (_, false) => LinearKernel::Tiled,
                                (true, true) => LinearKernel::Gemv,
                                (false, true) => LinearKernel::Vec4,
                            };
                            assert_eq!(l.kernel, want, "{at}");
                        }
                        _ => unreachable!(),
                    }
                }
                if name != "vgg16" {
                    assert!(seven > 0, "{name} b{n}: no 7x7 layer on the tiled kernel");
                }
            }
        }
    }
}

#[test]
fn cpu_rule_picks_neither_tiled_nor_gemv() {
    let caps = llvmpipe();
    for name in NETS {
        let g = net(name);
        for n in [1, 32] {
            for (layer, out, op) in resolved(&g, n, &caps) {
                let at = format!("{name} b{n} {layer} {out}: {op:?}");
                match op {
                    Op::Conv2d(c) => {
                        let gpu_only = [ConvKernel::Tiled, ConvKernel::WinogradTiled];
                        assert!(!gpu_only.contains(&c.kernel), "{at}");
                    }
                    Op::Linear(l) => assert_eq!(l.kernel, LinearKernel::Subgroup, "{at}"),
                    _ => unreachable!(),
                }
            }
        }
    }
}

/// Convolutions that carry a folded batch norm never run Winograd (its transforms put the BN
/// networks' logits 2.25x further from float64 than PyTorch f32's), neither by the rule nor
/// when forced (as the autotuner does); the same layers without BN still may.
#[test]
fn folded_bn_layers_never_run_winograd() {
    let g = net("vgg16-bn");
    let folded = g
        .nodes
        .iter()
        .filter(|n| matches!(&n.op, Op::Conv2d(c) if c.folded_bn))
        .count();
    assert_eq!(folded, 13, "vgg16-bn: every conv carries its folded BN");
    let plain = net("vgg16");
    for caps in [h200(true), llvmpipe()] {
        for (graph, want_winograd) in [(&g, false), (&plain, true)] {
            let mut forced = graph.clone();
            let on = |g: &Graph| {
                let winograd = [ConvKernel::Winograd, ConvKernel::WinogradTiled];
                resolved(g, 1, &caps)
                    .into_iter()
                    .filter(
                        |(_, _, op)| matches!(op, Op::Conv2d(c) if winograd.contains(&c.kernel)),
                    )
                    .count()
            };
            for kernel in [ConvKernel::Winograd, ConvKernel::WinogradTiled] {
                for node in &mut forced.nodes {
                    if let Op::Conv2d(c) = &mut node.op {
                        c.kernel = kernel;
                    }
                }
                assert_eq!(
                    on(&forced) > 0,
                    want_winograd,
                    "{kernel:?} forced, {caps:?}"
                );
            }
            if !want_winograd {
                assert_eq!(on(graph), 0, "rule, {caps:?}");
            }
        }
    }
}
