//! Winograd convolution with 6x6 tiles for [`Conv2d`] (`ConvKernel::Winograd`): F(4x4, 3x3)
//! for 3x3 filters (36 multiplications per 4x4 output tile and input channel instead of 144:
//! 4x fewer) and F(2x2, 5x5) for 5x5 filters (36 instead of 100: 2.8x fewer), stride 1,
//! dilation 1, one group. Per chunk of the batch's tiles (all images' tiles side by side):
//!
//! 1. `winograd_input.wgsl`: every 6x6 input patch d becomes `V = Bᵀ d B` (scratch 0, 36
//!    matrices `[tiles][C_in]` in [`super::conv2d_subgroup`]'s column-major B layout);
//! 2. 36 products `M[ξ] = U[ξ] · V[ξ]` by the subgroup matrix-product kernel (scratch 1, 36
//!    matrices `[C_out][tiles]`), where `U = G g Gᵀ` is every filter g transformed once at
//!    load and stored as 36 groups of that kernel's weight blocks (or, for
//!    `ConvKernel::WinogradTiled`, by the workgroup-tiled product:
//!    [`super::conv2d_winograd_tiled`]);
//! 3. `winograd_output.wgsl`: `Y = Aᵀ M A` gives each tile's m×m outputs, with the bias,
//!    residual and activation fused (`winograd_output_v4.wgsl` for 4x4 tiles on planes of
//!    whole tiles: each tile row is one vec4 store, no bounds checks).
//!
//! Both tile sizes interpolate at 0, 1, −1, ½, −2 and ∞ (`POINTS`), so they share `Bᵀ`; `G`
//! and `Aᵀ` follow from the points (Lavin & Gray, "Fast Algorithms for Convolutional Neural
//! Networks", 2016; `g_matrix` builds `G`). Needs subgroups (the product kernel's requirement).

use super::conv2d::{Conv2d, ConvKernel};
use super::conv2d_mm::{product_uniform, Chunk, COLS};
use super::conv2d_subgroup as sg;
use super::launch::{groups_for, Activation, Arg, Dispatch, LaunchCtx};
use super::DeviceCaps;
use crate::shader;
use crate::shape::{Shape, Window2d};
use crate::tensor::Tensor;

shader!(INPUT, "winograd_input", 2);
shader!(OUTPUT, "winograd_output", 4, "winograd_output", "act");
shader!(OUTPUT_V4, "winograd_output_v4", 4, "winograd_output", "act");

/// The 36 entries of a transformed 6x6 tile.
pub(super) const XI: usize = 36;
/// Side of a transformed tile (m + r − 1 for m outputs and an r-tap filter).
const ALPHA: usize = 6;
/// The finite interpolation points (the sixth is ∞). With ½ in place of the usual 2, the
/// largest error of F(4x4, 3x3) in f32 is about 3–4x smaller (simulated: 1.2e-6 against
/// 3.7–5.3e-6 of the largest output for 64–96 input channels; F(2x2, 5x5): 0.9e-6 against
/// 3.0e-6), as Barabasz et al. found ("Error analysis and improving the accuracy of Winograd
/// convolution for deep neural networks", 2020).
const POINTS: [f64; 5] = [0.0, 1.0, -1.0, 0.5, -2.0];
/// `Bᵀ`'s rows (coefficients of `Π_{l≠j}(x − p_l)`, and of `Π(x − p_l)` for ∞) times these are
/// integers (winograd_input.wgsl); `G`'s rows are divided by them to compensate.
const B_SCALE: [f64; 6] = [2.0, 2.0, 2.0, 1.0, 2.0, 2.0];

/// Uniform of `winograd_input.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct InputUniform {
    pub cin: u32,
    pub h: u32,
    pub w: u32,
    pub tw: u32,
    pub tiles: u32,
    pub t0: u32,
    pub tc: u32,
    /// Tiles of the whole batch (images side by side); the chunk is `t0 .. t0 + tc`.
    pub total: u32,
    pub pt: u32,
    pub pl: u32,
    /// Outputs per tile side.
    pub m: u32,
    pub _pad0: u32,
}

/// Uniform of `winograd_output.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OutputUniform {
    pub cout: u32,
    pub oh: u32,
    pub ow: u32,
    pub tw: u32,
    pub tiles: u32,
    pub t0: u32,
    pub tc: u32,
    pub total: u32,
    pub has_bias: u32,
    pub has_residual: u32,
    pub res_c: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

/// Whether `c` has a shape this kernel computes (3x3 or 5x5, stride 1, dilation 1, one group).
pub fn applies(c: &Conv2d) -> bool {
    let (h, w) = (c.window.h, c.window.w);
    let unit = |a: &crate::shape::Window| a.stride == 1 && a.dilation == 1;
    c.groups == 1 && unit(&h) && unit(&w) && h.kernel == w.kernel && matches!(h.kernel, 3 | 5)
}

/// Whether the selection rule picks Winograd for `c` (which it [`applies`] to) with output
/// `out`: 3x3 filters only, and `h·√pixels ≥ 2048` for `h = C_in·C_out / (C_in + C_out)`
/// (the product saves in proportion to `C_in·C_out`, the transforms cost in proportion to
/// `C_in + C_out`, and small planes leave the product's lanes idle). On llvmpipe (GPU ms,
/// Winograd vs subgroup) it won on 64→64 @224 (77 / 99), 128→128 @112 (48 / 92), 256→256
/// @28 (14 / 24), 512→512 @14 (18 / 26), 64→192 @56 (14 / 19) and lost on 64→64 @56
/// (8.5 / 6.3), 128→128 @28 (7.4 / 6.2), 256→256 @14 (8.3 / 6.5), and on every 5x5 layer
/// measured (192→32 @28: 11 / 7).
pub fn pays(c: &Conv2d, out: Shape) -> bool {
    let (cin, cout) = (c.in_channels as f64, c.out_channels as f64);
    let h = cin * cout / (cin + cout);
    c.window.h.kernel == 3 && h * ((out.h * out.w) as f64).sqrt() >= 2048.0
}

/// Outputs per tile side: 4 for 3x3 filters, 2 for 5x5.
pub(super) fn tile_side(c: &Conv2d) -> usize {
    ALPHA + 1 - c.window.h.kernel
}

/// Whether the transformed weights and the smallest chunk of tiles fit this device.
pub fn fits(c: &Conv2d, caps: &DeviceCaps) -> bool {
    let chunk = (XI * c.in_channels.max(c.out_channels) * COLS * 4) as u64;
    caps.subgroups
        && sg::repacked_bytes(&product_conv(c)) <= caps.max_binding
        && chunk <= caps.max_binding
}

/// The 36 products as one grouped 1x1 convolution: group ξ multiplies `U[ξ]` (`C_out × C_in`).
pub(super) fn product_conv(c: &Conv2d) -> Conv2d {
    Conv2d {
        in_channels: XI * c.in_channels,
        out_channels: XI * c.out_channels,
        window: Window2d::square(1, 1, 0),
        groups: XI,
        bias: false,
        activation: Activation::None,
        residual: false,
        folded_bn: false,
        kernel: ConvKernel::Subgroup,
    }
}

/// `G` (6 × r): row j is `(1, p, p², …) / Π_{l≠j}(p − p_l)` for finite point p = p_j, and
/// `(0, …, 0, 1)` for ∞, each divided by `B_SCALE[j]`.
fn g_matrix(r: usize) -> Vec<[f64; 5]> {
    let mut g: Vec<[f64; 5]> = POINTS
        .iter()
        .map(|&p| {
            let f: f64 = POINTS.iter().filter(|&&q| q != p).map(|q| p - q).product();
            std::array::from_fn(|k| if k < r { p.powi(k as i32) / f } else { 0.0 })
        })
        .collect();
    let mut inf = [0.0; 5];
    inf[r - 1] = 1.0;
    g.push(inf);
    for (row, s) in g.iter_mut().zip(B_SCALE) {
        row.iter_mut().for_each(|v| *v /= s);
    }
    g
}

/// `U[ξ][oc][ci] = (G g Gᵀ)[ξ]` for every r×r filter `g = weight[oc][ci]`, as rows
/// `ξ·C_out + oc`.
pub(super) fn transform_weights(c: &Conv2d, w: &Tensor) -> Tensor {
    let (cin, cout, r) = (c.in_channels, c.out_channels, c.window.h.kernel);
    let gm = g_matrix(r);
    let mut data = vec![0f32; XI * cout * cin];
    for oc in 0..cout {
        for ci in 0..cin {
            let g = |ky: usize, kx: usize| w.data[((oc * cin + ci) * r + ky) * r + kx] as f64;
            // G g: 6 × r, then (G g) Gᵀ: 6 × 6.
            let gg: Vec<Vec<f64>> = gm
                .iter()
                .map(|row| {
                    (0..r)
                        .map(|kx| (0..r).map(|ky| row[ky] * g(ky, kx)).sum())
                        .collect()
                })
                .collect();
            for (i, row) in gg.iter().enumerate() {
                for (j, gj) in gm.iter().enumerate() {
                    let u: f64 = (0..r).map(|kx| row[kx] * gj[kx]).sum();
                    data[((i * ALPHA + j) * cout + oc) * cin + ci] = u as f32;
                }
            }
        }
    }
    Tensor {
        shape: Shape::matrix(XI * cout, cin),
        data,
    }
}

/// The transformed weights in the product kernel's layout.
pub fn repack(c: &Conv2d, w: &Tensor) -> Tensor {
    sg::repack(&product_conv(c), &transform_weights(c, w))
}

/// Output tiles per row and per image for tiles of side `m`.
fn tiles(out: Shape, m: usize) -> (usize, usize) {
    let tw = out.w.div_ceil(m);
    (tw, tw * out.h.div_ceil(m))
}

/// Tiles of the whole batch of `out`.
fn batch_tiles(c: &Conv2d, out: Shape) -> usize {
    out.n * tiles(out, tile_side(c)).1
}

/// Scratch wanted for all tiles of the batch: V (`36·C_in·T`) and M (`36·C_out·T`).
pub fn scratch_elems(c: &Conv2d, out: Shape) -> [usize; 2] {
    let t = batch_tiles(c, out).next_multiple_of(COLS);
    [XI * c.in_channels * t, XI * c.out_channels * t]
}

/// Per chunk of the batch's tiles: the input transform, the 36 products, the output transform
/// (one chunk for a whole batch where the scratch buffers hold it: a big GPU at batch 32
/// gets a few large dispatches per layer, not three per image).
pub fn dispatches(c: &Conv2d, ctx: &LaunchCtx) -> Vec<Dispatch> {
    dispatches_with(c, ctx, false)
}

/// The chunks' dispatches with the products on the subgroup kernel or (`tiled`) on
/// [`super::conv2d_winograd_tiled::products`].
pub(super) fn dispatches_with(c: &Conv2d, ctx: &LaunchCtx, tiled: bool) -> Vec<Dispatch> {
    let (total, per_chunk) = (batch_tiles(c, ctx.output), chunk_tiles(c, ctx));
    let mut v = Vec::new();
    for t0 in (0..total).step_by(per_chunk) {
        let tc = (total - t0).next_multiple_of(COLS).min(per_chunk);
        v.push(input(c, ctx, t0, tc, tiled));
        v.push(if tiled {
            super::conv2d_winograd_tiled::products(c, tc)
        } else {
            products(c, tc)
        });
        v.push(output(c, ctx, t0, tc));
    }
    v
}

/// Tiles per chunk: a multiple of [`COLS`] whose V and M fit the scratch buffers.
fn chunk_tiles(c: &Conv2d, ctx: &LaunchCtx) -> usize {
    let fit = |elems: usize, ch: usize| elems / (XI * ch) / COLS * COLS;
    let [s0, s1] = ctx.scratch_elems;
    let all = batch_tiles(c, ctx.output).next_multiple_of(COLS);
    all.min(fit(s0, c.in_channels))
        .min(fit(s1, c.out_channels))
        .max(COLS)
}

/// The input transform; `row_major`: V in the tiled product's layout.
fn input(c: &Conv2d, ctx: &LaunchCtx, t0: usize, tc: usize, row_major: bool) -> Dispatch {
    let (x, u) = (ctx.inputs[0], |v: usize| v as u32);
    let (tw, tiles) = tiles(ctx.output, tile_side(c));
    let uniform = InputUniform {
        cin: u(c.in_channels),
        h: u(x.h),
        w: u(x.w),
        tw: u(tw),
        tiles: u(tiles),
        t0: u(t0),
        tc: u(tc),
        total: u(batch_tiles(c, ctx.output)),
        pt: u(c.window.h.pad_before),
        pl: u(c.window.w.pad_before),
        m: u(tile_side(c)),
        ..Default::default()
    };
    Dispatch {
        shader: &INPUT,
        overrides: vec![("ROW_MAJOR", u(usize::from(row_major)))],
        args: vec![Arg::Input(0), Arg::Scratch(0)],
        uniform: bytemuck::bytes_of(&uniform).to_vec(),
        workgroups: groups_for(c.in_channels * tc / 4, 64),
    }
}

/// The 36 products `M[ξ] (scratch 1) = U[ξ] · V[ξ] (scratch 0)` over `tc` tile columns, as
/// the 36 groups of one subgroup-kernel dispatch.
fn products(c: &Conv2d, tc: usize) -> Dispatch {
    let pc = product_conv(c);
    let (v_shape, m_shape) = (
        Shape::new(1, pc.in_channels, 1, tc),
        Shape::new(1, pc.out_channels, 1, tc),
    );
    let ctx = LaunchCtx {
        inputs: &[v_shape],
        output: m_shape,
        out_c_total: pc.out_channels,
        out_c_offset: 0,
        rows_per_chunk: usize::MAX,
        scratch_elems: [0, 0],
    };
    let chunk = Chunk {
        n: 0,
        g: 0,
        p0: 0,
        cols: tc,
    };
    let mut uniform = product_uniform(&pc, &ctx, chunk, false, sg::BLOCK);
    uniform.groups = XI as u32;
    let args = vec![
        Arg::Scratch(0),
        Arg::Param {
            index: 0,
            rows: 0..sg::weight_rows(&pc),
        },
        Arg::Dummy,
        Arg::Dummy,
        Arg::Scratch(1),
    ];
    sg::dispatch(
        &pc,
        uniform,
        sg::Source::Matrix { col_major: true },
        args,
        tc,
    )
}

fn output(c: &Conv2d, ctx: &LaunchCtx, t0: usize, tc: usize) -> Dispatch {
    let (o, u) = (ctx.output, |v: usize| v as u32);
    let (tw, tiles) = tiles(o, tile_side(c));
    let uniform = OutputUniform {
        cout: u(c.out_channels),
        oh: u(o.h),
        ow: u(o.w),
        tw: u(tw),
        tiles: u(tiles),
        t0: u(t0),
        tc: u(tc),
        total: u(batch_tiles(c, ctx.output)),
        has_bias: u(usize::from(c.bias)),
        has_residual: u(usize::from(c.residual)),
        res_c: u(c.out_channels),
        out_c_total: u(ctx.out_c_total),
        out_c_offset: u(ctx.out_c_offset),
        ..Default::default()
    };
    let [bias, residual] = c.epilogue_args(0..c.out_channels);
    // 4×4 tiles on planes of whole tiles: every tile row is one aligned vec4 of the output.
    let (shader, overrides) = if tile_side(c) == 4 && o.h % 4 == 0 && o.w % 4 == 0 {
        (&OUTPUT_V4, vec![c.activation.constant()])
    } else {
        let m = ("M", tile_side(c) as u32);
        (&OUTPUT, vec![m, c.activation.constant()])
    };
    Dispatch {
        shader,
        overrides,
        args: vec![Arg::Scratch(1), bias, residual, Arg::Output],
        uniform: bytemuck::bytes_of(&uniform).to_vec(),
        workgroups: groups_for(c.out_channels * tc / 4, 64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(cin: usize, cout: usize, k: usize) -> Conv2d {
        Conv2d::new(cin, cout, k, 1, k / 2)
    }

    #[test]
    fn rule_picks_the_big_3x3_layers() {
        let plane = |side: usize, c: usize| Shape::new(1, c, side, side);
        // VGG-16's 3x3 layers from 64 channels at 224 to 512 at 14; GoogLeNet's conv2.
        for (cin, cout, side) in [
            (64, 64, 224),
            (128, 128, 112),
            (256, 256, 56),
            (512, 512, 14),
        ] {
            assert!(
                pays(&conv(cin, cout, 3), plane(side, cout)),
                "{cin}->{cout} @{side}"
            );
        }
        assert!(pays(&conv(64, 192, 3), plane(56, 192)));
        // ResNet-50's 3x3 layers, and 5x5 filters, stay with the direct product.
        for (c, side) in [(64, 56), (128, 28), (256, 14), (512, 7)] {
            assert!(!pays(&conv(c, c, 3), plane(side, c)), "{c} @{side}");
        }
        assert!(!pays(&conv(192, 32, 5), plane(28, 32)));
    }

    #[test]
    fn g_rows_are_the_scaled_interpolation_rows() {
        let g = g_matrix(3);
        // Point ½: (1, ½, ¼) / ((½)(½ − 1)(½ + 1)(½ + 2)) = (1, ½, ¼) · (−16/15), scale 1.
        let want = [-16.0 / 15.0, -8.0 / 15.0, -4.0 / 15.0];
        for (got, want) in g[3].iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{:?}", g[3]);
        }
        // ∞ and point 0, each divided by its Bᵀ scale 2.
        assert_eq!(g[5][..3], [0.0, 0.0, 0.5]);
        assert_eq!(g[0][..3], [0.5, 0.0, 0.0]);
    }
}
