// winograd_output: the output transform of Winograd F(2x2, 3x3) for one image and a chunk of
// tiles, with the convolution's epilogue. M (16 matrices [ξ][cout][tc], the products of the
// transformed weights and inputs) gives every tile's 2x2 outputs as
//   Y = Aᵀ M A,   Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]],
// then out = act(Y + bias + residual), for outputs inside the image. An invocation does one
// output channel and 4 tiles (vec4 loads of M).
//
// Bindings: 0 m: scratch [16][cout][tc] (vec4) · 1 bias [cout] · 2 residual [N, res_c, OH, OW]
//           3 out [N, out_c_total, OH, OW] · 4 params
// Grid: ceil(cout · tc/4 / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    cout: u32, oh: u32, ow: u32, tw: u32,
    tiles: u32, t0: u32, tc: u32, n: u32,
    has_bias: u32, act: u32, has_residual: u32, res_c: u32,
    out_c_total: u32, out_c_offset: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> m: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn act(v: f32, code: u32) -> f32 {
    switch code {
        case 1u: { return max(v, 0.0); }
        case 2u: { return tanh(clamp(v, -20.0, 20.0)); }
        case 3u: { return 1.0 / (1.0 + exp(-v)); }
        default: { return v; }
    }
}

// The epilogue's uniforms for one channel, read once: on llvmpipe each uniform read is a
// gather, and the stores between emits would keep the compiler from reusing them.
struct Epilogue {
    oh: u32, ow: u32, out_base: u32, res_base: u32, residual: bool, act: u32, bias: f32,
}

// Writes output (oy, ox) with the epilogue, if it lies inside the image.
fn emit(e: Epilogue, oy: u32, ox: u32, v: f32) {
    if (oy >= e.oh || ox >= e.ow) { return; }
    let pix = oy * e.ow + ox;
    var o = v + e.bias;
    if (e.residual) { o += residual[e.res_base + pix]; }
    out[e.out_base + pix] = act(o, e.act);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let quads = p.tc / 4u;
    if (i >= p.cout * quads) { return; }
    let t4 = i % quads;
    let oc = i / quads;
    let stride = p.cout * quads;
    let at = oc * quads + t4;
    // Row sums of Aᵀ M, by column j, each a vec4 over the 4 tiles.
    var s0: array<vec4<f32>, 4>;
    var s1: array<vec4<f32>, 4>;
    for (var j = 0u; j < 4u; j++) {
        let m0 = m[j * stride + at];
        let m1 = m[(4u + j) * stride + at];
        let m2 = m[(8u + j) * stride + at];
        let m3 = m[(12u + j) * stride + at];
        s0[j] = m0 + m1 + m2;
        s1[j] = m1 - m2 - m3;
    }
    let y00 = s0[0] + s0[1] + s0[2];
    let y01 = s0[1] - s0[2] - s0[3];
    let y10 = s1[0] + s1[1] + s1[2];
    let y11 = s1[1] - s1[2] - s1[3];
    var bv = 0.0;
    if (p.has_bias != 0u) { bv = bias[oc]; }
    let plane = p.oh * p.ow;
    let e = Epilogue(p.oh, p.ow, (p.n * p.out_c_total + p.out_c_offset + oc) * plane,
                     (p.n * p.res_c + oc) * plane, p.has_residual != 0u, p.act, bv);
    let t0 = p.t0 + t4 * 4u;
    let tiles = p.tiles;
    let tw = p.tw;
    for (var q = 0u; q < 4u; q++) {
        let t = t0 + q;
        if (t < tiles) {
            let oy = t / tw * 2u;
            let ox = t % tw * 2u;
            emit(e, oy, ox, y00[q]);
            emit(e, oy, ox + 1u, y01[q]);
            emit(e, oy + 1u, ox, y10[q]);
            emit(e, oy + 1u, ox + 1u, y11[q]);
        }
    }
}
