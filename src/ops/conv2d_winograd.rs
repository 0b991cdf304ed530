//! Winograd F(2x2, 3x3) for [`Conv2d`] (`ConvKernel::Winograd`): 3x3 convolutions with stride
//! 1, dilation 1 and one group, in 2.25x fewer multiplications than the direct sum (16 per 2x2
//! output tile and input channel instead of 36). Per image and chunk of tiles:
//!
//! 1. `winograd_input.wgsl`: every 4x4 input patch d becomes `V = Bᵀ d B` (scratch 0, 16
//!    matrices `[tiles][C_in]` in [`super::conv2d_subgroup`]'s column-major B layout);
//! 2. 16 products `M[ξ] = U[ξ] · V[ξ]` by the subgroup matrix-product kernel (scratch 1, 16
//!    matrices `[C_out][tiles]`), where `U = G g Gᵀ` is every 3x3 filter g transformed once at
//!    load and stored as 16 groups of that kernel's weight blocks;
//! 3. `winograd_output.wgsl`: `Y = Aᵀ M A` gives each tile's 2x2 outputs, with the bias,
//!    residual and activation fused.
//!
//! Matrices from Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016).
//! Needs subgroups (the product kernel's requirement).

use super::conv2d::{Conv2d, ConvKernel};
use super::conv2d_mm::{product_uniform, Chunk, COLS};
use super::conv2d_subgroup as sg;
use super::launch::{groups_for, Activation, Arg, Dispatch, LaunchCtx};
use super::DeviceCaps;
use crate::shader;
use crate::shape::{Shape, Window2d};
use crate::tensor::Tensor;

shader!(INPUT, "winograd_input", 2);
shader!(OUTPUT, "winograd_output", 4);

/// The 16 entries of a transformed tile.
const XI: usize = 16;

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
    pub n: u32,
    pub pt: u32,
    pub pl: u32,
    pub _pad0: u32,
    pub _pad1: u32,
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
    pub n: u32,
    pub has_bias: u32,
    pub act: u32,
    pub has_residual: u32,
    pub res_c: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// Whether `c` has the shape this kernel computes (3x3, stride 1, dilation 1, one group).
pub fn applies(c: &Conv2d) -> bool {
    let unit = |a: &crate::shape::Window| a.kernel == 3 && a.stride == 1 && a.dilation == 1;
    c.groups == 1 && unit(&c.window.h) && unit(&c.window.w)
}

/// Whether the transformed weights and the smallest chunk of tiles fit this device.
pub fn fits(c: &Conv2d, caps: &DeviceCaps) -> bool {
    let chunk = (XI * c.in_channels.max(c.out_channels) * COLS * 4) as u64;
    caps.subgroups
        && sg::repacked_bytes(&product_conv(c)) <= caps.max_binding
        && chunk <= caps.max_binding
}

/// The 16 products as one grouped 1x1 convolution: group ξ multiplies `U[ξ]` (`C_out × C_in`).
fn product_conv(c: &Conv2d) -> Conv2d {
    Conv2d {
        in_channels: XI * c.in_channels,
        out_channels: XI * c.out_channels,
        window: Window2d::square(1, 1, 0),
        groups: XI,
        bias: false,
        activation: Activation::None,
        residual: false,
        kernel: ConvKernel::Subgroup,
    }
}

/// `U[ξ][oc][ci] = (G g Gᵀ)[ξ]` for every 3x3 filter `g = weight[oc][ci]`, with
/// `G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]`, as rows `ξ·C_out + oc`.
fn transform_weights(c: &Conv2d, w: &Tensor) -> Tensor {
    const G: [[f64; 3]; 4] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    let (cin, cout) = (c.in_channels, c.out_channels);
    let mut data = vec![0f32; XI * cout * cin];
    for oc in 0..cout {
        for ci in 0..cin {
            let g = |ky: usize, kx: usize| w.data[((oc * cin + ci) * 3 + ky) * 3 + kx] as f64;
            // Gg: 4x3, then (Gg)Gᵀ: 4x4.
            let mut gg = [[0f64; 3]; 4];
            for (i, row) in gg.iter_mut().enumerate() {
                for (kx, v) in row.iter_mut().enumerate() {
                    *v = (0..3).map(|ky| G[i][ky] * g(ky, kx)).sum();
                }
            }
            for (i, row) in gg.iter().enumerate() {
                for (j, gj) in G.iter().enumerate() {
                    let u: f64 = (0..3).map(|kx| row[kx] * gj[kx]).sum();
                    data[((i * 4 + j) * cout + oc) * cin + ci] = u as f32;
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

/// Output tiles per row and per image.
fn tiles(out: Shape) -> (usize, usize) {
    let tw = out.w.div_ceil(2);
    (tw, tw * out.h.div_ceil(2))
}

/// Scratch wanted for all tiles of one image: V (`16·C_in·T`) and M (`16·C_out·T`).
pub fn scratch_elems(c: &Conv2d, out: Shape) -> [usize; 2] {
    let t = tiles(out).1.next_multiple_of(COLS);
    [XI * c.in_channels * t, XI * c.out_channels * t]
}

/// Per image and chunk of tiles: the input transform, 16 products, the output transform.
pub fn dispatches(c: &Conv2d, ctx: &LaunchCtx) -> Vec<Dispatch> {
    let (tiles, per_chunk) = (tiles(ctx.output).1, chunk_tiles(c, ctx));
    let mut v = Vec::new();
    for n in 0..ctx.output.n {
        for t0 in (0..tiles).step_by(per_chunk) {
            let tc = (tiles - t0).next_multiple_of(COLS).min(per_chunk);
            v.push(input(c, ctx, n, t0, tc));
            v.extend((0..XI).map(|xi| product(c, xi, tc)));
            v.push(output(c, ctx, n, t0, tc));
        }
    }
    v
}

/// Tiles per chunk: a multiple of [`COLS`] whose V and M fit the scratch buffers.
fn chunk_tiles(c: &Conv2d, ctx: &LaunchCtx) -> usize {
    let fit = |elems: usize, ch: usize| elems / (XI * ch) / COLS * COLS;
    let [s0, s1] = ctx.scratch_elems;
    let all = tiles(ctx.output).1.next_multiple_of(COLS);
    all.min(fit(s0, c.in_channels))
        .min(fit(s1, c.out_channels))
        .max(COLS)
}

fn input(c: &Conv2d, ctx: &LaunchCtx, n: usize, t0: usize, tc: usize) -> Dispatch {
    let (x, u) = (ctx.inputs[0], |v: usize| v as u32);
    let (tw, tiles) = tiles(ctx.output);
    let uniform = InputUniform {
        cin: u(c.in_channels),
        h: u(x.h),
        w: u(x.w),
        tw: u(tw),
        tiles: u(tiles),
        t0: u(t0),
        tc: u(tc),
        n: u(n),
        pt: u(c.window.h.pad_before),
        pl: u(c.window.w.pad_before),
        ..Default::default()
    };
    Dispatch {
        shader: &INPUT,
        overrides: Vec::new(),
        args: vec![Arg::Input(0), Arg::Scratch(0)],
        uniform: bytemuck::bytes_of(&uniform).to_vec(),
        workgroups: groups_for(c.in_channels * tc / 4, 64),
    }
}

/// Product ξ: `M[ξ] (scratch 1) = U[ξ] · V[ξ] (scratch 0)` over `tc` tile columns.
fn product(c: &Conv2d, xi: usize, tc: usize) -> Dispatch {
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
        g: xi,
        p0: 0,
        cols: tc,
    };
    let mut uniform = product_uniform(&pc, &ctx, chunk, false, sg::BLOCK);
    uniform.b_base = (xi * c.in_channels * tc / 4) as u32;
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

fn output(c: &Conv2d, ctx: &LaunchCtx, n: usize, t0: usize, tc: usize) -> Dispatch {
    let (o, u) = (ctx.output, |v: usize| v as u32);
    let (tw, tiles) = tiles(o);
    let uniform = OutputUniform {
        cout: u(c.out_channels),
        oh: u(o.h),
        ow: u(o.w),
        tw: u(tw),
        tiles: u(tiles),
        t0: u(t0),
        tc: u(tc),
        n: u(n),
        has_bias: u(usize::from(c.bias)),
        act: c.activation.code(),
        has_residual: u(usize::from(c.residual)),
        res_c: u(c.out_channels),
        out_c_total: u(ctx.out_c_total),
        out_c_offset: u(ctx.out_c_offset),
        ..Default::default()
    };
    let bias = if c.bias {
        Arg::Param {
            index: 1,
            rows: 0..c.out_channels,
        }
    } else {
        Arg::Dummy
    };
    let residual = if c.residual {
        Arg::Input(1)
    } else {
        Arg::Dummy
    };
    Dispatch {
        shader: &OUTPUT,
        overrides: Vec::new(),
        args: vec![Arg::Scratch(1), bias, residual, Arg::Output],
        uniform: bytemuck::bytes_of(&uniform).to_vec(),
        workgroups: groups_for(c.out_channels * tc / 4, 64),
    }
}
