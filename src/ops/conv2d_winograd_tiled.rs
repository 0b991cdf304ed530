//! Winograd on the workgroup-tiled product (`ConvKernel::WinogradTiled`): the transforms of
//! [`super::conv2d_winograd`] (F(4x4, 3x3) and F(2x2, 5x5), the same input and output
//! shaders), with the 36 products `M[ξ] = U[ξ] · V[ξ]` as one 36-group 1x1 dispatch of
//! [`super::conv2d_tiled`] instead of the subgroup kernel. The form for GPUs, where the tiled
//! product is the fast one (on llvmpipe the subgroup form is); it needs no subgroups.
//!
//! Layouts: the input transform writes V row-major, `[36·C_in][tiles]` (the tiled kernel's
//! pointwise input `[1, 36·C_in, 1, tiles]`); the product writes M as `[1, 36·C_out, 1, tiles]`,
//! the layout the output transform reads; `U` is stored in the tiled kernel's repacked layout
//! (`[36][kpad][C_out padded to 4]`).

use super::conv2d::Conv2d;
use super::conv2d_mm::COLS;
use super::conv2d_tiled as tiled;
use super::conv2d_winograd::{self as wino, product_conv, transform_weights, XI};
use super::launch::{Arg, Dispatch, LaunchCtx};
use super::DeviceCaps;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Whether this device runs the kernel for `c`: the tiled product's weight in one binding and
/// its tiles in workgroup memory, and the smallest chunk of V or M in one binding.
pub fn runs(c: &Conv2d, caps: &DeviceCaps) -> bool {
    let chunk = (XI * c.in_channels.max(c.out_channels) * COLS * 4) as u64;
    !c.folded_bn
        && wino::applies(c)
        && tiled::runs(&product_conv(c), caps)
        && chunk <= caps.max_binding
}

/// The transformed weights in the tiled product's layout.
pub fn repack(c: &Conv2d, w: &Tensor) -> Tensor {
    tiled::repack(&product_conv(c), &transform_weights(c, w))
}

/// Input transform, tiled products, output transform per chunk of tiles.
pub fn dispatches(c: &Conv2d, ctx: &LaunchCtx) -> Vec<Dispatch> {
    wino::dispatches_with(c, ctx, true)
}

/// The 36 products over `tc` tile columns: scratch 0 (V) → scratch 1 (M).
pub(super) fn products(c: &Conv2d, tc: usize) -> Dispatch {
    let pc = product_conv(c);
    let ctx = LaunchCtx {
        inputs: &[Shape::new(1, pc.in_channels, 1, tc)],
        output: Shape::new(1, pc.out_channels, 1, tc),
        out_c_total: pc.out_channels,
        out_c_offset: 0,
        rows_per_chunk: usize::MAX,
        scratch_elems: [0, 0],
    };
    let mut d = tiled::dispatches(&pc, &ctx).remove(0);
    // The tiled kernel's bindings: 0 input, 1 weight, 2 bias, 3 residual, 4 output.
    d.args[0] = Arg::Scratch(0);
    d.args[4] = Arg::Scratch(1);
    d
}
