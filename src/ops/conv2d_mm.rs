//! The im2col + matrix-product path of [`Conv2d`] (`ConvKernel::Mm`). Per image and group, the
//! input patches are gathered into a `[K][pixels]` scratch matrix (`im2col.wgsl`, skipped for
//! 1x1 stride-1 unpadded convolutions whose input already is that matrix), and `conv2d_mm.wgsl`
//! multiplies the weights, repacked once at load into 16-channel blocks `[blocks][K][16]`, by
//! it with the bias, residual and activation fused. Every operand is read as vec4, and each
//! invocation keeps a 16×8 block of outputs in registers: on llvmpipe, where each load costs
//! a loop over the SIMD lanes, this is what makes convolution fast.
//!
//! Columns are processed in chunks that fit the scratch buffer the runtime provides. The chunk
//! loop, im2col and the product's uniform and bindings are shared with [`super::conv2d_subgroup`].

use super::conv2d::Conv2d;
use super::launch::{groups_for, Arg, Dispatch, LaunchCtx};
use super::DeviceCaps;
use crate::shader;
use crate::shape::Shape;
use crate::tensor::Tensor;

shader!(IM2COL, "im2col", 2, "window_params");
shader!(MM, "conv2d_mm", 5, "act", "product_params");

/// Output channels per register block (rows of a weight block).
pub const BLOCK: usize = 16;
/// Output pixels per invocation (columns are processed in multiples of this).
pub const COLS: usize = 8;
/// Rows of B one im2col invocation fills (`RUN` in `im2col.wgsl`).
pub const IM2COL_RUN: usize = 8;

/// Uniform of `im2col.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Im2colUniform {
    pub cin: u32,
    pub h: u32,
    pub w: u32,
    pub ow: u32,
    pub kh: u32,
    pub kw: u32,
    pub sh: u32,
    pub sw: u32,
    pub ph: u32,
    pub pw: u32,
    pub dh: u32,
    pub dw: u32,
    pub cin_per_group: u32,
    pub n: u32,
    pub g: u32,
    pub p0: u32,
    pub cols: u32,
    pub kdim: u32,
    pub pixels: u32,
    pub _pad0: u32,
}

/// Uniform of `conv2d_mm.wgsl` and `conv2d_subgroup.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MmUniform {
    pub rows: u32,
    pub kdim: u32,
    pub cols: u32,
    pub b_base: u32,
    pub b_stride4: u32,
    pub w_block0: u32,
    pub oc_base: u32,
    pub row_base: u32,
    pub n: u32,
    pub p0: u32,
    pub pixels: u32,
    pub has_bias: u32,
    pub has_residual: u32,
    pub res_c: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    /// `conv2d_subgroup` only: B is `[cols/4][K]` vec4 (1: Winograd's transformed input) or
    /// `[K][cols]` (0: the input itself, or im2col's matrix).
    pub b_col_major: u32,
    /// `conv2d_subgroup` only: groups side by side in one dispatch (B, weight blocks, rows).
    pub groups: u32,
    /// `conv2d_subgroup` only: vec4 between images of B where a dispatch spans several.
    pub b_image4: u32,
    pub _pad3: u32,
}

fn blocks_per_group(c: &Conv2d) -> usize {
    (c.out_channels / c.groups).div_ceil(BLOCK)
}

/// Whether the input itself is the `[K][pixels]` matrix (1x1, stride 1, no padding, and rows
/// that start on a vec4). Columns past the last pixel read the next row (or are clamped at the
/// end of the binding) and are never written.
pub fn input_is_matrix(c: &Conv2d, out: Shape) -> bool {
    let (h, w) = (c.window.h, c.window.w);
    let unit = |a: &crate::shape::Window| {
        a.kernel == 1 && a.stride == 1 && a.pad_before == 0 && a.pad_after == 0
    };
    unit(&h) && unit(&w) && (out.h * out.w).is_multiple_of(4)
}

/// Whether the device runs this kernel for `c`: the smallest im2col chunk (8 columns) and the
/// repacked weight each within one binding.
pub fn runs(c: &Conv2d, caps: &DeviceCaps) -> bool {
    let (k, cout_g) = (c.kdim(), c.out_channels / c.groups);
    let repacked = (c.groups * cout_g.next_multiple_of(BLOCK) * k * 4) as u64;
    (k * COLS * 4) as u64 <= caps.max_binding && repacked <= caps.max_binding
}

/// Scratch elements wanted (first buffer only) for the whole im2col matrix of one image and
/// group.
pub fn scratch_elems(c: &Conv2d, out: Shape) -> [usize; 2] {
    if input_is_matrix(c, out) {
        return [0, 0];
    }
    [c.kdim() * (out.h * out.w).next_multiple_of(COLS), 0]
}

/// The weight in 16-channel blocks per group: `[groups][blocks][K][16]`, zero-padded, stored as
/// `[groups·blocks·16, K]` rows.
pub fn repack(c: &Conv2d, w: &Tensor) -> Tensor {
    let (k, cout_g, blocks) = (c.kdim(), c.out_channels / c.groups, blocks_per_group(c));
    let rows = c.groups * blocks * BLOCK;
    let mut data = vec![0f32; rows * k];
    for oc in 0..c.out_channels {
        let (g, r) = (oc / cout_g, oc % cout_g);
        let block = g * blocks + r / BLOCK;
        for kk in 0..k {
            data[(block * k + kk) * BLOCK + r % BLOCK] = w.data[oc * k + kk];
        }
    }
    Tensor {
        shape: Shape::matrix(rows, k),
        data,
    }
}

/// One image, group and column range of the product.
#[derive(Clone, Copy, Debug)]
pub struct Chunk {
    pub n: usize,
    pub g: usize,
    pub p0: usize,
    pub cols: usize,
}

/// The dispatches for one batch chunk: per image and group, im2col chunks and products.
pub fn dispatches(c: &Conv2d, ctx: &LaunchCtx) -> Vec<Dispatch> {
    let o = ctx.output;
    let (k, pixels) = (c.kdim(), o.h * o.w);
    let direct = input_is_matrix(c, o);
    let cols_max = if direct {
        pixels.next_multiple_of(COLS)
    } else {
        (ctx.scratch_elems[0] / k.max(1)) / COLS * COLS
    };
    let cols_max = cols_max.min(pixels.next_multiple_of(COLS)).max(COLS);
    let mut v = Vec::new();
    for n in 0..o.n {
        for g in 0..c.groups {
            for p0 in (0..pixels).step_by(cols_max) {
                let cols = (pixels - p0).next_multiple_of(COLS).min(cols_max);
                let chunk = Chunk { n, g, p0, cols };
                if !direct {
                    v.push(im2col(c, ctx, chunk));
                }
                v.push(product(c, ctx, chunk, direct));
            }
        }
    }
    v
}

fn im2col(c: &Conv2d, ctx: &LaunchCtx, ch: Chunk) -> Dispatch {
    Dispatch {
        shader: &IM2COL,
        overrides: Vec::new(),
        args: vec![Arg::Input(0), Arg::Scratch(0)],
        uniform: bytemuck::bytes_of(&im2col_uniform(c, ctx, ch)).to_vec(),
        workgroups: groups_for(c.kdim().div_ceil(IM2COL_RUN) * ch.cols / 4, 64),
    }
}

/// The convolution geometry of `ch` (im2col's uniform; also the subgroup kernel's implicit
/// im2col).
pub fn im2col_uniform(c: &Conv2d, ctx: &LaunchCtx, ch: Chunk) -> Im2colUniform {
    let (x, o, w, u) = (ctx.inputs[0], ctx.output, c.window, |v: usize| v as u32);
    Im2colUniform {
        cin: u(x.c),
        h: u(x.h),
        w: u(x.w),
        ow: u(o.w),
        kh: u(w.h.kernel),
        kw: u(w.w.kernel),
        sh: u(w.h.stride),
        sw: u(w.w.stride),
        ph: u(w.h.pad_before),
        pw: u(w.w.pad_before),
        dh: u(w.h.dilation),
        dw: u(w.w.dilation),
        cin_per_group: u(c.in_channels / c.groups),
        n: u(ch.n),
        g: u(ch.g),
        p0: u(ch.p0),
        cols: u(ch.cols),
        kdim: u(c.kdim()),
        pixels: u(o.h * o.w),
        _pad0: 0,
    }
}

/// The uniform of a product over `chunk` (both product kernels read the same struct), for a
/// weight repacked into blocks of `block` output channels per group. `b_input`: B is read from
/// the op's input (as the matrix itself for 1x1 layers, or gathered by the subgroup kernel's
/// window variant), so B's addresses are the input's; else B is a scratch matrix from 0.
pub fn product_uniform(
    c: &Conv2d,
    ctx: &LaunchCtx,
    ch: Chunk,
    b_input: bool,
    block: usize,
) -> MmUniform {
    let (x, o, u) = (ctx.inputs[0], ctx.output, |v: usize| v as u32);
    let (k, cout_g, pixels) = (c.kdim(), c.out_channels / c.groups, o.h * o.w);
    let b_base = if b_input {
        (ch.n * x.c + ch.g * (c.in_channels / c.groups)) * pixels / 4
    } else {
        0
    };
    MmUniform {
        rows: u(cout_g),
        kdim: u(k),
        cols: u(ch.cols),
        b_base: u(b_base),
        b_stride4: u(if b_input { pixels / 4 } else { ch.cols / 4 }),
        w_block0: u(ch.g * (c.out_channels / c.groups).div_ceil(block)),
        oc_base: u(ch.g * cout_g),
        row_base: u(ch.g * cout_g),
        n: u(ch.n),
        p0: u(ch.p0),
        pixels: u(pixels),
        has_bias: u(usize::from(c.bias)),
        has_residual: u(usize::from(c.residual)),
        res_c: u(c.out_channels),
        out_c_total: u(ctx.out_c_total),
        out_c_offset: u(ctx.out_c_offset),
        groups: 1,
        b_image4: u(if b_input { x.c * pixels / 4 } else { 0 }),
        ..Default::default()
    }
}

/// The bindings of a product: B (the input when `b_input`, else scratch 0), the repacked
/// weight (`rows` rows), bias, residual, output.
pub fn product_args(c: &Conv2d, b_input: bool, rows: usize) -> Vec<Arg> {
    let b = if b_input {
        Arg::Input(0)
    } else {
        Arg::Scratch(0)
    };
    let weight = Arg::Param {
        index: 0,
        rows: 0..rows,
    };
    let [bias, residual] = c.epilogue_args(0..c.out_channels);
    vec![b, weight, bias, residual, Arg::Output]
}

fn product(c: &Conv2d, ctx: &LaunchCtx, ch: Chunk, direct: bool) -> Dispatch {
    let uniform = product_uniform(c, ctx, ch, direct, BLOCK);
    let rows = c.groups * blocks_per_group(c) * BLOCK;
    Dispatch {
        shader: &MM,
        overrides: vec![c.activation.constant()],
        args: product_args(c, direct, rows),
        uniform: bytemuck::bytes_of(&uniform).to_vec(),
        workgroups: groups_for(blocks_per_group(c) * ch.cols / COLS, 64),
    }
}
