// winograd_input: the input transform of Winograd F(m×m, r×r) with 6x6 tiles (F(4x4, 3x3)
// and F(2x2, 5x5), m + r − 1 = 6) for a chunk of the batch's tiles (the images' tiles side by
// side: tile t is tile t % tiles of image t / tiles). A tile covers outputs
// (m·ty .. m·ty+m−1, m·tx .. m·tx+m−1) and reads the 6x6 input patch d whose top-left is
// (m·ty − pt, m·tx − pl), zero outside the image. For every input channel
//   V = Bᵀ d B,   Bᵀ = [[2, −3, −4, 3, 2, 0], [0, −2, 1, 5, 2, 0], [0, 2, −5, 1, 2, 0],
//                       [0, −2, −1, 2, 1, 0], [0, 1, −2, −1, 2, 0], [0, 2, −3, −4, 3, 2]]
// (interpolation points 0, 1, −1, ½, −2, ∞, the same for both tile sizes; rows scaled to
// integers, see conv2d_winograd.rs), and V's 36 entries
// (ξ = 6·row + column) become 36 matrices, matrix ξ starting at vec4 ξ·(tc/4)·cin: in
// conv2d_subgroup's column-major B layout element (ci, t) is lane t % 4 of vec4 (t/4)·cin + ci;
// with ROW_MAJOR (for conv2d_tiled, whose input is then [1, 36·cin, 1, tc]) lane t % 4 of
// vec4 ci·(tc/4) + t/4. An
// invocation does one channel and 4 tiles (every value below is a vec4 over the 4 tiles);
// tiles past the last are zero.
//
// Bindings: 0 x [N, cin, H, W] · 1 out: scratch (vec4) · 2 params
// Pipeline constant: ROW_MAJOR (the layout of the 36 matrices, above).

override ROW_MAJOR: bool = false;
// Grid: ceil(cin · tc/4 / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    cin: u32, h: u32, w: u32, tw: u32,
    tiles: u32, t0: u32, tc: u32, total: u32,
    pt: u32, pl: u32, m: u32, _pad0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// Six values of one row or column of a patch, each a vec4 over the invocation's 4 tiles.
struct Six {
    a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>, e: vec4<f32>, f: vec4<f32>,
}

// Bᵀ times a column of 6.
fn bt(d: Six) -> Six {
    return Six(
        2.0 * (d.a + d.e - 2.0 * d.c) + 3.0 * (d.d - d.b),
        2.0 * (d.e - d.b) + d.c + 5.0 * d.d,
        2.0 * (d.b + d.e) - 5.0 * d.c + d.d,
        2.0 * (d.d - d.b) - d.c + d.e,
        d.b - d.d + 2.0 * (d.e - d.c),
        2.0 * (d.b + d.f - 2.0 * d.d) + 3.0 * (d.e - d.c),
    );
}

// The 4 patches of an invocation, read once (on llvmpipe every uniform read is a gather):
// each tile's plane (its image may differ) and top-left corner, and the plane's size.
struct Patches {
    base: vec4<u32>, iy: vec4<i32>, ix: vec4<i32>, h: i32, w: i32,
}

// x at (iy, ix) of the plane at base, zero outside it.
fn load(g: Patches, base: u32, iy: i32, ix: i32) -> f32 {
    if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) { return 0.0; }
    return x[base + u32(iy * g.w + ix)];
}

// Entry (r, c) of the 4 patches.
fn entry(g: Patches, r: i32, c: i32) -> vec4<f32> {
    let y = g.iy + vec4<i32>(r);
    let x = g.ix + vec4<i32>(c);
    return vec4<f32>(load(g, g.base.x, y.x, x.x), load(g, g.base.y, y.y, x.y),
                     load(g, g.base.z, y.z, x.z), load(g, g.base.w, y.w, x.w));
}

// Row r of the 4 patches (every index constant: no loop to unroll).
fn patch_row(g: Patches, r: i32) -> Six {
    return Six(entry(g, r, 0), entry(g, r, 1), entry(g, r, 2), entry(g, r, 3), entry(g, r, 4),
               entry(g, r, 5));
}

// Writes row i of V (6 entries ξ = 6·i .. 6·i+5).
fn store_row(i: u32, v: Six, stride: u32, at: u32) {
    let base = i * 6u * stride + at;
    out[base] = v.a;
    out[base + stride] = v.b;
    out[base + 2u * stride] = v.c;
    out[base + 3u * stride] = v.d;
    out[base + 4u * stride] = v.e;
    out[base + 5u * stride] = v.f;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let quads = p.tc / 4u;
    if (i >= p.cin * quads) { return; }
    let ci = i % p.cin;
    let t4 = i / p.cin;
    // Each tile's image and patch corner; tiles past the last start below the image (zero).
    let t = vec4<u32>(p.t0 + t4 * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
    let live = t < vec4<u32>(p.total);
    let tiles = vec4<u32>(p.tiles);
    let m = p.m;
    let tw = p.tw;
    let h = i32(p.h);
    let tl = t % tiles;
    let iy = select(vec4<i32>(h), vec4<i32>(tl / tw * m) - vec4<i32>(i32(p.pt)), live);
    let ix = vec4<i32>(tl % tw * m) - vec4<i32>(i32(p.pl));
    let base = (t / tiles * p.cin + ci) * p.h * p.w;
    let g = Patches(base, iy, ix, h, i32(p.w));
    // Bᵀ d, column by column (the columns of the 6 loaded rows).
    let r0 = patch_row(g, 0);
    let r1 = patch_row(g, 1);
    let r2 = patch_row(g, 2);
    let r3 = patch_row(g, 3);
    let r4 = patch_row(g, 4);
    let r5 = patch_row(g, 5);
    let c0 = bt(Six(r0.a, r1.a, r2.a, r3.a, r4.a, r5.a));
    let c1 = bt(Six(r0.b, r1.b, r2.b, r3.b, r4.b, r5.b));
    let c2 = bt(Six(r0.c, r1.c, r2.c, r3.c, r4.c, r5.c));
    let c3 = bt(Six(r0.d, r1.d, r2.d, r3.d, r4.d, r5.d));
    let c4 = bt(Six(r0.e, r1.e, r2.e, r3.e, r4.e, r5.e));
    let c5 = bt(Six(r0.f, r1.f, r2.f, r3.f, r4.f, r5.f));
    // (Bᵀ d) B, row by row: row i of Bᵀ d is entry i of every column.
    let stride = quads * p.cin;
    let at = select(t4 * p.cin + ci, ci * quads + t4, ROW_MAJOR);
    store_row(0u, bt(Six(c0.a, c1.a, c2.a, c3.a, c4.a, c5.a)), stride, at);
    store_row(1u, bt(Six(c0.b, c1.b, c2.b, c3.b, c4.b, c5.b)), stride, at);
    store_row(2u, bt(Six(c0.c, c1.c, c2.c, c3.c, c4.c, c5.c)), stride, at);
    store_row(3u, bt(Six(c0.d, c1.d, c2.d, c3.d, c4.d, c5.d)), stride, at);
    store_row(4u, bt(Six(c0.e, c1.e, c2.e, c3.e, c4.e, c5.e)), stride, at);
    store_row(5u, bt(Six(c0.f, c1.f, c2.f, c3.f, c4.f, c5.f)), stride, at);
}
