//! Every GPU kernel against its CPU reference, as property tests over shapes and parameters:
//! proptest draws odd sizes, batch 1–4, channel counts that are not multiples of 4 or of the
//! workgroup size, kernels 1–7, strides 1–3, asymmetric padding, dilation, groups (incl.
//! depthwise), bias, every activation, residual, ceil_mode and count_include_pad, and shrinks a
//! failure to the smallest case. Inputs come from the seeded `deeper::Rng`; the output buffer is
//! NaN-poisoned by `run_op`, so an unwritten element fails. Every conv case runs both kernels
//! (direct and implicit GEMM). Named edge cases live in `ops_edge.rs`.
//!
//! `cargo test --release --test ops -- --nocapture` prints `max rel L2 <op>: <value>` per op.

mod common;

use common::{check_cases, check_gpu, cpu_ref, random_params, MaxErr};
use deeper::ops::*;
use deeper::{Rng, Shape, Tensor, Window, Window2d};
use proptest::prelude::*;

fn activation() -> impl Strategy<Value = Activation> {
    prop::sample::select(vec![
        Activation::None,
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
    ])
}

/// One window axis and an input length it fits: kernel 1–7, stride 1–3, padding before and
/// after 0–3 (clipped to ≤ kernel/2 when `pool`), dilation 1–`max_dil`.
fn axis(pool: bool, max_dil: usize) -> impl Strategy<Value = (Window, usize)> {
    (
        1..=7usize,
        1..=3usize,
        0..=3usize,
        0..=3usize,
        1..=max_dil,
        0..=6usize,
    )
        .prop_map(move |(kernel, stride, pb, pa, dilation, extra)| {
            let clip = |p: usize| if pool { p % (kernel / 2 + 1) } else { p };
            let (pad_before, pad_after) = (clip(pb), clip(pa));
            let w = Window {
                kernel,
                stride,
                pad_before,
                pad_after,
                dilation,
                ceil_mode: false,
            };
            let len = (w.span() + extra)
                .saturating_sub(pad_before + pad_after)
                .max(1);
            (w, len)
        })
}

fn uniform(shape: Shape, rng: &mut Rng) -> Tensor {
    Tensor::uniform(shape, -1.0, 1.0, rng)
}

#[derive(Clone, Debug)]
struct ConvCase {
    n: usize,
    /// (groups, in channels per group, out channels per group); depthwise is groups = C_in.
    groups: (usize, usize, usize),
    window: Window2d,
    hw: (usize, usize),
    bias: bool,
    act: Activation,
    residual: bool,
    seed: u64,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    let groups = prop_oneof![
        (1..=3usize, 1..=4usize, 1..=5usize),
        (1..=8usize, 1..=2usize).prop_map(|(c, mult)| (c, 1, mult)),
    ];
    let dims = (1..=4usize, groups, axis(false, 3), axis(false, 3));
    let rest = (any::<bool>(), activation(), any::<bool>(), any::<u64>());
    (dims, rest).prop_map(
        |((n, groups, (h, hl), (w, wl)), (bias, act, residual, seed))| ConvCase {
            n,
            groups,
            window: Window2d { h, w },
            hw: (hl, wl),
            bias,
            act,
            residual,
            seed,
        },
    )
}

#[test]
fn conv2d_every_kernel_matches_cpu() {
    let max = MaxErr::default();
    check_cases("conv2d", 24, conv_case(), |gpu, c| {
        let (g, cin_g, cout_g) = c.groups;
        let conv = Conv2d {
            in_channels: g * cin_g,
            out_channels: g * cout_g,
            window: c.window,
            groups: g,
            bias: c.bias,
            activation: c.act,
            residual: c.residual,
            folded_bn: false,
            kernel: ConvKernel::Direct,
        };
        let mut rng = Rng::new(c.seed);
        let x = uniform(Shape::new(c.n, g * cin_g, c.hw.0, c.hw.1), &mut rng);
        let op = Op::Conv2d(conv.clone());
        let (oh, ow) = c
            .window
            .output_hw("test", c.hw.0, c.hw.1)
            .expect("output size");
        let out = Shape::new(c.n, g * cout_g, oh, ow);
        let r = uniform(out, &mut rng);
        let inputs: Vec<&Tensor> = if c.residual { vec![&x, &r] } else { vec![&x] };
        let params = random_params(&op, &mut rng);
        let want = cpu_ref(&op, &inputs, &params);
        for kernel in ConvKernel::ALL {
            let name = &format!("conv2d_{kernel:?}").to_lowercase();
            let op = Op::Conv2d(Conv2d {
                kernel,
                ..conv.clone()
            });
            let case = format!("{name} {c:?} out {out}");
            max.record(name, check_gpu(gpu, &case, &op, &inputs, &params, &want));
        }
    });
    max.report();
}

#[derive(Clone, Debug)]
struct PoolCase {
    shape: Shape,
    pool: Pool2d,
    seed: u64,
}

fn pool_case() -> impl Strategy<Value = PoolCase> {
    let kind = prop::sample::select(vec![PoolKind::Max, PoolKind::Avg]);
    let axes = (axis(true, 3), axis(true, 3));
    (
        kind,
        axes,
        1..=4usize,
        1..=9usize,
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(kind, ((mut h, hl), (mut w, wl)), n, c, ceil, include_pad, seed)| {
                if kind == PoolKind::Avg {
                    (h.dilation, w.dilation) = (1, 1);
                }
                (h.ceil_mode, w.ceil_mode) = (ceil, ceil);
                let pool = Pool2d {
                    kind,
                    window: Window2d { h, w },
                    count_include_pad: include_pad,
                };
                PoolCase {
                    shape: Shape::new(n, c, hl, wl),
                    pool,
                    seed,
                }
            },
        )
}

#[test]
fn pool2d_matches_cpu() {
    let max = MaxErr::default();
    check_cases("pool2d", 24, pool_case(), |gpu, c| {
        let x = uniform(c.shape, &mut Rng::new(c.seed));
        let op = Op::Pool2d(c.pool.clone());
        let want = cpu_ref(&op, &[&x], &[]);
        max.record(
            op.kind(),
            check_gpu(gpu, &format!("{c:?}"), &op, &[&x], &[], &want),
        );
    });
    max.report();
}

/// `[n, c, h, w]` with n 1–4, c 1–`max_c`, h and w 1–`max_hw`.
fn shape(max_c: usize, max_hw: usize) -> impl Strategy<Value = Shape> {
    (1..=4usize, 1..=max_c, 1..=max_hw, 1..=max_hw).prop_map(|(n, c, h, w)| Shape::new(n, c, h, w))
}

/// Runs a parameterless-input op case: one random input of `shape`, random params.
fn single_input(
    gpu: &deeper::runtime::Gpu,
    max: &MaxErr,
    op: &Op,
    shape: Shape,
    seed: u64,
    range: f32,
) {
    let mut rng = Rng::new(seed);
    let x = Tensor::uniform(shape, -range, range, &mut rng);
    let params = random_params(op, &mut rng);
    let want = cpu_ref(op, &[&x], &params);
    let case = format!("{op:?} on {shape} seed {seed}");
    max.record(op.kind(), check_gpu(gpu, &case, op, &[&x], &params, &want));
}

#[test]
fn adaptive_avg_pool2d_matches_cpu() {
    let max = MaxErr::default();
    let s = (shape(7, 13), 1..=8usize, 1..=8usize, any::<u64>());
    check_cases(
        "adaptive_avg_pool2d",
        16,
        s,
        |gpu, (shape, out_h, out_w, seed)| {
            let op = Op::AdaptiveAvgPool2d(AdaptiveAvgPool2d { out_h, out_w });
            single_input(gpu, &max, &op, shape, seed, 1.0);
        },
    );
    max.report();
}

#[test]
fn concat_matches_cpu() {
    let max = MaxErr::default();
    let s = (
        1..=4usize,
        prop::collection::vec(1..=7usize, 1..=5),
        1..=7usize,
        1..=7usize,
        any::<u64>(),
    );
    check_cases("concat", 16, s, |gpu, (n, cs, h, w, seed)| {
        let mut rng = Rng::new(seed);
        let xs: Vec<Tensor> = cs
            .iter()
            .map(|&c| uniform(Shape::new(n, c, h, w), &mut rng))
            .collect();
        let refs: Vec<&Tensor> = xs.iter().collect();
        let op = Op::Concat(Concat);
        let want = cpu_ref(&op, &refs, &[]);
        let case = format!("concat of {cs:?} channels, n {n}, {h}x{w}");
        max.record("concat", check_gpu(gpu, &case, &op, &refs, &[], &want));
    });
    max.report();
}

#[test]
fn lrn_matches_cpu() {
    let max = MaxErr::default();
    let params = (1..=7usize, 1e-4f32..1.0, 0.5f32..1.0, 0.5f32..2.0);
    check_cases(
        "lrn",
        16,
        (shape(13, 6), params, any::<u64>()),
        |gpu, (shape, (size, alpha, beta, k), seed)| {
            let op = Op::Lrn(Lrn {
                size,
                alpha,
                beta,
                k,
            });
            single_input(gpu, &max, &op, shape, seed, 2.0);
        },
    );
    max.report();
}

#[test]
fn batch_norm2d_matches_cpu() {
    let max = MaxErr::default();
    check_cases(
        "batch_norm2d",
        16,
        (shape(13, 7), activation(), any::<u64>()),
        |gpu, (shape, act, seed)| {
            let op = Op::BatchNorm2d(BatchNorm2d {
                activation: act,
                ..BatchNorm2d::new(shape.c)
            });
            single_input(gpu, &max, &op, shape, seed, 2.0);
        },
    );
    max.report();
}

#[test]
fn add_matches_cpu() {
    let max = MaxErr::default();
    check_cases(
        "add",
        16,
        (shape(13, 9), activation(), any::<u64>()),
        |gpu, (shape, act, seed)| {
            let mut rng = Rng::new(seed);
            let (a, b) = (uniform(shape, &mut rng), uniform(shape, &mut rng));
            let op = Op::Add(Add { activation: act });
            let want = cpu_ref(&op, &[&a, &b], &[]);
            let case = format!("add {act:?} on {shape}");
            max.record("add", check_gpu(gpu, &case, &op, &[&a, &b], &[], &want));
        },
    );
    max.report();
}

#[test]
fn linear_matches_cpu() {
    let max = MaxErr::default();
    let s = (
        1..=9usize,
        1..=200usize,
        1..=40usize,
        any::<bool>(),
        activation(),
        any::<u64>(),
    );
    check_cases("linear", 20, s, |gpu, (n, inf, outf, bias, act, seed)| {
        for kernel in LinearKernel::ALL {
            let op = Op::Linear(Linear {
                in_features: inf,
                out_features: outf,
                bias,
                activation: act,
                kernel,
            });
            single_input(gpu, &max, &op, Shape::matrix(n, inf), seed, 1.0);
        }
    });
    max.report();
}

#[test]
fn softmax_matches_cpu() {
    let max = MaxErr::default();
    let s = (
        1..=3usize,
        1..=150usize,
        1..=4usize,
        1..=4usize,
        any::<u64>(),
    );
    check_cases("softmax", 16, s, |gpu, (n, c, h, w, seed)| {
        single_input(
            gpu,
            &max,
            &Op::Softmax(Softmax),
            Shape::new(n, c, h, w),
            seed,
            8.0,
        );
    });
    max.report();
}
