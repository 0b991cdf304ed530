// im2col: gathers the input patches of one image and one group into a [K][cols] matrix for
// conv2d_mm: column c is output pixel p0 + c, row k = (ci, ky, kx); zero where the window
// falls in the padding or past the last pixel. Each invocation writes 4 neighbouring columns
// with one vec4 store.
//
// Bindings: 0 x [N, cin, H, W] · 1 out: scratch [K][cols] (vec4 rows) · 2 params
// Grid: ceil(K·cols/4 / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    cin: u32, h: u32, w: u32, ow: u32,
    kh: u32, kw: u32, sh: u32, sw: u32,
    ph: u32, pw: u32, dh: u32, dw: u32,
    cin_per_group: u32, n: u32, g: u32, p0: u32,
    cols: u32, kdim: u32, pixels: u32, _pad0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let quads = p.cols / 4u;
    if (i >= p.kdim * quads) { return; }
    let k = i / quads;
    let kx = k % p.kw;
    let ky = (k / p.kw) % p.kh;
    let plane = (p.n * p.cin + p.g * p.cin_per_group + k / (p.kw * p.kh)) * p.h * p.w;
    var q = p.p0 + (i % quads) * 4u;
    var ox = q % p.ow;
    var oy = q / p.ow;
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let iy = i32(oy * p.sh + ky * p.dh) - i32(p.ph);
        let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pw);
        let inside = q < p.pixels && iy >= 0 && ix >= 0 && iy < i32(p.h) && ix < i32(p.w);
        if (inside) { v[j] = x[plane + u32(iy) * p.w + u32(ix)]; }
        q += 1u;
        ox += 1u;
        if (ox == p.ow) { ox = 0u; oy += 1u; }
    }
    out[i] = v;
}
