// Shared by conv2d_subgroup_window.wgsl and conv2d_subgroup_window_v4.wgsl: B's rows gathered
// from the input inside the product loop (implicit im2col: no scratch matrix, no im2col pass).
//
// Bindings: 0 x [N, C_in, H, W]: the input (im2col's geometry in params.win; pixels in the
//             padding or past the last one read 0) · 5 the product's and the window's uniform

struct Params {
    mm: Product,
    win: Window,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

// The input geometry, read once from the uniform (on llvmpipe a uniform read is a gather: none
// may stay in the loop), and the walk over k = (ci, ky, kx).
struct Geometry {
    h: u32, w: u32, kw: u32, kh: u32, dh: i32, dw: i32, plane: i32, last: u32,
}

struct Walk {
    base: i32, kyo: i32, kxo: i32, kx: u32, ky: u32,
}

// Row k of B for the lane's 4 pixels, whose windows start at (iy0, ix0) (padding included),
// zero in the padding; then one step of k. Reads stay inside the binding: rows past K read
// real input (their weights are zero), and pixels past the last one (never written) too.
fn brow(s: ptr<function, Walk>, g: Geometry, iy0: vec4<i32>, ix0: vec4<i32>) -> vec4<f32> {
    var t = *s;
    let iy = iy0 + vec4<i32>(t.kyo);
    let ix = ix0 + vec4<i32>(t.kxo);
    let inside = (vec4<u32>(iy) < vec4<u32>(g.h)) & (vec4<u32>(ix) < vec4<u32>(g.w));
    let at = vec4<i32>(t.base) + iy * vec4<i32>(i32(g.w)) + ix;
    let i = min(vec4<u32>(select(vec4<i32>(0), at, inside)), vec4<u32>(g.last));
    let v = vec4<f32>(x[i.x], x[i.y], x[i.z], x[i.w]);
    t.kx += 1u;
    t.kxo += g.dw;
    let row_end = t.kx == g.kw;
    t.kx = select(t.kx, 0u, row_end);
    t.kxo = select(t.kxo, 0, row_end);
    t.ky = select(t.ky, t.ky + 1u, row_end);
    t.kyo = select(t.kyo, t.kyo + g.dh, row_end);
    let plane_end = t.ky == g.kh;
    t.ky = select(t.ky, 0u, plane_end);
    t.kyo = select(t.kyo, 0, plane_end);
    t.base = select(t.base, t.base + g.plane, plane_end);
    *s = t;
    return select(vec4<f32>(0.0), v, inside);
}

// The product for invocation lid of flat workgroup wg (subgroup lane sl).
fn window_product(wg: u32, lid: u32, sl: u32) {
    let p = params.mm;
    let wn = params.win;
    let blk = block(p, wg, lid, sl);
    if (!blk.live) { return; }
    // The lane's 4 pixels (columns c0·4 .. c0·4+3: pixels q0.. of image img) and where
    // their windows start.
    let q = p.p0 + blk.c0 * 4u;
    let img = q / p.pixels;
    let q0 = q % p.pixels;
    var ox = q0 % wn.ow;
    var oy = q0 / wn.ow;
    var iy0 = vec4<i32>();
    var ix0 = vec4<i32>();
    for (var j = 0u; j < 4u; j++) {
        iy0[j] = i32(oy * wn.sh) - i32(wn.ph);
        ix0[j] = i32(ox * wn.sw) - i32(wn.pw);
        ox += 1u;
        if (ox == wn.ow) { ox = 0u; oy += 1u; }
    }
    let geo = Geometry(wn.h, wn.w, wn.kw, wn.kh, i32(wn.dh), i32(wn.dw), i32(wn.h * wn.w),
                       arrayLength(&x) - 1u);
    let plane0 = ((wn.n + img) * wn.cin + wn.g * wn.cin_per_group) * wn.h * wn.w;
    var walk = Walk(i32(plane0), 0, 0, 0u, 0u);
    var a = Acc();
    for (var k0 = 0u; k0 < blk.kd4; k0 += CHUNK) {
        var c = Acc();
        for (var k4 = k0; k4 < min(k0 + CHUNK, blk.kd4); k4++) {
            let b0 = brow(&walk, geo, iy0, ix0);
            let b1 = brow(&walk, geo, iy0, ix0);
            let b2 = brow(&walk, geo, iy0, ix0);
            let b3 = brow(&walk, geo, iy0, ix0);
            c = step(c, mat4x4<f32>(b0, b1, b2, b3), blk.wrow + k4 * 32u);
        }
        a = add(a, c);
    }
    finish(a, p, blk, sl);
}
