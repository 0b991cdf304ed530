// Shared by conv2d_subgroup.wgsl and conv2d_subgroup_v4.wgsl: B read from a matrix.
//
// Bindings: 0 B from vec4 b_base: [cols/4][K] vec4 (b_col_major: Winograd's scratch), or
//             [K][cols] as in conv2d_mm (row stride b_stride4: the input itself for 1x1
//             convolutions) · 5 the product's uniform

@group(0) @binding(0) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> params: Product;

// Row k of B at a column (`base`: where the column's row 0 is; `kstride`: vec4 between rows);
// rows past K repeat the last one (their weights are zero), and indices stay inside the
// binding (ragged 1x1 inputs). Takes the uniforms as arguments: on llvmpipe a uniform-buffer
// read is a gather, which must stay out of the loop.
fn bcol(k: u32, base: u32, kstride: u32, kmax: u32, last: u32) -> vec4<f32> {
    return b[min(base + min(k, kmax) * kstride, last)];
}

// The product for invocation lid of flat workgroup wg (subgroup lane sl).
fn matrix_product(wg: u32, lid: u32, sl: u32) {
    let p = params;
    let blk = block(p, wg, lid, sl);
    if (!blk.live) { return; }
    let kmax = p.kdim - 1u;
    let last = arrayLength(&b) - 1u;
    let col_major = p.b_col_major != 0u;
    let kstride = select(p.b_stride4, 1u, col_major);
    let gbase = p.b_base + blk.grp * p.kdim * select(p.b_stride4, blk.ncol4, col_major);
    // Column c0: pixels q.. of image q / pixels (images b_image4 vec4 apart in B).
    let q = p.p0 + blk.c0 * 4u;
    let cq = q % p.pixels / 4u;
    let base = gbase + q / p.pixels * p.b_image4 + select(cq, cq * p.kdim, col_major);
    var a = Acc();
    for (var k0 = 0u; k0 < blk.kd4; k0 += CHUNK) {
        var c = Acc();
        for (var k4 = k0; k4 < min(k0 + CHUNK, blk.kd4); k4++) {
            let k = k4 * 4u;
            let b0 = bcol(k, base, kstride, kmax, last);
            let b1 = bcol(k + 1u, base, kstride, kmax, last);
            let b2 = bcol(k + 2u, base, kstride, kmax, last);
            let b3 = bcol(k + 3u, base, kstride, kmax, last);
            c = step(c, mat4x4<f32>(b0, b1, b2, b3), blk.wrow + k4 * 32u);
        }
        a = add(a, c);
    }
    finish(a, p, blk, sl);
}
