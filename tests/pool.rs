//! Max pooling's two GPU paths against the CPU reference: the 3-wide-window path
//! (`max_pool3` in `pool2d.wgsl`, which the random shapes of `ops.rs` rarely reach) on every
//! classic network's 3x3 pool and on narrow rows, VGG's 2x2 pools (the general path), and
//! NaN propagation on both paths.

mod common;

use common::cases::{sh, uniform, Cx};
use common::{cpu_ref, gpu};
use deeper::ops::{Op, Pool2d};
use deeper::runtime::run_op;
use deeper::{Rng, Window, Window2d};

/// Max pools with a 3-wide window (kw = 3, dw = 1, stride 1 or 2) take `max_pool3`, which
/// loads each row's span once: every 3x3 max pool of GoogLeNet (stride 1 pad 1, stride 2
/// ceil), ResNet (stride 2 pad 1) and AlexNet (stride 2), rows of 1-3 pixels (the span runs
/// past the row), a dilated or shorter window height; and on the general path stride 3 and
/// VGG's 2x2/2 (also on odd sizes, with ceil mode, with padding).
#[test]
fn max_pool_narrow_windows() {
    let Some(g) = gpu() else { return };
    let cx = Cx::new(g);
    let rect = |h: Window, w: Window| {
        Op::Pool2d(Pool2d {
            window: Window2d { h, w },
            ..Pool2d::max(3, 1, 0)
        })
    };
    let max = |k, s, p| Op::Pool2d(Pool2d::max(k, s, p));
    let ceil = |k, s, p| Op::Pool2d(Pool2d::max(k, s, p).ceil());
    let cases = [
        ("inception 3x3/1 pad 1", max(3, 1, 1), sh(2, 5, 13, 11)),
        ("googlenet 3x3/2 ceil", ceil(3, 2, 0), sh(3, 4, 15, 14)),
        ("resnet 3x3/2 pad 1", max(3, 2, 1), sh(2, 3, 17, 16)),
        ("alexnet 3x3/2", max(3, 2, 0), sh(1, 2, 27, 27)),
        ("one column", max(3, 1, 1), sh(2, 3, 5, 1)),
        ("two columns, stride 2", max(3, 2, 1), sh(2, 3, 4, 2)),
        ("three columns", ceil(3, 2, 0), sh(1, 2, 3, 3)),
        (
            "1x3 window",
            rect(Window::new(1, 1, 0), Window::new(3, 2, 1)),
            sh(2, 3, 6, 9),
        ),
        (
            "dilated rows",
            rect(
                Window {
                    dilation: 2,
                    ..Window::new(3, 1, 1)
                },
                Window::new(3, 1, 1),
            ),
            sh(2, 3, 9, 10),
        ),
        ("stride 3 (general path)", max(3, 3, 1), sh(2, 3, 10, 11)),
        ("vgg 2x2/2", max(2, 2, 0), sh(2, 3, 12, 16)),
        ("2x2/2 odd sizes", max(2, 2, 0), sh(2, 3, 9, 13)),
        ("2x2/2 ceil, one column", ceil(2, 2, 0), sh(1, 2, 5, 1)),
        ("2x2/2 pad 1", max(2, 2, 1), sh(2, 2, 7, 10)),
    ];
    for (i, (name, op, x)) in cases.iter().enumerate() {
        cx.check(name, op, &[*x], 10 + i as u64);
    }
    cx.max.report();
}

/// A NaN input makes the maximum of every window that covers it NaN, as in PyTorch, on both
/// max-pool paths; every other output is exact.
#[test]
fn max_pool_propagates_nan() {
    let Some(g) = gpu() else { return };
    for (name, pool) in [
        ("3x3/1 pad 1", Pool2d::max(3, 1, 1)),
        ("3x3/2 ceil", Pool2d::max(3, 2, 0).ceil()),
        ("2x2/2", Pool2d::max(2, 2, 0)),
        ("2x2/2 ceil", Pool2d::max(2, 2, 0).ceil()),
        ("5x5/2 pad 2", Pool2d::max(5, 2, 2)),
    ] {
        let mut x = uniform(sh(2, 3, 11, 13), &mut Rng::new(21));
        for i in [0, 40, 77, 300, 600, x.data.len() - 1] {
            x.data[i] = f32::NAN;
        }
        let op = Op::Pool2d(pool);
        let want = cpu_ref(&op, &[&x], &[]);
        let got = run_op(g, &op, "pool", &[&x], &[]).unwrap();
        let nans = want.data.iter().filter(|v| v.is_nan()).count();
        assert!(nans > 0, "{name}: the case has no NaN window");
        for (i, (w, v)) in want.data.iter().zip(&got.data).enumerate() {
            assert!(
                w.is_nan() == v.is_nan() && (w.is_nan() || w == v),
                "{name}: output {i} is {v}, want {w}"
            );
        }
    }
}
