// linear_vec4: linear.wgsl for in_features divisible by 4, reading x and W as vec4 (one load
// instruction per 4 values: what CPU-like devices need, and coalesced on GPUs).
//   y[n, o] = act(Σ_i x[n, i]·W[o, i] + b[o]), PyTorch's [out, in] weight layout.
// A workgroup of 64 computes 4 output rows for a block of 4 samples (each x vec4 loaded once
// serves 4 rows): each invocation walks a strided slice, then a tree reduction in workgroup
// memory.
//
// Bindings: 0 x [N, in] · 1 weight [rows, in] · 2 bias [rows] (when has_bias)
//           3 out [N, out_c_total] at column out_c_offset + row_base · 4 params
// Grid: ceil(rows/4) · ceil(N/4) workgroups, folded to 2-D by the runtime.

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

const WG: u32 = 64u;
const NB: u32 = 4u;
const ROWS: u32 = 4u;

var<workgroup> partial: array<array<vec4<f32>, 4>, 64>; // [lane][row] → samples

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let blocks = (p.n + NB - 1u) / NB;
    let row_groups = (p.rows + ROWS - 1u) / ROWS;
    let g = wid.x + wid.y * nwg.x;
    if (g >= row_groups * blocks) { return; }
    let o0 = (g / blocks) * ROWS;
    let n0 = (g % blocks) * NB;
    let in4 = p.in_f / 4u;
    let live = min(p.n - n0, NB);
    // Rows past the end repeat the last one (computed, never written).
    let w0 = min(o0, p.rows - 1u) * in4;
    let w1 = min(o0 + 1u, p.rows - 1u) * in4;
    let w2 = min(o0 + 2u, p.rows - 1u) * in4;
    let w3 = min(o0 + 3u, p.rows - 1u) * in4;
    var acc: array<vec4<f32>, 4>; // [row][sample]
    for (var i = lid; i < in4; i += WG) {
        let a = weight[w0 + i];
        let b = weight[w1 + i];
        let c = weight[w2 + i];
        let d = weight[w3 + i];
        for (var s = 0u; s < NB; s++) {
            if (s < live) {
                let xv = x[(n0 + s) * in4 + i];
                acc[0][s] += dot(xv, a);
                acc[1][s] += dot(xv, b);
                acc[2][s] += dot(xv, c);
                acc[3][s] += dot(xv, d);
            }
        }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var st = WG / 2u; st > 0u; st >>= 1u) {
        if (lid < st) {
            for (var r = 0u; r < ROWS; r++) { partial[lid][r] += partial[lid + st][r]; }
        }
        workgroupBarrier();
    }
    if (lid < ROWS * NB) {
        let r = lid / NB;
        let s = lid % NB;
        let o = o0 + r;
        if (o < p.rows && s < live) {
            var v = partial[0][r][s];
            if (p.has_bias != 0u) { v += bias[o]; }
            out[(n0 + s) * p.out_c_total + p.out_c_offset + p.row_base + o] = act(v);
        }
    }
}
