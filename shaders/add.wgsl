// add: out = act(a + b) elementwise (residual connections). One invocation per element.
//
// Bindings: 0 a [N, C, H, W] · 1 b [N, C, H, W]
//           2 out [N, out_c_total, H, W] at channel out_c_offset · 3 params
// Grid: ceil(N·C·H·W / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    n: u32, c: u32, plane: u32, out_c_total: u32,
    out_c_offset: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

// act() and its pipeline constant ACT: shaders/common/act.wgsl (appended by shader!).

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

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
