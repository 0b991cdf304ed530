// peak_fma: the device's attainable f32 FMA rate. Every invocation runs 3 independent vec4 FMA
// chains, 64 FMAs each per loop iteration, in registers (no memory traffic in the loop), and
// writes one number, so the compiler cannot drop the work. `mul` < 1 and `add` > 0 keep the
// values near 1 (no overflow, no denormals).
//
// Why 3 chains and 64 FMAs per iteration: on llvmpipe an invocation is one lane of 8-wide AVX2
// vectors, so each vec4 takes 4 of the 16 vector registers. 3 chains and the two operands fit
// (14 registers); 4 or more spill to the stack on every FMA. Each loop iteration also costs
// ~13 cycles of mask bookkeeping there, which 64 FMAs per chain make negligible. Measured on
// the development machine (GFLOP/s, chains x FMAs per iteration): 8x1 92, 16x1 105, 4x8 117,
// 4x32 50, 2x8 136, 3x4 144, 3x8 170, 3x16 192, 3x32 198, 3x64 209 (164 when each chain's 64
// FMAs came one chain after the other instead of interleaved), the last ≈ 2 FMA units x 8
// lanes x 2 cores at 3.3 GHz. On a GPU, 12 independent scalar chains per thread and thousands
// of threads hide the FMA latency just as well.
//
// Bindings: 0 out [invocations] · 1 params
// Grid: any number of workgroups of 64, folded to 2-D by the runtime.
// FLOPs: invocations · iters · 3 chains · 64 · 4 lanes · 2.

struct Params {
    iters: u32, mul: f32, add: f32, _pad0: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

// Eight FMAs on each of the three chains, interleaved so that the three are in flight at once.
fn fma8(a: ptr<function, vec4<f32>>, b: ptr<function, vec4<f32>>, d: ptr<function, vec4<f32>>,
        m: vec4<f32>, c: vec4<f32>) {
    *a = fma(*a, m, c);
    *b = fma(*b, m, c);
    *d = fma(*d, m, c);
    *a = fma(*a, m, c);
    *b = fma(*b, m, c);
    *d = fma(*d, m, c);
    *a = fma(*a, m, c);
    *b = fma(*b, m, c);
    *d = fma(*d, m, c);
    *a = fma(*a, m, c);
    *b = fma(*b, m, c);
    *d = fma(*d, m, c);
    *a = fma(*a, m, c);
    *b = fma(*b, m, c);
    *d = fma(*d, m, c);
    *a = fma(*a, m, c);
    *b = fma(*b, m, c);
    *d = fma(*d, m, c);
    *a = fma(*a, m, c);
    *b = fma(*b, m, c);
    *d = fma(*d, m, c);
    *a = fma(*a, m, c);
    *b = fma(*b, m, c);
    *d = fma(*d, m, c);
}

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
    for (var k = 0u; k < p.iters; k++) {
        fma8(&a0, &a1, &a2, m, c);
        fma8(&a0, &a1, &a2, m, c);
        fma8(&a0, &a1, &a2, m, c);
        fma8(&a0, &a1, &a2, m, c);
        fma8(&a0, &a1, &a2, m, c);
        fma8(&a0, &a1, &a2, m, c);
        fma8(&a0, &a1, &a2, m, c);
        fma8(&a0, &a1, &a2, m, c);
    }
    if (i < arrayLength(&out)) {
        out[i] = dot(a0 + a1 + a2, vec4<f32>(1.0));
    }
}
