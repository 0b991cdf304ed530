// Shared by conv2d_subgroup_v4.wgsl and conv2d_subgroup_window_v4.wgsl: planes of a multiple of
// 4 pixels, so the residual is read and the output written as vec4 (one store per 4 pixels).
//
// Bindings: 3 residual [N, res_c, OH, OW] (vec4) · 4 out [N, out_c_total, OH, OW] (vec4)

@group(0) @binding(3) var<storage, read> residual: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;

// Writes row `row`, pixels q0..q0+3 of the product plus bias `bv`, the residual, activation,
// with one vec4 store (planes are a multiple of 4 pixels, so q0 < pixels covers all 4).
fn emit(e: Epilogue, row: u32, q0: u32, v: vec4<f32>, bv: f32) {
    if (row >= e.rows || q0 >= e.pixels) { return; }
    var y = v + vec4<f32>(bv);
    if (e.residual) { y += residual[(e.res_base + row * e.pixels + q0) / 4u]; }
    let o = (e.out_base + row * e.pixels + q0) / 4u;
    out[o] = act4(y);
}
