// peak_copy: the device's attainable memory bandwidth. One invocation copies one vec4 of a
// large buffer; bytes moved = 2 · 16 · n (one read, one write).
//
// Bindings: 0 src [n vec4] · 1 dst [n vec4] · 2 params
// Grid: ceil(n / 256) workgroups, folded to 2-D by the runtime.

struct Params {
    n: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i < p.n) {
        dst[i] = src[i];
    }
}
