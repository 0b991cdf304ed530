// im2col: gathers the input patches of one image and one group into the matrix B of the conv
// matrix products: column c is output pixel p0 + c, row k = (ci, ky, kx); zero where the
// window falls in the padding or past the last pixel. An invocation fills one vec4 column
// group (4 neighbouring pixels) for a run of RUN consecutive rows, so the divisions that locate
// its pixels and its first row are paid once per run (on llvmpipe they are per-lane scalar
// divisions), and the rest of the run steps (kx, ky, ci) incrementally. Layout: [K][cols/4]
// vec4 (conv2d_mm's B). (conv2d_subgroup gathers the same rows inside its product instead.)
//
// Bindings: 0 x [N, cin, H, W] · 1 out: scratch (vec4) · 2 params
// Grid: ceil(cols/4 · ceil(K/RUN) / 64) workgroups, folded to 2-D by the runtime.

const RUN: u32 = 8u;

// struct Window: shaders/common/window_params.wgsl (appended by shader!).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Window;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let quads = p.cols / 4u;
    let runs = (p.kdim + RUN - 1u) / RUN;
    if (i >= quads * runs) { return; }
    let c4 = i / runs;
    let k0 = (i % runs) * RUN;
    // Top-left input position of each of the 4 pixels' windows; pixels past the end are off.
    var iy0 = vec4<i32>();
    var ix0 = vec4<i32>();
    var valid = vec4<bool>();
    let q0 = p.p0 + c4 * 4u;
    var ox = q0 % p.ow;
    var oy = q0 / p.ow;
    for (var j = 0u; j < 4u; j++) {
        iy0[j] = i32(oy * p.sh) - i32(p.ph);
        ix0[j] = i32(ox * p.sw) - i32(p.pw);
        valid[j] = q0 + j < p.pixels;
        ox += 1u;
        if (ox == p.ow) { ox = 0u; oy += 1u; }
    }
    let taps = p.kh * p.kw;
    var kx = k0 % p.kw;
    var ky = (k0 / p.kw) % p.kh;
    var plane = (p.n * p.cin + p.g * p.cin_per_group + k0 / taps) * p.h * p.w;
    // Uniforms used in the loop are read once: on llvmpipe each read is a gather, and the
    // stores in the loop would keep the compiler from reusing them.
    let h = vec4<i32>(i32(p.h));
    let w = i32(p.w);
    let kw = p.kw;
    let kh = p.kh;
    let dh = p.dh;
    let dw = p.dw;
    let hw = p.h * p.w;
    let kdim = p.kdim;
    let zero = vec4<i32>(0);
    let end = min(k0 + RUN, kdim);
    for (var k = k0; k < end; k++) {
        let iy = iy0 + vec4<i32>(i32(ky * dh));
        let ix = ix0 + vec4<i32>(i32(kx * dw));
        let inside = valid & (iy >= zero) & (ix >= zero) & (iy < h) & (ix < vec4<i32>(w));
        var v = vec4<f32>(0.0);
        for (var j = 0u; j < 4u; j++) {
            if (inside[j]) { v[j] = x[plane + u32(iy[j] * w + ix[j])]; }
        }
        out[k * quads + c4] = v;
        kx += 1u;
        if (kx == kw) {
            kx = 0u;
            ky += 1u;
            if (ky == kh) { ky = 0u; plane += hw; }
        }
    }
}
