// add: out = act(a + b) elementwise (residual connections). One invocation per element.
//
// Bindings: 0 a [N, C, H, W] · 1 b [N, C, H, W]
//           2 out [N, out_c_total, H, W] at channel out_c_offset · 3 params
// Grid: ceil(N·C·H·W / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    n: u32, c: u32, plane: u32, out_c_total: u32,
    out_c_offset: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// The fused activation (Activation::code), a pipeline constant: a switch on a uniform would
// run every case, masked, for every output on llvmpipe (tanh and exp included).
override ACT: u32 = 0u;

// The fused activation. NaN passes through as in PyTorch (max and clamp would replace it).
fn act(v: f32) -> f32 {
    switch ACT {
        case 1u: { return select(v, 0.0, v < 0.0); }
        case 2u: { return tanh(select(select(v, -20.0, v < -20.0), 20.0, v > 20.0)); }
        case 3u: { return 1.0 / (1.0 + exp(-v)); }
        default: { return v; }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    if (i >= p.n * p.c * p.plane) { return; }
    let pix = i % p.plane;
    let c = (i / p.plane) % p.c;
    let n = i / (p.plane * p.c);
    out[(n * p.out_c_total + p.out_c_offset + c) * p.plane + pix] = act(a[i] + b[i]);
}
