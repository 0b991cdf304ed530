// winograd_output_v4: winograd_output.wgsl's transform for F(4×4, 3×3) where the output's
// height and width are multiples of 4. Then every tile lies inside the image and each of its 4
// rows is one aligned vec4 of the output, so the epilogue reads the residual and writes the
// output as 16 vec4 per tile with no per-element bounds checks or index arithmetic (on
// llvmpipe the scalar version's 64 masked stores took about 80% of its time). The transform
// and its layout are the same as winograd_output.wgsl's.
//
// Bindings: 0 m: scratch [36][cout][tc] (vec4) · 1 bias [cout] · 2 residual [N, res_c, OH, OW]
//           (vec4) · 3 out [N, out_c_total, OH, OW] (vec4) · 4 params
// Grid: ceil(cout · tc/4 / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    cout: u32, oh: u32, ow: u32, tw: u32,
    tiles: u32, t0: u32, tc: u32, total: u32,
    has_bias: u32, has_residual: u32, res_c: u32, out_c_total: u32,
    out_c_offset: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> m: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read> residual: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

// The fused activation (Activation::code), a pipeline constant: a switch on a uniform would
// run every case, masked, for every output on llvmpipe (tanh and exp included).
override ACT: u32 = 0u;

// The fused activation. NaN passes through as in PyTorch (max and clamp would replace it).
fn act(v: vec4<f32>) -> vec4<f32> {
    let lo = vec4<f32>(-20.0);
    let hi = vec4<f32>(20.0);
    switch ACT {
        case 1u: { return select(v, vec4<f32>(0.0), v < vec4<f32>(0.0)); }
        case 2u: { return tanh(select(select(v, lo, v < lo), hi, v > hi)); }
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

// Aᵀ times a column of 6 (F(4×4, 3×3): rows 0..3).
fn at(v: Six) -> Four {
    return Four(
        v.a + v.b + v.c + v.d + v.e,
        v.b - v.c + 0.5 * v.d - 2.0 * v.e,
        v.b + v.c + 0.25 * v.d + 4.0 * v.e,
        v.b - v.c + 0.125 * v.d - 8.0 * v.e + v.f,
    );
}

// The epilogue's uniforms for one channel, read once (bases in vec4 units).
struct Epilogue {
    ow4: u32, out_base: u32, res_base: u32, residual: bool, bias: f32,
}

// The tiles, read once: per image and per row, all of the batch, and the vec4 between images
// of the output and the residual.
struct Tiles {
    count: u32, per_row: u32, total: u32, out_image: u32, res_image: u32,
}

// Writes tile t's 4×4 outputs (row r of the tile in y[r]), if the tile exists.
fn emit_tile(e: Epilogue, g: Tiles, t: u32, y: mat4x4<f32>) {
    if (t >= g.total) { return; }
    let n = t / g.count;
    let tl = t % g.count;
    // (oy·OW + ox) / 4 for the tile's top-left output (oy = 4·row, ox = 4·column).
    let pix = tl / g.per_row * 4u * e.ow4 + tl % g.per_row;
    let o = e.out_base + n * g.out_image + pix;
    let r = e.res_base + n * g.res_image + pix;
    let b = vec4<f32>(e.bias);
    var v0 = y[0] + b;
    var v1 = y[1] + b;
    var v2 = y[2] + b;
    var v3 = y[3] + b;
    if (e.residual) {
        v0 += residual[r];
        v1 += residual[r + e.ow4];
        v2 += residual[r + 2u * e.ow4];
        v3 += residual[r + 3u * e.ow4];
    }
    out[o] = act(v0);
    out[o + e.ow4] = act(v1);
    out[o + 2u * e.ow4] = act(v2);
    out[o + 3u * e.ow4] = act(v3);
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
    let plane4 = p.oh * p.ow / 4u;
    let e = Epilogue(p.ow / 4u, (p.out_c_offset + oc) * plane4, oc * plane4,
                     p.has_residual != 0u, bv);
    // Every index constant (no loops to unroll): y_r is row r of Aᵀ M A for the 4 tiles.
    let y0 = at(Six(s0.a, s1.a, s2.a, s3.a, s4.a, s5.a));
    let y1 = at(Six(s0.b, s1.b, s2.b, s3.b, s4.b, s5.b));
    let y2 = at(Six(s0.c, s1.c, s2.c, s3.c, s4.c, s5.c));
    let y3 = at(Six(s0.d, s1.d, s2.d, s3.d, s4.d, s5.d));
    let g = Tiles(p.tiles, p.tw, p.total, p.out_c_total * plane4, p.res_c * plane4);
    let t0 = p.t0 + t4 * 4u;
    emit_tile(e, g, t0, mat4x4<f32>(
        vec4<f32>(y0.a.x, y0.b.x, y0.c.x, y0.d.x),
        vec4<f32>(y1.a.x, y1.b.x, y1.c.x, y1.d.x),
        vec4<f32>(y2.a.x, y2.b.x, y2.c.x, y2.d.x),
        vec4<f32>(y3.a.x, y3.b.x, y3.c.x, y3.d.x)));
    emit_tile(e, g, t0 + 1u, mat4x4<f32>(
        vec4<f32>(y0.a.y, y0.b.y, y0.c.y, y0.d.y),
        vec4<f32>(y1.a.y, y1.b.y, y1.c.y, y1.d.y),
        vec4<f32>(y2.a.y, y2.b.y, y2.c.y, y2.d.y),
        vec4<f32>(y3.a.y, y3.b.y, y3.c.y, y3.d.y)));
    emit_tile(e, g, t0 + 2u, mat4x4<f32>(
        vec4<f32>(y0.a.z, y0.b.z, y0.c.z, y0.d.z),
        vec4<f32>(y1.a.z, y1.b.z, y1.c.z, y1.d.z),
        vec4<f32>(y2.a.z, y2.b.z, y2.c.z, y2.d.z),
        vec4<f32>(y3.a.z, y3.b.z, y3.c.z, y3.d.z)));
    emit_tile(e, g, t0 + 3u, mat4x4<f32>(
        vec4<f32>(y0.a.w, y0.b.w, y0.c.w, y0.d.w),
        vec4<f32>(y1.a.w, y1.b.w, y1.c.w, y1.d.w),
        vec4<f32>(y2.a.w, y2.b.w, y2.c.w, y2.d.w),
        vec4<f32>(y3.a.w, y3.b.w, y3.c.w, y3.d.w)));
}
