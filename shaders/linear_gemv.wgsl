// linear_gemv: the fully connected layer at small batch (≤ 8 samples) as a bandwidth-bound
// matrix-vector product for GPUs:
//   y[n, o] = act(Σ_i x[n, i]·W[o, i] + b[o]), PyTorch's [out, in] weight layout.
// A workgroup of 256 owns ROWS = 8 output rows (one per subgroup of 32); a subgroup walks its
// row with every lane reading consecutive vec4 (coalesced: one 512-byte stretch per subgroup
// load, four such loads in flight per step), multiplies them with NB samples' inputs (small, served from cache) and sums its
// lanes with subgroupAdd. Subgroups of other sizes take ROWS / (256 / size) rows each, or leave
// some idle: the result does not depend on the size.
//
// Bindings: 0 x [N, in] · 1 weight [rows, in] · 2 bias [rows] (when has_bias)
//           3 out [N, out_c_total] at column out_c_offset + row_base · 4 params
// Grid: ceil(rows/ROWS) · ceil(N/NB) workgroups, folded to 2-D by the runtime.
// Requires in % 4 == 0 and subgroups. NB (pipeline constant): min(N, 8).

override NB: u32 = 1u;

const WG: u32 = 256u;
const ROWS: u32 = 8u;

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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32) {
    let blocks = (p.n + NB - 1u) / NB;
    let row_groups = (p.rows + ROWS - 1u) / ROWS;
    let g = wid.x + wid.y * nwg.x;
    if (g >= row_groups * blocks) { return; }
    let r0 = (g / blocks) * ROWS;
    let n0 = (g % blocks) * NB;
    let in4 = p.in_f / 4u;
    let n_last = p.n - 1u;
    for (var r = lid / ss; r < ROWS; r += WG / ss) {
        // Rows past the end repeat the last one (computed, never written).
        let o = r0 + r;
        let w0 = min(o, p.rows - 1u) * in4;
        var acc: array<f32, 8>;
        // Four vec4 of the row per lane per step, all loaded before any is used (four loads
        // in flight per lane), then the remainder one at a time.
        var i = sl;
        for (; i + 3u * ss < in4; i += 4u * ss) {
            let w4 = array<vec4<f32>, 4>(weight[w0 + i], weight[w0 + i + ss],
                                         weight[w0 + i + 2u * ss], weight[w0 + i + 3u * ss]);
            for (var s = 0u; s < NB; s++) {
                let xs = min(n0 + s, n_last) * in4 + i;
                acc[s] += dot(w4[0], x[xs]) + dot(w4[1], x[xs + ss])
                        + dot(w4[2], x[xs + 2u * ss]) + dot(w4[3], x[xs + 3u * ss]);
            }
        }
        for (; i < in4; i += ss) {
            let wv = weight[w0 + i];
            for (var s = 0u; s < NB; s++) {
                acc[s] += dot(wv, x[min(n0 + s, n_last) * in4 + i]);
            }
        }
        var b = 0.0;
        if (p.has_bias != 0u && o < p.rows) { b = bias[o]; }
        for (var s = 0u; s < NB; s++) {
            let v = subgroupAdd(acc[s]);
            if (sl == 0u && o < p.rows && n0 + s < p.n) {
                out[(n0 + s) * p.out_c_total + p.out_c_offset + p.row_base + o] = act(v + b);
            }
        }
    }
}
