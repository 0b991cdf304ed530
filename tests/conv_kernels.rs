//! The matrix-product and Winograd convolution kernels on the shapes where their own paths
//! differ: the input used directly as the matrix, im2col column chunks, the subgroup kernel's
//! implicit im2col, channel blocks that do not divide the channels, Winograd tiles and padding, and that forcing a subgroup kernel
//! really runs it where the device has subgroups (beside every kernel on every shape in
//! `ops.rs` and `ops_edge.rs`).
//!
//! `cargo test --release --test conv_kernels -- --nocapture` prints `max rel L2 <op>: <value>`.

mod common;

use common::cases::{grouped, sh, with_kernel, Cx};
use common::{gpu, small_binding_gpu};
use deeper::ops::Activation::{Relu, Sigmoid};
use deeper::ops::{Conv2d, ConvKernel};

/// The im2col matrix-product paths (`conv2d_mm` and `conv2d_subgroup`): the input used directly as
/// the matrix (mm: 1x1, stride 1, no padding, pixels a multiple of 8), im2col in several column
/// chunks when the scratch buffer is small, groups whose channel count is not a multiple of the
/// 16/32-channel block, several blocks per group, K not a multiple of 4, one- and
/// eight-subgroup workgroups (sg), batch > 1.
#[test]
fn conv_matrix_product_paths() {
    let Some(big) = gpu() else { return };
    let cx = Cx::new(big);
    let Some(small) = small_binding_gpu(16 * 1024) else {
        return;
    };
    let cx_small = Cx::new(&small);
    for kernel in [ConvKernel::Mm, ConvKernel::Subgroup] {
        let mm = |c: Conv2d| with_kernel(&c, kernel);
        let mut one = Conv2d::new(24, 40, 1, 1, 0);
        (one.residual, one.activation) = (true, Relu);
        let residual = [sh(3, 24, 4, 6), sh(3, 40, 4, 6)];
        cx.check("1x1 input as matrix", &mm(one), &residual, 21);
        // ResNet-50's last expansions: a residual on planes of 49 pixels (the scalar epilogue).
        let mut c7 = Conv2d::new(16, 20, 1, 1, 0);
        (c7.residual, c7.activation) = (true, Relu);
        let planes7 = [sh(2, 16, 7, 7), sh(2, 20, 7, 7)];
        cx.check("1x1, 7x7 pixels, residual", &mm(c7), &planes7, 22);
        cx.check(
            "groups 3",
            &mm(grouped(9, 30, 3, 1, 3)),
            &[sh(2, 9, 9, 11)],
            23,
        );
        let wide = mm(grouped(10, 140, 3, 1, 2)); // 70 channels per group: 3 sg blocks, K = 45
        cx.check("groups 2, 70 channels each", &wide, &[sh(2, 10, 9, 7)], 28);
        let ragged = mm(Conv2d::new(16, 18, 1, 1, 0)); // 12 pixels: a multiple of 4 only
        cx.check("1x1, ragged columns", &ragged, &[sh(3, 16, 2, 6)], 26);
        let cccp = mm(Conv2d::new(96, 96, 1, 1, 0)); // NiN's cccp layers: 54x54 = 2916 pixels
        cx.check("1x1, 54x54", &cccp, &[sh(1, 96, 54, 54)], 27);
        let dilated = mm(Conv2d::new(5, 17, 3, 2, 2).dilated(2));
        cx.check("stride 2 dilation 2", &dilated, &[sh(2, 5, 13, 12)], 24);
        // Scratch capped at 16 KiB: K = 72 → 48 columns per chunk, 400 pixels → 9 chunks.
        let chunks = mm(Conv2d::new(8, 8, 3, 1, 1));
        cx_small.check("column chunks", &chunks, &[sh(2, 8, 20, 20)], 25);
    }
    cx.max.report();
    cx_small.max.report();
}

/// The subgroup kernel's implicit im2col (`_window` shaders): B's rows gathered from the input
/// with asymmetric padding, a big stride and kernel, 1x1 with stride 2, a fused residual on a
/// plane that is not a multiple of 4 pixels (lanes past the last pixel) and on one that is
/// (vec4 epilogue), grouped with K not a multiple of 4.
#[test]
fn conv_subgroup_window_paths() {
    let Some(big) = gpu() else { return };
    let cx = Cx::new(big);
    let sg = |c: Conv2d| with_kernel(&c, ConvKernel::Subgroup);
    let mut asym = Conv2d::new(6, 40, 5, 1, 0);
    asym.window.h.pad_before = 3; // top 3, bottom 0; left 0, right 1
    asym.window.w.pad_after = 1;
    cx.check("asymmetric padding", &sg(asym), &[sh(2, 6, 9, 8)], 41);
    let alex = Conv2d::new(3, 36, 11, 4, 2); // AlexNet conv1's window on 39x39: 8x8 outputs
    cx.check("11x11 stride 4", &sg(alex), &[sh(2, 3, 39, 39)], 42);
    let strided = Conv2d::new(20, 33, 1, 2, 0); // ResNet downsample 1x1/2
    cx.check("1x1 stride 2", &sg(strided), &[sh(2, 20, 11, 10)], 43);
    for (hw, seed) in [((7, 9), 44), ((8, 6), 45)] {
        let mut res = Conv2d::new(17, 34, 3, 1, 1);
        (res.residual, res.activation) = (true, Relu);
        let shapes = [sh(2, 17, hw.0, hw.1), sh(2, 34, hw.0, hw.1)];
        cx.check("3x3 residual", &sg(res), &shapes, seed);
    }
    cx.check(
        "groups 2, K = 45",
        &sg(grouped(10, 64, 3, 1, 2)),
        &[sh(3, 10, 6, 5)],
        46,
    );
    cx.max.report();
}

/// Winograd F(4x4, 3x3) and F(2x2, 5x5): padding 0, 1, 2 and asymmetric, odd output sizes
/// (partial tiles) and planes of whole tiles (the vec4 output transform), batch > 1, a fused
/// residual and activation, channel counts that are not
/// multiples of the 32-channel block, and tiles in several chunks when the scratch buffers are
/// small.
#[test]
fn conv_winograd_paths() {
    let Some(big) = gpu() else { return };
    let cx = Cx::new(big);
    let small = small_binding_gpu(16 * 1024);
    for kernel in [ConvKernel::Winograd, ConvKernel::WinogradTiled] {
        winograd_cases(&cx, small.as_ref().map(Cx::new).as_ref(), kernel);
    }
    cx.max.report();
}

/// The cases of [`conv_winograd_paths`] on one Winograd kernel (`small`: a device whose
/// bindings force several chunks of tiles).
fn winograd_cases(cx: &Cx, small: Option<&Cx>, kernel: ConvKernel) {
    let wino = |c: Conv2d| with_kernel(&c, kernel);
    for (pad, hw, seed) in [(1, (7, 9), 31), (0, (8, 5), 32), (2, (5, 6), 33)] {
        let c = Conv2d::new(12, 40, 3, 1, pad).with_activation(Relu);
        cx.check("3x3 stride 1", &wino(c), &[sh(2, 12, hw.0, hw.1)], seed);
    }
    let mut asym = Conv2d::new(5, 33, 3, 1, 0);
    asym.window.h.pad_before = 2; // top 2, bottom 0, left/right 0
    cx.check("asymmetric padding", &wino(asym), &[sh(1, 5, 6, 7)], 34);
    let mut res = Conv2d::new(64, 64, 3, 1, 1);
    (res.residual, res.activation) = (true, Relu);
    let shapes = [sh(2, 64, 14, 14), sh(2, 64, 14, 14)];
    cx.check("ResNet basic block conv", &wino(res), &shapes, 35);
    for (pad, hw, seed) in [(2, (9, 7), 37), (0, (10, 11), 38), (1, (6, 5), 39)] {
        let c = Conv2d::new(10, 36, 5, 1, pad).with_activation(Relu);
        cx.check("5x5 stride 1", &wino(c), &[sh(2, 10, hw.0, hw.1)], seed);
    }
    // Planes of whole 4x4 tiles take winograd_output_v4 (vec4 rows): with a residual, a
    // sigmoid, batch 3 and 18 tiles (not a multiple of the 4 per invocation); without padding.
    let mut whole = Conv2d::new(20, 48, 3, 1, 1).with_activation(Sigmoid);
    whole.residual = true;
    let shapes = [sh(3, 20, 12, 8), sh(3, 48, 12, 8)];
    cx.check("whole tiles with residual", &wino(whole), &shapes, 41);
    let valid = Conv2d::new(7, 36, 3, 1, 0).with_activation(Relu);
    cx.check(
        "whole tiles, no padding",
        &wino(valid),
        &[sh(2, 7, 10, 18)],
        42,
    );
    let mut res5 = Conv2d::new(24, 32, 5, 1, 2);
    res5.residual = true;
    let shapes = [sh(1, 24, 13, 13), sh(1, 32, 13, 13)];
    cx.check("5x5 with residual", &wino(res5), &shapes, 40);
    let Some(cx_small) = small else { return };
    let chunks = wino(Conv2d::new(8, 8, 3, 1, 1)); // 8 tiles per chunk, 25 tiles
    cx_small.check("tile chunks", &chunks, &[sh(2, 8, 20, 20)], 36);
    cx_small.max.report();
}

/// The subgroup and both Winograd kernels are what the tests above ran wherever the device has
/// subgroups of 8 or more (and llvmpipe, where CI runs, has them), not a silent fallback.
#[test]
fn subgroup_kernel_is_tested_where_available() {
    let Some(g) = gpu() else { return };
    let caps = g.caps();
    if g.name().contains("llvmpipe") {
        assert!(caps.subgroups, "llvmpipe offers subgroups of 8: {caps:?}");
    }
    for kernel in [ConvKernel::Subgroup, ConvKernel::Winograd] {
        let forced = Conv2d {
            kernel,
            ..Conv2d::new(8, 40, 3, 1, 1)
        };
        let want = if caps.subgroups {
            kernel
        } else {
            ConvKernel::Mm
        };
        assert_eq!(forced.resolve(&caps, sh(1, 40, 8, 8)), want);
    }
    // Winograd on the tiled product needs no subgroups: it runs wherever the tiles fit.
    let forced = Conv2d {
        kernel: ConvKernel::WinogradTiled,
        ..Conv2d::new(8, 40, 3, 1, 1)
    };
    assert_eq!(
        forced.resolve(&caps, sh(1, 40, 8, 8)),
        ConvKernel::WinogradTiled
    );
}

/// The output shape of `c` on input `x`.
fn conv_out(c: &Conv2d, x: deeper::Shape) -> deeper::Shape {
    let (oh, ow) = c.window.output_hw("t", x.h, x.w).expect("output size");
    sh(x.n, c.out_channels, oh, ow)
}

/// The tiled kernel in each of its tile shapes (`conv2d_tiled::TILES`, the rule's choice
/// asserted first): 128x128 on an odd plane of 8,281 pixels with K = 27 (padded to 32), and
/// 1x1 (the pointwise gather) with a residual; 64x128 and 64x64 grouped (4 groups of 40
/// channels: a partial channel tile); 32x64 on ResNet's 7x7 and 14x14 planes at batch 1 and 3
/// (odd N·OH·OW), 3x3 stride 2 and AlexNet's 11x11 stride 4; 64x32 on at most 32 pixels (a
/// residual 3x3 on 4x4 at batch 2, a 1x1 on 5x5).
#[test]
fn conv_tiled_tiles() {
    use deeper::ops::conv2d_tiled::{tile_for, TILES};
    let Some(g) = gpu() else { return };
    let cx = Cx::new(g);
    let tiled = |c: &Conv2d| with_kernel(c, ConvKernel::Tiled);
    let mut cases: Vec<(&str, Conv2d, Vec<deeper::Shape>, usize)> = Vec::new();
    let c = Conv2d::new(3, 130, 3, 1, 1).with_activation(Relu);
    cases.push(("128x128, 3x3", c, vec![sh(2, 3, 91, 91)], 0));
    let mut pw = Conv2d::new(20, 200, 1, 1, 0);
    (pw.residual, pw.activation) = (true, Relu);
    cases.push((
        "128x128, 1x1",
        pw,
        vec![sh(2, 20, 90, 91), sh(2, 200, 90, 91)],
        0,
    ));
    let g4 = grouped(12, 160, 3, 1, 4);
    cases.push(("64x128, groups 4", g4.clone(), vec![sh(1, 12, 91, 91)], 1));
    cases.push(("64x64, groups 4", g4, vec![sh(1, 12, 75, 75)], 2));
    let mut l4 = Conv2d::new(64, 48, 3, 1, 1);
    (l4.residual, l4.activation) = (true, Sigmoid);
    for n in [1, 3] {
        for hw in [7, 14] {
            cases.push((
                "32x64, ResNet plane",
                l4.clone(),
                vec![sh(n, 64, hw, hw), sh(n, 48, hw, hw)],
                4,
            ));
        }
    }
    cases.push((
        "32x64, 3x3 stride 2",
        Conv2d::new(16, 24, 3, 2, 1),
        vec![sh(3, 16, 13, 13)],
        4,
    ));
    cases.push((
        "32x64, 11x11 stride 4",
        Conv2d::new(3, 20, 11, 4, 2),
        vec![sh(2, 3, 39, 39)],
        4,
    ));
    let mut few = Conv2d::new(40, 80, 3, 1, 1);
    (few.residual, few.activation) = (true, Relu);
    cases.push((
        "64x32, 32 pixels",
        few,
        vec![sh(2, 40, 4, 4), sh(2, 80, 4, 4)],
        3,
    ));
    cases.push((
        "64x32, 1x1 on 25 pixels",
        Conv2d::new(100, 70, 1, 1, 0),
        vec![sh(1, 100, 5, 5)],
        3,
    ));
    for (i, (name, conv, shapes, tile)) in cases.into_iter().enumerate() {
        assert_eq!(
            tile_for(&conv, conv_out(&conv, shapes[0])),
            TILES[tile],
            "{name}"
        );
        cx.check(name, &tiled(&conv), &shapes, 50 + i as u64);
    }
    cx.max.report();
}

/// Split-K on the tiled kernel, where the tiles alone leave the GPU mostly idle: the slice
/// count (asserted first, with unbounded scratch), then the GPU against the CPU: ResNet-like
/// 3x3 layers on 7x7 at batch 1 (with a residual and sigmoid: the second pass's epilogue),
/// grouped (each group's slices apart), a last slice shorter than the others (34 steps in 4
/// slices of 9), a 1x1 on 14x14 at batch 3, and the scratch capping the slices.
#[test]
fn conv_tiled_split_k() {
    use deeper::ops::conv2d_tiled::split_for;
    let Some(g) = gpu() else { return };
    let cx = Cx::new(g);
    let mut l4 = Conv2d::new(256, 64, 3, 1, 1);
    (l4.residual, l4.activation) = (true, Sigmoid);
    let uneven = Conv2d::new(60, 20, 3, 1, 1).with_activation(Relu);
    let cases = [
        ("3x3 on 7x7, residual", l4.clone(), sh(1, 256, 7, 7), 18),
        ("groups 4", grouped(256, 64, 3, 1, 4), sh(2, 256, 6, 5), 4),
        ("uneven slices", uneven, sh(2, 60, 5, 5), 4),
        ("1x1", Conv2d::new(512, 40, 1, 1, 0), sh(3, 512, 14, 14), 4),
    ];
    for (i, (name, conv, x, split)) in cases.into_iter().enumerate() {
        let out = conv_out(&conv, x);
        assert_eq!(split_for(&conv, out, usize::MAX), split, "{name}");
        let mut shapes = vec![x];
        if conv.residual {
            shapes.push(out);
        }
        let tiled = with_kernel(&conv, ConvKernel::Tiled);
        cx.check(name, &tiled, &shapes, 70 + i as u64);
    }
    let out = sh(1, 64, 7, 7);
    assert_eq!(split_for(&l4, out, 3 * out.numel() + 5), 3);
    assert_eq!(split_for(&l4, out, out.numel()), 1);
    cx.max.report();
}
