//! Named GPU edge cases beside the property tests of `ops.rs`, each kernel vs its CPU reference:
//! 1x1 convs, a kernel as large as the input, stride > kernel, GEMM tiles with more than 64
//! output channels per group; grids over 65,535 workgroups (folded to 2-D by the runtime); the
//! binding-limit splits (weight rows for linear and conv, including groups > 1; batch chunks for
//! activations) and `Error::Limit` where no split fits (and, naming the layer, for a value over
//! one buffer); fixed shapes for concat, linear,
//! softmax, LRN and BN; and a check that the comparison harness does fail on a wrong result.
//!
//! `cargo test --release --test ops_edge -- --nocapture` prints `max rel L2 <op>: <value>`.

mod common;

use common::cases::{grouped, sh, uniform, with_kernel, Cx};
use common::{cpu_ref, gpu, random_params, small_binding_gpu};
use deeper::compare::{compare, OP_TOLERANCE};
use deeper::graph::GraphBuilder;
use deeper::ops::Activation::{Relu, Sigmoid, Tanh};
use deeper::ops::*;
use deeper::runtime::{run_op, Model};
use deeper::{Error, Rng, Shape, Tensor, Window};

fn with_act<T>(mut t: T, act: Activation, field: impl Fn(&mut T) -> &mut Activation) -> T {
    *field(&mut t) = act;
    t
}

fn add(act: Activation) -> Op {
    Op::Add(Add { activation: act })
}

fn lrn(size: usize, alpha: f32, beta: f32, k: f32) -> Op {
    Op::Lrn(Lrn {
        size,
        alpha,
        beta,
        k,
    })
}

#[test]
fn conv_shape_edges() {
    let Some(g) = gpu() else { return };
    let cx = Cx::new(g);
    let cases = [
        ("1x1", Conv2d::new(5, 7, 1, 1, 0), sh(3, 5, 9, 11)),
        ("1x1 stride 2", Conv2d::new(6, 3, 1, 2, 0), sh(2, 6, 7, 7)),
        ("kernel = input", Conv2d::new(3, 4, 7, 1, 0), sh(2, 3, 7, 7)),
        (
            "stride > kernel",
            Conv2d::new(3, 5, 2, 3, 1),
            sh(2, 3, 11, 9),
        ),
        ("70 rows/group", grouped(18, 140, 3, 1, 2), sh(2, 18, 9, 9)),
        (
            "3·17·19 pixels",
            Conv2d::new(4, 66, 3, 1, 1),
            sh(3, 4, 17, 19),
        ),
        ("depthwise 5x5", grouped(9, 18, 5, 2, 9), sh(2, 9, 8, 6)),
    ];
    for (name, conv, x) in cases {
        cx.check_conv(name, &conv, &[x], 1);
    }
    // Kernel as large as a non-square input: 5x3 over 5x3 → 1x1.
    let mut conv = Conv2d::new(4, 6, 1, 1, 0);
    (conv.window.h, conv.window.w) = (Window::new(5, 1, 0), Window::new(3, 1, 0));
    cx.check_conv("kernel 5x3 = input", &conv, &[sh(3, 4, 5, 3)], 2);
    let pool = Op::Pool2d(Pool2d::max(2, 3, 0));
    cx.check("max pool stride > kernel", &pool, &[sh(2, 3, 11, 10)], 3);
    let pool = Op::Pool2d(Pool2d::avg(7, 1, 0));
    cx.check("avg pool kernel = input", &pool, &[sh(2, 3, 7, 7)], 4);
    cx.max.report();
}

#[test]
fn grids_over_65535_workgroups_are_folded() {
    let Some(g) = gpu() else { return };
    let cx = Cx::new(g);
    let big = sh(1, 1, 2100, 2100); // 4,410,000 elements = 68,907 workgroups of 64
    let direct = with_kernel(&Conv2d::new(1, 1, 1, 1, 0), ConvKernel::Direct);
    let ops = [
        (add(Relu), vec![big, big]),
        (Op::BatchNorm2d(BatchNorm2d::new(1)), vec![big]),
        (Op::Pool2d(Pool2d::max(1, 1, 0)), vec![big]),
        (Op::Concat(Concat), vec![big]),
        (direct, vec![big]),
        // One workgroup per pixel: 2·190·180 = 68,400.
        (Op::Softmax(Softmax), vec![sh(2, 3, 190, 180)]),
        // One workgroup per output row and block of 4 samples: 66,000.
        (
            Op::Linear(Linear::new(3, 66_000)),
            vec![Shape::matrix(2, 3)],
        ),
    ];
    for (op, shapes) in ops {
        cx.check("folded grid", &op, &shapes, 5);
    }
    cx.max.report();
}

/// 68,907 tiles of 32 channels × 64 pixels (`conv2d_tiled`'s smallest): the slowest test on a
/// software GPU (each of the 128-invocation workgroups is run on the CPU), kept apart to run
/// in parallel.
#[test]
fn tiled_grid_over_65535_workgroups_is_folded() {
    let Some(g) = gpu() else { return };
    let cx = Cx::new(g);
    let tiled = with_kernel(&Conv2d::new(1, 1, 1, 1, 0), ConvKernel::Tiled);
    cx.check("folded grid", &tiled, &[sh(1, 1, 2100, 2100)], 5);
    cx.max.report();
}

#[test]
fn weights_over_the_binding_limit_are_split_by_rows() {
    let Some(g) = small_binding_gpu(1024) else {
        return;
    };
    let cx = Cx::new(&g);
    let rows_per_chunk = |op: &Op, seed| {
        let p = random_params(op, &mut Rng::new(seed));
        g.upload_params(op, "layer", &p)
            .expect("upload")
            .rows_per_chunk
    };
    // (a) linear: 400-byte rows (448 padded for the tiled GEMM) → 2 rows per chunk, 11 rows
    // → 6 dispatches (bias split too), each writing its own output features.
    for (bias, kernel) in [true, false]
        .into_iter()
        .flat_map(|b| [LinearKernel::Auto, LinearKernel::Tiled].map(|k| (b, k)))
    {
        let mut fc = Linear::new(100, 11);
        (fc.bias, fc.activation, fc.kernel) = (bias, Tanh, kernel);
        let op = Op::Linear(fc);
        assert_eq!(rows_per_chunk(&op, 6), 2);
        cx.check(
            &format!("linear split {kernel:?}"),
            &op,
            &[Shape::matrix(2, 100)],
            6,
        );
    }
    // (b) conv, split by output channels in whole groups: (C_in, C_out, kernel, pad, groups,
    // rows per chunk). 3x3 inputs keep the activations under the limit.
    let cases = [
        (8, 13, 3, 1, 1, 3),    // 288-byte rows: chunks of 3, 3, 3, 3, 1 output channels
        (12, 12, 3, 1, 3, 4),   // 4 rows per group: one group per chunk
        (12, 24, 3, 1, 6, 12),  // 72-byte rows, 4 per group: 3 groups per chunk
        (12, 24, 5, 2, 12, 10), // depthwise ×2, 100-byte rows: 5 groups per chunk
    ];
    for (cin, cout, k, pad, groups, rows) in cases {
        let conv = grouped(cin, cout, k, pad, groups);
        assert_eq!(
            rows_per_chunk(&Op::Conv2d(conv.clone()), 7),
            rows,
            "{conv:?}"
        );
        cx.check_conv("conv split", &conv, &[sh(1, cin, 3, 3)], 7);
    }
    cx.max.report();
}

#[test]
fn activations_over_the_binding_limit_are_split_by_batch() {
    // 1024 bytes per sample (a multiple of 256) and a 2048-byte limit: chunks of 2, 2, 1.
    let Some(g) = small_binding_gpu(2048) else {
        return;
    };
    let cx = Cx::new(&g);
    let (x, half) = (sh(5, 4, 8, 8), sh(5, 2, 8, 8));
    let adaptive = AdaptiveAvgPool2d { out_h: 8, out_w: 8 };
    let ops = [
        (add(Sigmoid), vec![x, x]),
        (Op::Pool2d(Pool2d::max(3, 1, 1)), vec![x]),
        (Op::Pool2d(Pool2d::avg(3, 1, 1)), vec![x]),
        (Op::Softmax(Softmax), vec![x]),
        (lrn(3, 0.1, 0.75, 1.0), vec![x]),
        (Op::BatchNorm2d(BatchNorm2d::new(4)), vec![x]),
        (Op::AdaptiveAvgPool2d(adaptive), vec![x]),
        (Op::Concat(Concat), vec![half, half]),
        // 1024-byte samples and 1024-byte weight rows: batch and weight split together.
        (
            Op::Linear(Linear::new(256, 64)),
            vec![Shape::matrix(6, 256)],
        ),
    ];
    for (op, shapes) in ops {
        cx.check("batch split", &op, &shapes, 8);
    }
    let mut conv = Conv2d::new(4, 4, 3, 1, 1);
    (conv.residual, conv.activation) = (true, Relu);
    cx.check_conv("batch split", &conv, &[x, x], 9);
    cx.max.report();
}

#[test]
fn impossible_splits_return_limit_errors() {
    let Some(g) = small_binding_gpu(1024) else {
        return;
    };
    let mut rng = Rng::new(10);
    let mut expect_limit = |case: &str, op: Op, shape: Shape| {
        let x = uniform(shape, &mut rng);
        let p = random_params(&op, &mut rng);
        match run_op(&g, &op, "layer", &[&x], &p) {
            Err(Error::Limit { .. }) => {}
            other => panic!(
                "{case}: want Error::Limit, got {:?}",
                other.map(|t| t.shape)
            ),
        }
    };
    // One sample (1200 bytes) is larger than a binding.
    expect_limit(
        "sample > binding",
        Op::Softmax(Softmax),
        Shape::matrix(4, 300),
    );
    // 1000-byte samples fit, but no aligned chunk of them does (offsets must be multiples of
    // the device's alignment, at least 4 bytes, and 1000-byte samples need ≥ 2 per chunk).
    expect_limit(
        "unaligned chunks",
        Op::Softmax(Softmax),
        Shape::matrix(4, 250),
    );
    // One weight row (4096 bytes) is larger than a binding.
    let fc = Op::Linear(Linear::new(1024, 2));
    expect_limit("linear row", fc, Shape::matrix(1, 1024));
    // One conv group (4 rows × 288 bytes) is larger than a binding.
    let conv = Op::Conv2d(grouped(16, 8, 3, 1, 2));
    expect_limit("conv group", conv, sh(1, 16, 3, 3));
}

/// A value larger than one device buffer is refused when the model compiles, before anything
/// is allocated, with the layer, shape and batch named (not a buffer slot's flat size).
#[test]
fn activation_over_the_buffer_limit_names_its_layer() {
    let Some(g) = gpu() else { return };
    // 1 → 2 channels: the output alone is over the limit, the input under it.
    let side = ((g.limits().max_buffer_size / 8) as f64).sqrt() as usize + 3;
    let (mut b, x) = GraphBuilder::new("big", 1, side, side, 1);
    let y = b.conv2d("huge", x, Conv2d::new(1, 2, 3, 1, 1));
    let graph = b.finish(&[y]).expect("graph");
    match Model::compile(g, &graph, 1, true) {
        Err(e @ Error::Limit { .. }) => {
            let msg = e.to_string();
            let want = format!("'huge' [1, 2, {side}, {side}] at batch 1");
            assert!(msg.contains(&want), "{msg}");
        }
        other => panic!("want Error::Limit, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn fixed_shapes() {
    let Some(g) = gpu() else { return };
    let cx = Cx::new(g);
    let cat = [1, 3, 5, 2].map(|c| sh(3, c, 5, 7));
    cx.check("concat of 4 at batch 3", &Op::Concat(Concat), &cat, 11);
    let fc = with_act(Linear::new(67, 13), Relu, |l| &mut l.activation);
    for n in [1, 5, 9] {
        let x = Shape::matrix(n, 67);
        cx.check(
            &format!("linear batch {n}"),
            &Op::Linear(fc.clone()),
            &[x],
            12,
        );
    }
    // The vec4 kernels and the tiled GEMM: several 128-row groups, an input that is not a
    // multiple of 32 (the subgroup kernel's last chunk of 8 vec4 is partial) nor of 16 (the
    // tiled GEMM's padded rows), batch 1 (one sample per invocation), batches that leave a
    // partial block of 4 (the GEMV: of 8, and 9 = two blocks) and 70 (two pixel tiles).
    for kernel in [
        LinearKernel::Vec4,
        LinearKernel::Subgroup,
        LinearKernel::Gemv,
        LinearKernel::Tiled,
    ] {
        let fc = Linear {
            kernel,
            ..with_act(Linear::new(1000, 300), Relu, |l| &mut l.activation)
        };
        for n in [1, 3, 6, 9, 70] {
            let x = Shape::matrix(n, 1000);
            let case = format!("linear {kernel:?} batch {n}");
            cx.check(&case, &Op::Linear(fc.clone()), &[x], 13);
        }
    }
    for (c, h, w) in [
        (100, 3, 5),
        (65, 2, 2),
        (1, 3, 3),
        (200, 1, 1),
        (1000, 1, 1),
    ] {
        cx.check("softmax", &Op::Softmax(Softmax), &[sh(2, c, h, w)], 13);
    }
    for size in 1..=6 {
        let op = lrn(size, 1e-2, 0.75, 1.0);
        cx.check(&format!("lrn size {size}"), &op, &[sh(2, 9, 4, 3)], 14);
    }
    for act in [Activation::None, Relu, Tanh, Sigmoid] {
        let bn = with_act(BatchNorm2d::new(7), act, |b| &mut b.activation);
        cx.check("batch norm", &Op::BatchNorm2d(bn), &[sh(3, 7, 5, 3)], 15);
    }
    cx.max.report();
}

#[test]
fn the_harness_rejects_wrong_results() {
    let Some(g) = gpu() else { return };
    let mut rng = Rng::new(16);
    let op = Op::Conv2d(Conv2d::new(3, 5, 3, 1, 1));
    let x = uniform(sh(2, 3, 6, 6), &mut rng);
    let p = random_params(&op, &mut rng);
    let want = cpu_ref(&op, &[&x], &p);
    let got = run_op(g, &op, "conv", &[&x], &p).unwrap();
    let ok = compare(&got, &want, OP_TOLERANCE);
    assert!(ok.passed(), "the unperturbed result passes: {ok}");

    let fails = |case: &str, t: &Tensor| {
        let c = compare(t, &want, OP_TOLERANCE);
        assert!(!c.passed(), "{case}: a wrong result passed: {c}");
        eprintln!("rejected as expected, {case}: {c}");
    };
    let mut one = got.clone();
    one.data[37] += 1e-2 * (1.0 + one.data[37].abs());
    fails("one element off by 1%", &one);
    let mut all = got.clone();
    all.data.iter_mut().for_each(|v| *v *= 1.0 + 5e-5);
    fails("every element 5e-5 too large", &all);
    let mut nan = got.clone();
    nan.data[0] = f32::NAN;
    fails("one NaN (an unwritten element)", &nan);
    let mut inf = got.clone();
    inf.data[1] = f32::INFINITY;
    fails("one +inf", &inf);
    // The wrong op entirely: the stride-2 output compared with the stride-1 reference.
    let other = Op::Conv2d(Conv2d::new(3, 5, 3, 2, 1));
    let wrong = run_op(g, &other, "conv", &[&x], &p).unwrap();
    fails("wrong shape", &wrong);
}
