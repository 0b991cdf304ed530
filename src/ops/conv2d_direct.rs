//! The direct kernel of [`Conv2d`]: `conv2d_direct.wgsl` (`ConvKernel::Direct`, one invocation
//! per output, for small, odd or grouped layers). It reads the input and the weight in
//! PyTorch's layouts (no repack) and fuses bias, residual and activation; the weight is split
//! by output channels where it exceeds one binding, so it runs every layer on every device.

use super::conv2d::Conv2d;
use super::launch::{groups_for, Arg, Dispatch, LaunchCtx};
use crate::shader;

shader!(DIRECT, "conv2d_direct", 5, "act", "conv_params");
/// Uniform of `conv2d_direct.wgsl` (mirrors `struct Params` in the WGSL files).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ConvUniform {
    pub n: u32,
    pub cin: u32,
    pub h: u32,
    pub w: u32,
    /// Output channels computed by this dispatch.
    pub cout: u32,
    /// Global index of the first of them.
    pub oc_base: u32,
    pub cout_per_group: u32,
    pub cin_per_group: u32,
    pub oh: u32,
    pub ow: u32,
    pub kh: u32,
    pub kw: u32,
    pub sh: u32,
    pub sw: u32,
    pub ph: u32,
    pub pw: u32,
    pub dh: u32,
    pub dw: u32,
    pub has_bias: u32,
    pub has_residual: u32,
    /// Channels of the residual tensor (the op's full `C_out`).
    pub res_c: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
}

/// One dispatch per chunk of output channels (whole weight chunks of the binding limit).
pub fn dispatches(c: &Conv2d, ctx: &LaunchCtx) -> Vec<Dispatch> {
    ctx.row_chunks(c.out_channels)
        .into_iter()
        .map(|rows| {
            let u = uniform(c, ctx, rows.start, rows.len());
            let [bias, residual] = c.epilogue_args(rows.clone());
            let weight = Arg::Param { index: 0, rows };
            let args = vec![Arg::Input(0), weight, bias, residual, Arg::Output];
            let o = ctx.output;
            let workgroups = groups_for(o.n * u.cout as usize * o.h * o.w, 64);
            Dispatch {
                shader: &DIRECT,
                overrides: vec![c.activation.constant()],
                args,
                uniform: bytemuck::bytes_of(&u).to_vec(),
                workgroups,
            }
        })
        .collect()
}

/// The uniform of a dispatch over output channels `oc_base .. oc_base + cout`.
fn uniform(c: &Conv2d, ctx: &LaunchCtx, oc_base: usize, cout: usize) -> ConvUniform {
    let (x, o, w) = (ctx.inputs[0], ctx.output, c.window);
    let u = |v: usize| v as u32;
    ConvUniform {
        n: u(x.n),
        cin: u(x.c),
        h: u(x.h),
        w: u(x.w),
        cout: u(cout),
        oc_base: u(oc_base),
        cout_per_group: u(c.out_channels / c.groups),
        cin_per_group: u(c.in_channels / c.groups),
        oh: u(o.h),
        ow: u(o.w),
        kh: u(w.h.kernel),
        kw: u(w.w.kernel),
        sh: u(w.h.stride),
        sw: u(w.w.stride),
        ph: u(w.h.pad_before),
        pw: u(w.w.pad_before),
        dh: u(w.h.dilation),
        dw: u(w.w.dilation),
        has_bias: u(usize::from(c.bias)),
        has_residual: u(usize::from(c.residual)),
        res_c: u(c.out_channels),
        out_c_total: u(ctx.out_c_total),
        out_c_offset: u(ctx.out_c_offset),
        _pad0: 0,
    }
}
