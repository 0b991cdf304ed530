// Shared by conv2d_subgroup.wgsl and conv2d_subgroup_window.wgsl: the output written pixel by
// pixel (any plane size).
//
// Bindings: 3 residual [N, res_c, OH, OW] · 4 out [N, out_c_total, OH, OW]

@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Writes row `row`, pixels q0..q0+3 of the product plus bias `bv`, the residual, activation.
fn emit(e: Epilogue, row: u32, q0: u32, v: vec4<f32>, bv: f32) {
    if (row >= e.rows) { return; }
    let o = e.out_base + row * e.pixels + q0;
    let r = e.res_base + row * e.pixels + q0;
    for (var j = 0u; j < 4u; j++) {
        if (q0 + j < e.pixels) {
            var y = v[j] + bv;
            if (e.residual) { y += residual[r + j]; }
            out[o + j] = act(y);
        }
    }
}
