// linear_subgroup: the fully connected product of linear_vec4 for devices with subgroups of
// at least 8, with lanes over output rows and the input shared through subgroup broadcasts:
//   y[n, o] = act(Σ_i x[n, i]·W[o, i] + b[o]), PyTorch's [out, in] weight layout.
// Every invocation owns 2 rows (64 apart) and NB samples and walks its rows' weights as vec4
// streams; per 8 vec4 of input, lane l of each subgroup loads vec4 l of every sample's x and
// the others take it with subgroupBroadcast. Each weight is loaded once per NB samples, each
// x value once per subgroup, and no workgroup reduction is needed (on llvmpipe, where every
// storage load is a loop over the SIMD lanes, the loads are the cost).
//
// Bindings: 0 x [N, in] · 1 weight [rows, in] · 2 bias [rows] (when has_bias)
//           3 out [N, out_c_total] at column out_c_offset + row_base · 4 params
// Grid: ceil(rows/128) · ceil(N/NB) workgroups of 64, folded to 2-D by the runtime.
// Requires in % 4 == 0. NB (pipeline constant): 1 at batch 1, else 4.

override NB: u32 = 4u;

struct Params {
    n: u32, in_f: u32, rows: u32, row_base: u32,
    has_bias: u32, out_c_total: u32, out_c_offset: u32, _pad0: u32,
}

// act() and its pipeline constant ACT: shaders/common/act.wgsl (appended by shader!).

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// Input vec4 i of sample n (samples past the last repeat it; zero past the row's end). Takes
// the uniforms as arguments: on llvmpipe a uniform read is a gather, which must stay out of
// the loop.
fn xload(n: u32, n_last: u32, i: u32, in4: u32) -> vec4<f32> {
    let v = x[min(n, n_last) * in4 + min(i, in4 - 1u)];
    return select(vec4<f32>(0.0), v, i < in4);
}

// Adds one input vec4 of every sample (the columns of `xb`) times rows o0's and o0 + 64's
// weight vec4 `w0`, `w1` to their sums (only sample 0's at batch 1).
fn step(a0: ptr<function, vec4<f32>>, a1: ptr<function, vec4<f32>>, w0: vec4<f32>,
        w1: vec4<f32>, xb: mat4x4<f32>) {
    if (NB == 1u) {
        (*a0).x += dot(w0, xb[0]);
        (*a1).x += dot(w1, xb[0]);
    } else {
        *a0 += w0 * xb;
        *a1 += w1 * xb;
    }
}

// Writes row o's outputs for samples n0.. (those that exist).
fn emit(o: u32, n0: u32, v: vec4<f32>) {
    if (o >= p.rows) { return; }
    var b = 0.0;
    if (p.has_bias != 0u) { b = bias[o]; }
    for (var s = 0u; s < NB; s++) {
        if (n0 + s < p.n) {
            out[(n0 + s) * p.out_c_total + p.out_c_offset + p.row_base + o] = act(v[s] + b);
        }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
    let row_groups = (p.rows + 127u) / 128u;
    let g = wid.x + wid.y * nwg.x;
    if (g >= row_groups * ((p.n + NB - 1u) / NB)) { return; }
    let o0 = (g % row_groups) * 128u + lid;
    let n0 = (g / row_groups) * NB;
    let in4 = p.in_f / 4u;
    let last = in4 - 1u;
    // Rows past the end repeat the last one (computed, never written).
    let r0 = min(o0, p.rows - 1u) * in4;
    let r1 = min(o0 + 64u, p.rows - 1u) * in4;
    let lane = sl % 8u;
    let n_last = p.n - 1u;
    var a0 = vec4<f32>(); // row o0, by sample
    var a1 = vec4<f32>(); // row o0 + 64
    for (var k = 0u; k < in4; k += 8u) {
        let x0 = xload(n0, n_last, k + lane, in4);
        var x1 = vec4<f32>();
        var x2 = vec4<f32>();
        var x3 = vec4<f32>();
        if (NB > 1u) {
            x1 = xload(n0 + 1u, n_last, k + lane, in4);
            x2 = xload(n0 + 2u, n_last, k + lane, in4);
            x3 = xload(n0 + 3u, n_last, k + lane, in4);
        }
        step(&a0, &a1, weight[r0 + min(k + 0u, last)], weight[r1 + min(k + 0u, last)],
             mat4x4<f32>(subgroupBroadcast(x0, 0u), subgroupBroadcast(x1, 0u),
                         subgroupBroadcast(x2, 0u), subgroupBroadcast(x3, 0u)));
        step(&a0, &a1, weight[r0 + min(k + 1u, last)], weight[r1 + min(k + 1u, last)],
             mat4x4<f32>(subgroupBroadcast(x0, 1u), subgroupBroadcast(x1, 1u),
                         subgroupBroadcast(x2, 1u), subgroupBroadcast(x3, 1u)));
        step(&a0, &a1, weight[r0 + min(k + 2u, last)], weight[r1 + min(k + 2u, last)],
             mat4x4<f32>(subgroupBroadcast(x0, 2u), subgroupBroadcast(x1, 2u),
                         subgroupBroadcast(x2, 2u), subgroupBroadcast(x3, 2u)));
        step(&a0, &a1, weight[r0 + min(k + 3u, last)], weight[r1 + min(k + 3u, last)],
             mat4x4<f32>(subgroupBroadcast(x0, 3u), subgroupBroadcast(x1, 3u),
                         subgroupBroadcast(x2, 3u), subgroupBroadcast(x3, 3u)));
        step(&a0, &a1, weight[r0 + min(k + 4u, last)], weight[r1 + min(k + 4u, last)],
             mat4x4<f32>(subgroupBroadcast(x0, 4u), subgroupBroadcast(x1, 4u),
                         subgroupBroadcast(x2, 4u), subgroupBroadcast(x3, 4u)));
        step(&a0, &a1, weight[r0 + min(k + 5u, last)], weight[r1 + min(k + 5u, last)],
             mat4x4<f32>(subgroupBroadcast(x0, 5u), subgroupBroadcast(x1, 5u),
                         subgroupBroadcast(x2, 5u), subgroupBroadcast(x3, 5u)));
        step(&a0, &a1, weight[r0 + min(k + 6u, last)], weight[r1 + min(k + 6u, last)],
             mat4x4<f32>(subgroupBroadcast(x0, 6u), subgroupBroadcast(x1, 6u),
                         subgroupBroadcast(x2, 6u), subgroupBroadcast(x3, 6u)));
        step(&a0, &a1, weight[r0 + min(k + 7u, last)], weight[r1 + min(k + 7u, last)],
             mat4x4<f32>(subgroupBroadcast(x0, 7u), subgroupBroadcast(x1, 7u),
                         subgroupBroadcast(x2, 7u), subgroupBroadcast(x3, 7u)));
    }
    emit(o0, n0, a0);
    emit(o0 + 64u, n0, a1);
}
