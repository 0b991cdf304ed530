// peak_fma: the device's attainable f32 FMA rate. Every invocation runs 8 independent vec4 FMA
// chains for `iters` iterations in registers (no memory traffic in the loop) and writes one
// number, so the compiler cannot drop the work. `mul` < 1 and `add` > 0 keep the values near 1
// (no overflow, no denormals).
//
// Bindings: 0 out [invocations] · 1 params
// Grid: any number of workgroups of 64, folded to 2-D by the runtime.
// FLOPs: invocations · iters · 8 chains · 4 lanes · 2.

struct Params {
    iters: u32, mul: f32, add: f32, _pad0: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let m = vec4<f32>(p.mul);
    let c = vec4<f32>(p.add);
    let s = vec4<f32>(0.0, 0.1, 0.2, 0.3) + f32(i & 255u) * 1e-3;
    var a0 = s;
    var a1 = s + 1.0;
    var a2 = s + 2.0;
    var a3 = s + 3.0;
    var a4 = s + 4.0;
    var a5 = s + 5.0;
    var a6 = s + 6.0;
    var a7 = s + 7.0;
    for (var k = 0u; k < p.iters; k++) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
    }
    if (i < arrayLength(&out)) {
        out[i] = dot(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7, vec4<f32>(1.0));
    }
}
