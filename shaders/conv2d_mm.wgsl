// conv2d_mm: convolution as a matrix product on one image and one group,
//   out[oc, p] = act(bias[oc] + Σ_k W[oc, k] · B[k, p] + residual[oc, p]),
// where B is the im2col matrix (or, for a 1x1 stride-1 unpadded conv, the input itself).
// Register-blocked for devices where every load is expensive (llvmpipe runs each load lane by
// lane): an invocation computes 16 output channels × 8 pixels from 4 + 2 vec4 loads per k.
// Each run of 16 k is summed apart and then added to the running sums (two-level
// accumulation: VGG-16-bn at 224 went from 1.82x to 0.73x PyTorch f32's error vs float64).
//
// Bindings: 0 B [K][cols] (vec4 rows, starting at vec4 b_base, row stride b_stride4)
//           1 weight: 16-channel blocks [blocks][K][16] (vec4) · 2 bias [cout (this chunk)]
//           3 residual [N, res_c, OH, OW] · 4 out [N, out_c_total, OH, OW] · 5 params
// Grid: ceil(rows/16) · cols/8 invocations, 64 per workgroup, folded to 2-D by the runtime.

// act() and its pipeline constant ACT: shaders/common/act.wgsl; struct Product:
// shaders/common/product_params.wgsl (both appended by shader!).

@group(0) @binding(0) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Product;

// Writes row `row`, pixels q0..q0+3 of the product with the fused epilogue.
fn emit(row: u32, q0: u32, v: vec4<f32>) {
    let oc = p.oc_base + row;
    var bv = 0.0;
    if (p.has_bias != 0u && row < p.rows) { bv = bias[p.row_base + row]; }
    for (var j = 0u; j < 4u; j++) {
        let q = q0 + j;
        if (row < p.rows && q < p.pixels) {
            var o = v[j] + bv;
            if (p.has_residual != 0u) { o += residual[(p.n * p.res_c + oc) * p.pixels + q]; }
            out[(p.n * p.out_c_total + p.out_c_offset + oc) * p.pixels + q] = act(o);
        }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let t = (wid.x + wid.y * nwg.x) * 64u + lid;
    let col_groups = p.cols / 8u;
    let blocks = (p.rows + 15u) / 16u;
    if (t >= blocks * col_groups) { return; }
    let mb = t / col_groups;
    let c4 = (t % col_groups) * 2u;                  // first column, in vec4 units
    let wbase = (p.w_block0 + mb) * p.kdim * 4u;
    let last = arrayLength(&b) - 1u;                 // ragged 1x1 inputs: stay inside the binding
    var acc: array<vec4<f32>, 32>;                   // [16 rows][2 column vec4s]
    // Uniforms read once (on llvmpipe each read is a gather; nothing hoists them out of loops).
    let kdim = p.kdim;
    let b_base = p.b_base + c4;
    let b_stride4 = p.b_stride4;
    for (var k0 = 0u; k0 < kdim; k0 += 16u) {
        var part: array<vec4<f32>, 32>; // 16 k summed apart, then added to acc
        for (var k = k0; k < min(k0 + 16u, kdim); k++) {
            let brow = b_base + k * b_stride4;
            let b0 = b[brow];
            let b1 = b[min(brow + 1u, last)];
            for (var v = 0u; v < 4u; v++) {
                let a = weight[wbase + k * 4u + v];
                part[v * 8u + 0u] = fma(vec4(a.x), b0, part[v * 8u + 0u]);
                part[v * 8u + 1u] = fma(vec4(a.x), b1, part[v * 8u + 1u]);
                part[v * 8u + 2u] = fma(vec4(a.y), b0, part[v * 8u + 2u]);
                part[v * 8u + 3u] = fma(vec4(a.y), b1, part[v * 8u + 3u]);
                part[v * 8u + 4u] = fma(vec4(a.z), b0, part[v * 8u + 4u]);
                part[v * 8u + 5u] = fma(vec4(a.z), b1, part[v * 8u + 5u]);
                part[v * 8u + 6u] = fma(vec4(a.w), b0, part[v * 8u + 6u]);
                part[v * 8u + 7u] = fma(vec4(a.w), b1, part[v * 8u + 7u]);
            }
        }
        acc[0] += part[0];
        acc[1] += part[1];
        acc[2] += part[2];
        acc[3] += part[3];
        acc[4] += part[4];
        acc[5] += part[5];
        acc[6] += part[6];
        acc[7] += part[7];
        acc[8] += part[8];
        acc[9] += part[9];
        acc[10] += part[10];
        acc[11] += part[11];
        acc[12] += part[12];
        acc[13] += part[13];
        acc[14] += part[14];
        acc[15] += part[15];
        acc[16] += part[16];
        acc[17] += part[17];
        acc[18] += part[18];
        acc[19] += part[19];
        acc[20] += part[20];
        acc[21] += part[21];
        acc[22] += part[22];
        acc[23] += part[23];
        acc[24] += part[24];
        acc[25] += part[25];
        acc[26] += part[26];
        acc[27] += part[27];
        acc[28] += part[28];
        acc[29] += part[29];
        acc[30] += part[30];
        acc[31] += part[31];
    }
    // Constant indices only: a dynamic index anywhere would move `acc` out of registers.
    let r0 = mb * 16u;
    let q0 = p.p0 + c4 * 4u;
    emit(r0 + 0u, q0 + 0u, acc[0]);
    emit(r0 + 0u, q0 + 4u, acc[1]);
    emit(r0 + 1u, q0 + 0u, acc[2]);
    emit(r0 + 1u, q0 + 4u, acc[3]);
    emit(r0 + 2u, q0 + 0u, acc[4]);
    emit(r0 + 2u, q0 + 4u, acc[5]);
    emit(r0 + 3u, q0 + 0u, acc[6]);
    emit(r0 + 3u, q0 + 4u, acc[7]);
    emit(r0 + 4u, q0 + 0u, acc[8]);
    emit(r0 + 4u, q0 + 4u, acc[9]);
    emit(r0 + 5u, q0 + 0u, acc[10]);
    emit(r0 + 5u, q0 + 4u, acc[11]);
    emit(r0 + 6u, q0 + 0u, acc[12]);
    emit(r0 + 6u, q0 + 4u, acc[13]);
    emit(r0 + 7u, q0 + 0u, acc[14]);
    emit(r0 + 7u, q0 + 4u, acc[15]);
    emit(r0 + 8u, q0 + 0u, acc[16]);
    emit(r0 + 8u, q0 + 4u, acc[17]);
    emit(r0 + 9u, q0 + 0u, acc[18]);
    emit(r0 + 9u, q0 + 4u, acc[19]);
    emit(r0 + 10u, q0 + 0u, acc[20]);
    emit(r0 + 10u, q0 + 4u, acc[21]);
    emit(r0 + 11u, q0 + 0u, acc[22]);
    emit(r0 + 11u, q0 + 4u, acc[23]);
    emit(r0 + 12u, q0 + 0u, acc[24]);
    emit(r0 + 12u, q0 + 4u, acc[25]);
    emit(r0 + 13u, q0 + 0u, acc[26]);
    emit(r0 + 13u, q0 + 4u, acc[27]);
    emit(r0 + 14u, q0 + 0u, acc[28]);
    emit(r0 + 14u, q0 + 4u, acc[29]);
    emit(r0 + 15u, q0 + 0u, acc[30]);
    emit(r0 + 15u, q0 + 4u, acc[31]);
}
