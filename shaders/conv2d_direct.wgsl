// conv2d_direct: one invocation per output element; any kernel, stride, padding, dilation and
// groups. Used for small, odd-shaped and grouped layers where tiling does not pay.
//
// Bindings: 0 x [N, cin, H, W] · 1 weight [cout (this chunk), cin/groups, kh, kw]
//           2 bias [cout] (read when has_bias) · 3 residual [N, res_c, OH, OW] (when has_residual)
//           4 out [N, out_c_total, OH, OW], channels out_c_offset + oc_base + [0, cout) · 5 params
// Grid: ceil(N·cout·OH·OW / 64) workgroups, folded to 2-D by the runtime.

// struct Params and the bindings: shaders/common/conv_params.wgsl; act() and its pipeline
// constant ACT: shaders/common/act.wgsl (both appended by shader!).

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let total = p.n * p.cout * p.oh * p.ow;
    if (i >= total) { return; }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let ocl = (i / (p.ow * p.oh)) % p.cout;
    let n = i / (p.ow * p.oh * p.cout);
    let oc = p.oc_base + ocl;
    let ci0 = (oc / p.cout_per_group) * p.cin_per_group;
    // A three-level sum (each channel's window, then 8 channels, then all), so that the f32
    // rounding error grows with the levels' lengths instead of C_in·kH·kW (tests/parity.rs
    // judges whole networks against float64).
    var acc = 0.0;
    var part = 0.0;
    let iy0 = i32(oy * p.sh) - i32(p.ph);
    let ix0 = i32(ox * p.sw) - i32(p.pw);
    for (var ci = 0u; ci < p.cin_per_group; ci++) {
        let xbase = (n * p.cin + ci0 + ci) * p.h;
        let wbase = (ocl * p.cin_per_group + ci) * p.kh;
        var win = 0.0;
        for (var ky = 0u; ky < p.kh; ky++) {
            let iy = iy0 + i32(ky * p.dh);
            if (iy < 0 || iy >= i32(p.h)) { continue; }
            let xrow = (xbase + u32(iy)) * p.w;
            let wrow = (wbase + ky) * p.kw;
            for (var kx = 0u; kx < p.kw; kx++) {
                let ix = ix0 + i32(kx * p.dw);
                if (ix < 0 || ix >= i32(p.w)) { continue; }
                win += x[xrow + u32(ix)] * weight[wrow + kx];
            }
        }
        part += win;
        if ((ci & 7u) == 7u) {
            acc += part;
            part = 0.0;
        }
    }
    acc += part;
    if (p.has_bias != 0u) { acc += bias[ocl]; }
    let pix = oy * p.ow + ox;
    if (p.has_residual != 0u) {
        acc += residual[(n * p.res_c + oc) * p.oh * p.ow + pix];
    }
    out[(n * p.out_c_total + p.out_c_offset + oc) * p.oh * p.ow + pix] = act(acc);
}
