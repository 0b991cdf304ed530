// pool2d: max or average pooling. Padding, dilation (max), ceil-mode windows (the host computes
// OH/OW) and count_include_pad (avg) as in PyTorch. An invocation computes 4 neighbouring
// outputs of one row (vec4 lanes j = 0..3), so the divisions that locate it and the window
// loops are shared by 4 outputs (on llvmpipe each division is per SIMD lane, and the loads,
// each a loop over the lanes, are the rest of the cost). 3-wide max windows (max_pool3) also
// share the loads of overlapping windows. The path is a pipeline constant (MODE).
//
// Bindings: 0 x [N, C, H, W] · 1 out [N, out_c_total, OH, OW] at channel out_c_offset · 2 params
// Grid: ceil(N·C·OH·ceil(OW/4) / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    n: u32, c: u32, h: u32, w: u32,
    oh: u32, ow: u32, kh: u32, kw: u32,
    sh: u32, sw: u32, ph: u32, pw: u32,
    dh: u32, dw: u32, h_end: u32, w_end: u32,
    count_include_pad: u32, out_c_total: u32, out_c_offset: u32, _pad0: u32,
}

// The pooling path (Pool2d's `mode`), a pipeline constant: branches on a uniform would run
// every path, masked, for every output on llvmpipe. 0: max, any window; 1: max, 3-wide window
// at stride 1; 2: the same at stride 2; 3: average.
override MODE: u32 = 0u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// NaN tested on the bits: compilers may fold the float self-comparison v != v to false (NIR
// does on llvmpipe), which silently dropped NaNs from the maxima, and a driver that assumes
// floats are never NaN may turn a comparison-and-select into a maximum that drops them too
// (see shaders/common/act.wgsl); integer tests on the bits are immune to both.
fn is_nan(v: vec4<f32>) -> vec4<bool> {
    return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

// −∞ (a WGSL constant cannot be infinite, so it is made from its bits at run time).
fn neg_inf() -> f32 {
    var bits = 0xff800000u;
    return bitcast<f32>(bits);
}

// Input column ix of the row starting at `row`, or `fill` outside [0, w): the index is
// clamped so that the load needs no branch (on llvmpipe a masked load costs as much as one).
fn tap(row: u32, w: i32, ix: i32, fill: f32) -> f32 {
    let v = x[row + u32(clamp(ix, 0, w - 1))];
    return select(fill, v, ix >= 0 && ix < w);
}

// The inputs at row iy, columns ix, of the plane at `base` (rows `w` apart), `fill` outside.
fn taps(base: u32, w: u32, iy: i32, ix: vec4<i32>, fill: vec4<f32>) -> vec4<f32> {
    let row = base + u32(iy) * w;
    let wi = i32(w);
    return vec4<f32>(tap(row, wi, ix.x, fill.x), tap(row, wi, ix.y, fill.y),
                     tap(row, wi, ix.z, fill.z), tap(row, wi, ix.w, fill.w));
}

// Window maxima of 4 outputs whose windows start at (y0, x0) (lanes past the last output
// compute values that are never stored). Starts at −∞, so a window that covers only padding
// (possible with dilation) gives −∞ as in PyTorch; a NaN input makes the maximum NaN.
fn max_pool(base: u32, y0: i32, x0: vec4<i32>) -> vec4<f32> {
    var m = vec4<f32>(neg_inf());
    // Uniforms read once (on llvmpipe each read is a gather; nothing hoists them out of loops).
    let stride = p.w;
    let h = i32(p.h);
    let kh = p.kh;
    let kw = p.kw;
    let dh = p.dh;
    let dw = p.dw;
    for (var ky = 0u; ky < kh; ky++) {
        let iy = y0 + i32(ky * dh);
        if (iy < 0 || iy >= h) { continue; }
        for (var kx = 0u; kx < kw; kx++) {
            let ix = x0 + vec4<i32>(i32(kx * dw));
            // Taps outside the image read as m itself, which leaves m as it is.
            m = nan_max(m, taps(base, stride, iy, ix, m));
        }
    }
    return m;
}

// The larger of a and b per lane, NaN from either side propagating (PyTorch's max pool). The
// condition names both NaN cases on the bits, so it cannot legally become a float maximum.
fn nan_max(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return select(a, b, ((b > a) & !is_nan(a)) | is_nan(b));
}

// max_pool for the common 3-wide window (kw = 3, dw = 1, sw = 1 or 2: every 3x3 max pool of
// GoogLeNet, ResNet and AlexNet). The 4 outputs' windows overlap along the row, so each row
// loads its span once (6 inputs for stride 1, 9 for stride 2) instead of 4 x 3 taps.
fn max_pool3(base: u32, y0: i32, x0: i32) -> vec4<f32> {
    let ninf = neg_inf();
    var m = vec4<f32>(ninf);
    let stride = p.w;
    let w = i32(stride);
    let h = i32(p.h);
    let kh = p.kh;
    let dh = p.dh;
    for (var ky = 0u; ky < kh; ky++) {
        let iy = y0 + i32(ky * dh);
        if (iy < 0 || iy >= h) { continue; }
        let row = base + u32(iy) * stride;
        let t0 = tap(row, w, x0, ninf);
        let t1 = tap(row, w, x0 + 1, ninf);
        let t2 = tap(row, w, x0 + 2, ninf);
        let t3 = tap(row, w, x0 + 3, ninf);
        let t4 = tap(row, w, x0 + 4, ninf);
        let t5 = tap(row, w, x0 + 5, ninf);
        var a = vec4<f32>(t0, t1, t2, t3);
        var b = vec4<f32>(t1, t2, t3, t4);
        var c = vec4<f32>(t2, t3, t4, t5);
        if (MODE == 2u) {
            let t6 = tap(row, w, x0 + 6, ninf);
            let t7 = tap(row, w, x0 + 7, ninf);
            let t8 = tap(row, w, x0 + 8, ninf);
            a = vec4<f32>(t0, t2, t4, t6);
            b = vec4<f32>(t1, t3, t5, t7);
            c = vec4<f32>(t2, t4, t6, t8);
        }
        m = nan_max(nan_max(nan_max(m, a), b), c);
    }
    return m;
}

// Window averages of 4 outputs (the window clipped to the padded input; divided by the taps
// inside the image, or by the padded window with count_include_pad).
fn avg_pool(base: u32, y0: i32, x0: vec4<i32>) -> vec4<f32> {
    var s = vec4<f32>(0.0);
    let stride = p.w;
    let w = vec4<i32>(i32(stride));
    let h = i32(p.h);
    let kh = p.kh;
    let kw = p.kw;
    for (var ky = 0u; ky < kh; ky++) {
        let iy = y0 + i32(ky);
        if (iy < 0 || iy >= h) { continue; }
        for (var kx = 0u; kx < kw; kx++) {
            let ix = x0 + vec4<i32>(i32(kx));
            s += taps(base, stride, iy, ix, vec4<f32>(0.0));
        }
    }
    let ye = min(y0 + i32(p.kh), i32(p.h_end));
    let xe = min(x0 + vec4<i32>(i32(p.kw)), vec4<i32>(i32(p.w_end)));
    let inside = (min(ye, i32(p.h)) - max(y0, 0)) * (min(xe, w) - max(x0, vec4<i32>(0)));
    var count = vec4<f32>(inside);
    if (p.count_include_pad != 0u) { count = vec4<f32>((ye - y0) * (xe - x0)); }
    return s / count;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let quads = (p.ow + 3u) / 4u;
    if (i >= p.n * p.c * p.oh * quads) { return; }
    let ox = (i % quads) * 4u + vec4<u32>(0u, 1u, 2u, 3u);
    let oy = (i / quads) % p.oh;
    let nc = i / (quads * p.oh);
    let base = nc * p.h * p.w;
    let y0 = i32(oy * p.sh) - i32(p.ph);
    let x0 = vec4<i32>(ox * p.sw) - vec4<i32>(i32(p.pw));
    let live = ox < vec4<u32>(p.ow);
    var r: vec4<f32>;
    switch MODE {
        case 1u, 2u: { r = max_pool3(base, y0, x0.x); }
        case 3u: { r = avg_pool(base, y0, x0); }
        default: { r = max_pool(base, y0, x0); }
    }
    let o = ((nc / p.c) * p.out_c_total + p.out_c_offset + nc % p.c) * p.oh * p.ow + oy * p.ow;
    if (live.x) { out[o + ox.x] = r.x; }
    if (live.y) { out[o + ox.y] = r.y; }
    if (live.z) { out[o + ox.z] = r.z; }
    if (live.w) { out[o + ox.w] = r.w; }
}
