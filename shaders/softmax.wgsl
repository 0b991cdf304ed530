// softmax over channels: out = exp(x − max) / Σ exp(x − max) for each (n, pixel).
// One workgroup of 64 per (n, pixel): a max reduction, then a sum reduction, in workgroup memory.
//
// Bindings: 0 x [N, C, H, W] · 1 out [N, out_c_total, H, W] at channel out_c_offset · 2 params
// Grid: N·H·W workgroups, folded to 2-D by the runtime.

struct Params {
    n: u32, c: u32, plane: u32, out_c_total: u32,
    out_c_offset: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const WG: u32 = 64u;
var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.n * p.plane) { return; }
    let n = row / p.plane;
    let pix = row % p.plane;
    let base = n * p.c * p.plane + pix;
    var m = -3.4028235e38;
    for (var c = lid; c < p.c; c += WG) { m = max(m, x[base + c * p.plane]); }
    red[lid] = m;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
        workgroupBarrier();
    }
    m = red[0];
    workgroupBarrier();
    var z = 0.0;
    for (var c = lid; c < p.c; c += WG) { z += exp(x[base + c * p.plane] - m); }
    red[lid] = z;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { red[lid] += red[lid + s]; }
        workgroupBarrier();
    }
    z = red[0];
    let obase = (n * p.out_c_total + p.out_c_offset) * p.plane + pix;
    for (var c = lid; c < p.c; c += WG) {
        out[obase + c * p.plane] = exp(x[base + c * p.plane] - m) / z;
    }
}
