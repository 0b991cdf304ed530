// peak_copy: the device's attainable memory bandwidth. One invocation copies 4 vec4 of a
// large buffer, n / 4 apart (neighbouring invocations touch neighbouring vec4s); bytes moved =
// 2 · 16 · n (one read, one write). Four loads in flight per invocation: llvmpipe, which loads
// lane by lane, copied 8.5-8.8 GB/s with one vec4 per invocation and 10-11 GB/s with 4 or 8.
//
// Bindings: 0 src [n vec4, n a multiple of 4] · 1 dst [n vec4] · 2 params
// Grid: ceil(n / 4 / 256) workgroups, folded to 2-D by the runtime.

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
    let q = p.n / 4u;
    if (i < q) {
        let a = src[i];
        let b = src[i + q];
        let c = src[i + 2u * q];
        let d = src[i + 3u * q];
        dst[i] = a;
        dst[i + q] = b;
        dst[i + 2u * q] = c;
        dst[i + 3u * q] = d;
    }
}
