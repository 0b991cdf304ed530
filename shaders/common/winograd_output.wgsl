// Shared by winograd_output.wgsl and winograd_output_v4.wgsl (the shader! macro appends it to
// each): their uniform and the bindings they read alike, the transform Y = Aᵀ M A of an
// invocation's 4 tiles, the tiles' layout, and the invocation's work (`output_transform`),
// which hands each tile to the file's `emit_tile` (scalar or vec4 stores). Each file declares
// the residual (2) and out (3) bindings, whose element types differ.

struct Params {
    cout: u32, oh: u32, ow: u32, tw: u32,
    tiles: u32, t0: u32, tc: u32, total: u32,
    has_bias: u32, has_residual: u32, res_c: u32, out_c_total: u32,
    out_c_offset: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> m: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// Outputs per tile side (pipeline constant: the loops below unroll).
override M: u32 = 4u;

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

// The tiles, read once: per image and per row, all of the batch, and the elements between
// images of the output and the residual.
struct Tiles {
    count: u32, per_row: u32, total: u32, out_image: u32, res_image: u32,
}

// Rows 0..M−1 of Aᵀ M A for an invocation's 4 tiles (member c = column c, lane q = tile q).
struct Rows {
    y0: Four, y1: Four, y2: Four, y3: Four,
}

// Tile q's outputs (row r of the tile in column r of the matrix).
fn tile(y: Rows, q: u32) -> mat4x4<f32> {
    return mat4x4<f32>(vec4<f32>(y.y0.a[q], y.y0.b[q], y.y0.c[q], y.y0.d[q]),
                       vec4<f32>(y.y1.a[q], y.y1.b[q], y.y1.c[q], y.y1.d[q]),
                       vec4<f32>(y.y2.a[q], y.y2.b[q], y.y2.c[q], y.y2.d[q]),
                       vec4<f32>(y.y3.a[q], y.y3.b[q], y.y3.c[q], y.y3.d[q]));
}

// Column j of M (entries ξ = j, 6 + j, …, 30 + j).
fn column(j: u32, stride: u32, here: u32) -> Six {
    let b = j * stride + here;
    let s = 6u * stride;
    return Six(m[b], m[b + s], m[b + 2u * s], m[b + 3u * s], m[b + 4u * s], m[b + 5u * s]);
}

// Aᵀ M A for the 4 tiles of quad t4 in output channel oc (quads per matrix row): Aᵀ M column
// by column, then (Aᵀ M) A row by row (row i of Aᵀ M is entry i of each column). Every index
// is constant: no loops to unroll.
fn transform(oc: u32, t4: u32, quads: u32) -> Rows {
    let stride = p.cout * quads;
    let here = oc * quads + t4;
    let s0 = at(column(0u, stride, here));
    let s1 = at(column(1u, stride, here));
    let s2 = at(column(2u, stride, here));
    let s3 = at(column(3u, stride, here));
    let s4 = at(column(4u, stride, here));
    let s5 = at(column(5u, stride, here));
    return Rows(at(Six(s0.a, s1.a, s2.a, s3.a, s4.a, s5.a)),
                at(Six(s0.b, s1.b, s2.b, s3.b, s4.b, s5.b)),
                at(Six(s0.c, s1.c, s2.c, s3.c, s4.c, s5.c)),
                at(Six(s0.d, s1.d, s2.d, s3.d, s4.d, s5.d)));
}

// The epilogue's uniforms for one channel, read once (on llvmpipe each uniform read is a
// gather, and the stores between emits would keep the compiler from reusing them): image 0's
// bases of the channel in the output and the residual, in elements, and its bias.
struct Epilogue {
    oh: u32, ow: u32, out_base: u32, res_base: u32, residual: bool, bias: f32,
}

// Invocation i: output channel oc, quad t4 of the chunk's tiles; its 4 tiles' outputs go to
// emit_tile with the epilogue.
fn output_transform(i: u32) {
    let quads = p.tc / 4u;
    if (i >= p.cout * quads) { return; }
    let t4 = i % quads;
    let oc = i / quads;
    let y = transform(oc, t4, quads);
    var bv = 0.0;
    if (p.has_bias != 0u) { bv = bias[oc]; }
    let plane = p.oh * p.ow;
    let e = Epilogue(p.oh, p.ow, (p.out_c_offset + oc) * plane, oc * plane,
                     p.has_residual != 0u, bv);
    let g = Tiles(p.tiles, p.tw, p.total, p.out_c_total * plane, p.res_c * plane);
    let t0 = p.t0 + t4 * 4u;
    emit_tile(e, g, t0, tile(y, 0u));
    emit_tile(e, g, t0 + 1u, tile(y, 1u));
    emit_tile(e, g, t0 + 2u, tile(y, 2u));
    emit_tile(e, g, t0 + 3u, tile(y, 3u));
}
