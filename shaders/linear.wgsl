// linear: y[n, o] = act(Σ_i x[n, i]·W[o, i] + b[o]), PyTorch's [out, in] weight layout.
// A workgroup of 64 computes one output row o for a block of 4 samples: each invocation walks a
// strided slice of i (coalesced reads of W's row), then a tree reduction in workgroup memory.
// A chunked weight (over the binding limit) is run as several dispatches, rows row_base + [0, rows).
//
// Bindings: 0 x [N, in] · 1 weight [rows, in] · 2 bias [rows] (when has_bias)
//           3 out [N, out_c_total] at column out_c_offset + row_base · 4 params
// Grid: rows · ceil(N/4) workgroups, folded to 2-D by the runtime.

struct Params {
    n: u32, in_f: u32, rows: u32, row_base: u32,
    has_bias: u32, out_c_total: u32, out_c_offset: u32, _pad0: u32,
}

// act() and its pipeline constant ACT: shaders/common/act.wgsl (appended by shader!).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const WG: u32 = 64u;
const NB: u32 = 4u;

var<workgroup> partial: array<vec4<f32>, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let blocks = (p.n + NB - 1u) / NB;
    let g = wid.x + wid.y * nwg.x;
    if (g >= p.rows * blocks) { return; }
    let o = g / blocks;
    let n0 = (g % blocks) * NB;
    let wrow = o * p.in_f;
    var acc = vec4<f32>(0.0);
    for (var i = lid; i < p.in_f; i += WG) {
        let wv = weight[wrow + i];
        for (var b = 0u; b < NB; b++) {
            if (n0 + b < p.n) { acc[b] = fma(x[(n0 + b) * p.in_f + i], wv, acc[b]); }
        }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { partial[lid] += partial[lid + s]; }
        workgroupBarrier();
    }
    if (lid < NB && n0 + lid < p.n) {
        var v = partial[0][lid];
        if (p.has_bias != 0u) { v += bias[o]; }
        out[(n0 + lid) * p.out_c_total + p.out_c_offset + p.row_base + o] = act(v);
    }
}
