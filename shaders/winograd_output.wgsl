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

// Writes output (oy, ox) of channel oc with the epilogue, if it lies inside the image.
fn emit(oc: u32, oy: u32, ox: u32, v: f32, bv: f32) {
    if (oy >= p.oh || ox >= p.ow) { return; }
    let pix = oy * p.ow + ox;
    let plane = p.oh * p.ow;
    var o = v + bv;
    if (p.has_residual != 0u) { o += residual[(p.n * p.res_c + oc) * plane + pix]; }
    out[(p.n * p.out_c_total + p.out_c_offset + oc) * plane + pix] = act(o, p.act);
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
    for (var q = 0u; q < 4u; q++) {
        let t = p.t0 + t4 * 4u + q;
        if (t < p.tiles) {
            let oy = t / p.tw * 2u;
            let ox = t % p.tw * 2u;
            emit(oc, oy, ox, y00[q], bv);
            emit(oc, oy, ox + 1u, y01[q], bv);
            emit(oc, oy + 1u, ox, y10[q], bv);
            emit(oc, oy + 1u, ox + 1u, y11[q], bv);
        }
    }
}
