// winograd_output_v4: winograd_output.wgsl's transform for F(4×4, 3×3) where the output's
// height and width are multiples of 4. Then every tile lies inside the image and each of its 4
// rows is one aligned vec4 of the output, so the epilogue reads the residual and writes the
// output as 16 vec4 per tile with no per-element bounds checks or index arithmetic (on
// llvmpipe the scalar version's 64 masked stores took about 80% of its time). The uniform,
// the transform and the invocation's work are shaders/common/winograd_output.wgsl, shared with
// winograd_output.wgsl (pipeline constant M keeps its default, 4).
//
// Bindings: 0 m: scratch [36][cout][tc] (vec4) · 1 bias [cout] · 2 residual [N, res_c, OH, OW]
//           (vec4) · 3 out [N, out_c_total, OH, OW] (vec4) · 4 params
// Grid: ceil(cout · tc/4 / 64) workgroups, folded to 2-D by the runtime.

// act() and its pipeline constant ACT: shaders/common/act.wgsl (appended by shader!).

@group(0) @binding(2) var<storage, read> residual: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

// Writes tile t's 4×4 outputs (row r of the tile in y[r]), if the tile exists. Every base and
// plane is a multiple of 4 elements, so vec4 indices are element indices / 4.
fn emit_tile(e: Epilogue, g: Tiles, t: u32, y: mat4x4<f32>) {
    if (t >= g.total) { return; }
    let n = t / g.count;
    let tl = t % g.count;
    let ow4 = e.ow / 4u;
    // (oy·OW + ox) / 4 for the tile's top-left output (oy = 4·row, ox = 4·column).
    let pix = tl / g.per_row * 4u * ow4 + tl % g.per_row;
    let o = (e.out_base + n * g.out_image) / 4u + pix;
    let r = (e.res_base + n * g.res_image) / 4u + pix;
    let b = vec4<f32>(e.bias);
    var v0 = y[0] + b;
    var v1 = y[1] + b;
    var v2 = y[2] + b;
    var v3 = y[3] + b;
    if (e.residual) {
        v0 += residual[r];
        v1 += residual[r + ow4];
        v2 += residual[r + 2u * ow4];
        v3 += residual[r + 3u * ow4];
    }
    out[o] = act4(v0);
    out[o + ow4] = act4(v1);
    out[o + 2u * ow4] = act4(v2);
    out[o + 3u * ow4] = act4(v3);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    output_transform((wid.x + wid.y * nwg.x) * 64u + lid);
}
