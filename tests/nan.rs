//! NaN in, NaN out, as in PyTorch: every fused activation (ReLU, tanh, sigmoid) in every kernel
//! that applies one keeps a NaN instead of replacing it (`max(v, 0)` and `clamp` turned it into
//! 0 or ±1 on llvmpipe, and the NVIDIA compiler turned the comparison-and-select ReLU into such a
//! maximum), and so does every maximum (softmax here; max pools in tests/pool.rs). Each case puts a few NaNs in the input and checks that the GPU's NaNs
//! are exactly the CPU reference's and every other element matches it. Winograd is the one
//! exception, as in any Winograd implementation: its transforms mix a whole input tile into
//! every output of the tile, so a NaN reaches the tile's neighbouring outputs too (NaN · 0).

mod common;

use common::cases::{sh, uniform, with_kernel};
use common::{cpu_ref, gpu, random_params};
use deeper::compare::{compare, OP_TOLERANCE};
use deeper::ops::Activation::{Relu, Sigmoid, Tanh};
use deeper::ops::*;
use deeper::runtime::{run_op, Gpu};
use deeper::{Rng, Tensor};

/// Runs `op` with NaNs at `nans` of its first input; the GPU must have NaN exactly where the CPU
/// has (at least there with `spreads`), and match it elsewhere.
fn check(gpu: &Gpu, case: &str, op: &Op, inputs: &mut [Tensor], nans: &[usize], spreads: bool) {
    let mut rng = Rng::new(17);
    for i in nans {
        inputs[0].data[*i] = f32::NAN;
    }
    let params = random_params(op, &mut rng);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let want = cpu_ref(op, &refs, &params);
    let got = run_op(gpu, op, "nan", &refs, &params).expect("runs");
    let want_nan: Vec<bool> = want.data.iter().map(|v| v.is_nan()).collect();
    let got_nan: Vec<bool> = got.data.iter().map(|v| v.is_nan()).collect();
    assert!(want_nan.contains(&true), "{case}: no output is NaN");
    let wrong = |i: &usize| want_nan[*i] != got_nan[*i] && !(spreads && got_nan[*i]);
    if let Some(i) = (0..want_nan.len()).find(wrong) {
        panic!(
            "{case}: output {i} is {}, want {}",
            got.data[i], want.data[i]
        );
    }
    let finite = |t: &Tensor| {
        let data = t
            .data
            .iter()
            .zip(&got_nan)
            .map(|(v, n)| if *n { 0.0 } else { *v });
        Tensor::new(t.shape, data.collect()).unwrap()
    };
    let cmp = compare(&finite(&got), &finite(&want), OP_TOLERANCE);
    assert!(cmp.passed(), "{case}: {cmp}");
}

#[test]
fn activations_keep_nan() {
    let Some(g) = gpu() else { return };
    let x = || uniform(sh(2, 3, 5, 7), &mut Rng::new(3));
    for act in [Relu, Tanh, Sigmoid] {
        let add = Op::Add(Add { activation: act });
        check(
            g,
            &format!("add {act:?}"),
            &add,
            &mut [x(), x()],
            &[0, 33, 209],
            false,
        );
        let bn = Op::BatchNorm2d(BatchNorm2d {
            activation: act,
            ..BatchNorm2d::new(3)
        });
        check(
            g,
            &format!("batch norm {act:?}"),
            &bn,
            &mut [x()],
            &[4, 100],
            false,
        );
    }
}

#[test]
fn softmax_keeps_nan() {
    let Some(g) = gpu() else { return };
    let op = Op::Softmax(Softmax);
    let mut x = [uniform(sh(3, 10, 1, 1), &mut Rng::new(8))];
    check(g, "softmax", &op, &mut x, &[13], false);
}

#[test]
fn conv_and_linear_kernels_keep_nan_through_relu() {
    let Some(g) = gpu() else { return };
    let mut conv = Conv2d::new(16, 12, 3, 1, 1);
    conv.activation = Relu;
    let mut residual = conv.clone();
    residual.residual = true;
    // 9x8: planes with partial tiles; 8x8 with a residual: the whole-tile (vec4) epilogues.
    for (conv, h) in [(conv, 9), (residual, 8)] {
        for kernel in ConvKernel::ALL {
            let op = with_kernel(&conv, kernel);
            let mut rng = Rng::new(5);
            let mut x = vec![uniform(sh(2, 16, h, 8), &mut rng)];
            if conv.residual {
                x.push(uniform(sh(2, 12, h, 8), &mut rng));
            }
            let spreads = matches!(kernel, ConvKernel::Winograd | ConvKernel::WinogradTiled);
            let case = format!("conv {kernel:?} {h}x8 residual {}", conv.residual);
            check(g, &case, &op, &mut x, &[40, 1500], spreads);
        }
    }
    for kernel in LinearKernel::ALL {
        let op = Op::Linear(Linear {
            activation: Relu,
            kernel,
            ..Linear::new(40, 9)
        });
        let mut x = [uniform(sh(3, 40, 1, 1), &mut Rng::new(6))];
        check(g, &format!("linear {kernel:?}"), &op, &mut x, &[45], false);
    }
}

/// The tiled kernel's split-K: the activation is applied by the second pass
/// (`conv2d_tiled_sum`), after the slices are added.
#[test]
fn tiled_split_k_keeps_nan_through_relu() {
    use deeper::ops::conv2d_tiled::split_for;
    let Some(g) = gpu() else { return };
    let conv = Conv2d::new(64, 12, 3, 1, 1).with_activation(Relu);
    assert_eq!(split_for(&conv, sh(2, 12, 7, 8), usize::MAX), 4);
    let op = with_kernel(&conv, ConvKernel::Tiled);
    let mut x = [uniform(sh(2, 64, 7, 8), &mut Rng::new(7))];
    check(g, "conv Tiled split-K", &op, &mut x, &[40, 3000], false);
    let fc = Op::Linear(Linear {
        activation: Relu,
        kernel: LinearKernel::Tiled,
        ..Linear::new(256, 9)
    });
    let mut x = [uniform(sh(3, 256, 1, 1), &mut Rng::new(8))];
    check(g, "linear Tiled split-K", &fc, &mut x, &[300], false);
}
