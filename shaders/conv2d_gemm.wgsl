// conv2d_gemm: convolution as an implicit GEMM, per group g:
//   out[oc, q] = sum_k W[oc, k] · X[k, q],  k = (ci, ky, kx) over cin/groups·kh·kw,
//   q = (n, oy, ox) over N·OH·OW, X gathered on the fly (im2col never stored).
// A workgroup computes a 64×64 tile (output channels × pixels) with 256 invocations, each
// holding a 4×4 block in registers; K is walked in steps of 16 through workgroup memory.
//
// Bindings: 0 x [N, cin, H, W] · 1 weight [cout (this chunk), cin/groups·kh·kw]
//           2 bias [cout] · 3 residual [N, res_c, OH, OW] · 4 out [N, out_c_total, OH, OW]
//           5 params
// A weight chunk holds whole groups, or (groups = 1) any rows of the only group: rows_g below.
// Grid: (cout/rows_g) · ceil(rows_g/64) · ceil(N·OH·OW/64) workgroups, folded.

// struct Params and the bindings: shaders/common/conv_params.wgsl; act() and its pipeline
// constant ACT: shaders/common/act.wgsl (both appended by shader!).

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> a_tile: array<f32, 1024>; // [BK][BM]
var<workgroup> b_tile: array<f32, 1024>; // [BK][BN]

// Element (k, q) of the gathered input matrix of group g, zero outside the image.
fn gather(g: u32, k: u32, q: u32, kdim: u32, qdim: u32) -> f32 {
    if (k >= kdim || q >= qdim) { return 0.0; }
    let kx = k % p.kw;
    let ky = (k / p.kw) % p.kh;
    let ci = k / (p.kw * p.kh);
    let ox = q % p.ow;
    let oy = (q / p.ow) % p.oh;
    let n = q / (p.ow * p.oh);
    let iy = i32(oy * p.sh + ky * p.dh) - i32(p.ph);
    let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pw);
    if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) { return 0.0; }
    return x[((n * p.cin + g * p.cin_per_group + ci) * p.h + u32(iy)) * p.w + u32(ix)];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let kdim = p.cin_per_group * p.kh * p.kw;
    let qdim = p.n * p.oh * p.ow;
    let rows_g = min(p.cout_per_group, p.cout);       // rows of one group in this chunk
    let tiles_m = (rows_g + BM - 1u) / BM;
    let tiles_n = (qdim + BN - 1u) / BN;
    let tile = wid.x + wid.y * nwg.x;
    if (tile >= (p.cout / rows_g) * tiles_m * tiles_n) { return; }
    let tn = tile % tiles_n;
    let tm = (tile / tiles_n) % tiles_m;
    let gl = tile / (tiles_n * tiles_m);              // group within this chunk
    let g = p.oc_base / p.cout_per_group + gl;        // global group
    let row0 = gl * rows_g + tm * BM;                 // first local output channel of the tile
    let row_end = (gl + 1u) * rows_g;
    let q0 = tn * BN;
    let ty = lid / 16u;
    let tx = lid % 16u;

    var acc: array<array<f32, 4>, 4>;
    for (var k0 = 0u; k0 < kdim; k0 += BK) {
        for (var e = lid; e < BK * BM; e += 256u) {
            let kk = e % BK;
            let mm = e / BK;
            let row = row0 + mm;
            var v = 0.0;
            if (row < row_end && k0 + kk < kdim) { v = weight[row * kdim + k0 + kk]; }
            a_tile[kk * BM + mm] = v;
        }
        for (var e = lid; e < BK * BN; e += 256u) {
            let nn = e % BN;
            let kk = e / BN;
            b_tile[kk * BN + nn] = gather(g, k0 + kk, q0 + nn, kdim, qdim);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var a: array<f32, 4>;
            var b: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                a[i] = a_tile[kk * BM + ty * 4u + i];
                b[i] = b_tile[kk * BN + tx * 4u + i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i][j] = fma(a[i], b[j], acc[i][j]);
                }
            }
        }
        workgroupBarrier();
    }

    let plane = p.oh * p.ow;
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + ty * 4u + i;
        if (row >= row_end) { continue; }
        let oc = p.oc_base + row;
        var b0 = 0.0;
        if (p.has_bias != 0u) { b0 = bias[row]; }
        for (var j = 0u; j < 4u; j++) {
            let q = q0 + tx * 4u + j;
            if (q >= qdim) { continue; }
            let n = q / plane;
            let pix = q % plane;
            var v = acc[i][j] + b0;
            if (p.has_residual != 0u) { v += residual[(n * p.res_c + oc) * plane + pix]; }
            out[(n * p.out_c_total + p.out_c_offset + oc) * plane + pix] = act(v);
        }
    }
}
