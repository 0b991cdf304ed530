//! The subgroup-broadcast matrix product of [`Conv2d`] (`ConvKernel::Subgroup`): the product
//! of the weights and the im2col matrix B of [`super::conv2d_mm`], with the same fused
//! epilogue, by `conv2d_subgroup.wgsl`, in which the lanes of a subgroup load 8 channels'
//! weights once and share them with `subgroupBroadcast` instead of every invocation loading
//! every weight. Each invocation keeps 32 channels × 4 pixels in registers. Weights are
//! repacked once at load into 32-channel blocks of `[ceil(K/4)][4 groups][8 lanes]` vec4
//! (4 consecutive k of one channel).
//!
//! B is never written out: 1x1 stride-1 layers read the input as the matrix, and the others
//! run the `_window` variant, which gathers B's rows from the input inside the product
//! (implicit im2col: no scratch, no im2col pass, which took 12–50% of a layer on llvmpipe).
//! Where output planes are a multiple of 4 pixels, the `_v4` variants read the residual and
//! write the output as vec4. On llvmpipe, where every storage-buffer load is a loop over the 8
//! SIMD lanes, this reaches 2–3x the throughput of `conv2d_mm` on the big layers. The four
//! shaders are compositions of shared parts (`shaders/common/subgroup_*.wgsl`: the register
//! block, B's source, the store). Runs only where the device has subgroups of at least 8
//! invocations ([`super::DeviceCaps::subgroups`]).

use super::conv2d::Conv2d;
use super::conv2d_mm::{
    im2col_uniform, input_is_matrix, product_args, product_uniform, Chunk, Im2colUniform, MmUniform,
};
use super::launch::{groups_for, Arg, Dispatch, LaunchCtx};
use crate::shader;
use crate::shape::Shape;
use crate::tensor::Tensor;

shader!(
    SHADER,
    "conv2d_subgroup",
    5,
    "subgroup_block",
    "act",
    "product_params",
    "subgroup_matrix",
    "subgroup_store"
);
shader!(
    SHADER_V4,
    "conv2d_subgroup_v4",
    5,
    "subgroup_block",
    "act",
    "product_params",
    "subgroup_matrix",
    "subgroup_store_v4"
);
shader!(
    WINDOW,
    "conv2d_subgroup_window",
    5,
    "subgroup_block",
    "act",
    "product_params",
    "window_params",
    "subgroup_window",
    "subgroup_store"
);
shader!(
    WINDOW_V4,
    "conv2d_subgroup_window_v4",
    5,
    "subgroup_block",
    "act",
    "product_params",
    "window_params",
    "subgroup_window",
    "subgroup_store_v4"
);

/// Uniform of the `_window` shaders: the product's, then the convolution geometry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct WindowUniform {
    pub mm: MmUniform,
    pub win: Im2colUniform,
}

/// Where the product reads B.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// A matrix in the B binding: `[cols/4][K]` vec4 if `col_major`, else `[K][cols]`.
    Matrix { col_major: bool },
    /// Rows gathered from the input (binding 0) with this geometry.
    Window(Im2colUniform),
}

/// Output channels per block (4 groups of 8 lanes: `struct Acc` of subgroup_block.wgsl).
pub const BLOCK: usize = 32;
/// Invocations per workgroup for images with many pixels; small ones use fewer (down to one
/// subgroup of 8).
const WG: usize = 64;

/// The reduction length the weight is padded to.
fn padded_k(c: &Conv2d) -> usize {
    c.kdim().next_multiple_of(4)
}

fn blocks_per_group(c: &Conv2d) -> usize {
    (c.out_channels / c.groups).div_ceil(BLOCK)
}

/// Bytes of the repacked weight (it must fit one binding).
pub fn repacked_bytes(c: &Conv2d) -> u64 {
    (c.groups * blocks_per_group(c) * BLOCK * padded_k(c) * 4) as u64
}

/// The weight as `[groups][blocks][ceil(K/4)][BLOCK/8][8]` vec4, zero-padded, stored as
/// `[groups·blocks·32, ceil(K/4)·4]` rows.
pub fn repack(c: &Conv2d, w: &Tensor) -> Tensor {
    let (k, cout_g, blocks) = (c.kdim(), c.out_channels / c.groups, blocks_per_group(c));
    let k4 = padded_k(c) / 4;
    let rows = c.groups * blocks * BLOCK;
    let mut data = vec![0f32; rows * k4 * 4];
    for oc in 0..c.out_channels {
        let (g, r) = (oc / cout_g, oc % cout_g);
        let block = g * blocks + r / BLOCK;
        let (group, lane) = (r % BLOCK / 8, r % 8);
        for kk in 0..k {
            let vec = ((block * k4 + kk / 4) * (BLOCK / 8) + group) * 8 + lane;
            data[vec * 4 + kk % 4] = w.data[oc * k + kk];
        }
    }
    Tensor {
        shape: Shape::matrix(rows, k4 * 4),
        data,
    }
}

/// Rows of the repacked weight.
pub fn weight_rows(c: &Conv2d) -> usize {
    c.groups * blocks_per_group(c) * BLOCK
}

/// The dispatches for one batch chunk: per group, one product over all images' pixels side by
/// side (planes of a multiple of 4 pixels; else one per image), reading the input as B (1x1
/// stride 1) or gathering B's rows from it. One dispatch for the whole batch keeps a big GPU
/// busy at batch 32 (3136 pixels per image are a few dozen subgroups per block).
pub fn dispatches(c: &Conv2d, ctx: &LaunchCtx) -> Vec<Dispatch> {
    let o = ctx.output;
    let direct = input_is_matrix(c, o);
    let pixels = o.h * o.w;
    let (per_dispatch, cols) = if pixels.is_multiple_of(4) {
        (o.n, o.n * pixels)
    } else {
        (1, pixels.next_multiple_of(4))
    };
    let mut v = Vec::new();
    for n in (0..o.n).step_by(per_dispatch) {
        for g in 0..c.groups {
            let chunk = Chunk { n, g, p0: 0, cols };
            // Both sources read the input binding.
            let uniform = product_uniform(c, ctx, chunk, true, BLOCK);
            let source = if direct {
                Source::Matrix { col_major: false }
            } else {
                Source::Window(im2col_uniform(c, ctx, chunk))
            };
            v.push(dispatch(
                c,
                uniform,
                source,
                product_args(c, true, weight_rows(c)),
                cols,
            ));
        }
    }
    v
}

/// The product over `cols` columns with `uniform` (from [`product_uniform`] with this
/// kernel's `BLOCK`; B's address fields as the caller needs them), B from `source` and
/// bindings `args`: picks the shader variant, the workgroup size and the grid.
pub fn dispatch(
    c: &Conv2d,
    mut uniform: MmUniform,
    source: Source,
    args: Vec<Arg>,
    cols: usize,
) -> Dispatch {
    let col4 = cols / 4;
    let wg = workgroup_size(col4);
    // Planes of a multiple of 4 pixels: every vec4 of 4 pixels is aligned, so the epilogue
    // reads and writes vec4 (a quarter of the per-lane store loops).
    let vec4_out = uniform.pixels.is_multiple_of(4);
    let (shader, bytes) = match source {
        Source::Matrix { col_major } => {
            uniform.b_col_major = u32::from(col_major);
            let shader = if vec4_out { &SHADER_V4 } else { &SHADER };
            (shader, bytemuck::bytes_of(&uniform).to_vec())
        }
        Source::Window(win) => {
            let shader = if vec4_out { &WINDOW_V4 } else { &WINDOW };
            let both = WindowUniform { mm: uniform, win };
            (shader, bytemuck::bytes_of(&both).to_vec())
        }
    };
    Dispatch {
        shader,
        overrides: vec![("WG", wg as u32), c.activation.constant()],
        args,
        uniform: bytes,
        workgroups: groups_for(
            blocks_per_group(c) * uniform.groups as usize * col4.div_ceil(wg),
            1,
        ),
    }
}

/// The largest workgroup (64, 32, 16 or 8 invocations) that pads `col4` columns by at most
/// 1/8: 196 columns (784 Winograd tiles) would waste 23% of a grid of 64s.
fn workgroup_size(col4: usize) -> usize {
    [WG, 32, 16]
        .into_iter()
        .find(|&wg| col4.div_ceil(wg) * wg * 8 <= col4 * 9)
        .unwrap_or(8)
}
