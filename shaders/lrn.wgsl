// lrn: local response normalisation across channels, PyTorch semantics:
//   out = x / (k + alpha/size · Σ x²)^beta over channels [c − size/2, c + (size−1)/2].
// One invocation per element.
//
// Bindings: 0 x [N, C, H, W] · 1 out [N, out_c_total, H, W] at channel out_c_offset · 2 params
// Grid: ceil(N·C·H·W / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    n: u32, c: u32, plane: u32, size: u32,
    alpha: f32, beta: f32, k: f32, out_c_total: u32,
    out_c_offset: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    if (i >= p.n * p.c * p.plane) { return; }
    let pix = i % p.plane;
    let c = (i / p.plane) % p.c;
    let n = i / (p.plane * p.c);
    let lo = i32(c) - i32(p.size / 2u);
    let hi = min(c + (p.size - 1u) / 2u, p.c - 1u);
    var sq = 0.0;
    for (var cc = u32(max(lo, 0)); cc <= hi; cc++) {
        let v = x[(n * p.c + cc) * p.plane + pix];
        sq += v * v;
    }
    let div = pow(p.k + p.alpha / f32(p.size) * sq, p.beta);
    out[(n * p.out_c_total + p.out_c_offset + c) * p.plane + pix] = x[i] / div;
}
