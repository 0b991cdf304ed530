//! The workgroup-tiled implicit GEMM of [`Conv2d`] (`ConvKernel::Tiled`, `conv2d_tiled.wgsl`):
//! the standard fast convolution on discrete GPUs. A workgroup computes a tile of output
//! channels × output pixels (all images of the batch chunk side by side) with its operands
//! staged through workgroup memory `BK` = 16 reduction steps at a time (the next step's loads
//! issued before the current step's products), each invocation holding a 4×4 to 8×8 block of
//! sums in registers. Any kernel size, stride, padding,
//! dilation and group count; the bias, residual and activation are fused.
//!
//! The weight is repacked once at load into `[groups][kpad][mpad4]` vec4 (K-major, the channels
//! of a group padded to 4 and K to `BK` with zeros), so the weight tile arrives as aligned vec4
//! without bounds checks along K. The tile shape is chosen per dispatch from [`TILES`]: the
//! largest whose sides do not waste more than half a tile and that still yields
//! [`FILL`] workgroups (small outputs, e.g. batch 1 on 7×7 or 14×14 planes, get the small
//! tiles), the filter size as pipeline constants (its divisions become multiplications).
//!
//! A fully connected layer at larger batches runs here too ([`rows_dispatches`]): a 1x1
//! convolution over `N` one-pixel images, its weight kept in rows (`[out][kpad]`, the `W_ROWS`
//! pipeline constant) so that a weight larger than one binding can be split by output rows.
//!
//! Shapes: input `[N, C_in, H, W]`, weight `[C_out, C_in/g, kH, kW]` → repacked as above.

use super::conv2d::Conv2d;
use super::conv2d_tiled_sum;
use super::launch::{groups_for, Activation, Arg, Dispatch, LaunchCtx};
use super::DeviceCaps;
use crate::shader;
use crate::shape::{Shape, Window2d};
use crate::tensor::Tensor;
use std::ops::Range;

shader!(SHADER, "conv2d_tiled", 5, "act");

/// Reduction steps per workgroup-memory tile (`BK` in the shader).
pub const BK: usize = 16;
/// Workgroup memory the shader declares: two tiles of `BK` rows of 33 vec4 (the largest tile
/// side, 128, plus one vec4 of padding against bank conflicts).
pub const WORKGROUP_BYTES: u32 = 2 * (BK as u32) * 33 * 16;
/// Workgroups below which a smaller tile is taken, and then the reduction split (about two
/// per multiprocessor of a big GPU).
pub const FILL: usize = 256;
/// Steps of [`BK`] a split-K slice has at least (shorter slices would cost more in partial
/// sums written and re-read than the extra workgroups bring).
pub const MIN_SLICE_STEPS: usize = 8;

/// One tile shape: `bm` output channels × `bn` pixels, `tm × tn` per invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    pub bm: usize,
    pub bn: usize,
    pub tm: usize,
    pub tn: usize,
}

impl Tile {
    /// Invocations per workgroup.
    pub const fn invocations(self) -> usize {
        (self.bm / self.tm) * (self.bn / self.tn)
    }
}

/// The tile shapes, largest first: 128×128 (8×8 each, 256 invocations), 64×128 (4×8, 256),
/// 64×64 (4×4, 256), 64×32 (4×4, 128: for at most 32 pixels, e.g. FC layers at batch ≤ 32)
/// and 32×64 (4×4, 128).
pub const TILES: [Tile; 5] = [
    Tile {
        bm: 128,
        bn: 128,
        tm: 8,
        tn: 8,
    },
    Tile {
        bm: 64,
        bn: 128,
        tm: 4,
        tn: 8,
    },
    Tile {
        bm: 64,
        bn: 64,
        tm: 4,
        tn: 4,
    },
    Tile {
        bm: 64,
        bn: 32,
        tm: 4,
        tn: 4,
    },
    Tile {
        bm: 32,
        bn: 64,
        tm: 4,
        tn: 4,
    },
];

// What the shader assumes of every tile: sides ≤ 128 (its workgroup arrays), register blocks
// of whole vec4 (TM, TN 4 or 8), whole input rows per invocation group (WG a multiple of BN)
// and at most 2 weight vec4 and 8 input values per invocation per step (its prefetch arrays).
const _: () = {
    let mut i = 0;
    while i < TILES.len() {
        let t = TILES[i];
        let wg = t.invocations();
        assert!(t.bm <= 128 && t.bn <= 128 && wg <= 256 && wg.is_multiple_of(t.bn));
        assert!((t.tm == 4 || t.tm == 8) && (t.tn == 4 || t.tn == 8));
        assert!(BK * t.bm / 4 <= 2 * wg && BK * t.bn <= 8 * wg);
        i += 1;
    }
};

/// Uniform of `conv2d_tiled.wgsl` (mirrors `struct Params`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TiledUniform {
    pub n: u32,
    pub cin: u32,
    pub h: u32,
    pub w: u32,
    pub cout_g: u32,
    pub cin_g: u32,
    pub oh: u32,
    pub ow: u32,
    pub sh: u32,
    pub sw: u32,
    pub ph: u32,
    pub pw: u32,
    pub dh: u32,
    pub dw: u32,
    /// Reduction length `C_in/g · kH · kW`, and it padded to [`BK`].
    pub kdim: u32,
    pub kpad: u32,
    /// Output channels per group, padded to 4, in vec4.
    pub mpad4: u32,
    pub tiles_m: u32,
    pub tiles_n: u32,
    pub groups: u32,
    pub has_bias: u32,
    pub has_residual: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    /// Split-K: slices, and the reduction length of each (a multiple of [`BK`]).
    pub split: u32,
    pub kslice: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

fn kpad(c: &Conv2d) -> usize {
    c.kdim().next_multiple_of(BK)
}

fn mpad4(c: &Conv2d) -> usize {
    (c.out_channels / c.groups).div_ceil(4)
}

/// Bytes of the repacked weight.
pub fn repacked_bytes(c: &Conv2d) -> u64 {
    (c.groups * kpad(c) * mpad4(c) * 16) as u64
}

/// Whether the tiles fit this device's workgroup memory.
pub fn fits(caps: &DeviceCaps) -> bool {
    WORKGROUP_BYTES <= caps.max_workgroup_storage
}

/// Whether this device runs the kernel for `c`: the repacked weight in one binding and the
/// tiles within the workgroup memory.
pub fn runs(c: &Conv2d, caps: &DeviceCaps) -> bool {
    repacked_bytes(c) <= caps.max_binding && fits(caps)
}

/// The weight `[C_out, C_in/g, kH, kW]` as `[groups][kpad][mpad4·4]`, zero-padded, stored as
/// `[groups·kpad, mpad4·4]` rows.
pub fn repack(c: &Conv2d, w: &Tensor) -> Tensor {
    let (k, cout_g, kp, m) = (c.kdim(), c.out_channels / c.groups, kpad(c), mpad4(c) * 4);
    let mut data = vec![0f32; c.groups * kp * m];
    for oc in 0..c.out_channels {
        let (g, r) = (oc / cout_g, oc % cout_g);
        for kk in 0..k {
            data[(g * kp + kk) * m + r] = w.data[oc * k + kk];
        }
    }
    Tensor {
        shape: Shape::matrix(c.groups * kp, m),
        data,
    }
}

/// Output pixels of the batch chunk: the GEMM's N dimension, `N·OH·OW`.
fn pixels(out: Shape) -> usize {
    out.n * out.h * out.w
}

/// Tiles along the channels and along the pixels of one group for tile `t`.
fn tiles(c: &Conv2d, out: Shape, t: Tile) -> [usize; 2] {
    let cout_g = c.out_channels / c.groups;
    [cout_g.div_ceil(t.bm), pixels(out).div_ceil(t.bn)]
}

/// f32 partial sums of one split-K slice: `C_out · N·OH·OW` (`C_out` is `c`'s, which for a
/// fully connected chunk is the chunk's, not the output's `c`).
fn slice_elems(c: &Conv2d, out: Shape) -> usize {
    c.out_channels * pixels(out)
}

/// The tile for `c` with output `out`: among those whose channel side is at most the group's
/// channels rounded up to 32 and whose pixel side at most the pixels rounded up to 32 (neither
/// more than half empty), the largest that still gives [`FILL`] workgroups, else the
/// smallest; the last of [`TILES`] where none fits.
pub fn tile_for(c: &Conv2d, out: Shape) -> Tile {
    let cout_g = c.out_channels / c.groups;
    let count = |t: &Tile| c.groups * tiles(c, out, *t).iter().product::<usize>();
    let side = cout_g.next_multiple_of(32);
    let cols = pixels(out).next_multiple_of(32);
    let mut fitting = TILES.iter().filter(|t| t.bm <= side && t.bn <= cols);
    let smallest = TILES[TILES.len() - 1];
    fitting
        .clone()
        .find(|t| count(t) >= FILL)
        .or_else(|| fitting.next_back())
        .copied()
        .unwrap_or(smallest)
}

/// A fully connected weight `[out, in]` in `W_ROWS`'s layout `[out][kpad]` (each row padded
/// with zeros to a multiple of [`BK`]); `None` when `in` already is one (the weight as it is).
pub fn pad_rows(w: &Tensor) -> Option<Tensor> {
    let (rows, k) = (w.shape.n, w.shape.per_sample());
    let kp = k.next_multiple_of(BK);
    (kp != k).then(|| {
        let mut data = vec![0f32; rows * kp];
        for (dst, src) in data.chunks_exact_mut(kp).zip(w.data.chunks_exact(k)) {
            dst[..k].copy_from_slice(src);
        }
        Tensor {
            shape: Shape::matrix(rows, kp),
            data,
        }
    })
}

/// Reduction slices for `c` on output `out` (1: no split-K): where the tiles alone give fewer
/// than [`FILL`] workgroups, enough slices to make up for it, each at least
/// [`MIN_SLICE_STEPS`] steps of [`BK`], their partial sums (`slices · C_out · N·OH·OW` f32)
/// within `capacity` (the scratch buffer's).
pub fn split_for(c: &Conv2d, out: Shape, capacity: usize) -> usize {
    let count = c.groups * tiles(c, out, tile_for(c, out)).iter().product::<usize>();
    let steps = kpad(c) / BK;
    let want = FILL
        .div_ceil(count)
        .min(steps / MIN_SLICE_STEPS)
        .min(capacity / slice_elems(c, out).max(1));
    match want {
        0 | 1 => 1,
        _ => steps.div_ceil(steps.div_ceil(want)),
    }
}

/// Reduction length of one slice when split `split` ways: whole steps of [`BK`], the last
/// slice possibly shorter, none empty.
fn kslice(c: &Conv2d, split: usize) -> usize {
    (kpad(c) / BK).div_ceil(split) * BK
}

/// Scratch for split-K's partial sums on output `out` (none when the layer is not split).
pub fn scratch_elems(c: &Conv2d, out: Shape) -> [usize; 2] {
    match split_for(c, out, usize::MAX) {
        1 => [0, 0],
        split => [split * slice_elems(c, out), 0],
    }
}

/// Whether the window is a 1x1, stride-1, unpadded one (the input is the GEMM's B itself).
fn pointwise(w: &Window2d) -> bool {
    let unit = |a: &crate::shape::Window| {
        a.kernel == 1 && a.stride == 1 && a.pad_before == 0 && a.pad_after == 0
    };
    unit(&w.h) && unit(&w.w)
}

/// The dispatches for the whole batch chunk and every group: one, or with split-K the
/// partial sums and [`conv2d_tiled_sum`].
pub fn dispatches(c: &Conv2d, ctx: &LaunchCtx) -> Vec<Dispatch> {
    let weight = Arg::Param {
        index: 0,
        rows: 0..c.groups * kpad(c),
    };
    dispatch(c, ctx, weight, 0..c.out_channels, false)
}

/// Output features `rows` of a fully connected layer seen as `c`, a 1x1 convolution with
/// `rows.len()` output channels over the `[N, in, 1, 1]` input: its weight (parameter 0, in
/// [`pad_rows`]'s layout) and bias (parameter 1) are read from those rows, and it writes its
/// channels at `rows.start` of the output.
pub fn rows_dispatches(c: &Conv2d, ctx: &LaunchCtx, rows: Range<usize>) -> Vec<Dispatch> {
    let weight = Arg::Param {
        index: 0,
        rows: rows.clone(),
    };
    dispatch(c, ctx, weight, rows, true)
}

/// The dispatches of `c` reading `weight` (in rows when `w_rows`: `W_ROWS`) and the bias of
/// output channels `rows` of the layer, which it writes from `rows.start` on.
fn dispatch(
    c: &Conv2d,
    ctx: &LaunchCtx,
    weight: Arg,
    rows: Range<usize>,
    w_rows: bool,
) -> Vec<Dispatch> {
    let (x, o, w) = (ctx.inputs[0], ctx.output, c.window);
    let t = tile_for(c, o);
    let split = split_for(c, o, ctx.scratch_elems[0]);
    let cout_g = c.out_channels / c.groups;
    let [tiles_m, tiles_n] = tiles(c, o, t);
    let offset = ctx.out_c_offset + rows.start;
    let u = |v: usize| v as u32;
    let uniform = TiledUniform {
        n: u(o.n),
        cin: u(x.c),
        h: u(x.h),
        w: u(x.w),
        cout_g: u(cout_g),
        cin_g: u(c.in_channels / c.groups),
        oh: u(o.h),
        ow: u(o.w),
        sh: u(w.h.stride),
        sw: u(w.w.stride),
        ph: u(w.h.pad_before),
        pw: u(w.w.pad_before),
        dh: u(w.h.dilation),
        dw: u(w.w.dilation),
        kdim: u(c.kdim()),
        kpad: u(kpad(c)),
        mpad4: u(mpad4(c)),
        tiles_m: u(tiles_m),
        tiles_n: u(tiles_n),
        groups: u(c.groups),
        has_bias: u(usize::from(c.bias)),
        has_residual: u(usize::from(c.residual)),
        out_c_total: u(ctx.out_c_total),
        out_c_offset: u(offset),
        split: u(split),
        kslice: u(kslice(c, split)),
        _pad0: 0,
        _pad1: 0,
    };
    let epilogue = c.epilogue_args(rows);
    let (act, args) = match split {
        1 => {
            let [bias, residual] = epilogue.clone();
            let args = vec![Arg::Input(0), weight, bias, residual, Arg::Output];
            (c.activation, args)
        }
        _ => {
            let args = vec![
                Arg::Input(0),
                weight,
                Arg::Dummy,
                Arg::Dummy,
                Arg::Scratch(0),
            ];
            (Activation::None, args)
        }
    };
    let mut v = vec![Dispatch {
        shader: &SHADER,
        overrides: vec![
            ("BM", u(t.bm)),
            ("BN", u(t.bn)),
            ("TM", u(t.tm)),
            ("TN", u(t.tn)),
            ("WG", u(t.invocations())),
            ("KH", u(w.h.kernel)),
            ("KW", u(w.w.kernel)),
            ("POINTWISE", u(usize::from(pointwise(&w)))),
            ("W_ROWS", u(usize::from(w_rows))),
            ("SPLIT", u(usize::from(split > 1))),
            act.constant(),
        ],
        args,
        uniform: bytemuck::bytes_of(&uniform).to_vec(),
        workgroups: groups_for(split * c.groups * tiles_m * tiles_n, 1),
    }];
    if split > 1 {
        let dest = [ctx.out_c_total, offset];
        v.push(conv2d_tiled_sum::dispatch(c, o, split, epilogue, dest));
    }
    v
}
