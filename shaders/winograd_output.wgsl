// winograd_output: the output transform of Winograd F(M×M, r×r) with 6x6 tiles (M = 4 for
// 3x3 filters, 2 for 5x5) for a chunk of the batch's tiles (tile t is tile t % tiles of image
// t / tiles), with the convolution's epilogue. M (36 matrices [ξ][cout][tc], the products of the transformed weights and inputs)
// gives every tile's M×M outputs as
//   Y = Aᵀ M A,   Aᵀ[i] = [1 if i = 0 else 0, 1, (−1)^i, (½)^i, (−2)^i, 1 if i = M−1 else 0]
// (rows i < M; interpolation points 0, 1, −1, ½, −2, ∞), then out = act(Y + bias + residual), for
// outputs inside the image. An invocation does one output channel and 4 tiles (every value
// below is a vec4 over the 4 tiles).
//
// Bindings: 0 m: scratch [36][cout][tc] (vec4) · 1 bias [cout] · 2 residual [N, res_c, OH, OW]
//           3 out [N, out_c_total, OH, OW] · 4 params
// Grid: ceil(cout · tc/4 / 64) workgroups, folded to 2-D by the runtime.

// Outputs per tile side (pipeline constant: the loops below unroll).
override M: u32 = 4u;

struct Params {
    cout: u32, oh: u32, ow: u32, tw: u32,
    tiles: u32, t0: u32, tc: u32, total: u32,
    has_bias: u32, has_residual: u32, res_c: u32, out_c_total: u32,
    out_c_offset: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> m: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// The fused activation (Activation::code), a pipeline constant: a switch on a uniform would
// run every case, masked, for every output on llvmpipe (tanh and exp included).
override ACT: u32 = 0u;

// The fused activation. NaN passes through as in PyTorch (max and clamp would replace it).
fn act(v: f32) -> f32 {
    switch ACT {
        case 1u: { return select(v, 0.0, v < 0.0); }
        case 2u: { return tanh(select(select(v, -20.0, v < -20.0), 20.0, v > 20.0)); }
        case 3u: { return 1.0 / (1.0 + exp(-v)); }
        default: { return v; }
    }
}

// Six values of a row or column of a tile's M, and the up to four of Aᵀ times them.
struct Six {
    a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>, e: vec4<f32>, f: vec4<f32>,
}

struct Four {
    a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>,
}

// Aᵀ times a column of 6 (rows past M are not used).
fn at(v: Six) -> Four {
    let last = select(vec4<f32>(0.0), v.f, M == 2u);
    return Four(
        v.a + v.b + v.c + v.d + v.e,
        v.b - v.c + 0.5 * v.d - 2.0 * v.e + last,
        v.b + v.c + 0.25 * v.d + 4.0 * v.e,
        v.b - v.c + 0.125 * v.d - 8.0 * v.e + v.f,
    );
}

// The epilogue's uniforms for one channel, read once: on llvmpipe each uniform read is a
// gather, and the stores between emits would keep the compiler from reusing them.
struct Epilogue {
    oh: u32, ow: u32, out_base: u32, res_base: u32, residual: bool, bias: f32,
}

// Writes output (oy, ox) with the epilogue, if it lies inside the image.
fn emit(e: Epilogue, oy: u32, ox: u32, v: f32) {
    if (oy >= e.oh || ox >= e.ow) { return; }
    let pix = oy * e.ow + ox;
    var o = v + e.bias;
    if (e.residual) { o += residual[e.res_base + pix]; }
    out[e.out_base + pix] = act(o);
}

// Writes outputs (oy, ox .. ox+M−1) from v.
fn emit_row(e: Epilogue, oy: u32, ox: u32, v: vec4<f32>) {
    emit(e, oy, ox, v.x);
    emit(e, oy, ox + 1u, v.y);
    if (M == 4u) {
        emit(e, oy, ox + 2u, v.z);
        emit(e, oy, ox + 3u, v.w);
    }
}

// The tiles, read once: per image and per row, all of the batch, and the elements between
// images of the output and the residual.
struct Tiles {
    count: u32, per_row: u32, total: u32, out_image: u32, res_image: u32,
}

// Writes tile t's M×M outputs (row r of the tile in y[r]), if the tile exists; `e` holds
// image 0's bases.
fn emit_tile(e: Epilogue, g: Tiles, t: u32, y: mat4x4<f32>) {
    if (t >= g.total) { return; }
    let n = t / g.count;
    let tl = t % g.count;
    var en = e;
    en.out_base += n * g.out_image;
    en.res_base += n * g.res_image;
    let oy = tl / g.per_row * M;
    let ox = tl % g.per_row * M;
    emit_row(en, oy, ox, y[0]);
    emit_row(en, oy + 1u, ox, y[1]);
    if (M == 4u) {
        emit_row(en, oy + 2u, ox, y[2]);
        emit_row(en, oy + 3u, ox, y[3]);
    }
}

// Tile q's outputs: y_r holds row r of all 4 tiles (member c = column c, lane q = tile q).
fn tile(y0: Four, y1: Four, y2: Four, y3: Four, q: u32) -> mat4x4<f32> {
    return mat4x4<f32>(vec4<f32>(y0.a[q], y0.b[q], y0.c[q], y0.d[q]),
                       vec4<f32>(y1.a[q], y1.b[q], y1.c[q], y1.d[q]),
                       vec4<f32>(y2.a[q], y2.b[q], y2.c[q], y2.d[q]),
                       vec4<f32>(y3.a[q], y3.b[q], y3.c[q], y3.d[q]));
}

// Column j of M (entries ξ = j, 6 + j, …, 30 + j).
fn column(j: u32, stride: u32, here: u32) -> Six {
    let b = j * stride + here;
    let s = 6u * stride;
    return Six(m[b], m[b + s], m[b + 2u * s], m[b + 3u * s], m[b + 4u * s], m[b + 5u * s]);
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
    let here = oc * quads + t4;
    // Aᵀ M, column by column, then (Aᵀ M) A row by row: row i of Aᵀ M is entry i of each.
    let s0 = at(column(0u, stride, here));
    let s1 = at(column(1u, stride, here));
    let s2 = at(column(2u, stride, here));
    let s3 = at(column(3u, stride, here));
    let s4 = at(column(4u, stride, here));
    let s5 = at(column(5u, stride, here));
    var bv = 0.0;
    if (p.has_bias != 0u) { bv = bias[oc]; }
    let plane = p.oh * p.ow;
    let e = Epilogue(p.oh, p.ow, (p.out_c_offset + oc) * plane, oc * plane,
                     p.has_residual != 0u, bv);
    // Every index constant (no loops to unroll): y_r is row r of Aᵀ M A for the 4 tiles.
    let y0 = at(Six(s0.a, s1.a, s2.a, s3.a, s4.a, s5.a));
    let y1 = at(Six(s0.b, s1.b, s2.b, s3.b, s4.b, s5.b));
    let y2 = at(Six(s0.c, s1.c, s2.c, s3.c, s4.c, s5.c));
    let y3 = at(Six(s0.d, s1.d, s2.d, s3.d, s4.d, s5.d));
    let g = Tiles(p.tiles, p.tw, p.total, p.out_c_total * plane, p.res_c * plane);
    let t0 = p.t0 + t4 * 4u;
    emit_tile(e, g, t0, tile(y0, y1, y2, y3, 0u));
    emit_tile(e, g, t0 + 1u, tile(y0, y1, y2, y3, 1u));
    emit_tile(e, g, t0 + 2u, tile(y0, y1, y2, y3, 2u));
    emit_tile(e, g, t0 + 3u, tile(y0, y1, y2, y3, 3u));
}
