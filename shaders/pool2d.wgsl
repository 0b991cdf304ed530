// pool2d: max or average pooling, one invocation per output element. Padding, dilation (max),
// ceil-mode windows (the host computes OH/OW) and count_include_pad (avg) as in PyTorch.
//
// Bindings: 0 x [N, C, H, W] · 1 out [N, out_c_total, OH, OW] at channel out_c_offset · 2 params
// Grid: ceil(N·C·OH·OW / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    n: u32, c: u32, h: u32, w: u32,
    oh: u32, ow: u32, kh: u32, kw: u32,
    sh: u32, sw: u32, ph: u32, pw: u32,
    dh: u32, dw: u32, h_end: u32, w_end: u32,
    is_max: u32, count_include_pad: u32, out_c_total: u32, out_c_offset: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    if (i >= p.n * p.c * p.oh * p.ow) { return; }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let nc = i / (p.ow * p.oh);
    let c = nc % p.c;
    let n = nc / p.c;
    let base = nc * p.h * p.w;
    let y0 = i32(oy * p.sh) - i32(p.ph);
    let x0 = i32(ox * p.sw) - i32(p.pw);
    var r = 0.0;
    if (p.is_max != 0u) {
        // Starts at −∞, so a window that covers only padding (possible with dilation) gives −∞
        // as in PyTorch; built at run time because a WGSL constant cannot be infinite.
        var neg_inf_bits = 0xff800000u;
        var m = bitcast<f32>(neg_inf_bits);
        var seen = false;
        for (var ky = 0u; ky < p.kh; ky++) {
            let iy = y0 + i32(ky * p.dh);
            if (iy < 0 || iy >= i32(p.h)) { continue; }
            for (var kx = 0u; kx < p.kw; kx++) {
                let ix = x0 + i32(kx * p.dw);
                if (ix < 0 || ix >= i32(p.w)) { continue; }
                let v = x[base + u32(iy) * p.w + u32(ix)];
                // NaN propagates as in PyTorch: a NaN input makes the maximum NaN.
                if (!seen || v > m || v != v) { m = v; }
                seen = true;
            }
        }
        r = m;
    } else {
        let ye = min(y0 + i32(p.kh), i32(p.h_end));
        let xe = min(x0 + i32(p.kw), i32(p.w_end));
        let padded = f32((ye - y0) * (xe - x0));
        let ys = max(y0, 0);
        let xs = max(x0, 0);
        let yc = min(ye, i32(p.h));
        let xc = min(xe, i32(p.w));
        var s = 0.0;
        for (var iy = ys; iy < yc; iy++) {
            for (var ix = xs; ix < xc; ix++) {
                s += x[base + u32(iy) * p.w + u32(ix)];
            }
        }
        var count = f32((yc - ys) * (xc - xs));
        if (p.count_include_pad != 0u) { count = padded; }
        r = s / count;
    }
    out[(n * p.out_c_total + p.out_c_offset + c) * p.oh * p.ow + oy * p.ow + ox] = r;
}
