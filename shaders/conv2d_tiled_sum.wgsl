// conv2d_tiled_sum: the second pass of conv2d_tiled's split-K. Adds the `split` partial sums of
// each output (slice 0 first, so the result does not depend on scheduling) and applies the
// epilogue the first pass left out: bias, residual, activation.
//
// Bindings: 0 partial [split][C][N·plane] (C = the layer's, or the FC chunk's, channels)
//           1 bias [C] · 2 residual [N, C, OH, OW]
//           3 out [N, out_c_total, OH, OW] at channel out_c_offset · 4 params
// Grid: ceil(C·N·plane / 256) workgroups, folded to 2-D; one invocation per output.

// act() and its pipeline constant ACT: shaders/common/act.wgsl (appended by shader!).

struct Params {
    split: u32, c: u32, qdim: u32, plane: u32,
    has_bias: u32, has_residual: u32, out_c_total: u32, out_c_offset: u32,
}

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.c * p.qdim) { return; }
    let oc = i / p.qdim;
    let q = i % p.qdim;
    var v = 0.0;
    for (var s = 0u; s < p.split; s++) { v += partial[(s * p.c + oc) * p.qdim + q]; }
    let n = q / p.plane;
    let po = q % p.plane;
    if (p.has_bias != 0u) { v += bias[oc]; }
    if (p.has_residual != 0u) { v += residual[(n * p.c + oc) * p.plane + po]; }
    out[(n * p.out_c_total + p.out_c_offset + oc) * p.plane + po] = act(v);
}
