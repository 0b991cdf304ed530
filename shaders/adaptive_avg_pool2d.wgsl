// adaptive_avg_pool2d: average over [floor(i·H/OH), ceil((i+1)·H/OH)) per axis, one
// invocation per output element (global average pooling is OH = OW = 1).
//
// Bindings: 0 x [N, C, H, W] · 1 out [N, out_c_total, OH, OW] at channel out_c_offset · 2 params
// Grid: ceil(N·C·OH·OW / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    n: u32, c: u32, h: u32, w: u32,
    oh: u32, ow: u32, out_c_total: u32, out_c_offset: u32,
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
    let y0 = (oy * p.h) / p.oh;
    let y1 = ((oy + 1u) * p.h + p.oh - 1u) / p.oh;
    let x0 = (ox * p.w) / p.ow;
    let x1 = ((ox + 1u) * p.w + p.ow - 1u) / p.ow;
    let base = nc * p.h * p.w;
    var s = 0.0;
    for (var iy = y0; iy < y1; iy++) {
        for (var ix = x0; ix < x1; ix++) {
            s += x[base + iy * p.w + ix];
        }
    }
    let o = (n * p.out_c_total + p.out_c_offset + c) * p.oh * p.ow + oy * p.ow + ox;
    out[o] = s / f32((y1 - y0) * (x1 - x0));
}
